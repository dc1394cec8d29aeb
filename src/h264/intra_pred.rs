//! Intra prediction (H.264 8.3): the prediction modes of Intra_4x4 and Intra_8x8 blocks
//! from the prev/rem syntax and the neighbours' modes (8.3.1.1, 8.3.2.1), and the sample
//! prediction of Intra_4x4 (8.3.1.2), Intra_8x8 with its reference sample filtering
//! (8.3.2.2), Intra_16x16 (8.3.3) and 4:2:0 chroma (8.3.4).
//!
//! The neighbouring samples come in an `Edges` record, filled by the caller from the
//! constructed (not yet deblocked) picture with the availability rules of 6.4.11 / 6.4.12
//! and constrained_intra_pred_flag. Missing samples that a mode would read (only in a
//! broken stream) read as 128; nothing here can index out of bounds.

/// Neighbouring samples of a block of size n (4, 8 or 16): `top[x]` = p[x, -1] for
/// x = 0..2n (the second half is the top-right, 4x4 and 8x8 only), `left[y]` = p[-1, y],
/// `corner` = p[-1, -1].
#[derive(Debug, Clone, Copy)]
pub struct Edges {
    pub top: [u8; 16],
    pub left: [u8; 16],
    pub corner: u8,
    pub has_top: bool,
    pub has_top_right: bool,
    pub has_left: bool,
    pub has_corner: bool,
}

impl Default for Edges {
    fn default() -> Self {
        Edges {
            top: [128; 16],
            left: [128; 16],
            corner: 128,
            has_top: false,
            has_top_right: false,
            has_left: false,
            has_corner: false,
        }
    }
}

/// Intra_4x4 / Intra_8x8 mode numbers (Tables 8-2, 8-3).
pub const VERTICAL: u8 = 0;
pub const HORIZONTAL: u8 = 1;
pub const DC: u8 = 2;
pub const DIAGONAL_DOWN_LEFT: u8 = 3;
pub const DIAGONAL_DOWN_RIGHT: u8 = 4;
pub const VERTICAL_RIGHT: u8 = 5;
pub const HORIZONTAL_DOWN: u8 = 6;
pub const VERTICAL_LEFT: u8 = 7;
pub const HORIZONTAL_UP: u8 = 8;

/// predIntraNxNPredMode (8-41 / 8-71): `a` / `b` are the modes of the left / upper
/// neighbouring blocks, None when dcPredModePredictedFlag is 1 (a neighbour not available,
/// or Inter with constrained_intra_pred_flag). Neighbours that are not Intra_4x4 / Intra_8x8
/// count as DC (the caller passes 2 for them).
#[inline]
pub fn predicted_mode(a: Option<u8>, b: Option<u8>) -> u8 {
    match (a, b) {
        (Some(a), Some(b)) => a.min(b),
        _ => DC,
    }
}

/// Intra4x4PredMode / Intra8x8PredMode from prev_intraNxN_pred_mode_flag and
/// rem_intraNxN_pred_mode, stored as -1 (use the predicted mode) or rem (0..7).
#[inline]
pub fn decode_mode(prev_rem: i8, predicted: u8) -> u8 {
    match u8::try_from(prev_rem) {
        Err(_) => predicted,
        Ok(rem) if rem < predicted => rem,
        Ok(rem) => (rem + 1).min(8),
    }
}

#[inline(always)]
fn avg2(a: i32, b: i32) -> u8 {
    ((a + b + 1) >> 1) as u8
}

#[inline(always)]
fn avg3(a: i32, b: i32, c: i32) -> u8 {
    ((a + 2 * b + c + 2) >> 2) as u8
}

/// The sample array of the directional modes: p[-1, y] for y = n-1..0 at index
/// n-1-y, p[-1, -1] at n, p[x, -1] for x = 0..2n-1 at n+1+x. `t(x)` and `l(y)` read it with
/// -1 meaning the corner.
struct Line<const N: usize> {
    s: [i32; 49],
}

impl<const N: usize> Line<N> {
    fn new(top: &[u8; 16], left: &[u8; 16], corner: u8) -> Self {
        let mut s = [128i32; 49];
        for y in 0..N {
            s[N - 1 - y] = i32::from(left[y]);
        }
        s[N] = i32::from(corner);
        for x in 0..2 * N {
            s[N + 1 + x] = i32::from(top[x]);
        }
        Line { s }
    }
    /// p[x, -1], x = -1..2N-1.
    #[inline(always)]
    fn t(&self, x: i32) -> i32 {
        self.s.get((N as i32 + 1 + x) as usize).copied().unwrap_or(128)
    }
    /// p[-1, y], y = -1..N-1.
    #[inline(always)]
    fn l(&self, y: i32) -> i32 {
        self.s.get((N as i32 - 1 - y) as usize).copied().unwrap_or(128)
    }
}

/// The directional modes shared by Intra_4x4 (8.3.1.2.4 - 8.3.1.2.9) and Intra_8x8
/// (8.3.2.2.5 - 8.3.2.2.10) on N x N blocks: the equations are the same up to the size.
fn directional<const N: usize>(mode: u8, p: &Line<N>, out: &mut [u8]) {
    let n = N as i32;
    let last = 2 * n - 1;
    for y in 0..n {
        for x in 0..n {
            let v = match mode {
                DIAGONAL_DOWN_LEFT => {
                    if x == n - 1 && y == n - 1 {
                        ((p.t(last - 1) + 3 * p.t(last) + 2) >> 2) as u8
                    } else {
                        avg3(p.t(x + y), p.t(x + y + 1), p.t(x + y + 2))
                    }
                }
                DIAGONAL_DOWN_RIGHT => {
                    if x > y {
                        avg3(p.t(x - y - 2), p.t(x - y - 1), p.t(x - y))
                    } else if x < y {
                        avg3(p.l(y - x - 2), p.l(y - x - 1), p.l(y - x))
                    } else {
                        avg3(p.t(0), p.t(-1), p.l(0))
                    }
                }
                VERTICAL_RIGHT => {
                    let z = 2 * x - y;
                    if z >= 0 && z % 2 == 0 {
                        avg2(p.t(x - (y >> 1) - 1), p.t(x - (y >> 1)))
                    } else if z >= 0 {
                        avg3(p.t(x - (y >> 1) - 2), p.t(x - (y >> 1) - 1), p.t(x - (y >> 1)))
                    } else if z == -1 {
                        avg3(p.l(0), p.l(-1), p.t(0))
                    } else {
                        avg3(p.l(y - 2 * x - 1), p.l(y - 2 * x - 2), p.l(y - 2 * x - 3))
                    }
                }
                HORIZONTAL_DOWN => {
                    let z = 2 * y - x;
                    if z >= 0 && z % 2 == 0 {
                        avg2(p.l(y - (x >> 1) - 1), p.l(y - (x >> 1)))
                    } else if z >= 0 {
                        avg3(p.l(y - (x >> 1) - 2), p.l(y - (x >> 1) - 1), p.l(y - (x >> 1)))
                    } else if z == -1 {
                        avg3(p.l(0), p.l(-1), p.t(0))
                    } else {
                        avg3(p.t(x - 2 * y - 1), p.t(x - 2 * y - 2), p.t(x - 2 * y - 3))
                    }
                }
                VERTICAL_LEFT => {
                    if y % 2 == 0 {
                        avg2(p.t(x + (y >> 1)), p.t(x + (y >> 1) + 1))
                    } else {
                        avg3(p.t(x + (y >> 1)), p.t(x + (y >> 1) + 1), p.t(x + (y >> 1) + 2))
                    }
                }
                // HORIZONTAL_UP
                _ => {
                    let z = x + 2 * y;
                    let lim = 2 * n - 3;
                    if z < lim && z % 2 == 0 {
                        avg2(p.l(y + (x >> 1)), p.l(y + (x >> 1) + 1))
                    } else if z < lim {
                        avg3(p.l(y + (x >> 1)), p.l(y + (x >> 1) + 1), p.l(y + (x >> 1) + 2))
                    } else if z == lim {
                        ((p.l(n - 2) + 3 * p.l(n - 1) + 2) >> 2) as u8
                    } else {
                        p.l(n - 1) as u8
                    }
                }
            };
            out[(y * n + x) as usize] = v;
        }
    }
}

/// Vertical, horizontal or DC prediction of an n x n block from (already filtered for
/// Intra_8x8) samples; DC per 8-50 .. 8-53 / 8-85 .. 8-88 / 8-113 .. 8-116.
fn simple(mode: u8, n: usize, e: &Edges, out: &mut [u8]) {
    match mode {
        VERTICAL => {
            for row in out.chunks_exact_mut(n).take(n) {
                row.copy_from_slice(&e.top[..n]);
            }
        }
        HORIZONTAL => {
            for (row, &l) in out.chunks_exact_mut(n).zip(&e.left[..n]) {
                row.fill(l);
            }
        }
        _ => {
            let sum = |s: &[u8]| s.iter().map(|&v| u32::from(v)).sum::<u32>();
            let shift = n.trailing_zeros();
            let v = match (e.has_top, e.has_left) {
                (true, true) => (sum(&e.top[..n]) + sum(&e.left[..n]) + n as u32) >> (shift + 1),
                (false, true) => (sum(&e.left[..n]) + (n as u32 >> 1)) >> shift,
                (true, false) => (sum(&e.top[..n]) + (n as u32 >> 1)) >> shift,
                (false, false) => 128,
            };
            out[..n * n].fill(v as u8);
        }
    }
}

/// Intra_4x4 sample prediction (8.3.1.2). `e.top[4..8]` must already hold p[3, -1] where
/// the top-right samples are not available (8.3.1.2, substitution).
pub fn pred4x4(mode: u8, e: &Edges, out: &mut [u8; 16]) {
    if mode <= DC {
        simple(mode, 4, e, out);
    } else {
        directional::<4>(mode, &Line::<4>::new(&e.top, &e.left, e.corner), out);
    }
}

/// Reference sample filtering for Intra_8x8 (8.3.2.2.1). Returns the filtered edges;
/// `e.top[8..16]` must already hold p[7, -1] where the top-right is not available.
pub fn filter_8x8_edges(e: &Edges) -> Edges {
    let mut f = *e;
    let t = |x: usize| i32::from(e.top[x]);
    let l = |y: usize| i32::from(e.left[y]);
    let c = i32::from(e.corner);
    if e.has_top {
        f.top[0] = if e.has_corner { avg3(c, t(0), t(1)) } else { ((3 * t(0) + t(1) + 2) >> 2) as u8 };
        for x in 1..15 {
            f.top[x] = avg3(t(x - 1), t(x), t(x + 1));
        }
        f.top[15] = ((t(14) + 3 * t(15) + 2) >> 2) as u8;
    }
    if e.has_corner {
        f.corner = match (e.has_top, e.has_left) {
            (true, true) => avg3(t(0), c, l(0)),
            (true, false) => ((3 * c + t(0) + 2) >> 2) as u8,
            (false, true) => ((3 * c + l(0) + 2) >> 2) as u8,
            (false, false) => e.corner,
        };
    }
    if e.has_left {
        f.left[0] = if e.has_corner { avg3(c, l(0), l(1)) } else { ((3 * l(0) + l(1) + 2) >> 2) as u8 };
        for y in 1..7 {
            f.left[y] = avg3(l(y - 1), l(y), l(y + 1));
        }
        f.left[7] = ((l(6) + 3 * l(7) + 2) >> 2) as u8;
    }
    f
}

/// Intra_8x8 sample prediction (8.3.2.2), filtering included.
pub fn pred8x8(mode: u8, e: &Edges, out: &mut [u8; 64]) {
    let f = filter_8x8_edges(e);
    if mode <= DC {
        simple(mode, 8, &f, out);
    } else {
        directional::<8>(mode, &Line::<8>::new(&f.top, &f.left, f.corner), out);
    }
}

/// Plane prediction (8.3.3.4 for 16x16 luma, 8.3.4.4 for 8x8 chroma in 4:2:0).
fn plane(n: usize, e: &Edges, out: &mut [u8]) {
    let half = (n / 2) as i32;
    let t = |x: i32| if x < 0 { i32::from(e.corner) } else { i32::from(e.top[x as usize]) };
    let l = |y: i32| if y < 0 { i32::from(e.corner) } else { i32::from(e.left[y as usize]) };
    let (mut h, mut v) = (0i32, 0i32);
    for k in 0..half {
        h += (k + 1) * (t(half + k) - t(half - 2 - k));
        v += (k + 1) * (l(half + k) - l(half - 2 - k));
    }
    let last = n as i32 - 1;
    let a = 16 * (l(last) + t(last));
    // 16x16: (5 * H + 32) >> 6; 4:2:0 chroma: (34 * H + 32) >> 6.
    let (b, c) = if n == 16 { ((5 * h + 32) >> 6, (5 * v + 32) >> 6) } else { ((34 * h + 32) >> 6, (34 * v + 32) >> 6) };
    let mid = half - 1;
    for y in 0..n as i32 {
        for x in 0..n as i32 {
            out[(y * n as i32 + x) as usize] = ((a + b * (x - mid) + c * (y - mid) + 16) >> 5).clamp(0, 255) as u8;
        }
    }
}

/// Intra16x16PredMode: 0 vertical, 1 horizontal, 2 DC, 3 plane (Table 8-4).
pub fn pred16x16(mode: u8, e: &Edges, out: &mut [u8; 256]) {
    if mode == 3 {
        plane(16, e, out);
    } else {
        simple(mode, 16, e, out);
    }
}

/// intra_chroma_pred_mode for one 4:2:0 chroma component (8.3.4): 0 DC (per 4x4 block,
/// 8.3.4.1 - 8.3.4.3), 1 horizontal, 2 vertical, 3 plane.
pub fn pred_chroma(mode: u8, e: &Edges, out: &mut [u8; 64]) {
    match mode {
        1 => simple(HORIZONTAL, 8, e, out),
        2 => simple(VERTICAL, 8, e, out),
        3 => plane(8, e, out),
        _ => {
            let sum = |s: &[u8]| s.iter().map(|&v| u32::from(v)).sum::<u32>();
            for blk in 0..4 {
                let (xo, yo) = ((blk & 1) * 4, (blk >> 1) * 4);
                let top = sum(&e.top[xo..xo + 4]);
                let left = sum(&e.left[yo..yo + 4]);
                let (t, l) = (e.has_top, e.has_left);
                let both = ((top + left + 4) >> 3, (left + 2) >> 2, (top + 2) >> 2);
                // Blocks on the diagonal prefer both edges; the top-right one prefers the top
                // edge and the bottom-left one the left edge (8-138 .. 8-141).
                let v = if xo == yo {
                    match (t, l) {
                        (true, true) => both.0,
                        (false, true) => both.1,
                        (true, false) => both.2,
                        _ => 128,
                    }
                } else if yo == 0 {
                    if t { both.2 } else if l { both.1 } else { 128 }
                } else if l {
                    both.1
                } else if t {
                    both.2
                } else {
                    128
                };
                for y in 0..4 {
                    out[(yo + y) * 8 + xo..(yo + y) * 8 + xo + 4].fill(v as u8);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(top: impl Fn(usize) -> u8, left: impl Fn(usize) -> u8, corner: u8) -> Edges {
        Edges {
            top: std::array::from_fn(top),
            left: std::array::from_fn(left),
            corner,
            has_top: true,
            has_top_right: true,
            has_left: true,
            has_corner: true,
        }
    }

    #[test]
    fn mode_derivation() {
        assert_eq!(predicted_mode(Some(5), Some(3)), 3);
        assert_eq!(predicted_mode(None, Some(3)), DC);
        assert_eq!(decode_mode(-1, 4), 4);
        assert_eq!(decode_mode(3, 4), 3);
        assert_eq!(decode_mode(4, 4), 5);
        assert_eq!(decode_mode(7, 0), 8);
    }

    /// Hand-computed values of 8.3.1.2.x on a small ramp.
    #[test]
    fn intra4x4_modes_on_a_ramp() {
        let e = edges(|x| 10 * (x as u8 + 1), |y| 5 * (y as u8 + 1), 0);
        let mut out = [0u8; 16];
        pred4x4(DC, &e, &mut out);
        // top 10+20+30+40 = 100, left 5+10+15+20 = 50: (150 + 4) >> 3 = 19.
        assert!(out.iter().all(|&v| v == 19));
        pred4x4(DIAGONAL_DOWN_LEFT, &e, &mut out);
        assert_eq!(out[0], ((10 + 40 + 30 + 2) >> 2) as u8);
        assert_eq!(out[15], ((70 + 3 * 80 + 2) >> 2) as u8);
        pred4x4(DIAGONAL_DOWN_RIGHT, &e, &mut out);
        assert_eq!(out[0], ((10 + 0 + 5 + 2) >> 2) as u8);
        assert_eq!(out[1], ((0 + 20 + 20 + 2) >> 2) as u8);
        assert_eq!(out[4], ((0 + 10 + 10 + 2) >> 2) as u8);
        pred4x4(HORIZONTAL_UP, &e, &mut out);
        assert_eq!(out[0], ((5 + 10 + 1) >> 1) as u8);
        assert_eq!(out[4 * 2 + 1], ((15 + 3 * 20 + 2) >> 2) as u8); // zHU = 5
        assert_eq!(out[15], 20);
        pred4x4(VERTICAL_RIGHT, &e, &mut out);
        assert_eq!(out[0], ((0 + 10 + 1) >> 1) as u8);
        assert_eq!(out[4], ((5 + 0 + 10 + 2) >> 2) as u8); // zVR = -1
        assert_eq!(out[8], ((10 + 2 * 5 + 0 + 2) >> 2) as u8); // zVR = -2: p[-1,1], p[-1,0], p[-1,-1]
    }

    #[test]
    fn dc_without_neighbours_is_128() {
        let e = Edges::default();
        let mut o16 = [0u8; 256];
        pred16x16(2, &e, &mut o16);
        assert!(o16.iter().all(|&v| v == 128));
        let mut oc = [0u8; 64];
        pred_chroma(0, &e, &mut oc);
        assert!(oc.iter().all(|&v| v == 128));
    }

    #[test]
    fn plane_of_a_flat_edge_is_flat() {
        let e = edges(|_| 77, |_| 77, 77);
        let mut o16 = [0u8; 256];
        pred16x16(3, &e, &mut o16);
        assert!(o16.iter().all(|&v| v == 77));
        let mut oc = [0u8; 64];
        pred_chroma(3, &e, &mut oc);
        assert!(oc.iter().all(|&v| v == 77));
    }

    #[test]
    fn chroma_dc_per_block_rules() {
        let mut e = edges(|x| if x < 4 { 40 } else { 80 }, |y| if y < 4 { 120 } else { 200 }, 0);
        let mut out = [0u8; 64];
        pred_chroma(0, &e, &mut out);
        assert_eq!(out[0], ((160 + 480 + 4) >> 3) as u8);
        assert_eq!(out[4], 80); // top-right block: top edge only
        assert_eq!(out[32], 200); // bottom-left block: left edge only
        assert_eq!(out[36], ((320 + 800 + 4) >> 3) as u8);
        e.has_top = false;
        pred_chroma(0, &e, &mut out);
        assert_eq!(out[4], 120); // no top: the left edge of its rows
    }

    #[test]
    fn filter_8x8_edges_rules() {
        let mut e = edges(|x| 8 * x as u8, |y| 4 * y as u8, 100);
        let f = filter_8x8_edges(&e);
        assert_eq!(f.top[0], ((100 + 0 + 8 + 2) >> 2) as u8);
        assert_eq!(f.top[15], ((112 + 3 * 120 + 2) >> 2) as u8);
        assert_eq!(f.corner, ((0 + 200 + 0 + 2) >> 2) as u8);
        assert_eq!(f.left[7], ((24 + 3 * 28 + 2) >> 2) as u8);
        e.has_left = false;
        let f = filter_8x8_edges(&e);
        assert_eq!(f.corner, ((300 + 0 + 2) >> 2) as u8);
    }
}
