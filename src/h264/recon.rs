//! Reconstruction of intra pictures (H.264 8.3, 8.5, 8.7): from the syntax and residual
//! levels that the compressed-domain pass stored in a `Picture` (nothing is parsed again)
//! to 8-bit 4:2:0 sample planes, then the deblocking filter.
//!
//! Only pictures whose slices are all I are reconstructed (inter prediction would need
//! motion compensation, which gopwatch does not do). Macroblocks are processed in raster
//! order, which is decoding order here (no FMO/ASO): every neighbour a macroblock predicts
//! from is finished before it. Buffers live in `Reconstructor` and are reused; nothing is
//! allocated per macroblock or per sample.

use super::deblock;
use super::dequant::{self, chroma_qp, LevelScale, LIST_INTRA_CB, LIST_INTRA_Y};
use super::intra_pred::{self, Edges};
use super::mb::{blk_xy, MbKind};
use super::picture::{Picture, PictureType, CHROMA_AC, CHROMA_DC, LUMA_DC};
use super::sps::ScalingMatrices;
use super::transform::{add_residual, idct4, idct8};
use std::fmt;

/// Why a picture cannot be reconstructed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconError {
    /// A P or B picture: only pictures whose slices are all I can be reconstructed without
    /// motion compensation.
    NotIntra { picture_type: char },
    /// No slice of the picture could be parsed.
    NoSlices,
}

impl fmt::Display for ReconError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconError::NotIntra { picture_type } => {
                write!(f, "{picture_type} picture: only pictures whose slices are all intra can be reconstructed")
            }
            ReconError::NoSlices => write!(f, "no slice of the picture could be parsed"),
        }
    }
}

impl std::error::Error for ReconError {}

/// A decoded picture: 8-bit 4:2:0 planes of the coded size (whole macroblocks), without
/// padding; Cb and Cr have half the width and height.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub cb: Vec<u8>,
    pub cr: Vec<u8>,
    /// Macroblocks that no parsed slice covered (lost or broken slices): grey, not filtered.
    pub missing_mbs: usize,
}

impl Frame {
    /// Appends the display rectangle (left, top, width, height in luma samples, as
    /// `Picture::crop`) as yuv420p (Y, then Cb, then Cr, rows without padding) to `out`.
    /// The rectangle is clipped to the frame; 4:2:0 cropping offsets are even (7.4.2.1.1).
    pub fn write_cropped(&self, crop: (u32, u32, u32, u32), out: &mut Vec<u8>) {
        let (l, t, w, h) = self.crop_clipped(crop);
        for row in self.y.chunks_exact(self.width.max(1)).skip(t).take(h) {
            out.extend_from_slice(&row[l..l + w]);
        }
        let cw = self.width / 2;
        for plane in [&self.cb, &self.cr] {
            for row in plane.chunks_exact(cw.max(1)).skip(t / 2).take(h.div_ceil(2)) {
                out.extend_from_slice(&row[l / 2..(l / 2 + w.div_ceil(2)).min(cw)]);
            }
        }
    }

    /// (left, top, width, height) of `crop` inside the frame.
    pub fn crop_clipped(&self, crop: (u32, u32, u32, u32)) -> (usize, usize, usize, usize) {
        let l = (crop.0 as usize).min(self.width);
        let t = (crop.1 as usize).min(self.height);
        (l, t, (crop.2 as usize).min(self.width - l), (crop.3 as usize).min(self.height - t))
    }
}

/// Options of `Reconstructor::reconstruct`.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Run the deblocking filter (8.7); off gives the constructed picture before it.
    pub deblock: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { deblock: true }
    }
}

/// Reconstructs intra pictures, reusing its buffers from picture to picture.
#[derive(Default)]
pub struct Reconstructor {
    frame: Frame,
    /// Intra4x4PredMode / Intra8x8PredMode per 4x4 block of the picture (stride
    /// mb_width * 4); 2 (DC) for macroblocks that are not Intra_NxN, as 8.3.1.1 reads them.
    modes: Vec<u8>,
    scale: Option<(ScalingMatrices, Box<LevelScale>)>,
}

/// Availability of the neighbouring macroblocks A (left), B (above), C (above right) and
/// D (above left) for intra prediction (6.4.11.1, constrained_intra_pred_flag).
#[derive(Debug, Clone, Copy, Default)]
struct Avail {
    a: bool,
    b: bool,
    c: bool,
    d: bool,
}

impl Reconstructor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reconstructs `pic` (all slices intra) and, unless `opts` says otherwise, deblocks it.
    pub fn reconstruct(&mut self, pic: &Picture, opts: Options) -> Result<&Frame, ReconError> {
        if pic.picture_type != PictureType::I {
            return Err(ReconError::NotIntra { picture_type: pic.picture_type.letter() });
        }
        let Some(first) = pic.slice_info.first() else { return Err(ReconError::NoSlices) };
        let (mbw, mbh) = (pic.mb_width as usize, pic.mb_height as usize);
        let (w, h) = (mbw * 16, mbh * 16);
        let f = &mut self.frame;
        f.width = w;
        f.height = h;
        f.missing_mbs = 0;
        // Every sample is written below (grey for missing macroblocks): no clearing needed.
        f.y.resize(w * h, 128);
        f.cb.resize(w * h / 4, 128);
        f.cr.resize(w * h / 4, 128);
        self.modes.resize(mbw * mbh * 16, intra_pred::DC);
        // All slices of a picture share one PPS (7.4.1.2.4), hence one set of matrices.
        let matrices = dequant::matrices_in_force(&first.sps, &first.pps);
        if self.scale.as_ref().map_or(true, |(m, _)| m != matrices) {
            self.scale = Some((matrices.clone(), Box::new(LevelScale::new(matrices))));
        }
        let Some((_, ls)) = self.scale.as_ref() else { return Err(ReconError::NoSlices) };
        let chroma = first.sps.chroma_array_type() != 0;
        let offsets = [first.pps.chroma_qp_index_offset, first.pps.second_chroma_qp_index_offset];
        let constrained = first.pps.constrained_intra_pred_flag;
        if !chroma {
            // Monochrome (4:0:0): the chroma planes are written nowhere below.
            self.frame.cb.fill(128);
            self.frame.cr.fill(128);
        }
        for addr in 0..mbw * mbh {
            let mb = &pic.mbs[addr];
            let (mx, my) = (addr % mbw, addr / mbw);
            let ok = mb.is_decoded() && mb.kind.is_intra() && mb.slice_num.checked_sub(1).is_some_and(|i| pic.slice_info.get(i as usize).is_some());
            if !ok {
                self.frame.missing_mbs += 1;
                fill_mb(&mut self.frame, mx, my, 128);
                set_modes(&mut self.modes, mbw, mx, my, intra_pred::DC);
                continue;
            }
            let usable = |n: usize| {
                let m = &pic.mbs[n];
                m.is_decoded() && m.slice_num == mb.slice_num && (!constrained || m.kind.is_intra())
            };
            let av = Avail {
                a: mx > 0 && usable(addr - 1),
                b: my > 0 && usable(addr - mbw),
                c: my > 0 && mx + 1 < mbw && usable(addr - mbw + 1),
                d: mx > 0 && my > 0 && usable(addr - mbw - 1),
            };
            let levels = &pic.levels.mb(addr);
            let frame = &mut self.frame;
            match mb.kind {
                MbKind::IPcm => {
                    pcm(frame, mx, my, levels.as_flattened(), chroma);
                    set_modes(&mut self.modes, mbw, mx, my, intra_pred::DC);
                    continue;
                }
                MbKind::I16x16 => {
                    set_modes(&mut self.modes, mbw, mx, my, intra_pred::DC);
                    luma_16x16(frame, mx, my, av, mb.intra_pred[0] as u8, mb.qp, mb.coded_dc & 1 != 0, &mb.total_coeff, levels, ls);
                }
                MbKind::I4x4 => {
                    for blk in 0..16 {
                        let (bx, by) = blk_xy(blk);
                        let mode = self.block_mode(mbw, mx * 4 + bx, my * 4 + by, bx, by, av, mb.intra_pred[blk]);
                        self.modes[(my * 4 + by) * mbw * 4 + mx * 4 + bx] = mode;
                        let frame = &mut self.frame;
                        let e = luma_edges(frame, mx * 16 + bx * 4, my * 16 + by * 4, 4, av, blk);
                        let mut pred = [0u8; 16];
                        intra_pred::pred4x4(mode, &e, &mut pred);
                        let off = (my * 16 + by * 4) * w + mx * 16 + bx * 4;
                        store(&mut frame.y, w, off, 4, &pred);
                        if mb.total_coeff[by * 4 + bx] > 0 {
                            let mut d = [0i32; 16];
                            let qp = i32::from(mb.qp);
                            dequant::scale_4x4(&levels[blk], &ls.ls4[LIST_INTRA_Y][(qp % 6) as usize], qp, false, &mut d);
                            add_residual(&mut frame.y, w, off, 4, &idct4(&d));
                        }
                    }
                }
                MbKind::I8x8 => {
                    for b8 in 0..4 {
                        let (bx, by) = ((b8 & 1) * 2, (b8 >> 1) * 2);
                        let mode = self.block_mode(mbw, mx * 4 + bx, my * 4 + by, bx, by, av, mb.intra_pred[b8]);
                        for k in 0..4 {
                            self.modes[(my * 4 + by + k / 2) * mbw * 4 + mx * 4 + bx + k % 2] = mode;
                        }
                        let frame = &mut self.frame;
                        let e = luma_edges(frame, mx * 16 + bx * 4, my * 16 + by * 4, 8, av, b8 * 4);
                        let mut pred = [0u8; 64];
                        intra_pred::pred8x8(mode, &e, &mut pred);
                        let off = (my * 16 + by * 4) * w + mx * 16 + bx * 4;
                        store(&mut frame.y, w, off, 8, &pred);
                        if mb.cbp & (1 << b8) != 0 {
                            let mut d = [0i32; 64];
                            let qp = i32::from(mb.qp);
                            let lv = levels[b8 * 4..b8 * 4 + 4].as_flattened();
                            dequant::scale_8x8(lv, &ls.ls8[0][(qp % 6) as usize], qp, &mut d);
                            add_residual(&mut frame.y, w, off, 8, &idct8(&d));
                        }
                    }
                }
                _ => {}
            }
            if chroma {
                for c in 0..2 {
                    let qpc = chroma_qp(i32::from(mb.qp), offsets[c]);
                    chroma_mb(&mut self.frame, c, mx, my, av, mb.intra_chroma_pred_mode, qpc, mb.coded_dc & (2 << c) != 0, &mb.total_coeff, levels, ls);
                }
            }
        }
        if opts.deblock {
            deblock::deblock_picture(&mut self.frame, pic);
        }
        Ok(&self.frame)
    }

    /// Intra4x4PredMode / Intra8x8PredMode of the block whose top-left 4x4 block is at
    /// (gx, gy) in the picture, (bx, by) in its macroblock (8.3.1.1, 8.3.2.1). The left and
    /// upper neighbours are the 4x4 blocks left of and above that 4x4 block: for an 8x8
    /// neighbour in an Intra_4x4 macroblock these are its blocks 1 and 2, for a 4x4 block
    /// next to an Intra_8x8 macroblock they hold the 8x8 block's mode.
    #[allow(clippy::too_many_arguments)]
    fn block_mode(&self, mbw: usize, gx: usize, gy: usize, bx: usize, by: usize, av: Avail, prev_rem: i8) -> u8 {
        let stride = mbw * 4;
        let a = (bx > 0 || av.a).then(|| self.modes[gy * stride + gx - 1]);
        let b = (by > 0 || av.b).then(|| self.modes[(gy - 1) * stride + gx]);
        intra_pred::decode_mode(prev_rem, intra_pred::predicted_mode(a, b))
    }
}

fn set_modes(modes: &mut [u8], mbw: usize, mx: usize, my: usize, v: u8) {
    for r in 0..4 {
        let o = (my * 4 + r) * mbw * 4 + mx * 4;
        modes[o..o + 4].fill(v);
    }
}

fn fill_mb(f: &mut Frame, mx: usize, my: usize, v: u8) {
    let (w, cw) = (f.width, f.width / 2);
    for r in 0..16 {
        let o = (my * 16 + r) * w + mx * 16;
        f.y[o..o + 16].fill(v);
    }
    for r in 0..8 {
        let o = (my * 8 + r) * cw + mx * 8;
        f.cb[o..o + 8].fill(v);
        f.cr[o..o + 8].fill(v);
    }
}

/// Copies an n x n block into a plane.
fn store(plane: &mut [u8], stride: usize, off: usize, n: usize, src: &[u8]) {
    for (y, row) in src.chunks_exact(n).take(n).enumerate() {
        if let Some(d) = plane.get_mut(off + y * stride..off + y * stride + n) {
            d.copy_from_slice(row);
        }
    }
}

/// I_PCM: the samples as sent (8.3.5), stored raster-wise by the parser.
fn pcm(f: &mut Frame, mx: usize, my: usize, s: &[i16], chroma: bool) {
    let (w, cw) = (f.width, f.width / 2);
    let px = |v: i16| v.clamp(0, 255) as u8;
    for y in 0..16 {
        for x in 0..16 {
            f.y[(my * 16 + y) * w + mx * 16 + x] = px(s[y * 16 + x]);
        }
    }
    for y in 0..8 {
        for x in 0..8 {
            let o = (my * 8 + y) * cw + mx * 8 + x;
            if chroma {
                f.cb[o] = px(s[256 + y * 8 + x]);
                f.cr[o] = px(s[320 + y * 8 + x]);
            } else {
                f.cb[o] = 128;
                f.cr[o] = 128;
            }
        }
    }
}

/// The 4x4 block index (luma4x4BlkIdx) of the block holding luma sample (x, y) of a
/// macroblock (6.4.13.1).
fn blk_index(x: usize, y: usize) -> usize {
    8 * (y / 8) + 4 * (x / 8) + 2 * ((y % 8) / 4) + (x % 8) / 4
}

/// Neighbouring samples of the n x n luma block at picture position (px, py), which is at
/// (px % 16, py % 16) in its macroblock and starts with 4x4 block `blk` (8.3.1.2, 8.3.2.2,
/// 8.3.3: 6.4.12 availability; top-right samples inside the macroblock only when their
/// block is already decoded; missing top-right samples replaced by p[n-1, -1]).
fn luma_edges(f: &Frame, px: usize, py: usize, n: usize, av: Avail, blk: usize) -> Edges {
    let w = f.width;
    let (bx, by) = (px % 16, py % 16);
    let mut e = Edges {
        has_left: bx > 0 || av.a,
        has_top: by > 0 || av.b,
        has_corner: match (bx > 0, by > 0) {
            (true, true) => true,
            (false, true) => av.a,
            (true, false) => av.b,
            (false, false) => av.d,
        },
        ..Edges::default()
    };
    e.has_top_right = if by == 0 {
        if bx + n < 16 { av.b } else { av.c }
    } else {
        bx + n < 16 && blk_index(bx + n, by - 1) < blk
    };
    if e.has_left {
        for y in 0..n {
            e.left[y] = f.y[(py + y) * w + px - 1];
        }
    }
    if e.has_top {
        let o = (py - 1) * w + px;
        e.top[..n].copy_from_slice(&f.y[o..o + n]);
        if n < 16 {
            if e.has_top_right {
                e.top[n..2 * n].copy_from_slice(&f.y[o + n..o + 2 * n]);
            } else {
                let last = e.top[n - 1];
                e.top[n..2 * n].fill(last);
            }
        }
    }
    if e.has_corner {
        e.corner = f.y[(py - 1) * w + px - 1];
    }
    e
}

/// Intra_16x16 macroblock: prediction (8.3.3), DC Hadamard (8.5.10) and the 16 AC blocks.
#[allow(clippy::too_many_arguments)]
fn luma_16x16(
    f: &mut Frame,
    mx: usize,
    my: usize,
    av: Avail,
    mode: u8,
    qp: u8,
    dc_coded: bool,
    tc: &[u8; 24],
    levels: &[[i16; 16]; 27],
    ls: &LevelScale,
) {
    let w = f.width;
    let e = luma_edges(f, mx * 16, my * 16, 16, av, 0);
    let mut pred = [0u8; 256];
    intra_pred::pred16x16(mode, &e, &mut pred);
    let base = my * 16 * w + mx * 16;
    store(&mut f.y, w, base, 16, &pred);
    let qp = i32::from(qp);
    let ls4 = &ls.ls4[LIST_INTRA_Y][(qp % 6) as usize];
    let mut dc = [0i32; 16];
    if dc_coded {
        dequant::luma_dc(&levels[LUMA_DC], ls4[0], qp, &mut dc);
    }
    for blk in 0..16 {
        let (bx, by) = blk_xy(blk);
        let mut d = [0i32; 16];
        if tc[by * 4 + bx] > 0 {
            dequant::scale_4x4(&levels[blk], ls4, qp, true, &mut d);
        }
        d[0] = dc[by * 4 + bx];
        if d.iter().any(|&v| v != 0) {
            add_residual(&mut f.y, w, base + by * 4 * w + bx * 4, 4, &idct4(&d));
        }
    }
}

/// One chroma component of a macroblock: prediction (8.3.4), DC (8.5.11) and AC blocks.
#[allow(clippy::too_many_arguments)]
fn chroma_mb(
    f: &mut Frame,
    c: usize,
    mx: usize,
    my: usize,
    av: Avail,
    mode: u8,
    qpc: i32,
    dc_coded: bool,
    tc: &[u8; 24],
    levels: &[[i16; 16]; 27],
    ls: &LevelScale,
) {
    let cw = f.width / 2;
    let plane = if c == 0 { &mut f.cb } else { &mut f.cr };
    let (px, py) = (mx * 8, my * 8);
    let mut e = Edges { has_left: av.a, has_top: av.b, has_corner: av.d, ..Edges::default() };
    if e.has_left {
        for y in 0..8 {
            e.left[y] = plane[(py + y) * cw + px - 1];
        }
    }
    if e.has_top {
        let o = (py - 1) * cw + px;
        e.top[..8].copy_from_slice(&plane[o..o + 8]);
    }
    if e.has_corner {
        e.corner = plane[(py - 1) * cw + px - 1];
    }
    let mut pred = [0u8; 64];
    intra_pred::pred_chroma(mode, &e, &mut pred);
    let base = py * cw + px;
    store(plane, cw, base, 8, &pred);
    let ls4 = &ls.ls4[LIST_INTRA_CB + c][(qpc % 6) as usize];
    let mut dc = [0i32; 4];
    if dc_coded {
        dequant::chroma_dc(&levels[CHROMA_DC + c], ls4[0], qpc, &mut dc);
    }
    for blk in 0..4 {
        let mut d = [0i32; 16];
        if tc[16 + 4 * c + blk] > 0 {
            dequant::scale_4x4(&levels[CHROMA_AC + 4 * c + blk], ls4, qpc, true, &mut d);
        }
        d[0] = dc[blk];
        if d.iter().any(|&v| v != 0) {
            let (bx, by) = (blk & 1, blk >> 1);
            add_residual(plane, cw, base + by * 4 * cw + bx * 4, 4, &idct4(&d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blk_index_inverts_blk_xy() {
        for blk in 0..16 {
            let (x, y) = blk_xy(blk);
            assert_eq!(blk_index(x * 4 + 3, y * 4 + 1), blk);
        }
    }

    #[test]
    fn crop_writes_the_display_rectangle() {
        let mut f = Frame { width: 32, height: 16, ..Frame::default() };
        f.y = (0..512).map(|i| (i % 251) as u8).collect();
        f.cb = vec![1; 128];
        f.cr = vec![2; 128];
        let mut out = Vec::new();
        f.write_cropped((2, 2, 26, 12), &mut out);
        assert_eq!(out.len(), 26 * 12 + 2 * 13 * 6);
        assert_eq!(out[0], f.y[2 * 32 + 2]);
        assert_eq!(out[26], f.y[3 * 32 + 2]);
        assert_eq!(out[26 * 12], 1);
        assert_eq!(*out.last().unwrap(), 2);
    }
}
