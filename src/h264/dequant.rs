//! Scaling of transform coefficient levels (H.264 8.5.6 - 8.5.11, 8.5.12.1, 8.5.13.1):
//! the scaling matrices in force for a picture (7.4.2.1.1, 7.4.2.2, Table 7-2), LevelScale4x4
//! and LevelScale8x8 (8.5.9), QP'Y and QP'C (8.5.8, Table 8-15), inverse frame (zig-zag)
//! scanning (8.5.6, 8.5.7), and the scaling of the Intra_16x16 luma DC (8.5.10) and
//! 4:2:0 chroma DC (8.5.11.2) after their Hadamard transforms.
//!
//! Levels are i16 (as parsed); scaled coefficients are clamped to the range the standard
//! allows for d_ij (-2^15 .. 2^15 - 1 at 8 bits, 8.5.12.1), which changes nothing in a
//! conforming stream and keeps every later step free of overflow on hostile input.

use super::pps::Pps;
use super::sps::{ScalingMatrices, Sps};
use super::tables::misc::{QPC, ZIGZAG_4X4, ZIGZAG_8X8};
use super::tables::recon::{NORM_ADJUST_4X4, NORM_ADJUST_8X8};

/// Index of a 4x4 scaling list (Table 7-2): Intra Y, Cb, Cr, Inter Y, Cb, Cr.
pub const LIST_INTRA_Y: usize = 0;
pub const LIST_INTRA_CB: usize = 1;
pub const LIST_INTRA_CR: usize = 2;
pub const LIST_INTER_Y: usize = 3;

/// The range of d_ij for 8-bit video (8.5.12.1: -2^(7 + bitDepth) .. 2^(7 + bitDepth) - 1).
const D_MIN: i64 = -(1 << 15);
const D_MAX: i64 = (1 << 15) - 1;

#[inline(always)]
fn clamp_d(v: i64) -> i32 {
    v.clamp(D_MIN, D_MAX) as i32
}

/// The scaling matrices of a picture: the PPS's if it has them, else the SPS's, else
/// Flat_4x4_16 / Flat_8x8_16 (7.4.2.1.1, 7.4.2.2). The parser has already applied the
/// fall-back rules A and B of Table 7-2 inside each parameter set.
pub fn matrices_in_force<'a>(sps: &'a Sps, pps: &'a Pps) -> &'a ScalingMatrices {
    pps.scaling_matrices.as_ref().or(sps.scaling_matrices.as_ref()).unwrap_or(&ScalingMatrices::FLAT)
}

/// LevelScale4x4(m, i, j) for the six 4x4 lists and LevelScale8x8(m, i, j) for the two
/// 8x8 lists of 4:2:0 (Intra Y, Inter Y), m = qP % 6, in raster order (8.5.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelScale {
    pub ls4: [[[i32; 16]; 6]; 6],
    pub ls8: [[[i32; 64]; 6]; 2],
}

impl LevelScale {
    pub fn new(m: &ScalingMatrices) -> LevelScale {
        let mut ls = LevelScale { ls4: [[[0; 16]; 6]; 6], ls8: [[[0; 64]; 6]; 2] };
        for (list, out) in ls.ls4.iter_mut().enumerate() {
            // weightScale4x4 = inverse zig-zag scan of the list (8.5.6).
            let mut w = [0i32; 16];
            for (k, &pos) in ZIGZAG_4X4.iter().enumerate() {
                w[usize::from(pos)] = i32::from(m.list4x4[list][k]);
            }
            for (q, row) in out.iter_mut().enumerate() {
                for (pos, v) in row.iter_mut().enumerate() {
                    *v = w[pos] * i32::from(NORM_ADJUST_4X4[q * 16 + pos]);
                }
            }
        }
        for (list, out) in ls.ls8.iter_mut().enumerate() {
            let mut w = [0i32; 64];
            for (k, &pos) in ZIGZAG_8X8.iter().enumerate() {
                w[usize::from(pos)] = i32::from(m.list8x8[list][k]);
            }
            for (q, row) in out.iter_mut().enumerate() {
                for (pos, v) in row.iter_mut().enumerate() {
                    *v = w[pos] * i32::from(NORM_ADJUST_8X8[q * 64 + pos]);
                }
            }
        }
        ls
    }
}

/// QP'C for a luma QPY (8-bit: QpBdOffset 0) and a chroma offset (8.5.8, Table 8-15).
#[inline]
pub fn chroma_qp(qp_y: i32, offset: i32) -> i32 {
    let qpi = (qp_y + offset).clamp(0, 51);
    i32::from(QPC[qpi as usize])
}

/// Inverse zig-zag scan and scaling of a 4x4 block (8.5.6, 8.5.12.1) into raster order.
/// With `skip_dc` (Intra_16x16 luma and chroma AC blocks), entry 0 is left to the caller,
/// which puts the separately scaled DC there.
#[inline]
pub fn scale_4x4(levels: &[i16; 16], ls: &[i32; 16], qp: i32, skip_dc: bool, out: &mut [i32; 16]) {
    let qp = qp.clamp(0, 51);
    let shift = qp / 6;
    let start = usize::from(skip_dc);
    for k in start..16 {
        let pos = usize::from(ZIGZAG_4X4[k]);
        let c = i64::from(levels[k]);
        let v = c * i64::from(ls[pos]);
        out[pos] = clamp_d(if shift >= 4 { v << (shift - 4) } else { (v + (1 << (3 - shift))) >> (4 - shift) });
    }
    if skip_dc {
        out[0] = 0;
    }
}

/// Inverse zig-zag scan and scaling of an 8x8 block (8.5.7, 8.5.13.1) into raster order.
#[inline]
pub fn scale_8x8(levels: &[i16], ls: &[i32; 64], qp: i32, out: &mut [i32; 64]) {
    let qp = qp.clamp(0, 51);
    let shift = qp / 6;
    for (k, &c) in levels.iter().take(64).enumerate() {
        let pos = usize::from(ZIGZAG_8X8[k]);
        let v = i64::from(c) * i64::from(ls[pos]);
        out[pos] = clamp_d(if shift >= 6 { v << (shift - 6) } else { (v + (1 << (5 - shift))) >> (6 - shift) });
    }
}

/// A LevelScale4x4 / LevelScale8x8 row (raster order) in the order of scan `scan`, the order
/// in which levels are stored, for `scale_scan`. The values of `LevelScale::new` are below
/// 2^14 (weights up to 255, normAdjust up to 58) and fit i16; larger ones saturate.
pub fn in_scan_order<const N: usize>(ls: &[i32; N], scan: &[u8; N]) -> [i16; N] {
    scan.map(|pos| ls.get(usize::from(pos)).map_or(0, |&v| v.clamp(0, i32::from(i16::MAX)) as i16))
}

/// `scale_4x4` (NN = 16) or `scale_8x8` (NN = 64) without the inverse scan: d_k of the
/// levels c_k in scan order, with `ls` in scan order (`in_scan_order`), as i16 (the d_ij
/// range of 8-bit video, 8.5.12.1, is i16's). Two branch-free loops over fixed-size arrays,
/// which the compiler vectorises; kept out of line so that they stay loops.
#[inline(never)]
pub fn scale_scan<const NN: usize>(levels: &[i16; NN], ls: &[i16; NN], qp: i32, out: &mut [i16; NN]) {
    // 8.5.12.1: shift 4 for 4x4 blocks; 8.5.13.1: shift 6 for 8x8 blocks.
    let bits = if NN == 64 { 6 } else { 4 };
    let shift = qp.clamp(0, 51) / 6;
    let items = out.iter_mut().zip(levels).zip(ls);
    if shift >= bits {
        // c * ls fits 31 bits; one beyond 16 bits stays beyond them when shifted left, so
        // saturating it first keeps the shift within i32 and changes no result.
        let left = shift - bits;
        for ((d, &c), &s) in items {
            *d = sat16(i32::from(sat16(i32::from(c) * i32::from(s))) << left);
        }
    } else {
        let right = bits - shift;
        let round = 1 << (right - 1);
        for ((d, &c), &s) in items {
            *d = sat16((i32::from(c) * i32::from(s) + round) >> right);
        }
    }
}

/// v clamped to the d_ij range of 8-bit video (8.5.12.1), which is i16's.
#[inline(always)]
fn sat16(v: i32) -> i16 {
    v.clamp(D_MIN as i32, D_MAX as i32) as i16
}

/// Intra_16x16 luma DC (8.5.10): inverse zig-zag scan of the 16 DC levels, the 4x4
/// Hadamard transform, then scaling with LevelScale4x4(qP % 6, 0, 0). Output dcY in raster
/// order of the 4x4 blocks (row = block y).
pub fn luma_dc(levels: &[i16; 16], ls00: i32, qp: i32, out: &mut [i32; 16]) {
    let mut c = [0i32; 16];
    for (k, &pos) in ZIGZAG_4X4.iter().enumerate() {
        c[usize::from(pos)] = i32::from(levels[k]);
    }
    let mut f = [0i32; 16];
    hadamard4(&c, &mut f);
    let qp = qp.clamp(0, 51);
    let shift = qp / 6;
    for (o, &v) in out.iter_mut().zip(f.iter()) {
        let v = i64::from(v) * i64::from(ls00);
        *o = clamp_d(if shift >= 6 { v << (shift - 6) } else { (v + (1 << (5 - shift))) >> (6 - shift) });
    }
}

/// f = A c A with A = [[1,1,1,1],[1,1,-1,-1],[1,-1,-1,1],[1,-1,1,-1]] (8-320), raster order.
fn hadamard4(c: &[i32; 16], f: &mut [i32; 16]) {
    let mut t = [0i32; 16];
    for i in 0..4 {
        let r = &c[i * 4..i * 4 + 4];
        let (s01, d01, s23, d23) = (r[0] + r[1], r[0] - r[1], r[2] + r[3], r[2] - r[3]);
        t[i * 4] = s01 + s23;
        t[i * 4 + 1] = s01 - s23;
        t[i * 4 + 2] = d01 - d23;
        t[i * 4 + 3] = d01 + d23;
    }
    for j in 0..4 {
        let (a, b, cc, d) = (t[j], t[4 + j], t[8 + j], t[12 + j]);
        let (s01, d01, s23, d23) = (a + b, a - b, cc + d, cc - d);
        f[j] = s01 + s23;
        f[4 + j] = s01 - s23;
        f[8 + j] = d01 - d23;
        f[12 + j] = d01 + d23;
    }
}

/// 4:2:0 chroma DC (8.5.11.1, 8.5.11.2): c = [[c0, c1], [c2, c3]], f = H c H with
/// H = [[1, 1], [1, -1]], dcC = ((f * LevelScale4x4(QP'C % 6, 0, 0)) << (QP'C / 6)) >> 5.
/// Output in chroma4x4BlkIdx order.
pub fn chroma_dc(levels: &[i16; 16], ls00: i32, qp: i32, out: &mut [i32; 4]) {
    let c: [i32; 4] = [0, 1, 2, 3].map(|k| i32::from(levels[k]));
    let f = [c[0] + c[1] + c[2] + c[3], c[0] - c[1] + c[2] - c[3], c[0] + c[1] - c[2] - c[3], c[0] - c[1] - c[2] + c[3]];
    let qp = qp.clamp(0, 51);
    for (o, &v) in out.iter_mut().zip(f.iter()) {
        *o = clamp_d(((i64::from(v) * i64::from(ls00)) << (qp / 6)) >> 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::tables::misc::DEFAULT_4X4_INTRA;
    use proptest::prelude::*;

    /// normAdjust4x4 from its definition (8-315): v columns by position class.
    fn norm4(m: usize, i: usize, j: usize) -> i32 {
        const V: [[i32; 3]; 6] = [[10, 16, 13], [11, 18, 14], [13, 20, 16], [14, 23, 18], [16, 25, 20], [18, 29, 23]];
        if i % 2 == 0 && j % 2 == 0 {
            V[m][0]
        } else if i % 2 == 1 && j % 2 == 1 {
            V[m][1]
        } else {
            V[m][2]
        }
    }

    /// normAdjust8x8 from its definition (8-318).
    fn norm8(m: usize, i: usize, j: usize) -> i32 {
        const V: [[i32; 6]; 6] = [
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

    #[test]
    fn level_scale_tables_follow_their_definition() {
        let mut m = ScalingMatrices::FLAT;
        m.list4x4[0] = DEFAULT_4X4_INTRA;
        let ls = LevelScale::new(&m);
        for q in 0..6 {
            for pos in 0..16 {
                let (i, j) = (pos / 4, pos % 4);
                let k = ZIGZAG_4X4.iter().position(|&p| usize::from(p) == pos).unwrap();
                assert_eq!(ls.ls4[0][q][pos], i32::from(DEFAULT_4X4_INTRA[k]) * norm4(q, i, j));
                assert_eq!(ls.ls4[1][q][pos], 16 * norm4(q, i, j));
            }
            for pos in 0..64 {
                assert_eq!(ls.ls8[0][q][pos], 16 * norm8(q, pos / 8, pos % 8));
            }
        }
    }

    #[test]
    fn chroma_qp_follows_table_8_15() {
        assert_eq!(chroma_qp(29, 0), 29);
        assert_eq!(chroma_qp(30, 0), 29);
        assert_eq!(chroma_qp(51, 0), 39);
        assert_eq!(chroma_qp(51, 12), 39);
        assert_eq!(chroma_qp(0, -12), 0);
        assert_eq!(chroma_qp(40, -2), 35);
    }

    /// 4x4 matrix product of integer matrices.
    fn matmul(a: &[[i64; 4]; 4], b: &[[i64; 4]; 4]) -> [[i64; 4]; 4] {
        let mut r = [[0; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                r[i][j] = (0..4).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        r
    }

    proptest! {
        /// 8.5.10 in matrix form: f = A c A, then the scaling equations (8-321, 8-322).
        #[test]
        fn luma_dc_matches_matrix_form(levels in prop::array::uniform16(-2048i16..2048), qp in 0i32..52, ls00 in 1i32..4096) {
            const A: [[i64; 4]; 4] = [[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, -1, 1], [1, -1, 1, -1]];
            let mut c = [[0i64; 4]; 4];
            for k in 0..16 {
                let pos = usize::from(ZIGZAG_4X4[k]);
                c[pos / 4][pos % 4] = i64::from(levels[k]);
            }
            let f = matmul(&matmul(&A, &c), &A);
            let mut got = [0; 16];
            luma_dc(&levels, ls00, qp, &mut got);
            for i in 0..4 {
                for j in 0..4 {
                    let want = if qp >= 36 {
                        (f[i][j] * i64::from(ls00)) << (qp / 6 - 6)
                    } else {
                        (f[i][j] * i64::from(ls00) + (1 << (5 - qp / 6))) >> (6 - qp / 6)
                    };
                    prop_assert_eq!(i64::from(got[i * 4 + j]), want.clamp(D_MIN, D_MAX));
                }
            }
        }

        /// 8.5.11.1 / 8.5.11.2 in matrix form.
        #[test]
        fn chroma_dc_matches_matrix_form(l in prop::array::uniform4(-2048i16..2048), qp in 0i32..52, ls00 in 1i32..4096) {
            let mut levels = [0i16; 16];
            levels[..4].copy_from_slice(&l);
            let c = [[i64::from(l[0]), i64::from(l[1])], [i64::from(l[2]), i64::from(l[3])]];
            let h = [[1i64, 1], [1, -1]];
            let mut hc = [[0i64; 2]; 2];
            let mut f = [[0i64; 2]; 2];
            for i in 0..2 { for j in 0..2 { hc[i][j] = (0..2).map(|k| h[i][k] * c[k][j]).sum(); } }
            for i in 0..2 { for j in 0..2 { f[i][j] = (0..2).map(|k| hc[i][k] * h[k][j]).sum(); } }
            let mut got = [0; 4];
            chroma_dc(&levels, ls00, qp, &mut got);
            for blk in 0..4 {
                let want = ((f[blk / 2][blk % 2] * i64::from(ls00)) << (qp / 6)) >> 5;
                prop_assert_eq!(i64::from(got[blk]), want.clamp(D_MIN, D_MAX));
            }
        }

        /// 8.5.12.1: d_ij from c_ij, including the DC exception of Intra_16x16 / chroma.
        #[test]
        fn scale_4x4_matches_equations(levels in prop::array::uniform16(-4096i16..4096), qp in 0i32..52, skip_dc: bool) {
            let mut m = ScalingMatrices::FLAT;
            m.list4x4[0] = DEFAULT_4X4_INTRA;
            let ls = LevelScale::new(&m);
            let mut got = [0; 16];
            scale_4x4(&levels, &ls.ls4[0][(qp % 6) as usize], qp, skip_dc, &mut got);
            for k in 0..16 {
                let pos = usize::from(ZIGZAG_4X4[k]);
                let (i, j) = (pos / 4, pos % 4);
                let s = i64::from(DEFAULT_4X4_INTRA[k]) * i64::from(norm4((qp % 6) as usize, i, j));
                let c = i64::from(levels[k]);
                let want = if skip_dc && k == 0 {
                    0
                } else if qp >= 24 {
                    (c * s) << (qp / 6 - 4)
                } else {
                    (c * s + (1 << (3 - qp / 6))) >> (4 - qp / 6)
                };
                prop_assert_eq!(i64::from(got[pos]), want.clamp(D_MIN, D_MAX));
            }
        }

        /// `scale_scan` is `scale_4x4` / `scale_8x8` before the inverse scan, for any list.
        #[test]
        fn scale_scan_matches_scale_nxn(
            levels in prop::collection::vec(prop_oneof![Just(0i16), any::<i16>(), -40i16..40], 64),
            list4 in prop::array::uniform16(1u8..=255),
            list8 in prop::collection::vec(1u8..=255, 64),
            qp in 0i32..52,
        ) {
            let mut m = ScalingMatrices::FLAT;
            m.list4x4[0] = list4;
            m.list8x8[0].copy_from_slice(&list8);
            let ls = LevelScale::new(&m);
            let q = (qp % 6) as usize;
            let l4: [i16; 16] = std::array::from_fn(|k| levels[k]);
            let mut want = [0; 16];
            scale_4x4(&l4, &ls.ls4[0][q], qp, false, &mut want);
            let mut got = [0; 16];
            scale_scan(&l4, &in_scan_order(&ls.ls4[0][q], &ZIGZAG_4X4), qp, &mut got);
            for k in 0..16 {
                prop_assert_eq!(i32::from(got[k]), want[usize::from(ZIGZAG_4X4[k])]);
            }
            let l8: [i16; 64] = std::array::from_fn(|k| levels[k]);
            let mut want = [0; 64];
            scale_8x8(&l8, &ls.ls8[0][q], qp, &mut want);
            let mut got = [0; 64];
            scale_scan(&l8, &in_scan_order(&ls.ls8[0][q], &ZIGZAG_8X8), qp, &mut got);
            for k in 0..64 {
                prop_assert_eq!(i32::from(got[k]), want[usize::from(ZIGZAG_8X8[k])]);
            }
        }

        /// 8.5.13.1.
        #[test]
        fn scale_8x8_matches_equations(levels in prop::collection::vec(-4096i16..4096, 64), qp in 0i32..52) {
            let ls = LevelScale::new(&ScalingMatrices::FLAT);
            let mut got = [0; 64];
            scale_8x8(&levels, &ls.ls8[0][(qp % 6) as usize], qp, &mut got);
            for k in 0..64 {
                let pos = usize::from(ZIGZAG_8X8[k]);
                let s = 16 * i64::from(norm8((qp % 6) as usize, pos / 8, pos % 8));
                let c = i64::from(levels[k]);
                let want = if qp >= 36 { (c * s) << (qp / 6 - 6) } else { (c * s + (1 << (5 - qp / 6))) >> (6 - qp / 6) };
                prop_assert_eq!(i64::from(got[pos]), want.clamp(D_MIN, D_MAX));
            }
        }
    }
}
