//! `gopwatch extract` against a reference nobody here wrote the inputs of: CoViAR's
//! accumulated motion computed by tools/oracle/coviar_mvs.py from ffmpeg's exported
//! vectors (PyAV). And what users of the dataset rely on: identical bytes on every run
//! and with any number of jobs, resuming, bad clips reported without stopping the run.

mod common;

use common::{python, read_npz, root, synth_tiny, write_cache, x264_streams};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// x264 streams for the motion comparison: P only (CABAC, CAVLC with many skips), B frames
/// with and without pyramid, 4 references, several slices, weighted prediction, temporal
/// direct, and an odd size whose display window is cropped.
const X264: &[&str] = &[
    "main_cabac_nob",
    "main_cavlc_pskip",
    "high_b3_pyrnormal",
    "high_b2_pyrnone",
    "base_ref4",
    "high_ref4_slices",
    "base_slices4",
    "high_weightp2",
    "high_direct_temporal",
    "high_odd_426x240",
    "base_1366x768",
];

fn gopwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gopwatch"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/tmp/extract_oracle").join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `gopwatch extract` with `args`; returns (exit code, stderr).
fn extract(list: &Path, out: &Path, args: &[&str]) -> (i32, String) {
    let o = gopwatch().args(["extract", "--list"]).arg(list).arg("--out").arg(out).args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).to_string())
}

/// The synthetic test clips' list.
fn synth_list() -> PathBuf {
    let l = synth_tiny().join("CLIPS.csv");
    assert!(l.is_file(), "{} missing: make it with tools/test.sh", l.display());
    l
}

#[test]
fn accumulated_motion_equals_coviar_reference_from_ffmpeg_vectors() {
    let dir = scratch("motion");
    // The synthetic clips (their list, made absolute) and the x264 streams.
    let synth = fs::read_to_string(synth_list()).unwrap();
    let mut list = String::from("path,label\n");
    for line in synth.lines().skip(1) {
        let (p, label) = line.split_once(',').unwrap();
        list.push_str(&format!("{},{}\n", synth_tiny().join(p).display(), label.split(',').next().unwrap()));
    }
    for s in X264 {
        list.push_str(&format!("{},x264\n", x264_streams().join(format!("{s}.264")).display()));
    }
    fs::write(dir.join("list.csv"), &list).unwrap();
    let out = dir.join("out");
    let (code, err) = extract(&dir.join("list.csv"), &out, &["--size", "native", "--segments", "6", "--sampling", "centre", "--jobs", "2"]);
    assert_eq!(code, 0, "extract failed: {err}");

    let index = fs::read_to_string(out.join("index.csv")).unwrap();
    let (mut compared, mut moving) = (0, 0);
    for row in index.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let (npz, clip) = (out.join(f[0]), PathBuf::from(f[1]));
        let ours = read_npz(&npz);
        let frames: Vec<i64> = ours["frames"].ints();
        let mv = ours["mv"].ints();
        let shape = &ours["mv"].shape;
        assert_eq!(shape[0], frames.len());
        let want: Vec<i64> = {
            let mut v: Vec<i64> = frames.iter().copied().filter(|&f| f >= 0).collect();
            v.sort();
            v.dedup();
            v
        };
        if want.is_empty() {
            continue;
        }
        // The reference, cached next to the stream's other oracle files.
        let cache = root().join("target/oracle").join(format!(
            "coviar_{}_{}.npz",
            clip.file_stem().unwrap().to_string_lossy(),
            want.iter().map(i64::to_string).collect::<Vec<_>>().join("-")
        ));
        if !cache.is_file() {
            fs::create_dir_all(cache.parent().unwrap()).unwrap();
            write_cache(&[&cache], |tmp| {
                let frames = want.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let o = Command::new(python())
                    .arg(root().join("tools/oracle/coviar_mvs.py"))
                    .arg(&clip)
                    .arg("-o")
                    .arg(&tmp[0])
                    .args(["--frames", &frames])
                    .output()
                    .unwrap();
                assert!(o.status.success(), "coviar_mvs.py {}: {}", clip.display(), String::from_utf8_lossy(&o.stderr));
            });
        }
        let r = read_npz(&cache);
        let rframes = r["frames"].ints();
        let racc = r["mv_acc"].ints();
        assert_eq!(&r["mv_acc"].shape[1..], &shape[1..], "{}: size differs from ffmpeg's", clip.display());
        let plane = shape[1] * shape[2] * shape[3];
        for (k, &fr) in frames.iter().enumerate().filter(|(_, &f)| f >= 0) {
            let j = rframes.iter().position(|&x| x == fr).unwrap();
            let (a, b) = (&mv[k * plane..][..plane], &racc[j * plane..][..plane]);
            if let Some(i) = (0..plane).find(|&i| a[i] != b[i]) {
                let (c, y, x) = (i / (shape[2] * shape[3]), i / shape[3] % shape[2], i % shape[3]);
                panic!(
                    "{}: picture {fr}: accumulated motion differs from CoViAR's at ({x}, {y}) component {c}: ours {} reference {} ({} of {plane} values differ)",
                    clip.display(),
                    a[i],
                    b[i],
                    (0..plane).filter(|&i| a[i] != b[i]).count()
                );
            }
            compared += 1;
            moving += usize::from(a.iter().any(|&v| v != 0));
        }
    }
    // Not vacuous: many pictures, most of them with motion.
    assert!(compared >= 100 && moving * 2 > compared, "only {compared} pictures compared, {moving} with motion");
    eprintln!("{compared} pictures equal to the reference ({moving} with motion)");
}

/// Every file of `dir`, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), fs::read(&p).unwrap())).collect();
    v.sort();
    v
}

#[test]
fn output_is_byte_identical_across_runs_and_jobs_and_resumes() {
    let dir = scratch("determinism");
    let (a, b, c) = (dir.join("jobs1"), dir.join("jobs2"), dir.join("again"));
    for (out, jobs) in [(&a, "1"), (&b, "2"), (&c, "2")] {
        let (code, err) = extract(&synth_list(), out, &["--jobs", jobs, "--segments", "4", "--size", "64x48", "--seed", "7"]);
        assert_eq!(code, 0, "{err}");
    }
    let fa = files(&a);
    assert!(fa.iter().filter(|(n, _)| n.ends_with(".npz")).count() >= 8, "too few clips: {:?}", fa.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(fa == files(&b), "--jobs 1 and --jobs 2 differ");
    assert!(fa == files(&c), "two runs differ");

    // Train clips are sampled at random, seeded: another seed picks other frames for some.
    let d = dir.join("seed8");
    assert_eq!(extract(&synth_list(), &d, &["--segments", "4", "--size", "64x48", "--seed", "8"]).0, 0);
    assert!(files(&d).iter().zip(&fa).any(|(x, y)| x.0.ends_with(".npz") && x.1 != y.1), "the seed changes nothing");

    // Resuming: nothing is redone, nothing changes; a removed clip is made again.
    let first = fa.iter().find(|f| f.0.ends_with(".npz")).unwrap().0.clone();
    fs::remove_file(a.join(&first)).unwrap();
    let (code, err) = extract(&synth_list(), &a, &["--jobs", "2", "--segments", "4", "--size", "64x48", "--seed", "7"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 extracted"), "{err}");
    assert!(fa == files(&a), "a resumed run differs");

    // Other parameters into the same directory are refused.
    let (code, err) = extract(&synth_list(), &a, &["--segments", "5", "--size", "64x48", "--seed", "7"]);
    assert_eq!(code, 2);
    assert!(err.contains("other parameters"), "{err}");
}

#[test]
fn bad_clips_are_reported_and_the_others_extracted() {
    let dir = scratch("bad");
    fs::write(dir.join("noise.264"), (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>()).unwrap();
    let good = x264_streams().join("main_cabac_nob.264");
    let list = format!("path,label\nmissing.264,walk\nnoise.264,run\n{},walk\n", good.display());
    fs::write(dir.join("list.csv"), list).unwrap();
    let (code, err) = extract(&dir.join("list.csv"), &dir.join("out"), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("missing.264: cannot read"), "{err}");
    assert!(err.contains("noise.264:"), "{err}");
    let failed = fs::read_to_string(dir.join("out/failed.csv")).unwrap();
    assert_eq!(failed.lines().count(), 3, "{failed}");
    let index = fs::read_to_string(dir.join("out/index.csv")).unwrap();
    assert_eq!(index.lines().count(), 2, "{index}");
    let z = read_npz(&dir.join("out").join(index.lines().nth(1).unwrap().split(',').next().unwrap()));
    assert_eq!(z["iframe"].shape, vec![3, 3, 112, 112]);
    assert_eq!(z["mv"].shape, vec![3, 2, 112, 112]);
    assert_eq!(z["residual"].shape, vec![3, 3, 112, 112]);

    // A malformed list stops the run before anything is written, naming the line.
    fs::write(dir.join("bad.csv"), "a.264,walk\nb.264\n").unwrap();
    let (code, err) = extract(&dir.join("bad.csv"), &dir.join("out2"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2"), "{err}");
}
