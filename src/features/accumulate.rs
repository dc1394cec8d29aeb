//! Accumulation of motion vectors and residuals back to the GOP's I picture (CoViAR; the
//! definition is in the module documentation of `features`).

use super::vectors::{list0_vectors, BlockVector};
use crate::h264::residual::{MbResidual, ResidualPlanes};
use crate::h264::Picture;

/// The chain state of one GOP: for every pixel of the display window, where it comes from
/// in the I picture, and the residual accumulated along the way. Buffers are reused.
#[derive(Debug, Default)]
pub struct Accumulator {
    width: usize,
    height: usize,
    /// J(i): source location (x, y) in the I picture of pixel i, raster order.
    trace: Vec<[u16; 2]>,
    /// Accumulated residual planes Y, Cb, Cr (chroma at luma resolution), raster order.
    res: [Vec<i16>; 3],
    /// The moved pixels' new state, gathered from the state before the picture before any
    /// is written back (a block's source may be another block's destination).
    trace_moved: Vec<[u16; 2]>,
    res_moved: Vec<i16>,
    /// Per macroblock of the last picture: it has a coded residual.
    coded: Vec<bool>,
    /// Vectors of the last picture of the chain.
    vectors: Vec<BlockVector>,
    /// Their effect on the window (reused from picture to picture).
    moves: Vec<Move>,
    with_residual: bool,
    /// P pictures accumulated since the I picture.
    pub steps: u32,
}

/// A vector's effect clipped to the window: rows `y0..y1` and columns `x0..x1` of the
/// current picture take the state of the pixels `(vx, vy)` up and to the left.
#[derive(Debug)]
struct Move {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    vx: i32,
    vy: i32,
}

impl Move {
    /// None for a zero vector (CoViAR skips it: the pixels keep their state) or a block
    /// whose destination or source lies wholly outside the window.
    fn of(b: &BlockVector, width: usize, height: usize) -> Option<Move> {
        let (vx, vy) = b.motion();
        if vx == 0 && vy == 0 {
            return None;
        }
        // Destination x with x in [dst - w/2, dst + w/2), 0 <= x < width, 0 <= x - vx < width.
        let span = |dst: i32, half: i32, v: i32, n: usize| {
            let n = n as i64;
            let lo = i64::from(dst - half).max(0).max(i64::from(v));
            let hi = i64::from(dst + half).min(n).min(n + i64::from(v));
            (lo < hi).then_some((lo as usize, hi as usize))
        };
        let (x0, x1) = span(b.dst_x, b.w / 2, vx, width)?;
        let (y0, y1) = span(b.dst_y, b.h / 2, vy, height)?;
        Some(Move { x0, x1, y0, y1, vx, vy })
    }

    /// Appends the moved pixels' state before the picture (their sources) to `out`.
    fn gather<T: Copy>(&self, width: usize, from: &[T], out: &mut Vec<T>) {
        let sx = (self.x0 as i64 - i64::from(self.vx)) as usize;
        for y in self.y0..self.y1 {
            let sy = (y as i64 - i64::from(self.vy)) as usize;
            let row = &from[sy * width + sx..][..self.x1 - self.x0];
            // Partitions are 16 or 8 wide: fixed-size copies, not a memmove call per row.
            match (<&[T; 16]>::try_from(row), <&[T; 8]>::try_from(row)) {
                (Ok(r), _) => out.extend_from_slice(r),
                (_, Ok(r)) => out.extend_from_slice(r),
                _ => out.extend_from_slice(row),
            }
        }
    }

    /// Writes the gathered state to the destination rows; returns what is left of `src`.
    fn scatter<'a, T: Copy>(&self, width: usize, src: &'a [T], to: &mut [T]) -> &'a [T] {
        let n = self.x1 - self.x0;
        let mut src = src;
        for y in self.y0..self.y1 {
            copy_row(&mut to[y * width + self.x0..][..n], &src[..n]);
            src = &src[n..];
        }
        src
    }
}

/// dst = src (equal lengths), inline for the partition widths.
#[inline(always)]
fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    if let (Ok(d), Ok(s)) = (<&mut [T; 16]>::try_from(&mut *dst), <&[T; 16]>::try_from(src)) {
        *d = *s;
    } else if let (Ok(d), Ok(s)) = (<&mut [T; 8]>::try_from(&mut *dst), <&[T; 8]>::try_from(src)) {
        *d = *s;
    } else {
        dst.copy_from_slice(src);
    }
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a GOP at an I picture whose display window is `width` x `height`: every
    /// pixel is its own source, the accumulated residual is zero. With `with_residual`
    /// false only the motion is accumulated.
    pub fn start(&mut self, width: usize, height: usize, with_residual: bool) {
        (self.width, self.height, self.with_residual, self.steps) = (width, height, with_residual, 0);
        let n = width * height;
        self.trace.clear();
        self.trace.extend((0..height).flat_map(|y| (0..width).map(move |x| [x as u16, y as u16])));
        self.vectors.clear();
        let rn = if with_residual { n } else { 0 };
        for p in &mut self.res {
            p.clear();
            p.resize(rn, 0);
        }
    }

    /// Width and height of the window.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Adds P picture `pic` to the chain, with its residual planes when the residual is
    /// accumulated. Returns false (and changes nothing) when the picture does not fit the
    /// window (a size change without an I picture) or the residual planes are missing.
    pub fn step(&mut self, pic: &Picture, residual: Option<&ResidualPlanes>) -> bool {
        let (w, h) = (self.width, self.height);
        if (pic.mb_width as usize * 16) < w || (pic.mb_height as usize * 16) < h {
            return false;
        }
        let planes = match (self.with_residual, residual) {
            (true, Some(r)) if fits(r, pic) => Some(r),
            (true, _) => return false,
            (false, _) => None,
        };
        list0_vectors(pic, &mut self.vectors);
        if let Some(r) = planes {
            // Only inter macroblocks with coded_block_pattern != 0 have a residual.
            self.coded.clear();
            self.coded.extend(pic.mbs.iter().zip(&r.mb).map(|(m, &k)| k == MbResidual::Inter && m.cbp != 0));
        }
        self.advance(planes, pic.mb_width as usize);
        true
    }

    /// Moves the state through the picture whose vectors are in `self.vectors` and whose
    /// coded macroblocks (`mb_width` per row) are marked in `self.coded`. Only moved
    /// pixels are copied: on a camera most of the picture does not move.
    fn advance(&mut self, planes: Option<&ResidualPlanes>, mb_width: usize) {
        let (w, h) = (self.width, self.height);
        let mut moves = std::mem::take(&mut self.moves);
        moves.clear();
        moves.extend(self.vectors.iter().filter_map(|b| Move::of(b, w, h)));
        self.trace_moved.clear();
        for m in &moves {
            m.gather(w, &self.trace, &mut self.trace_moved);
        }
        let mut src = &self.trace_moved[..];
        for m in &moves {
            src = m.scatter(w, src, &mut self.trace);
        }
        if let Some(r) = planes {
            for plane in &mut self.res {
                self.res_moved.clear();
                for m in &moves {
                    m.gather(w, plane, &mut self.res_moved);
                }
                let mut src = &self.res_moved[..];
                for m in &moves {
                    src = m.scatter(w, src, plane);
                }
            }
            for (addr, _) in self.coded.iter().enumerate().filter(|(_, &c)| c) {
                add_residual(&mut self.res, w, h, r, addr % mb_width.max(1) * 16, addr / mb_width.max(1) * 16);
            }
        }
        self.moves = moves;
        self.steps += 1;
    }

    /// The accumulated motion D(i) = i - J(i) in whole pels: [2, height, width], x then y.
    pub fn motion(&self, out: &mut [i16]) {
        let n = self.width * self.height;
        let (ox, oy) = out[..2 * n].split_at_mut(n);
        for (i, s) in self.trace.iter().enumerate() {
            let (x, y) = (i % self.width, i / self.width);
            ox[i] = (x as i32 - i32::from(s[0])) as i16;
            oy[i] = (y as i32 - i32::from(s[1])) as i16;
        }
    }

    /// The motion of the last picture alone (not accumulated), as CoViAR's non-accumulated
    /// variant: each pixel that a non-zero vector moves gets its displacement, others 0.
    pub fn last_motion(&self, out: &mut [i16]) {
        let (w, n) = (self.width, self.width * self.height);
        let (ox, oy) = out[..2 * n].split_at_mut(n);
        ox.fill(0);
        oy.fill(0);
        for m in self.vectors.iter().filter_map(|b| Move::of(b, w, self.height)) {
            for y in m.y0..m.y1 {
                ox[y * w + m.x0..y * w + m.x1].fill(m.vx as i16);
                oy[y * w + m.x0..y * w + m.x1].fill(m.vy as i16);
            }
        }
    }

    /// The accumulated residual: [3, height, width], Y then Cb then Cr (zeros when the
    /// residual is not accumulated).
    pub fn residual(&self, out: &mut [i16]) {
        let n = self.width * self.height;
        let out = &mut out[..3 * n];
        if !self.with_residual {
            out.fill(0);
            return;
        }
        for (o, p) in out.chunks_exact_mut(n.max(1)).zip(&self.res) {
            o.copy_from_slice(p);
        }
    }
}

/// The planes are the picture's, whole.
fn fits(r: &ResidualPlanes, pic: &Picture) -> bool {
    let (w, h) = (pic.mb_width as usize * 16, pic.mb_height as usize * 16);
    (r.width, r.height) == (w, h) && r.y.len() >= w * h && r.cb.len() >= w * h / 4 && r.cr.len() >= w * h / 4 && r.mb.len() == pic.mbs.len()
}

/// res(i) += this picture's residual at i (chroma: the sample covering i), saturating, over
/// the macroblock at luma (x0, y0) clipped to the `w` x `h` window.
fn add_residual(res: &mut [Vec<i16>; 3], w: usize, h: usize, r: &ResidualPlanes, x0: usize, y0: usize) {
    if x0 >= w || y0 >= h {
        return;
    }
    let (x1, y1, cw) = ((x0 + 16).min(w), (y0 + 16).min(h), r.width / 2);
    let [ay, acb, acr] = res;
    for y in y0..y1 {
        let row = y * w + x0..y * w + x1;
        for (a, &v) in ay[row.clone()].iter_mut().zip(&r.y[y * r.width + x0..][..x1 - x0]) {
            *a = a.saturating_add(v);
        }
        let c0 = (y / 2) * cw + x0 / 2;
        for (acc, c) in [(&mut *acb, &r.cb), (&mut *acr, &r.cr)] {
            let c = &c[c0..][..8];
            for (i, a) in acc[row.clone()].iter_mut().enumerate() {
                *a = a.saturating_add(c[i / 2]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pixel by pixel, as CoViAR's loader states it: the source m(i) of
    /// each pixel, then J'(i) = J(m(i)) and R'(i) = Δ(i) + R(m(i)).
    fn reference(trace: &[[u16; 2]], res: &[Vec<i16>; 3], w: usize, h: usize, vectors: &[BlockVector], delta: &ResidualPlanes) -> (Vec<[u16; 2]>, [Vec<i16>; 3]) {
        let mut src: Vec<usize> = (0..w * h).collect();
        for b in vectors {
            if b.dst_x == b.src_x && b.dst_y == b.src_y {
                continue;
            }
            for dy in -b.h / 2..b.h / 2 {
                for dx in -b.w / 2..b.w / 2 {
                    let (px, py, sx, sy) = (b.dst_x + dx, b.dst_y + dy, b.src_x + dx, b.src_y + dy);
                    let inside = |x: i32, y: i32| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
                    if inside(px, py) && inside(sx, sy) {
                        src[py as usize * w + px as usize] = sy as usize * w + sx as usize;
                    }
                }
            }
        }
        let next = src.iter().map(|&s| trace[s]).collect();
        let cw = delta.width / 2;
        let res = [0, 1, 2].map(|k| {
            (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let c = y / 2 * cw + x / 2;
                    let d = [delta.y[y * delta.width + x], delta.cb[c], delta.cr[c]][k];
                    res[k][src[i]].saturating_add(d)
                })
                .collect()
        });
        (next, res)
    }

    #[test]
    fn motion_and_residual_follow_the_per_pixel_definition() {
        // Odd window inside a 48x32 coded picture, vectors off the grid and off the edges.
        let (w, h) = (37usize, 29usize);
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = |n: i32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as i32
        };
        let mut acc = Accumulator::new();
        acc.start(w, h, true);
        let (mut want_t, mut want_r) = (acc.trace.clone(), acc.res.clone());
        for _ in 0..20 {
            let vectors: Vec<BlockVector> = (0..12)
                .map(|_| {
                    let (bw, bh) = [(16, 16), (16, 8), (8, 16), (8, 8)][rnd(4) as usize];
                    let (dx, dy) = (rnd(48) - 4, rnd(40) - 4);
                    let (vx, vy) = (rnd(21) - 10, rnd(21) - 10);
                    BlockVector { dst_x: dx, dst_y: dy, src_x: dx - vx, src_y: dy - vy, w: bw, h: bh }
                })
                .collect();
            let (pw, ph) = (48, 32);
            let mut plane = |n: usize| (0..n).map(|_| (rnd(601) - 300) as i16).collect::<Vec<i16>>();
            let delta = ResidualPlanes { width: pw, height: ph, y: plane(pw * ph), cb: plane(pw * ph / 4), cr: plane(pw * ph / 4), mb: Vec::new() };
            (want_t, want_r) = reference(&want_t, &want_r, w, h, &vectors, &delta);
            acc.vectors = vectors;
            acc.coded = vec![true; (pw / 16) * (ph / 16)];
            acc.advance(Some(&delta), pw / 16);
            assert_eq!(acc.trace, want_t);
            assert_eq!(acc.res, want_r);
        }
        // D = i - J, planar.
        let mut d = vec![0i16; 2 * w * h];
        acc.motion(&mut d);
        for (i, j) in want_t.iter().enumerate() {
            assert_eq!((d[i], d[w * h + i]), ((i % w) as i16 - j[0] as i16, (i / w) as i16 - j[1] as i16));
        }
    }
}
