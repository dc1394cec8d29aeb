//! The deblocking filter (H.264 8.7) for pictures whose macroblocks are all intra
//! (frame macroblocks, 8-bit 4:2:0).
//!
//! Macroblocks are filtered in raster order, each one's vertical edges left to right, then
//! its horizontal edges top to bottom, luma and both chroma components (8.7). With intra
//! macroblocks on both sides, bS is 4 on macroblock edges and 3 inside (8.7.2.1); with
//! transform_size_8x8_flag the inner 4x4 luma edges are not filtered. Edges to the left and
//! top are skipped by disable_deblocking_filter_idc 1 (no filtering in the slice) and 2
//! (not across slice boundaries, 7.4.3). The thresholds use the average QP of the two
//! macroblocks (QPY, 0 for I_PCM, or its QPC per component, 8.7.2.2) and the FilterOffsetA
//! and FilterOffsetB of the slice holding q0 (the current macroblock).

use super::dequant::chroma_qp;
use super::mb::{Macroblock, MbKind};
use super::picture::{Picture, SliceInfo};
use super::recon::Frame;
use super::tables::recon::{ALPHA, BETA, TC0};

/// Thresholds of one edge (8.7.2.2).
#[derive(Clone, Copy)]
struct Thresholds {
    alpha: i32,
    beta: i32,
    /// tC0 for bS < 4.
    tc0: i32,
}

fn thresholds(qp_p: i32, qp_q: i32, bs: u8, si: &SliceInfo) -> Thresholds {
    let qpav = (qp_p + qp_q + 1) >> 1;
    let index_a = (qpav + i32::from(si.filter_offset_a)).clamp(0, 51) as usize;
    let index_b = (qpav + i32::from(si.filter_offset_b)).clamp(0, 51) as usize;
    let tc0 = if (1..4).contains(&bs) { i32::from(TC0[index_a * 3 + usize::from(bs) - 1]) } else { 0 };
    Thresholds { alpha: i32::from(ALPHA[index_a]), beta: i32::from(BETA[index_b]), tc0 }
}

/// Filters one line of samples across an edge (8.7.2.3, 8.7.2.4). `q0` is the index of q0
/// in `s`, `step` the distance between successive samples across the edge. The caller
/// guarantees that p3..q3 (luma) or p1..q1 (chroma) lie inside `s`.
#[inline(always)]
fn filter_line(s: &mut [u8], q0: usize, step: usize, bs: u8, t: Thresholds, chroma: bool) {
    let idx = |k: isize| (q0 as isize + k * step as isize) as usize;
    let (p0, p1, q0v, q1) = (i32::from(s[idx(-1)]), i32::from(s[idx(-2)]), i32::from(s[idx(0)]), i32::from(s[idx(1)]));
    if !((p0 - q0v).abs() < t.alpha && (p1 - p0).abs() < t.beta && (q1 - q0v).abs() < t.beta) {
        return;
    }
    let set = |s: &mut [u8], k: isize, v: i32| s[idx(k)] = v.clamp(0, 255) as u8;
    if chroma {
        if bs == 4 {
            set(s, -1, (2 * p1 + p0 + q1 + 2) >> 2);
            set(s, 0, (2 * q1 + q0v + p1 + 2) >> 2);
        } else {
            let tc = t.tc0 + 1;
            let delta = ((((q0v - p0) << 2) + (p1 - q1) + 4) >> 3).clamp(-tc, tc);
            set(s, -1, p0 + delta);
            set(s, 0, q0v - delta);
        }
        return;
    }
    let (p3, p2, q2, q3) = (i32::from(s[idx(-4)]), i32::from(s[idx(-3)]), i32::from(s[idx(2)]), i32::from(s[idx(3)]));
    let ap = (p2 - p0).abs();
    let aq = (q2 - q0v).abs();
    if bs == 4 {
        let strong = (p0 - q0v).abs() < ((t.alpha >> 2) + 2);
        if ap < t.beta && strong {
            set(s, -1, (p2 + 2 * p1 + 2 * p0 + 2 * q0v + q1 + 4) >> 3);
            set(s, -2, (p2 + p1 + p0 + q0v + 2) >> 2);
            set(s, -3, (2 * p3 + 3 * p2 + p1 + p0 + q0v + 4) >> 3);
        } else {
            set(s, -1, (2 * p1 + p0 + q1 + 2) >> 2);
        }
        if aq < t.beta && strong {
            set(s, 0, (p1 + 2 * p0 + 2 * q0v + 2 * q1 + q2 + 4) >> 3);
            set(s, 1, (p0 + q0v + q1 + q2 + 2) >> 2);
            set(s, 2, (2 * q3 + 3 * q2 + q1 + q0v + p0 + 4) >> 3);
        } else {
            set(s, 0, (2 * q1 + q0v + p1 + 2) >> 2);
        }
        return;
    }
    let tc = t.tc0 + i32::from(ap < t.beta) + i32::from(aq < t.beta);
    let delta = ((((q0v - p0) << 2) + (p1 - q1) + 4) >> 3).clamp(-tc, tc);
    set(s, -1, p0 + delta);
    set(s, 0, q0v - delta);
    if ap < t.beta {
        set(s, -2, p1 + ((p2 + ((p0 + q0v + 1) >> 1) - (p1 << 1)) >> 1).clamp(-t.tc0, t.tc0));
    }
    if aq < t.beta {
        set(s, 1, q1 + ((q2 + ((p0 + q0v + 1) >> 1) - (q1 << 1)) >> 1).clamp(-t.tc0, t.tc0));
    }
}

/// Filters one edge of `len` lines. Vertical edge: q0 of line k at `start + k * stride`,
/// samples across at step 1; horizontal edge: q0 of line k at `start + k`, step `stride`.
#[allow(clippy::too_many_arguments)]
fn filter_edge(s: &mut [u8], stride: usize, start: usize, vertical: bool, len: usize, bs: u8, t: Thresholds, chroma: bool) {
    if t.alpha == 0 || t.beta == 0 {
        return; // 8.7.2.2: no line can pass |p0 - q0| < 0.
    }
    for k in 0..len {
        if vertical {
            filter_line(s, start + k * stride, 1, bs, t, chroma);
        } else {
            filter_line(s, start + k, stride, bs, t, chroma);
        }
    }
}

/// QPY as the deblocking filter sees it: 0 for I_PCM (8.7.2.2).
fn qp_y(mb: &Macroblock) -> i32 {
    if mb.kind == MbKind::IPcm { 0 } else { i32::from(mb.qp) }
}

/// Deblocks a reconstructed intra picture in place.
pub fn deblock_picture(f: &mut Frame, pic: &Picture) {
    let (mbw, mbh) = (pic.mb_width as usize, pic.mb_height as usize);
    let (w, cw) = (f.width, f.width / 2);
    if f.y.len() < mbw * mbh * 256 || f.cb.len() < mbw * mbh * 64 || f.cr.len() < mbw * mbh * 64 {
        return;
    }
    let chroma = pic.slice_info.first().is_some_and(|s| s.sps.chroma_array_type() != 0);
    for addr in 0..mbw * mbh {
        let mb = &pic.mbs[addr];
        let Some(si) = mb.slice_num.checked_sub(1).and_then(|i| pic.slice_info.get(i as usize)) else { continue };
        if !mb.is_decoded() || si.disable_deblocking_filter_idc == 1 {
            continue;
        }
        let (mx, my) = (addr % mbw, addr / mbw);
        // The left / top neighbour, when its edge is filtered.
        let neighbour = |n: usize| {
            let m = &pic.mbs[n];
            (m.is_decoded() && (si.disable_deblocking_filter_idc != 2 || m.slice_num == mb.slice_num)).then_some(m)
        };
        let left = if mx > 0 { neighbour(addr - 1) } else { None };
        let top = if my > 0 { neighbour(addr - mbw) } else { None };
        let qq = qp_y(mb);
        let inner = if mb.transform_size_8x8_flag { &[2usize][..] } else { &[1usize, 2, 3][..] };
        let ybase = my * 16 * w + mx * 16;
        for vertical in [true, false] {
            let outer = if vertical { left } else { top };
            if let Some(p) = outer {
                let t = thresholds(qp_y(p), qq, 4, si);
                filter_edge(&mut f.y, w, ybase, vertical, 16, 4, t, false);
            }
            let t = thresholds(qq, qq, 3, si);
            for &e in inner {
                let start = if vertical { ybase + 4 * e } else { ybase + 4 * e * w };
                filter_edge(&mut f.y, w, start, vertical, 16, 3, t, false);
            }
        }
        if !chroma {
            continue;
        }
        let cbase = my * 8 * cw + mx * 8;
        for (c, plane) in [&mut f.cb, &mut f.cr].into_iter().enumerate() {
            let offset = if c == 0 { si.pps.chroma_qp_index_offset } else { si.pps.second_chroma_qp_index_offset };
            let qc = chroma_qp(qq, offset);
            for vertical in [true, false] {
                let outer = if vertical { left } else { top };
                if let Some(p) = outer {
                    let t = thresholds(chroma_qp(qp_y(p), offset), qc, 4, si);
                    filter_edge(plane, cw, cbase, vertical, 8, 4, t, true);
                }
                let t = thresholds(qc, qc, 3, si);
                let start = if vertical { cbase + 4 } else { cbase + 4 * cw };
                filter_edge(plane, cw, start, vertical, 8, 3, t, true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(alpha: i32, beta: i32, tc0: i32) -> Thresholds {
        Thresholds { alpha, beta, tc0 }
    }

    #[test]
    fn weak_filter_moves_the_step_by_clipped_delta() {
        // p3..p0 = 60, q0..q3 = 70: delta = (40 - 10 + 4) >> 3 = 4 clipped to tC = tC0 + 2 = 3;
        // p1 moves by Clip3(-1, 1, (60 + 65 - 120) >> 1), q1 by Clip3(-1, 1, (70 + 65 - 140) >> 1).
        let mut s = [60, 60, 60, 60, 70, 70, 70, 70];
        filter_line(&mut s, 4, 1, 2, t(20, 5, 1), false);
        assert_eq!(s, [60, 60, 61, 63, 67, 69, 70, 70]);
    }

    #[test]
    fn strong_filter_smooths_three_samples() {
        let mut s = [60, 60, 60, 60, 66, 66, 66, 66];
        filter_line(&mut s, 4, 1, 4, t(40, 10, 0), false);
        // p0' = (60 + 120 + 120 + 132 + 66 + 4) >> 3 = 62, p1' = (60*3 + 66 + 2) >> 2 = 62,
        // p2' = (120 + 180 + 60 + 60 + 66 + 4) >> 3 = 61.
        assert_eq!(&s[1..4], &[61, 62, 62]);
        // q0' = 514 >> 3, q1' = 260 >> 2, q2' = 526 >> 3.
        assert_eq!(&s[4..7], &[64, 65, 65]);
    }

    #[test]
    fn edges_above_alpha_are_kept() {
        let mut s = [10, 10, 10, 10, 200, 200, 200, 200];
        filter_line(&mut s, 4, 1, 4, t(40, 10, 0), false);
        assert_eq!(s, [10, 10, 10, 10, 200, 200, 200, 200]);
    }

    #[test]
    fn chroma_filters_only_p0_q0() {
        let mut s = [50, 50, 60, 60];
        filter_line(&mut s, 2, 1, 3, t(20, 5, 1), true);
        // delta = (40 - 10 + 4) >> 3 = 4 clipped to tC0 + 1 = 2.
        assert_eq!(s, [50, 52, 58, 60]);
    }

    /// Exp-Golomb writer for hand-made parameter sets.
    #[derive(Default)]
    struct Bits(Vec<bool>);

    impl Bits {
        fn u(&mut self, n: u32, v: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.0.push(v >> i & 1 == 1);
            }
            self
        }
        fn ue(&mut self, v: u32) -> &mut Self {
            let n = 32 - (v + 1).leading_zeros();
            self.u(n - 1, 0).u(n, v + 1)
        }
        fn se(&mut self, v: i32) -> &mut Self {
            self.ue(if v > 0 { 2 * v as u32 - 1 } else { (-2 * v) as u32 })
        }
        fn rbsp(&mut self) -> Vec<u8> {
            self.0.push(true);
            while self.0.len() % 8 != 0 {
                self.0.push(false);
            }
            self.0.chunks(8).map(|c| c.iter().fold(0u8, |a, &b| a << 1 | u8::from(b))).collect()
        }
    }

    /// A 32x16 picture of two Intra_16x16 macroblocks in two slices: the left one flat 60,
    /// the right one flat 66 (luma and chroma), both at QP `qp`. Returns the frame after
    /// deblocking with the second slice's disable_deblocking_filter_idc and FilterOffsetA.
    fn two_slices(idc: u8, offset_a: i8, qp: u8) -> Frame {
        use crate::h264::picture::SliceInfo;
        use crate::h264::pps::Pps;
        use crate::h264::slice::SliceType;
        use crate::h264::sps::Sps;
        use std::sync::Arc;
        // Baseline, POC type 2, one reference, 2x1 macroblocks, no cropping, no VUI.
        let sps = Sps::parse(&Bits::default().u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(2).ue(1).u(1, 0).ue(1).ue(0).u(1, 1).u(1, 1).u(1, 0).u(1, 0).rbsp()).unwrap();
        // CAVLC, one slice group, deblocking_filter_control_present_flag 1.
        let pps_rbsp = Bits::default().ue(0).ue(0).u(1, 0).u(1, 0).ue(0).ue(0).ue(0).u(1, 0).u(2, 0).se(0).se(0).se(0).u(1, 1).u(1, 0).u(1, 0).rbsp();
        let pps = Pps::parse(&pps_rbsp, &sps).unwrap();
        let (sps, pps) = (Arc::new(sps), Arc::new(pps));
        let mut pic = Picture::new();
        pic.reset(&sps);
        for (i, mb) in pic.mbs.iter_mut().enumerate() {
            *mb = Macroblock { kind: MbKind::I16x16, slice_num: i as u32 + 1, qp, ..Macroblock::default() };
        }
        let info = |idc: u8, a: i8| SliceInfo {
            slice_type: SliceType::I,
            disable_deblocking_filter_idc: idc,
            filter_offset_a: a,
            filter_offset_b: 0,
            sps: sps.clone(),
            pps: pps.clone(),
        };
        pic.slice_info = vec![info(0, 0), info(idc, offset_a)];
        let mut f = Frame { width: 32, height: 16, ..Frame::default() };
        f.y = (0..512).map(|i| if i % 32 < 16 { 60 } else { 66 }).collect();
        f.cb = (0..128).map(|i| if i % 16 < 8 { 60 } else { 66 }).collect();
        f.cr = f.cb.clone();
        deblock_picture(&mut f, &pic);
        f
    }

    #[test]
    fn slice_boundaries_follow_disable_deblocking_filter_idc() {
        let untouched = |f: &Frame| f.y.iter().enumerate().all(|(i, &v)| v == if i % 32 < 16 { 60 } else { 66 });
        // idc 0: the macroblock edge between the slices is filtered (bS 4), luma and chroma.
        let f = two_slices(0, 0, 40);
        assert!(!untouched(&f));
        assert_ne!((f.y[15], f.y[16]), (60, 66));
        assert_ne!((f.cb[7], f.cb[8]), (60, 66));
        // Inside the flat macroblocks nothing moves: only samples near the edge change.
        assert_eq!((f.y[0], f.y[31]), (60, 66));
        // idc 2: not across the slice boundary; idc 1: not at all.
        assert!(untouched(&two_slices(2, 0, 40)));
        assert!(untouched(&two_slices(1, 0, 40)));
        // FilterOffsetA of the slice of q0: at QP 20, alpha'(20) = 7 > |p0 - q0| = 6 filters
        // the edge; with FilterOffsetA -2, alpha'(18) = 5 does not.
        assert!(!untouched(&two_slices(0, 0, 20)));
        assert!(untouched(&two_slices(0, -2, 20)));
    }
}
