//! Residual planes (`gopwatch::h264::residual`) against two things nobody here wrote:
//!
//! 1. ffmpeg's decoded pictures. The streams resid_*.264 (tools/streams/make_x264.sh) are
//!    coded with full-pel motion only (x264 subme=0), no deblocking and no weighted
//!    prediction. For a 4x4 luma block whose vectors are whole samples (mv % 4 == 0 in both
//!    components, every list it uses), inter prediction is a copy of reference samples with
//!    clamped coordinates (8.4.2.2.1, 8-228/8-229), averaged for bi-prediction
//!    ((a + b + 1) >> 1, 8-301), and the decoded block is Clip1(pred + residual) (8.5.14).
//!    Chroma likewise where mv % 8 == 0 (1/8-sample chroma vectors, 8.4.1.4). Current and
//!    reference pictures are both ffmpeg's (PyAV, one thread); a reference is found through
//!    the slice's reference list (`Picture::ref_ids`, decode order) and the display index
//!    of that picture. Every such block of every P and B picture is checked, and the test
//!    demands that many of them have a non-zero residual (otherwise it would prove nothing).
//! 2. A straightforward reference of 8.5.6 - 8.5.13 written from the equations here (scan
//!    tables and normAdjust generated from their definitions, weightScale from the parsed
//!    lists, Table 8-15) applied to the parser's levels of every inter macroblock of
//!    real streams with scaling matrices, 8x8 transform and chroma QP offsets; the inverse
//!    transforms are transform.rs's, which have their own matrix-form property tests.
//!
//! Needs: $GOPWATCH_PYTHON, $GOPWATCH_STREAMS (see tests/intra_oracle.rs).

use gopwatch::h264::mb::{blk_xy, MbKind};
use gopwatch::h264::picture::{CHROMA_AC, CHROMA_DC, NO_REF};
use gopwatch::h264::residual::{MbResidual, ResidualDecoder, ResidualPlanes};
use gopwatch::h264::transform::{idct4, idct8};
use gopwatch::h264::PictureType;
use gopwatch::source::file::{decode_stream, Event};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

mod common;
use common::{python, root, shared, write_cache, x264_streams};

/// Every frame ffmpeg outputs (display order), as yuv420p planes of `w` x `h`.
fn ffmpeg_frames(stream: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let cache = root().join("target/oracle");
    std::fs::create_dir_all(&cache).unwrap();
    let name = stream.file_name().unwrap().to_string_lossy().to_string();
    let yuv = cache.join(format!("{name}.all.yuv"));
    let index = cache.join(format!("{name}.all.csv"));
    write_cache(&[&yuv, &index], |tmp| {
        let st = Command::new(python())
            .arg(root().join("tools/oracle/ffmpeg_frames.py"))
            .arg(stream)
            .arg("--all")
            .arg("-o")
            .arg(&tmp[0])
            .arg("--index")
            .arg(&tmp[1])
            .status()
            .expect("run the oracle");
        assert!(st.success(), "oracle failed on {name}");
    });
    let data = std::fs::read(&yuv).unwrap();
    let len = w * h * 3 / 2;
    let rows = std::fs::read_to_string(&index).unwrap();
    for line in rows.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!((f[3].parse::<usize>().unwrap(), f[4].parse::<usize>().unwrap()), (w, h), "{name}: frame size");
    }
    assert_eq!(data.len() % len, 0);
    data.chunks_exact(len).map(|c| c.to_vec()).collect()
}

/// What the check needs of one of our P/B pictures.
struct Ours {
    display: u64,
    planes: ResidualPlanes,
    kinds: Vec<MbKind>,
    mv: [Vec<[i16; 2]>; 2],
    /// Decode index of the reference of each 4x4 block and list (NO_REF when unused).
    refs: [Vec<u64>; 2],
}

fn ours(stream: &Path) -> (Vec<Ours>, HashMap<u64, u64>, usize, usize) {
    let mut dec = ResidualDecoder::new();
    let mut out = Vec::new();
    let mut display_of = HashMap::new();
    let mut size = (0, 0);
    decode_stream(std::fs::File::open(stream).unwrap(), |e| {
        let Event::Picture(i, p) = e else { return };
        display_of.insert(p.decode_index, i);
        size = (p.mb_width as usize * 16, p.mb_height as usize * 16);
        if p.picture_type == PictureType::I {
            return;
        }
        let planes = dec.compute(p).unwrap().clone();
        let stride = p.stride4();
        let blocks = stride * p.mb_height as usize * 4;
        let mut refs = [vec![NO_REF; blocks], vec![NO_REF; blocks]];
        for b in 0..blocks {
            let addr = (b / stride / 4) * p.mb_width as usize + (b % stride) / 4;
            let mb = &p.mbs[addr];
            if !mb.is_decoded() || mb.kind.is_intra() {
                continue;
            }
            let lists = &p.ref_ids[mb.slice_num as usize - 1];
            for l in 0..2 {
                let ri = p.ref_idx[l][p.ref_index(b % stride, b / stride)];
                if ri >= 0 {
                    refs[l][b] = lists[l][ri as usize];
                }
            }
        }
        out.push(Ours { display: i, planes, kinds: p.mbs.iter().map(|m| m.kind).collect(), mv: [0, 1].map(|l| (0..blocks).map(|b| p.mv(l, b % stride, b / stride)).collect()), refs });
    })
    .unwrap();
    (out, display_of, size.0, size.1)
}

#[derive(Default, Debug)]
struct Counts {
    mbs_checked: usize,
    luma_blocks: usize,
    luma_nonzero: usize,
    chroma_blocks: usize,
    chroma_nonzero: usize,
    bi_blocks: usize,
    intra_mbs: usize,
}

/// Checks every full-pel block of one stream; returns the counts or the first mismatches.
fn check_against_ffmpeg(name: &str) -> Counts {
    let stream = x264_streams().join(name);
    let (pics, display_of, w, h) = ours(&stream);
    let theirs = ffmpeg_frames(&stream, w, h);
    let (cw, ch) = (w / 2, h / 2);
    let mbw = w / 16;
    let stride4 = w / 4;
    let mut c = Counts::default();
    let mut errors = Vec::new();
    for pic in &pics {
        let cur = &theirs[pic.display as usize];
        for (addr, &kind) in pic.kinds.iter().enumerate() {
            let (mx, my) = (addr % mbw, addr / mbw);
            let state = pic.planes.mb[addr];
            if kind.is_intra() {
                // Intra macroblocks: flagged, zeros.
                c.intra_mbs += 1;
                assert_eq!(state, MbResidual::Intra);
                for y in 0..16 {
                    assert!(pic.planes.y[(my * 16 + y) * w + mx * 16..][..16].iter().all(|&v| v == 0));
                }
                continue;
            }
            assert!(kind != MbKind::NotDecoded, "{name}: picture {} lost a macroblock", pic.display);
            assert_eq!(state, if kind.is_skip() { MbResidual::Skip } else { MbResidual::Inter });
            let mut whole = true;
            for blk in 0..16 {
                let (bx, by) = blk_xy(blk);
                let b = (my * 4 + by) * stride4 + mx * 4 + bx;
                // The reference pictures (ffmpeg's) and integer vectors of the lists used.
                let mut srcs: Vec<(&Vec<u8>, [i16; 2])> = Vec::new();
                for l in 0..2 {
                    if pic.refs[l][b] != NO_REF {
                        let d = display_of[&pic.refs[l][b]];
                        srcs.push((&theirs[d as usize], pic.mv[l][b]));
                    }
                }
                assert!(!srcs.is_empty(), "{name}: inter block without reference");
                if srcs.iter().any(|s| s.1[0] % 4 != 0 || s.1[1] % 4 != 0) {
                    whole = false;
                    continue;
                }
                // One plane: block of n x n at (x0, y0), plane size pw x ph at `off` in the frame.
                let mut check = |res: &[i16], off: usize, pw: usize, ph: usize, x0: usize, y0: usize, n: usize, div: i32| {
                    let mut nonzero = false;
                    for y in y0..y0 + n {
                        for x in x0..x0 + n {
                            let sample = |(f, mv): &(&Vec<u8>, [i16; 2])| {
                                let sx = (x as i32 + i32::from(mv[0]) / div).clamp(0, pw as i32 - 1) as usize;
                                let sy = (y as i32 + i32::from(mv[1]) / div).clamp(0, ph as i32 - 1) as usize;
                                i32::from(f[off + sy * pw + sx])
                            };
                            let pred = match srcs.as_slice() {
                                [a] => sample(a),
                                [a, b] => (sample(a) + sample(b) + 1) >> 1,
                                _ => unreachable!(),
                            };
                            let r = i32::from(res[y * pw + x]);
                            nonzero |= r != 0;
                            let want = (pred + r).clamp(0, 255);
                            let got = i32::from(cur[off + y * pw + x]);
                            if got != want && errors.len() < 8 {
                                errors.push(format!(
                                    "picture {} mb ({mx},{my}) {kind:?} plane@{off} ({x},{y}): ffmpeg {got}, pred {pred} + residual {r}",
                                    pic.display
                                ));
                            }
                        }
                    }
                    nonzero
                };
                c.luma_blocks += 1;
                c.bi_blocks += usize::from(srcs.len() == 2);
                if check(&pic.planes.y, 0, w, h, mx * 16 + bx * 4, my * 16 + by * 4, 4, 4) {
                    c.luma_nonzero += 1;
                }
                if srcs.iter().all(|s| s.1[0] % 8 == 0 && s.1[1] % 8 == 0) {
                    for (plane, off) in [(&pic.planes.cb, w * h), (&pic.planes.cr, w * h + cw * ch)] {
                        c.chroma_blocks += 1;
                        if check(plane, off, cw, ch, mx * 8 + bx * 2, my * 8 + by * 2, 2, 8) {
                            c.chroma_nonzero += 1;
                        }
                    }
                }
            }
            c.mbs_checked += usize::from(whole);
        }
    }
    assert!(errors.is_empty(), "{name}: residual + prediction differs from ffmpeg:\n{}", errors.join("\n"));
    eprintln!("{name}: {c:?}");
    c
}

#[test]
fn p_residual_matches_ffmpeg_cavlc_4x4_chroma_offset() {
    let c = check_against_ffmpeg("resid_cavlc_4x4.264");
    assert!(c.mbs_checked >= 1000 && c.luma_nonzero >= 1000 && c.chroma_nonzero >= 200, "{c:?}");
}

#[test]
fn p_residual_matches_ffmpeg_cabac_8x8_scaling_matrices() {
    let c = check_against_ffmpeg("resid_cabac_8x8_cqm.264");
    assert!(c.mbs_checked >= 1000 && c.luma_nonzero >= 1000 && c.chroma_nonzero >= 200, "{c:?}");
}

#[test]
fn b_residual_matches_ffmpeg_cavlc_8x8() {
    let c = check_against_ffmpeg("resid_cavlc_8x8_b2.264");
    assert!(c.mbs_checked >= 1000 && c.luma_nonzero >= 1000 && c.bi_blocks >= 1000, "{c:?}");
}

#[test]
fn b_residual_matches_ffmpeg_cabac_pyramid_scaling_matrices() {
    let c = check_against_ffmpeg("resid_cabac_b3_cqm.264");
    assert!(c.mbs_checked >= 1000 && c.luma_nonzero >= 1000 && c.bi_blocks >= 1000, "{c:?}");
}

// ---- 2. Straightforward reference of the scaling process ---------------------------------

/// Zig-zag scan of an n x n block (8.5.6 Table 8-12, 8.5.7 Table 8-13, frame macroblocks):
/// raster position of scan index k, walking the anti-diagonals alternately.
fn zigzag(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for s in 0..2 * n - 1 {
        let rows: Vec<usize> = (0..n).filter(|&i| s >= i && s - i < n).collect();
        let rows: Vec<usize> = if s % 2 == 1 { rows } else { rows.into_iter().rev().collect() };
        out.extend(rows.into_iter().map(|i| i * n + (s - i)));
    }
    out
}

/// normAdjust4x4 (8-315) and normAdjust8x8 (8-318) from their definitions.
fn norm4(m: usize, i: usize, j: usize) -> i64 {
    const V: [[i64; 3]; 6] = [[10, 16, 13], [11, 18, 14], [13, 20, 16], [14, 23, 18], [16, 25, 20], [18, 29, 23]];
    V[m][if i % 2 == 0 && j % 2 == 0 { 0 } else if i % 2 == 1 && j % 2 == 1 { 1 } else { 2 }]
}

fn norm8(m: usize, i: usize, j: usize) -> i64 {
    const V: [[i64; 6]; 6] = [
        [20, 18, 32, 19, 25, 24],
        [22, 19, 35, 21, 28, 26],
        [26, 23, 42, 24, 33, 31],
        [28, 25, 45, 26, 35, 33],
        [32, 28, 51, 30, 40, 38],
        [36, 32, 58, 34, 46, 43],
    ];
    let c = if i % 4 == 0 && j % 4 == 0 {
        0
    } else if i % 2 == 1 && j % 2 == 1 {
        1
    } else if i % 4 == 2 && j % 4 == 2 {
        2
    } else if (i % 4 == 0 && j % 2 == 1) || (i % 2 == 1 && j % 4 == 0) {
        3
    } else if (i % 4 == 0 && j % 4 == 2) || (i % 4 == 2 && j % 4 == 0) {
        4
    } else {
        5
    };
    V[m][c]
}

/// QPC as a function of qPI (Table 8-15).
fn qpc(qpi: i64) -> i64 {
    const T: [i64; 22] = [29, 30, 31, 32, 32, 33, 34, 34, 35, 35, 36, 36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39];
    let q = qpi.clamp(0, 51);
    if q < 30 { q } else { T[(q - 30) as usize] }
}

/// 8-336 / 8-337 (4x4, DC excepted when `ac_only`) on levels `lv` in scan order with a
/// scaling list `list` (scan order): d in raster order.
fn ref_scale4(lv: &[i16], list: &[u8], qp: i64, ac_only: bool) -> [i32; 16] {
    let zz = zigzag(4);
    let mut d = [0i32; 16];
    for k in usize::from(ac_only)..16 {
        let pos = zz[k];
        let ls = i64::from(list[k]) * norm4((qp % 6) as usize, pos / 4, pos % 4);
        let c = i64::from(lv[k]);
        let v = if qp >= 24 { (c * ls) << (qp / 6 - 4) } else { (c * ls + (1 << (3 - qp / 6))) >> (4 - qp / 6) };
        d[pos] = v as i32;
    }
    d
}

/// 8.5.13.1.
fn ref_scale8(lv: &[i16], list: &[u8], qp: i64) -> [i32; 64] {
    let zz = zigzag(8);
    let mut d = [0i32; 64];
    for k in 0..64 {
        let pos = zz[k];
        let ls = i64::from(list[k]) * norm8((qp % 6) as usize, pos / 8, pos % 8);
        let c = i64::from(lv[k]);
        let v = if qp >= 36 { (c * ls) << (qp / 6 - 6) } else { (c * ls + (1 << (5 - qp / 6))) >> (6 - qp / 6) };
        d[pos] = v as i32;
    }
    d
}

/// Residual planes of every P/B picture by the reference, compared with the module's (whole
/// planes: everything outside inter macroblocks must be zero). Returns (inter macroblocks
/// compared, those with the 8x8 transform, with coded chroma, macroblocks not received).
fn check_against_reference(stream: &Path) -> (usize, usize, usize, usize) {
    let name = stream.file_name().unwrap().to_string_lossy().to_string();
    let mut dec = ResidualDecoder::new();
    let (mut mbs, mut mbs8, mut mbsc, mut missing) = (0, 0, 0, 0);
    decode_stream(std::fs::File::open(stream).unwrap(), |e| {
        let Event::Picture(i, p) = e else { return };
        if p.picture_type == PictureType::I {
            return;
        }
        let Ok(got) = dec.compute(p) else { return };
        for (m, &state) in p.mbs.iter().zip(&got.mb) {
            let want = match m.kind {
                MbKind::NotDecoded => MbResidual::Missing,
                MbKind::PSkip | MbKind::BSkip => MbResidual::Skip,
                MbKind::P | MbKind::B => MbResidual::Inter,
                _ => MbResidual::Intra,
            };
            assert_eq!(state, want, "{name}: picture {i}");
            missing += usize::from(state == MbResidual::Missing);
        }
        let info = &p.slice_info[0];
        // Matrices in force (7.4.2.2): the PPS's, else the SPS's, else flat.
        let m = info.pps.scaling_matrices.as_ref().or(info.sps.scaling_matrices.as_ref());
        let list4 = |l: usize| m.map_or([16u8; 16], |m| m.list4x4[l]);
        let list8 = m.map_or([16u8; 64], |m| m.list8x8[1]);
        let (w, cw) = (got.width, got.width / 2);
        let mut want_y = vec![0i32; got.y.len()];
        let mut want_c = [vec![0i32; got.cb.len()], vec![0i32; got.cr.len()]];
        for (addr, mb) in p.mbs.iter().enumerate() {
            if !matches!(mb.kind, MbKind::P | MbKind::B) {
                continue;
            }
            mbs += 1;
            mbs8 += usize::from(mb.transform_size_8x8_flag);
            let (mx, my) = (addr % p.mb_width as usize, addr / p.mb_width as usize);
            let lv = &p.levels.mb(addr);
            let qp = i64::from(mb.qp);
            let put = |plane: &mut Vec<i32>, stride: usize, x0: usize, y0: usize, n: usize, r: &[i32]| {
                for y in 0..n {
                    for x in 0..n {
                        plane[(y0 + y) * stride + x0 + x] = r[y * n + x];
                    }
                }
            };
            for b8 in 0..4 {
                if mb.cbp & (1 << b8) == 0 {
                    continue;
                }
                if mb.transform_size_8x8_flag {
                    let d = ref_scale8(lv[b8 * 4..b8 * 4 + 4].as_flattened(), &list8, qp);
                    put(&mut want_y, w, mx * 16 + (b8 % 2) * 8, my * 16 + (b8 / 2) * 8, 8, &idct8(&d));
                } else {
                    for blk in b8 * 4..b8 * 4 + 4 {
                        let (bx, by) = blk_xy(blk);
                        if mb.total_coeff[by * 4 + bx] > 0 {
                            let d = ref_scale4(&lv[blk], &list4(3), qp, false);
                            put(&mut want_y, w, mx * 16 + bx * 4, my * 16 + by * 4, 4, &idct4(&d));
                        }
                    }
                }
            }
            if mb.cbp >> 4 != 0 {
                mbsc += 1;
                for c in 0..2 {
                    let off = i64::from(if c == 0 { info.pps.chroma_qp_index_offset } else { info.pps.second_chroma_qp_index_offset });
                    let qc = qpc(qp + off);
                    let list = list4(4 + c);
                    // 8.5.11.2: f = H c H, dcC = ((f * LevelScale4x4(QP'C % 6, 0, 0)) << (QP'C / 6)) >> 5.
                    let cdc = if mb.coded_dc & (2 << c) != 0 { lv[CHROMA_DC + c] } else { [0; 16] };
                    let v = |k: usize| i64::from(cdc[k]);
                    let f = [v(0) + v(1) + v(2) + v(3), v(0) - v(1) + v(2) - v(3), v(0) + v(1) - v(2) - v(3), v(0) - v(1) - v(2) + v(3)];
                    let ls00 = i64::from(list[0]) * norm4((qc % 6) as usize, 0, 0);
                    for blk in 0..4 {
                        let mut d = if mb.total_coeff[16 + 4 * c + blk] > 0 {
                            ref_scale4(&lv[CHROMA_AC + 4 * c + blk], &list, qc, true)
                        } else {
                            [0; 16]
                        };
                        d[0] = (((f[blk] * ls00) << (qc / 6)) >> 5) as i32;
                        put(&mut want_c[c], cw, mx * 8 + (blk % 2) * 4, my * 8 + (blk / 2) * 4, 4, &idct4(&d));
                    }
                }
            }
        }
        let same = |a: &[i16], b: &[i32]| a.iter().zip(b).position(|(&x, &y)| i32::from(x) != y);
        assert_eq!(same(&got.y, &want_y), None, "{name}: picture {i}: luma");
        assert_eq!(same(&got.cb, &want_c[0]), None, "{name}: picture {i}: Cb");
        assert_eq!(same(&got.cr, &want_c[1]), None, "{name}: picture {i}: Cr");
    })
    .unwrap();
    eprintln!("{name}: {mbs} inter macroblocks, {mbs8} with 8x8 transform, {mbsc} with chroma, {missing} not received");
    (mbs, mbs8, mbsc, missing)
}

#[test]
fn residual_matches_reference_on_conformance_and_camera_streams() {
    // A real camera (High, B frames), openh264's CABAC B and temporal-direct streams, JM
    // scaling lists, and streams that lose slices (macroblocks not received: zeros).
    let mut total = (0, 0, 0, 0);
    for name in [
        "real/crowd-720p25-high-bframes.h264",
        "openh264-res/Cisco_Men_whisper_640x320_CABAC_Bframe_9.264",
        "openh264-res/VID_1280x720_cabac_temporal_direct.264",
        "openh264-res/test_scalinglist_jm.264",
        "openh264-res/Error_I_P.264",
        "openh264-res/BA_MW_D_P_LOST.264",
    ] {
        let c = check_against_reference(&shared().join(name));
        total = (total.0 + c.0, total.1 + c.1, total.2 + c.2, total.3 + c.3);
    }
    assert!(total.0 > 50_000 && total.1 > 1_000 && total.2 > 10_000 && total.3 > 0, "{total:?}");
}

#[test]
fn zigzag_generator_gives_table_8_12() {
    assert_eq!(zigzag(4), [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15]);
    assert_eq!(&zigzag(8)[..10], [0, 1, 8, 16, 9, 2, 3, 10, 17, 24]);
}

#[test]
fn residual_matches_reference_on_streams_with_matrices_8x8_and_offsets() {
    // CAVLC and CABAC, scaling matrices (cqm=jvt: inter lists differ from intra ones),
    // 8x8 transform, B pictures, chroma QP offsets (+2, -3), odd sizes.
    let mut total = (0, 0, 0);
    for name in [
        "high_cqm.264",
        "high_cavlc_cqm.264",
        "resid_cavlc_4x4.264",
        "resid_cabac_8x8_cqm.264",
        "resid_cabac_b3_cqm.264",
        "high_odd_426x240.264",
        "main_cavlc_b2.264",
    ] {
        let c = check_against_reference(&x264_streams().join(name));
        total = (total.0 + c.0, total.1 + c.1, total.2 + c.2);
    }
    assert!(total.0 > 20_000 && total.1 > 2_000 && total.2 > 5_000, "{total:?}");
}

// ---- 3. The command line ----------------------------------------------------------------

#[test]
fn cli_scan_residual_reports_the_macroblocks_of_the_library() {
    let stream = x264_streams().join("resid_cabac_b3_cqm.264");
    let mut dec = ResidualDecoder::new();
    let (mut pics, mut counts) = (0, [0usize; 4]);
    decode_stream(std::fs::File::open(&stream).unwrap(), |e| {
        if let Event::Picture(_, p) = e {
            if p.picture_type != PictureType::I {
                pics += 1;
                for (n, c) in counts.iter_mut().zip(dec.compute(p).unwrap().counts()) {
                    *n += c;
                }
            }
        }
    })
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gopwatch")).arg("scan").arg(&stream).arg("--residual").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let [missing, skip, inter, intra] = counts;
    let want = format!("macroblocks inter {inter} skip {skip} intra {intra} missing {missing}");
    assert!(text.contains(&format!("residual: pictures {pics} ")) && text.contains(&want), "{text}\nwanted {want}");
    assert!(inter > 0 && skip > 0 && intra > 0);
}

#[test]
fn cli_frames_residual_png_is_the_luma_residual_plus_128() {
    let stream = x264_streams().join("resid_cavlc_4x4.264");
    let dir = root().join("target/tmp/residual_png");
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new(env!("CARGO_BIN_EXE_gopwatch")).arg("frames").arg(&stream).arg("--residual-png").arg(&dir).status().unwrap();
    assert!(st.success());
    let mut dec = ResidualDecoder::new();
    let mut checked = 0;
    decode_stream(std::fs::File::open(&stream).unwrap(), |e| {
        let Event::Picture(i, p) = e else { return };
        let file = dir.join(format!("residual_{i:05}.png"));
        if p.picture_type == PictureType::I {
            assert!(!file.exists());
            return;
        }
        let r = dec.compute(p).unwrap();
        let mut png = png::Decoder::new(std::fs::File::open(&file).unwrap()).read_info().unwrap();
        let mut buf = vec![0u8; png.output_buffer_size()];
        let info = png.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (352, 288, png::ColorType::Grayscale));
        let want: Vec<u8> = r.y.iter().map(|&v| (i32::from(v) + 128).clamp(0, 255) as u8).collect();
        assert_eq!(&buf[..352 * 288], &want[..]);
        assert!(want.iter().any(|&v| v != 128));
        checked += 1;
    })
    .unwrap();
    assert_eq!(checked, 15);
}
