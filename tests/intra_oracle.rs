//! Intra pictures against ffmpeg's: for every in-scope stream, each picture whose slices are
//! all intra, reconstructed and deblocked by `gopwatch::h264::recon`, equals the I frame
//! that ffmpeg (tools/oracle/ffmpeg_frames.py, PyAV, one thread) outputs at the same display
//! index, byte for byte over the cropped yuv420p planes; and both sides agree on which
//! display indices are I frames. On a mismatch the test also compares the pictures before
//! deblocking (ffmpeg's skip_loop_filter=all) and names the first differing macroblocks, so
//! that a failure says whether prediction/residual or the loop filter is wrong.
//!
//! Needs: $GOPWATCH_PYTHON (a venv with tools/requirements-test.txt; default .venv),
//! $GOPWATCH_STREAMS (x264 streams from tools/streams/make_x264.sh; default target/streams),
//! $GOPWATCH_SHARED (default ../shared). tools/test.sh sets all three up.

use gopwatch::h264::recon::{Options, Reconstructor};
use gopwatch::h264::PictureType;
use gopwatch::source::file::{decode_stream, Event};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{python, root, shared, write_cache, x264_streams};

/// One output frame of ffmpeg: type and, for the frames written, (width, height, planes).
struct TheirFrame {
    kind: String,
    image: Option<(usize, usize, Vec<u8>)>,
}

/// ffmpeg's frames (I frames with their planes), cached under target/oracle.
fn oracle(stream: &Path, deblock: bool) -> Vec<TheirFrame> {
    let cache = root().join("target/oracle");
    std::fs::create_dir_all(&cache).unwrap();
    let name = stream.file_name().unwrap().to_string_lossy().to_string();
    let tag = if deblock { "intra" } else { "intra-nolf" };
    let yuv = cache.join(format!("{name}.{tag}.yuv"));
    let index = cache.join(format!("{name}.{tag}.csv"));
    let script = root().join("tools/oracle/ffmpeg_frames.py");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (mtime(&yuv), mtime(&index)) {
        (Some(a), Some(b)) => [mtime(stream), mtime(&script)].iter().any(|t| t.map_or(true, |t| t > a.min(b))),
        _ => true,
    };
    if stale {
        write_cache(&[&yuv, &index], |tmp| {
            let mut cmd = Command::new(python());
            cmd.arg(&script).arg(stream).arg("-o").arg(&tmp[0]).arg("--index").arg(&tmp[1]);
            if !deblock {
                cmd.arg("--skip-loop-filter");
            }
            let st = cmd.status().expect("run the oracle");
            assert!(st.success(), "oracle failed on {name}");
        });
    }
    let data = std::fs::read(&yuv).unwrap();
    std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<usize>().unwrap();
            let image = (n(2) == 1).then(|| {
                let (w, h, off) = (n(3), n(4), n(5));
                let len = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
                (w, h, data[off..off + len].to_vec())
            });
            TheirFrame { kind: f[1].to_string(), image }
        })
        .collect()
}

/// Our intra pictures by display index: (cropped planes, macroblocks not received).
fn ours(stream: &Path, deblock: bool) -> (BTreeMap<u64, (Vec<u8>, usize)>, u64) {
    let mut rec = Reconstructor::new();
    let mut out = BTreeMap::new();
    let mut frames = 0;
    let file = std::fs::File::open(stream).unwrap();
    decode_stream(file, |e| {
        if let Event::Picture(i, p) = e {
            frames += 1;
            if p.picture_type == PictureType::I {
                let f = rec.reconstruct(p, Options { deblock }).unwrap();
                let mut buf = Vec::new();
                f.write_cropped(p.crop, &mut buf);
                out.insert(i, (buf, f.missing_mbs));
            }
        }
    })
    .unwrap();
    (out, frames)
}

/// The first macroblocks (x, y) whose samples differ, luma and chroma.
fn differing_mbs(a: &[u8], b: &[u8], w: usize, h: usize) -> String {
    let mut luma = Vec::new();
    for i in 0..w * h {
        let mb = ((i % w) / 16, (i / w) / 16);
        if a[i] != b[i] && !luma.contains(&mb) {
            luma.push(mb);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut chroma = Vec::new();
    for i in 0..2 * cw * ch {
        let k = i % (cw * ch);
        let mb = ((k % cw) / 8, (k / cw) / 8);
        if a[w * h + i] != b[w * h + i] && !chroma.contains(&mb) {
            chroma.push(mb);
        }
    }
    luma.sort_by_key(|m| (m.1, m.0));
    chroma.sort_by_key(|m| (m.1, m.0));
    format!(
        "{} luma MBs differ (first {:?}), {} chroma MBs (first {:?})",
        luma.len(),
        &luma[..luma.len().min(4)],
        chroma.len(),
        &chroma[..chroma.len().min(4)]
    )
}

/// Compares one stream. `lossy` streams miss slices on purpose: ffmpeg conceals what was
/// lost, so pictures with macroblocks we never received are not compared.
/// Returns (pictures compared, pictures skipped as incomplete).
fn check(stream: &Path, lossy: bool) -> Result<(usize, usize), String> {
    let name = stream.file_name().unwrap().to_string_lossy().to_string();
    let theirs = oracle(stream, true);
    let (mine, frames) = ours(stream, true);
    if frames as usize != theirs.len() {
        return Err(format!("{name}: {frames} pictures, ffmpeg {}", theirs.len()));
    }
    let their_i: Vec<u64> = (0..theirs.len() as u64).filter(|&i| theirs[i as usize].kind == "I").collect();
    let my_i: Vec<u64> = mine.keys().copied().collect();
    if their_i != my_i {
        return Err(format!("{name}: intra pictures at {my_i:?}, ffmpeg's I frames at {their_i:?}"));
    }
    let (mut compared, mut skipped) = (0, 0);
    let mut bad = Vec::new();
    for (&i, (planes, missing)) in &mine {
        let Some((w, h, theirs)) = &theirs[i as usize].image else {
            return Err(format!("{name}: frame {i}: no planes from the oracle"));
        };
        if *missing > 0 {
            assert!(lossy, "{name}: frame {i}: {missing} macroblocks missing");
            skipped += 1;
            continue;
        }
        compared += 1;
        if planes.len() != theirs.len() {
            bad.push(format!("frame {i}: {} bytes, ffmpeg {} ({w}x{h})", planes.len(), theirs.len()));
        } else if planes != theirs {
            bad.push(format!("frame {i}: {}", differing_mbs(planes, theirs, *w, *h)));
        }
    }
    if bad.is_empty() {
        return Ok((compared, skipped));
    }
    // Where does it go wrong: before the loop filter, or in it?
    let theirs_raw = oracle(stream, false);
    let (mine_raw, _) = ours(stream, false);
    for (&i, (planes, missing)) in &mine_raw {
        if let (0, Some((w, h, t))) = (*missing, &theirs_raw[i as usize].image) {
            if planes.len() == t.len() && planes != t {
                bad.push(format!("before deblocking, frame {i}: {}", differing_mbs(planes, t, *w, *h)));
                break;
            }
        }
    }
    Err(format!("{name}: {} of {compared} intra pictures differ: {}", bad.len(), bad.join("; ")))
}

fn check_all(streams: &[PathBuf], lossy: bool) {
    let mut failures = Vec::new();
    for s in streams {
        match check(s, lossy) {
            Ok((n, skipped)) => {
                let name = s.file_name().unwrap().to_string_lossy();
                if skipped > 0 {
                    eprintln!("{name}: {n} intra pictures equal, {skipped} incomplete (lost slices) not compared");
                } else {
                    eprintln!("{name}: {n} intra pictures equal");
                }
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The CAVLC streams of ../shared/streams/openh264-res that are in scope (the list of
/// tests/mvs_oracle.rs), I_PCM among them (CVPCMNL1_SVA_C), and several with only I slices.
const SHARED_CAVLC: &[&str] = &[
    "Adobe_PDF_sample_a_1024x768_50Frms.264",
    "BA1_FT_C.264",
    "BA1_Sony_D.jsv",
    "BAMQ1_JVC_C.264",
    "BAMQ2_JVC_C.264",
    "BANM_MW_D.264",
    "BASQP1_Sony_C.jsv",
    "BA_MW_D.264",
    "CI1_FT_B.264",
    "CI_MW_D.264",
    "CVFC1_Sony_C.jsv",
    "CVPCMNL1_SVA_C.264",
    "LS_SVA_D.264",
    "MIDR_MW_D.264",
    "MPS_MW_A.264",
    "MR1_BT_A.h264",
    "MR1_MW_A.264",
    "MR2_MW_A.264",
    "MR2_TANDBERG_E.264",
    "NL1_Sony_D.jsv",
    "NLMQ1_JVC_C.264",
    "NLMQ2_JVC_C.264",
    "NRF_MW_E.264",
    "SVA_BA1_B.264",
    "SVA_BA2_D.264",
    "SVA_Base_B.264",
    "SVA_CL1_E.264",
    "SVA_FM1_E.264",
    "SVA_NL1_B.264",
    "SVA_NL2_E.264",
    "SarVui.264",
    "Static.264",
    "Zhling_1280x720.264",
    "jm_1080p_allslice.264",
    "test_scalinglist_jm.264",
    "test_vd_1d.264",
    "test_vd_rc.264",
    "Cisco_Adobe_PDF_sample_a_1024x768_CAVLC_Bframe_9.264",
    "Cisco_Men_whisper_640x320_CAVLC_Bframe_9.264",
    "VID_1280x720_cavlc_temporal_direct.264",
    "VID_1920x1080_cavlc_temporal_direct.264",
];

/// CABAC streams of ../shared: I_PCM, slices, B frames, and a real camera recording.
const SHARED_CABAC: &[&str] = &[
    "openh264-res/test_qcif_cabac.264",
    "openh264-res/QCIF_2P_I_allIPCM.264",
    "openh264-res/test_cif_I_CABAC_slice.264",
    "openh264-res/test_cif_P_CABAC_slice.264",
    "openh264-res/Cisco_Men_whisper_640x320_CABAC_Bframe_9.264",
    "openh264-res/VID_1280x720_cabac_temporal_direct.264",
    "openh264-res/VID_1920x1080_cabac_temporal_direct.264",
    "real/crowd-720p25-high-bframes.h264",
];

/// Streams of ../shared that lose slices or whole pictures on purpose.
const SHARED_LOSSY: &[&str] = &["Error_I_P.264", "BA_MW_D_IDR_LOST.264", "BA_MW_D_P_LOST.264"];

/// x264 streams (tools/streams/make_x264.sh): CAVLC and CABAC, 4x4 and 8x8 transforms,
/// custom matrices, slices, cropping, deblocking off and with offsets, high and low QP.
const X264: &[&str] = &[
    "base_ref1.264",
    "base_ref4.264",
    "base_slices4.264",
    "base_slicemax.264",
    "base_intrarefresh.264",
    "base_426x240.264",
    "base_1366x768.264",
    "high_cavlc_8x8.264",
    "high_cavlc_cqm.264",
    "main_cavlc_pskip.264",
    "high_cavlc_b2_spatial.264",
    "high_cavlc_b3_temporal.264",
    "main_cavlc_b2.264",
    "main_cabac_nob.264",
    "high_cabac_8x8.264",
    "high_b2_pyrnone.264",
    "high_b3_pyrnormal.264",
    "high_direct_spatial.264",
    "high_direct_temporal.264",
    "high_weightp2.264",
    "high_weightb.264",
    "high_ref4_slices.264",
    "high_cqm.264",
    "high_odd_426x240.264",
    "intra_nodeblock.264",
    "intra_deblock_offsets.264",
    "intra_cavlc_offsets.264",
    "intra_all_cqm_slices.264",
    "intra_crop_350x198.264",
    "intra_qp44.264",
    "intra_qp8.264",
];

#[test]
fn shared_cavlc_intra_pictures_match_ffmpeg() {
    let dir = shared().join("openh264-res");
    check_all(&SHARED_CAVLC.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), false);
}

#[test]
fn shared_cabac_intra_pictures_match_ffmpeg() {
    let dir = shared();
    check_all(&SHARED_CABAC.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), false);
}

/// Pictures that were received whole match; those with lost slices are concealed by
/// ffmpeg and not compared.
#[test]
fn lossy_stream_intra_pictures_match_where_whole() {
    let dir = shared().join("openh264-res");
    check_all(&SHARED_LOSSY.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), true);
}

#[test]
fn x264_intra_pictures_match_ffmpeg() {
    let dir = x264_streams();
    check_all(&X264.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), false);
}

/// The command itself: `gopwatch frames --intra-only -o` writes exactly ffmpeg's I frames,
/// concatenated in display order (cropping, 8x8 transform, I_PCM, several slices).
#[test]
fn cli_frames_matches_ffmpeg() {
    let x = x264_streams();
    let s = shared().join("openh264-res");
    let tmp = root().join("target/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    for stream in [x.join("intra_crop_350x198.264"), s.join("CVPCMNL1_SVA_C.264"), s.join("test_cif_I_CABAC_slice.264")] {
        let out = tmp.join(format!("{}.cli.yuv", stream.file_name().unwrap().to_string_lossy()));
        let st = Command::new(env!("CARGO_BIN_EXE_gopwatch"))
            .args(["frames", "--intra-only", "-o"])
            .arg(&out)
            .arg(&stream)
            .output()
            .expect("run gopwatch");
        assert!(st.status.success(), "{}: {}", stream.display(), String::from_utf8_lossy(&st.stderr));
        let ours = std::fs::read(&out).unwrap();
        let theirs: Vec<u8> = oracle(&stream, true).into_iter().filter_map(|f| f.image.map(|i| i.2)).flatten().collect();
        assert!(!theirs.is_empty(), "{}: no I frame", stream.display());
        assert!(ours == theirs, "{}: gopwatch frames output differs from ffmpeg's I frames", stream.display());
        std::fs::remove_file(&out).ok();
    }
}

/// `--no-deblock` gives the pictures before the loop filter: ffmpeg's with
/// skip_loop_filter=all (and they differ from the deblocked ones).
#[test]
fn cli_frames_no_deblock_matches_ffmpeg_without_loop_filter() {
    let stream = x264_streams().join("intra_qp44.264");
    let tmp = root().join("target/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("intra_qp44.nolf.yuv");
    let st = Command::new(env!("CARGO_BIN_EXE_gopwatch")).args(["frames", "--intra-only", "--no-deblock", "-o"]).arg(&out).arg(&stream).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let ours = std::fs::read(&out).unwrap();
    let planes = |deblock: bool| -> Vec<u8> { oracle(&stream, deblock).into_iter().filter_map(|f| f.image.map(|i| i.2)).flatten().collect() };
    let raw = planes(false);
    assert!(ours == raw, "--no-deblock output differs from ffmpeg's skip_loop_filter=all frames");
    assert!(raw != planes(true), "the loop filter changes nothing in this stream: choose another");
    std::fs::remove_file(&out).ok();
}

/// Without --intra-only (or without an output) the command explains itself and fails.
#[test]
fn cli_frames_requires_its_arguments() {
    let stream = x264_streams().join("base_ref1.264");
    let r = Command::new(env!("CARGO_BIN_EXE_gopwatch")).args(["frames"]).arg(&stream).args(["-o", "/dev/null"]).output().unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--intra-only"));
    let r = Command::new(env!("CARGO_BIN_EXE_gopwatch")).args(["frames", "--intra-only"]).arg(&stream).output().unwrap();
    assert!(!r.status.success());
}

/// `--png DIR`: one RGB PNG per intra picture, named by display index, of the display size,
/// equal (within rounding) to ffmpeg's planes converted with the BT.601 limited-range
/// equations (the stream has no VUI colour description), chroma taken per 2x2 block.
#[test]
fn cli_frames_png_writes_display_sized_rgb() {
    let stream = x264_streams().join("intra_crop_350x198.264");
    let dir = root().join("target/tmp/png_intra_crop");
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new(env!("CARGO_BIN_EXE_gopwatch")).args(["frames", "--intra-only", "--png"]).arg(&dir).arg(&stream).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let theirs = oracle(&stream, true);
    let indices: Vec<usize> = (0..theirs.len()).filter(|&i| theirs[i].image.is_some()).collect();
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names, indices.iter().map(|i| format!("frame_{i:05}.png")).collect::<Vec<_>>());
    for i in indices {
        let (w, h, planes) = theirs[i].image.as_ref().unwrap();
        let (w, h) = (*w, *h);
        let dec = png::Decoder::new(std::fs::File::open(dir.join(format!("frame_{i:05}.png"))).unwrap());
        let mut reader = dec.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!((info.width as usize, info.height as usize, info.color_type), (w, h, png::ColorType::Rgb));
        let cw = w.div_ceil(2);
        let (cb0, cr0) = (w * h, w * h + cw * h.div_ceil(2));
        for y in 0..h {
            for x in 0..w {
                let yy = 1.164_383_6 * (f64::from(planes[y * w + x]) - 16.0);
                let c = (y / 2) * cw + x / 2;
                let (cb, cr) = (f64::from(planes[cb0 + c]) - 128.0, f64::from(planes[cr0 + c]) - 128.0);
                let want = [yy + 1.596_026_8 * cr, yy - 0.391_762_3 * cb - 0.812_967_6 * cr, yy + 2.017_232_1 * cb];
                for k in 0..3 {
                    let got = f64::from(rgb[(y * w + x) * 3 + k]);
                    let want = want[k].round().clamp(0.0, 255.0);
                    assert!((got - want).abs() <= 1.0, "frame {i} ({x},{y}) channel {k}: {got} vs {want}");
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
