//! Motion vectors against ffmpeg's: for every in-scope stream, the 8x8 grid of `gopwatch`
//! equals ffmpeg's exported motion vectors (tools/oracle/ffmpeg_mvs.py, PyAV with
//! flags2=+export_mvs) on every block of every frame, with the same frame numbering and
//! picture types. Out-of-scope streams must fail with the right typed error.
//!
//! Needs: $GOPWATCH_PYTHON (a venv with tools/requirements-test.txt; default .venv),
//! $GOPWATCH_STREAMS (x264 streams from tools/streams/make_x264.sh; default target/streams),
//! $GOPWATCH_SHARED (default ../shared). tools/test.sh sets all three up.

use gopwatch::h264::mb::MbKind;
use gopwatch::h264::ErrorKind;
use gopwatch::source::file::{decode_stream, Event};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{python, root, shared, write_cache, x264_streams};

fn shared_streams() -> PathBuf {
    shared().join("openh264-res")
}


type Cell = (u64, u8, u32, u32); // frame, list, x, y

/// ffmpeg's vectors and frame types, cached under target/oracle.
fn oracle(stream: &Path) -> (BTreeMap<Cell, (i32, i32)>, Vec<char>) {
    let cache = root().join("target/oracle");
    std::fs::create_dir_all(&cache).unwrap();
    let name = stream.file_name().unwrap().to_string_lossy().to_string();
    let mvs = cache.join(format!("{name}.mvs.csv"));
    let frames = cache.join(format!("{name}.frames.csv"));
    let script = root().join("tools/oracle/ffmpeg_mvs.py");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (mtime(&mvs), mtime(&frames)) {
        (Some(a), Some(b)) => [mtime(stream), mtime(&script)].iter().any(|t| t.is_none_or(|t| t > a.min(b))),
        _ => true,
    };
    if stale {
        write_cache(&[&mvs, &frames], |tmp| {
            let st = Command::new(python())
                .arg(&script)
                .arg(stream)
                .arg("-o")
                .arg(&tmp[0])
                .arg("--frames")
                .arg(&tmp[1])
                .status()
                .expect("run the oracle");
            assert!(st.success(), "oracle failed on {name}");
        });
    }
    let mut map = BTreeMap::new();
    for line in std::fs::read_to_string(&mvs).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<i64>().unwrap();
        map.insert((n(0) as u64, n(2) as u8, n(3) as u32, n(4) as u32), (n(5) as i32, n(6) as i32));
    }
    let types = std::fs::read_to_string(&frames)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().chars().next().unwrap())
        .collect();
    (map, types)
}

struct Ours {
    cells: BTreeMap<Cell, (i32, i32)>,
    /// (frame, mb_x, mb_y) of every decoded macroblock.
    decoded: BTreeSet<(u64, u32, u32)>,
    /// (frame, list, mb_x, mb_y) for which ffmpeg exports every partition (see `check`).
    exported_whole: BTreeSet<(u64, u8, u32, u32)>,
    types: Vec<char>,
    errors: Vec<ErrorKind>,
}

fn ours(stream: &Path) -> Ours {
    let mut o = Ours {
        cells: BTreeMap::new(),
        decoded: BTreeSet::new(),
        exported_whole: BTreeSet::new(),
        types: Vec::new(),
        errors: Vec::new(),
    };
    let file = std::fs::File::open(stream).unwrap();
    decode_stream(file, |e| match e {
        Event::Picture(frame, p) => {
            assert_eq!(frame as usize, o.types.len(), "display indices are consecutive");
            o.types.push(p.picture_type.letter());
            for (addr, mb) in p.mbs.iter().enumerate() {
                if !mb.is_decoded() {
                    continue;
                }
                let (mx, my) = (addr % p.mb_width as usize, addr / p.mb_width as usize);
                o.decoded.insert((frame, mx as u32, my as u32));
                let b_8x8 = mb.kind == MbKind::B && mb.mb_type == 22;
                for list in 0..2u8 {
                    let uses = (0..4).any(|q| p.ref_idx[list as usize][p.ref_index(mx * 4 + (q & 1) * 2, my * 4 + (q >> 1) * 2)] >= 0);
                    if b_8x8 || uses {
                        o.exported_whole.insert((frame, list, mx as u32, my as u32));
                    }
                }
                for list in 0..2 {
                    for b in 0..4 {
                        let (x4, y4) = (mx * 4 + (b & 1) * 2, my * 4 + (b >> 1) * 2);
                        if p.ref_idx[list][p.ref_index(x4, y4)] >= 0 {
                            let mv = p.mv(list, x4, y4);
                            o.cells.insert(
                                (frame, list as u8, x4 as u32 * 4, y4 as u32 * 4),
                                (i32::from(mv[0]), i32::from(mv[1])),
                            );
                        }
                    }
                }
            }
        }
        Event::Error(e) => o.errors.push(e.kind.clone()),
    })
    .unwrap();
    o
}

/// Compares one stream; `lossy` streams miss slices on purpose: there ffmpeg conceals
/// macroblocks that were never sent, so only the macroblocks we decoded are compared.
fn check(stream: &Path, lossy: bool) -> Result<(), String> {
    let name = stream.file_name().unwrap().to_string_lossy();
    let (theirs, their_types) = oracle(stream);
    let o = ours(stream);
    if !lossy && !o.errors.is_empty() {
        return Err(format!("{name}: parse errors: {:?}", &o.errors[..o.errors.len().min(3)]));
    }
    if o.types != their_types {
        return Err(format!("{name}: frame types differ: ours {} frames, ffmpeg {}", o.types.len(), their_types.len()));
    }
    let mut bad = Vec::new();
    for (k, v) in &theirs {
        let mb = (k.0, k.2 / 16, k.3 / 16);
        if lossy && !o.decoded.contains(&mb) {
            continue;
        }
        // ffmpeg exports a list for every partition of a macroblock whose type uses the list
        // anywhere (always both for B_8x8), with a zero vector where the partition does not
        // use it: such rows are not motion, and have no row of ours.
        let unused = o.cells.get(k).is_none() && *v == (0, 0);
        if unused && o.exported_whole.contains(&(k.0, k.1, mb.1, mb.2)) {
            continue;
        }
        if o.cells.get(k) != Some(v) {
            bad.push(format!("frame {} list {} ({},{}): ours {:?} ffmpeg {:?}", k.0, k.1, k.2, k.3, o.cells.get(k), v));
        }
    }
    for (k, v) in &o.cells {
        if !theirs.contains_key(k) {
            bad.push(format!("frame {} list {} ({},{}): ours {:?} ffmpeg none", k.0, k.1, k.2, k.3, v));
        }
    }
    if !bad.is_empty() {
        return Err(format!("{name}: {} cells differ, first: {}", bad.len(), bad[..bad.len().min(5)].join("; ")));
    }
    eprintln!("{name}: {} frames, {} vectors equal", o.types.len(), theirs.len());
    Ok(())
}

fn check_all(streams: &[PathBuf], lossy: bool) {
    let failures: Vec<String> = streams.iter().filter_map(|s| check(s, lossy).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The CAVLC I/P streams of ../shared/streams/openh264-res (all that ffmpeg decodes).
const SHARED_CAVLC: &[&str] = &[
    "Adobe_PDF_sample_a_1024x768_50Frms.264",
    "BA1_FT_C.264",
    "BA1_Sony_D.jsv",
    "BAMQ1_JVC_C.264",
    "BAMQ2_JVC_C.264",
    "BANM_MW_D.264",
    "BASQP1_Sony_C.jsv",
    "BA_MW_D.264",
    "BA_MW_D_IDR_LOST.264",
    "BA_MW_D_P_LOST.264",
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
];

/// The CAVLC B streams of ../shared (temporal direct, 8x8 direct inference off and on).
const SHARED_CAVLC_B: &[&str] = &[
    "Cisco_Adobe_PDF_sample_a_1024x768_CAVLC_Bframe_9.264",
    "Cisco_Men_whisper_640x320_CAVLC_Bframe_9.264",
    "VID_1280x720_cavlc_temporal_direct.264",
    "VID_1920x1080_cavlc_temporal_direct.264",
];

/// x264 CAVLC streams with B frames: spatial and temporal direct, B pyramid.
const X264_CAVLC_B: &[&str] = &["high_cavlc_b2_spatial.264", "high_cavlc_b3_temporal.264", "main_cavlc_b2.264"];

#[test]
fn cavlc_b_streams_match_ffmpeg() {
    let (s, x) = (shared_streams(), x264_streams());
    let mut all: Vec<PathBuf> = SHARED_CAVLC_B.iter().map(|n| s.join(n)).collect();
    all.extend(X264_CAVLC_B.iter().map(|n| x.join(n)));
    check_all(&all, false);
}

/// CABAC streams of ../shared: I_PCM, slices, B frames, temporal direct, and a real camera
/// recording (High, CABAC, 8x8 transform, 3 references, up to 4 B frames, spatial direct).
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

/// x264 CABAC streams (parser II): Pi-like Main without B, High with the 8x8 transform,
/// B pyramids, direct modes, weighted prediction, several references and slices, custom
/// scaling matrices, odd sizes.
const X264_CABAC: &[&str] = &[
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
];

#[test]
fn cabac_streams_match_ffmpeg() {
    let shared = shared_streams().join("..");
    let x = x264_streams();
    let mut all: Vec<PathBuf> = SHARED_CABAC.iter().map(|n| shared.join(n)).collect();
    all.extend(X264_CABAC.iter().map(|n| x.join(n)));
    check_all(&all, false);
}

/// x264 streams for parser I (tools/streams/make_x264.sh).
const X264_CAVLC: &[&str] = &[
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
];

#[test]
fn shared_cavlc_streams_match_ffmpeg() {
    let dir = shared_streams();
    check_all(&SHARED_CAVLC.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), false);
}

#[test]
fn x264_cavlc_streams_match_ffmpeg() {
    let dir = x264_streams();
    check_all(&X264_CAVLC.iter().map(|n| dir.join(n)).collect::<Vec<_>>(), false);
}

/// Error_I_P.264 lacks slices on purpose: every macroblock that was sent matches.
/// A camera feed joined late: an intra-refresh stream (no I picture after the first) from
/// its third recovery point SEI, with its parameter sets in front. Output starts at the
/// recovery point (D.2.8), exactly as ffmpeg's.
#[test]
fn intra_refresh_stream_joined_at_a_recovery_point_matches_ffmpeg() {
    let src = std::fs::read(x264_streams().join("main_cabac_ir_k10.264")).expect("run tools/streams/make_x264.sh");
    // NAL units by their 3-byte start codes (a 4-byte one leaves a zero byte before it).
    let starts: Vec<usize> = (0..src.len().saturating_sub(3)).filter(|&i| src[i..i + 3] == [0, 0, 1]).collect();
    let unit = |k: usize| &src[starts[k]..starts.get(k + 1).copied().unwrap_or(src.len())];
    let kind = |k: usize| unit(k)[3] & 31;
    let mut joined = Vec::new();
    for k in 0..starts.len() {
        if matches!(kind(k), 7 | 8) && joined.len() < 64 {
            joined.extend_from_slice(unit(k));
        }
    }
    let recovery: Vec<usize> = (0..starts.len()).filter(|&k| kind(k) == 6 && unit(k).get(4) == Some(&6)).collect();
    assert!(recovery.len() >= 3, "expected recovery point SEIs in the intra-refresh stream");
    let parameter_sets = joined.len();
    for k in recovery[2]..starts.len() {
        joined.extend_from_slice(unit(k));
    }
    assert!(joined.len() > parameter_sets);
    let out = root().join("target/oracle/main_cabac_ir_k10_joined.264");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &joined).unwrap();
    let o = ours(&out);
    assert!(!o.types.is_empty() && !o.types.contains(&'I'), "no I picture: output must start at the recovery point");
    check(&out, false).unwrap();
}

#[test]
fn stream_with_lost_slices_matches_where_sent() {
    check_all(&[shared_streams().join("Error_I_P.264")], true);
}

fn first_error(stream: &Path) -> ErrorKind {
    let o = ours(stream);
    assert!(o.types.is_empty(), "{}: pictures from an unsupported stream", stream.display());
    o.errors.first().cloned().unwrap_or_else(|| panic!("{}: no error", stream.display()))
}

fn assert_unsupported(stream: &Path, needle: &str) {
    match first_error(stream) {
        ErrorKind::Unsupported { feature } => {
            assert!(feature.contains(needle), "{}: unsupported {feature:?}, expected {needle:?}", stream.display())
        }
        other => panic!("{}: expected Unsupported({needle}), got {other:?}", stream.display()),
    }
}

#[test]
fn out_of_scope_streams_are_refused_by_name() {
    let x = x264_streams();
    assert_unsupported(&x.join("oos_interlaced.264"), "interlaced");
    assert_unsupported(&x.join("oos_mbaff_cabac.264"), "interlaced");
    assert_unsupported(&x.join("oos_yuv422.264"), "4:2:2");
    assert_unsupported(&x.join("oos_yuv444.264"), "4:4:4");
    assert_unsupported(&x.join("oos_10bit.264"), "bit depth");
}

/// An SVC/MVC stream whose only slice is an enhancement-layer unit (nal_unit_type 20):
/// such units are skipped by design, so there is no base-layer picture to give.
#[test]
fn svc_enhancement_units_are_skipped() {
    let o = ours(&shared_streams().join("sps_subsetsps_bothVUI.264"));
    assert!(o.types.is_empty() && o.errors.is_empty());
}

/// The command itself: `gopwatch mvs --grid 8` (the CSV users get) equals ffmpeg's vectors on
/// P-only streams (no B_8x8 export quirk), with cropping, CABAC and I_PCM among them.
#[test]
fn cli_mvs_grid8_matches_ffmpeg() {
    let x = x264_streams();
    let s = shared_streams();
    for stream in [x.join("base_426x240.264"), x.join("main_cabac_nob.264"), s.join("CVFC1_Sony_C.jsv"), s.join("MR2_TANDBERG_E.264")] {
        let out = Command::new(env!("CARGO_BIN_EXE_gopwatch"))
            .args(["mvs", "--grid", "8"])
            .arg(&stream)
            .output()
            .expect("run gopwatch");
        assert!(out.status.success(), "{}: {}", stream.display(), String::from_utf8_lossy(&out.stderr));
        let csv = String::from_utf8(out.stdout).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("frame,poc,type,list,x,y,mv_x,mv_y,ref_idx"));
        let mut ours = BTreeMap::new();
        let mut types = BTreeMap::new();
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<i64>().unwrap();
            ours.insert((n(0) as u64, n(3) as u8, n(4) as u32, n(5) as u32), (n(6) as i32, n(7) as i32));
            types.insert(n(0) as u64, f[2].chars().next().unwrap());
        }
        let (theirs, their_types) = oracle(&stream);
        assert_eq!(ours, theirs, "{}", stream.display());
        for (frame, t) in types {
            assert_eq!(Some(&t), their_types.get(frame as usize), "{} frame {frame}", stream.display());
        }
    }
}
