//! Inverse transforms of residual blocks (H.264 8.5.12.2 for 4x4, 8.5.13.2 for 8x8) and
//! picture construction of a transformed block on top of its prediction (8.5.14):
//! u = Clip1(pred + r), r = (h + 32) >> 6.
//!
//! Inputs are scaled coefficients d_ij in raster order (row i = vertical), as given by
//! `dequant`; they lie within 16 bits, so the i32 arithmetic cannot overflow.

/// The 4x4 inverse transform (8-338 .. 8-354): rows first, then columns; returns the
/// residual r_ij in raster order.
pub fn idct4(d: &[i32; 16]) -> [i32; 16] {
    let mut f = [0i32; 16];
    for i in 0..4 {
        let r = &d[i * 4..i * 4 + 4];
        let e0 = r[0] + r[2];
        let e1 = r[0] - r[2];
        let e2 = (r[1] >> 1) - r[3];
        let e3 = r[1] + (r[3] >> 1);
        f[i * 4] = e0 + e3;
        f[i * 4 + 1] = e1 + e2;
        f[i * 4 + 2] = e1 - e2;
        f[i * 4 + 3] = e0 - e3;
    }
    let mut out = [0i32; 16];
    for j in 0..4 {
        let g0 = f[j] + f[8 + j];
        let g1 = f[j] - f[8 + j];
        let g2 = (f[4 + j] >> 1) - f[12 + j];
        let g3 = f[4 + j] + (f[12 + j] >> 1);
        out[j] = (g0 + g3 + 32) >> 6;
        out[4 + j] = (g1 + g2 + 32) >> 6;
        out[8 + j] = (g1 - g2 + 32) >> 6;
        out[12 + j] = (g0 - g3 + 32) >> 6;
    }
    out
}

/// One 8-point pass of 8.5.13.2 (8-355 .. 8-378).
#[inline(always)]
fn pass8(d: [i32; 8]) -> [i32; 8] {
    let e0 = d[0] + d[4];
    let e1 = -d[3] + d[5] - d[7] - (d[7] >> 1);
    let e2 = d[0] - d[4];
    let e3 = d[1] + d[7] - d[3] - (d[3] >> 1);
    let e4 = (d[2] >> 1) - d[6];
    let e5 = -d[1] + d[7] + d[5] + (d[5] >> 1);
    let e6 = d[2] + (d[6] >> 1);
    let e7 = d[3] + d[5] + d[1] + (d[1] >> 1);
    let f0 = e0 + e6;
    let f1 = e1 + (e7 >> 2);
    let f2 = e2 + e4;
    let f3 = e3 + (e5 >> 2);
    let f4 = e2 - e4;
    let f5 = (e3 >> 2) - e5;
    let f6 = e0 - e6;
    let f7 = e7 - (e1 >> 2);
    [f0 + f7, f2 + f5, f4 + f3, f6 + f1, f6 - f1, f4 - f3, f2 - f5, f0 - f7]
}

/// The 8x8 inverse transform (8.5.13.2): rows first, then columns; residual in raster order.
pub fn idct8(d: &[i32; 64]) -> [i32; 64] {
    let mut g = [0i32; 64];
    for i in 0..8 {
        let mut row = [0i32; 8];
        row.copy_from_slice(&d[i * 8..i * 8 + 8]);
        g[i * 8..i * 8 + 8].copy_from_slice(&pass8(row));
    }
    let mut out = [0i32; 64];
    for j in 0..8 {
        let col = pass8([0, 1, 2, 3, 4, 5, 6, 7].map(|i| g[i * 8 + j]));
        for i in 0..8 {
            out[i * 8 + j] = (col[i] + 32) >> 6;
        }
    }
    out
}

/// One pass of 8-338 .. 8-345 (or 8-346 .. 8-353) on four values.
#[inline(always)]
fn pass4(r: [i32; 4]) -> [i32; 4] {
    let e0 = r[0] + r[2];
    let e1 = r[0] - r[2];
    let e2 = (r[1] >> 1) - r[3];
    let e3 = r[1] + (r[3] >> 1);
    [e0 + e3, e1 + e2, e1 - e2, e0 - e3]
}

/// Raster position -> zig-zag scan index: the inverse of Table 8-12.
const SCAN_OF_4X4: [usize; 16] = [0, 1, 5, 6, 2, 4, 7, 12, 3, 8, 11, 13, 9, 10, 14, 15];

/// Raster position -> 8x8 zig-zag scan index: the inverse of Table 8-13.
#[rustfmt::skip]
const SCAN_OF_8X8: [usize; 64] = [
    0, 1, 5, 6, 14, 15, 27, 28, 2, 4, 7, 13, 16, 26, 29, 42,
    3, 8, 12, 17, 25, 30, 41, 43, 9, 11, 18, 24, 31, 40, 44, 53,
    10, 19, 23, 32, 39, 45, 52, 54, 20, 22, 33, 38, 46, 51, 55, 60,
    21, 34, 37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63,
];

/// `idct4` of d_ij given in zig-zag scan order (`dequant::scale_scan`); the residual by
/// rows. Straight-line code without branches. With d_ij in i16, |r_ij| <= (12.25 * 2^15 +
/// 32) / 64 < 2^13 (each pass at most multiplies by 3.5), so r_ij fits i16 unclamped.
#[inline(always)]
pub fn idct4_scan(d: &[i16; 16]) -> [[i16; 4]; 4] {
    let at = |p: usize| i32::from(d[SCAN_OF_4X4[p]]);
    let f: [[i32; 4]; 4] = std::array::from_fn(|i| pass4([at(i * 4), at(i * 4 + 1), at(i * 4 + 2), at(i * 4 + 3)]));
    let mut out = [[0; 4]; 4];
    for j in 0..4 {
        let h = pass4([f[0][j], f[1][j], f[2][j], f[3][j]]);
        for (o, h) in out.iter_mut().zip(h) {
            o[j] = ((h + 32) >> 6) as i16;
        }
    }
    out
}

/// `idct8` of d_ij given in 8x8 zig-zag scan order; the residual by rows, saturated to
/// i16 (8x8 passes can leave 16 bits on hostile input).
#[inline(always)]
pub fn idct8_scan(d: &[i16; 64]) -> [[i16; 8]; 8] {
    let f: [[i32; 8]; 8] = std::array::from_fn(|i| pass8(std::array::from_fn(|j| i32::from(d[SCAN_OF_8X8[i * 8 + j]]))));
    let mut out = [[0; 8]; 8];
    for j in 0..8 {
        let h = pass8(std::array::from_fn(|i| f[i][j]));
        for (o, h) in out.iter_mut().zip(h) {
            o[j] = ((h + 32) >> 6).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
    }
    out
}

/// Adds an n x n residual (raster order) to the prediction already in `plane` at `off`.
#[inline]
pub fn add_residual(plane: &mut [u8], stride: usize, off: usize, n: usize, r: &[i32]) {
    for y in 0..n {
        let Some(row) = plane.get_mut(off + y * stride..off + y * stride + n) else { return };
        for (p, &v) in row.iter_mut().zip(&r[y * n..y * n + n]) {
            *p = (i32::from(*p) + v).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One 1-D pass of the 4x4 transform in matrix form: y = T x', where x' extends x with
    /// the halved odd inputs (x1 >> 1, x3 >> 1), as 8-338 .. 8-345 write them.
    fn ref_pass4(x: [i64; 4]) -> [i64; 4] {
        const T: [[i64; 6]; 4] = [
            // x0 x1 x2 x3 x1/2 x3/2
            [1, 1, 1, 0, 0, 1],
            [1, 0, -1, -1, 1, 0],
            [1, 0, -1, 1, -1, 0],
            [1, -1, 1, 0, 0, -1],
        ];
        let xe = [x[0], x[1], x[2], x[3], x[1] >> 1, x[3] >> 1];
        T.map(|row| row.iter().zip(xe).map(|(a, b)| a * b).sum())
    }

    /// The 8-point pass in matrix form: e = E x' (x' = x with x1, x3, x5, x7 halved
    /// appended), f = F e' (e' = e with e1, e3, e5, e7 quartered appended), g = G f.
    fn ref_pass8(x: [i64; 8]) -> [i64; 8] {
        const E: [[i64; 12]; 8] = [
            // x0 .. x7, x1/2 x3/2 x5/2 x7/2 ; e-values follow 8-355 .. 8-362, x2/2 and x6/2
            // enter through the extra columns below.
            [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, -1, 0, 1, 0, -1, 0, 0, 0, -1],
            [1, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0],
            [0, 1, 0, -1, 0, 0, 0, 1, 0, -1, 0, 0],
            [0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0],
            [0, -1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0],
            [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0],
        ];
        let xe = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[1] >> 1, x[3] >> 1, x[5] >> 1, x[7] >> 1];
        let mut e: [i64; 8] = E.map(|row| row.iter().zip(xe).map(|(a, b)| a * b).sum());
        // The even part's halved inputs: e4 = x2/2 - x6, e6 = x2 + x6/2.
        e[4] += x[2] >> 1;
        e[6] += x[6] >> 1;
        const F: [[i64; 12]; 8] = [
            // e0 .. e7, e1/4 e3/4 e5/4 e7/4
            [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
            [0, 0, 1, 0, -1, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0],
            [1, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 1, -1, 0, 0, 0],
        ];
        let ee = [e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[1] >> 2, e[3] >> 2, e[5] >> 2, e[7] >> 2];
        let f: [i64; 8] = F.map(|row| row.iter().zip(ee).map(|(a, b)| a * b).sum());
        const G: [[i64; 8]; 8] = [
            [1, 0, 0, 0, 0, 0, 0, 1],
            [0, 0, 1, 0, 0, 1, 0, 0],
            [0, 0, 0, 1, 1, 0, 0, 0],
            [0, 1, 0, 0, 0, 0, 1, 0],
            [0, -1, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, -1, 1, 0, 0, 0],
            [0, 0, 1, 0, 0, -1, 0, 0],
            [1, 0, 0, 0, 0, 0, 0, -1],
        ];
        G.map(|row| row.iter().zip(f).map(|(a, b)| a * b).sum())
    }

    fn ref_2d<const N: usize>(d: &[i32], pass: fn([i64; N]) -> [i64; N]) -> Vec<i64> {
        let mut rows = vec![0i64; N * N];
        for i in 0..N {
            let x: [i64; N] = std::array::from_fn(|j| i64::from(d[i * N + j]));
            rows[i * N..i * N + N].copy_from_slice(&pass(x));
        }
        let mut out = vec![0i64; N * N];
        for j in 0..N {
            let x: [i64; N] = std::array::from_fn(|i| rows[i * N + j]);
            let y = pass(x);
            for i in 0..N {
                out[i * N + j] = (y[i] + 32) >> 6;
            }
        }
        out
    }

    #[test]
    fn dc_only_blocks_are_flat() {
        let mut d = [0i32; 16];
        d[0] = 640;
        assert!(idct4(&d).iter().all(|&v| v == 10));
        let mut d8 = [0i32; 64];
        d8[0] = -640;
        assert!(idct8(&d8).iter().all(|&v| v == -10));
    }

    #[test]
    fn scan_inverses_invert_tables_8_12_and_8_13() {
        use crate::h264::tables::misc::{ZIGZAG_4X4, ZIGZAG_8X8};
        for (k, &p) in ZIGZAG_4X4.iter().enumerate() {
            assert_eq!(SCAN_OF_4X4[usize::from(p)], k);
        }
        for (k, &p) in ZIGZAG_8X8.iter().enumerate() {
            assert_eq!(SCAN_OF_8X8[usize::from(p)], k);
        }
    }

    proptest! {
        #[test]
        fn idct4_matches_matrix_form(d in prop::array::uniform16(-32768i32..32768)) {
            let want = ref_2d::<4>(&d, ref_pass4);
            let got = idct4(&d);
            prop_assert_eq!(got.iter().map(|&v| i64::from(v)).collect::<Vec<_>>(), want);
        }

        #[test]
        fn idct8_matches_matrix_form(d in prop::collection::vec(-32768i32..32768, 64)) {
            let mut a = [0i32; 64];
            a.copy_from_slice(&d);
            let want = ref_2d::<8>(&a, ref_pass8);
            let got = idct8(&a);
            prop_assert_eq!(got.iter().map(|&v| i64::from(v)).collect::<Vec<_>>(), want);
        }

        /// `idct4_scan` / `idct8_scan` equal `idct4` / `idct8` on the raster block (any d_ij
        /// within 16 bits).
        #[test]
        fn scan_order_transforms_match_idct(d in prop::collection::vec(prop_oneof![Just(0i16), any::<i16>(), -64i16..64], 64)) {
            use crate::h264::tables::misc::{ZIGZAG_4X4, ZIGZAG_8X8};
            let d4: [i16; 16] = std::array::from_fn(|k| d[k]);
            let mut raster = [0i32; 16];
            for (k, &p) in ZIGZAG_4X4.iter().enumerate() {
                raster[usize::from(p)] = i32::from(d4[k]);
            }
            let want = idct4(&raster);
            prop_assert!(want.iter().all(|&v| i16::try_from(v).is_ok()));
            prop_assert_eq!(idct4_scan(&d4).concat().iter().map(|&v| i32::from(v)).collect::<Vec<_>>(), want.to_vec());
            let d8: [i16; 64] = std::array::from_fn(|k| d[k]);
            let mut raster = [0i32; 64];
            for (k, &p) in ZIGZAG_8X8.iter().enumerate() {
                raster[usize::from(p)] = i32::from(d8[k]);
            }
            let want = idct8(&raster).map(|v| v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)));
            prop_assert_eq!(idct8_scan(&d8).concat().iter().map(|&v| i32::from(v)).collect::<Vec<_>>(), want.to_vec());
        }

        #[test]
        fn residual_is_added_with_clipping(pred in 0u8..=255, r in -600i32..600) {
            let mut plane = [pred; 16];
            add_residual(&mut plane, 4, 0, 4, &[r; 16]);
            prop_assert!(plane.iter().all(|&p| i32::from(p) == (i32::from(pred) + r).clamp(0, 255)));
        }
    }
}
