//! Residual planes (CoViAR's "R" modality): for every inter macroblock of a picture, the
//! dequantised, inverse-transformed residual r_ij of H.264 8.5 (the value 8.5.14 adds to
//! the inter prediction), as signed 16-bit luma and chroma planes of the coded size.
//!
//! Computed from the levels the compressed-domain pass stored in a `Picture` (nothing is
//! parsed again), only when asked: the scan itself does no inverse transform.
//!
//! What each macroblock's area holds (`MbResidual` says which case applies):
//! - inter (P/B, not skipped): the residual of its coded blocks (8.5.11 - 8.5.13 with the
//!   Inter Y/Cb/Cr 4x4 and Inter Y 8x8 scaling lists, Table 7-2; QP'C from the chroma QP
//!   offsets, 8.5.8; chroma DC, 8.5.11.2); zero where no block is coded;
//! - skipped (P_Skip, B_Skip): zero (no residual is sent, 7.4.4);
//! - intra (in any picture, I_PCM included): zero. Its residual adds to an intra prediction
//!   from neighbouring *reconstructed* samples, which needs motion compensation of the
//!   neighbours in a P/B picture; its modes and levels stay in the `Picture`;
//! - not received (no parsed slice covers it): zero.
//!
//! Buffers live in `ResidualDecoder` and are reused from picture to picture; nothing is
//! allocated per macroblock or per sample.

use super::dequant::{self, chroma_qp, LevelScale, LIST_INTER_Y};
use super::mb::{blk_xy, Macroblock, MbKind};
use super::picture::{MbLevelsRef, Picture, CHROMA_AC, CHROMA_DC};
use super::sps::ScalingMatrices;
use super::transform::{idct4, idct8};
use std::fmt;

/// Index of the Inter Y 8x8 list in `LevelScale::ls8` (Table 7-2: Intra Y, Inter Y).
const LIST8_INTER_Y: usize = 1;

/// What the residual planes hold in a macroblock's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum MbResidual {
    /// No parsed slice covers the macroblock: zeros.
    #[default]
    Missing,
    /// P_Skip / B_Skip: zeros (no residual coded).
    Skip,
    /// Inter macroblock: its residual.
    Inter,
    /// Intra macroblock: zeros (not reconstructed; see the module documentation).
    Intra,
}

/// Residual planes of one picture, coded size (whole macroblocks), no padding: luma
/// `width` x `height`, Cb and Cr `width / 2` x `height / 2` (4:2:0; zeros for 4:0:0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResidualPlanes {
    pub width: usize,
    pub height: usize,
    pub y: Vec<i16>,
    pub cb: Vec<i16>,
    pub cr: Vec<i16>,
    /// Per macroblock, raster order: what its area holds.
    pub mb: Vec<MbResidual>,
}

impl ResidualPlanes {
    /// Number of macroblocks in each state: [missing, skip, inter, intra].
    pub fn counts(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for &m in &self.mb {
            n[m as usize] += 1;
        }
        n
    }
}

/// Why a picture's residual cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResidualError {
    /// No slice of the picture could be parsed.
    NoSlices,
}

impl fmt::Display for ResidualError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResidualError::NoSlices => write!(f, "no slice of the picture could be parsed"),
        }
    }
}

impl std::error::Error for ResidualError {}

/// Computes residual planes, reusing its buffers from picture to picture.
#[derive(Default)]
pub struct ResidualDecoder {
    planes: ResidualPlanes,
    scale: Option<(ScalingMatrices, Box<LevelScale>)>,
    /// Per macroblock: which of its 4x4 blocks (`BlockMask`) may hold non-zero samples from
    /// the previous picture. Only these blocks are cleared, instead of whole planes, and
    /// only where this picture does not overwrite them.
    dirty: Vec<u32>,
}

impl ResidualDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The residual planes of `pic` (any picture type; see the module documentation for
    /// what intra, skipped and missing macroblocks hold).
    pub fn compute(&mut self, pic: &Picture) -> Result<&ResidualPlanes, ResidualError> {
        let Some(first) = pic.slice_info.first() else { return Err(ResidualError::NoSlices) };
        let (mbw, mbh) = (pic.mb_width as usize, pic.mb_height as usize);
        let p = &mut self.planes;
        if (p.width, p.height) != (mbw * 16, mbh * 16) || self.dirty.len() != mbw * mbh {
            p.width = mbw * 16;
            p.height = mbh * 16;
            for (plane, n) in [(&mut p.y, mbw * mbh * 256), (&mut p.cb, mbw * mbh * 64), (&mut p.cr, mbw * mbh * 64)] {
                plane.clear();
                plane.resize(n, 0);
            }
            self.dirty.clear();
            self.dirty.resize(mbw * mbh, 0);
        }
        p.mb.clear();
        p.mb.resize(mbw * mbh, MbResidual::Missing);
        // All slices of a picture share one PPS (7.4.3), hence one set of matrices and offsets.
        let matrices = dequant::matrices_in_force(&first.sps, &first.pps);
        if self.scale.as_ref().map_or(true, |(m, _)| m != matrices) {
            self.scale = Some((matrices.clone(), Box::new(LevelScale::new(matrices))));
        }
        let Some((_, ls)) = self.scale.as_ref() else { return Err(ResidualError::NoSlices) };
        let chroma = first.sps.chroma_array_type() != 0;
        let offsets = [first.pps.chroma_qp_index_offset, first.pps.second_chroma_qp_index_offset];
        let p = &mut self.planes;
        for (addr, mb) in pic.mbs.iter().enumerate().take(mbw * mbh) {
            let state = match mb.kind {
                MbKind::NotDecoded => MbResidual::Missing,
                MbKind::PSkip | MbKind::BSkip => MbResidual::Skip,
                k if k.is_intra() => MbResidual::Intra,
                _ => MbResidual::Inter,
            };
            p.mb[addr] = state;
            let (mx, my) = (addr % mbw, addr / mbw);
            // Only coded blocks are written, and a macroblock without any writes none.
            let written = if state == MbResidual::Inter && mb.cbp != 0 {
                inter_mb(p, mx, my, mb, pic.levels.of(addr), ls, offsets, chroma)
            } else {
                0
            };
            if let Some(dirty) = self.dirty.get_mut(addr) {
                clear_blocks(p, mx, my, *dirty & !written);
                *dirty = written;
            }
        }
        // Macroblocks without an entry in `mbs` (none when `Picture::reset` sized it): zeros.
        for addr in pic.mbs.len()..mbw * mbh {
            if let Some(dirty) = self.dirty.get_mut(addr) {
                clear_blocks(p, addr % mbw, addr / mbw, std::mem::take(dirty));
            }
        }
        Ok(&self.planes)
    }

    /// The planes of the last `compute`.
    pub fn planes(&self) -> &ResidualPlanes {
        &self.planes
    }
}

/// A set of 4x4 blocks of a macroblock, one bit each: luma at y * 4 + x, then Cb at
/// 16 + y * 2 + x and Cr at 20 + y * 2 + x (the layout of `Macroblock::coded`).
type BlockMask = u32;

/// The `BlockMask` bit of chroma 4x4 block `blk` (chroma4x4BlkIdx) of component `c`.
#[inline(always)]
const fn chroma_bit(c: usize, blk: usize) -> BlockMask {
    1 << (16 + 4 * c + blk)
}

/// Zeroes the 4x4 blocks of `mask` in macroblock (mx, my) of the three planes.
fn clear_blocks(p: &mut ResidualPlanes, mx: usize, my: usize, mask: BlockMask) {
    if mask == 0 {
        return;
    }
    let (w, cw) = (p.width, p.width / 2);
    let base = my * 16 * w + mx * 16;
    let cbase = my * 8 * cw + mx * 8;
    let mut m = mask;
    while m != 0 {
        let b = m.trailing_zeros() as usize;
        m &= m - 1;
        match b {
            0..16 => clear_4x4(&mut p.y, w, base + (b >> 2) * 4 * w + (b & 3) * 4),
            16..20 => clear_4x4(&mut p.cb, cw, cbase + ((b - 16) >> 1) * 4 * cw + (b & 1) * 4),
            _ => clear_4x4(&mut p.cr, cw, cbase + ((b - 20) >> 1) * 4 * cw + (b & 1) * 4),
        }
    }
}

/// Zeroes the 4x4 block of `plane` at `off`.
#[inline]
fn clear_4x4(plane: &mut [i16], stride: usize, off: usize) {
    put_flat_value(plane, stride, off, 0);
}

/// Writes an n x n residual (raster order) into `plane` at `off`, saturated to i16: a
/// conforming stream keeps r_ij within 16 bits (8.5.12.1, 8.5.13.1 bound the d_ij and the
/// intermediate values); hostile input is clipped, never wrapped.
#[inline]
fn put(plane: &mut [i16], stride: usize, off: usize, n: usize, r: &[i32]) {
    for (y, src) in r.chunks_exact(n).take(n).enumerate() {
        let Some(row) = plane.get_mut(off + y * stride..off + y * stride + n) else { return };
        for (d, &v) in row.iter_mut().zip(src) {
            *d = v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
    }
}

/// The residual of a 4x4 block whose only non-zero scaled coefficient is `d00`, into
/// `plane` at `off`: the inverse transform gives (d00 + 32) >> 6 everywhere (8-338 ..
/// 8-354 with every other d_ij zero), so `idct4` is not needed.
#[inline]
fn put_flat(plane: &mut [i16], stride: usize, off: usize, d00: i32) {
    put_flat_value(plane, stride, off, ((d00 + 32) >> 6).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16);
}

/// Sets the 4x4 block of `plane` at `off` to `v`.
#[inline]
fn put_flat_value(plane: &mut [i16], stride: usize, off: usize, v: i16) {
    for y in 0..4 {
        if let Some(row) = plane.get_mut(off + y * stride..).and_then(|s| s.first_chunk_mut::<4>()) {
            *row = [v; 4];
        }
    }
}

/// The residual of one inter macroblock (8.5.12 / 8.5.13 for luma, 8.5.11 for chroma);
/// returns the blocks it wrote (the others are left as they are).
#[allow(clippy::too_many_arguments)]
fn inter_mb(
    p: &mut ResidualPlanes,
    mx: usize,
    my: usize,
    mb: &Macroblock,
    levels: MbLevelsRef,
    ls: &LevelScale,
    offsets: [i32; 2],
    chroma: bool,
) -> BlockMask {
    let (w, cw) = (p.width, p.width / 2);
    let qp = i32::from(mb.qp).clamp(0, 51);
    let base = my * 16 * w + mx * 16;
    let mut written = 0;
    if mb.cbp & 15 != 0 {
        if mb.transform_size_8x8_flag {
            // With the 8x8 transform the parser writes all 64 levels of every 8x8 block that
            // coded_block_pattern marks coded (7.3.5.3).
            let ls8 = &ls.ls8[LIST8_INTER_Y][(qp % 6) as usize];
            for b8 in 0..4 {
                if mb.cbp & (1 << b8) == 0 {
                    continue;
                }
                let Some(lv) = levels.block8x8(b8) else { continue };
                let mut d = [0i32; 64];
                dequant::scale_8x8(lv, ls8, qp, &mut d);
                let off = base + (b8 >> 1) * 8 * w + (b8 & 1) * 8;
                put(&mut p.y, w, off, 8, &idct8(&d));
                // Its four 4x4 blocks: rows 2 * (b8 >> 1) and the one below, two columns each.
                written |= 0x33 << ((b8 >> 1) * 8 + (b8 & 1) * 2);
            }
        } else {
            let ls4 = &ls.ls4[LIST_INTER_Y][(qp % 6) as usize];
            for blk in 0..16 {
                let (bx, by) = blk_xy(blk);
                if mb.total_coeff[by * 4 + bx] == 0 {
                    continue;
                }
                let Some(lv) = levels.block(blk) else { continue };
                let off = base + by * 4 * w + bx * 4;
                let mut d = [0i32; 16];
                dequant::scale_4x4(lv, ls4, qp, false, &mut d);
                put(&mut p.y, w, off, 4, &idct4(&d));
                written |= 1 << (by * 4 + bx);
            }
        }
    }
    if !chroma || mb.cbp >> 4 == 0 {
        return written;
    }
    let cbase = my * 8 * cw + mx * 8;
    for c in 0..2 {
        let qpc = chroma_qp(qp, offsets[c]);
        // Inter Cb / Inter Cr follow Inter Y in Table 7-2.
        let ls4 = &ls.ls4[LIST_INTER_Y + 1 + c][(qpc % 6) as usize];
        let mut dc = [0i32; 4];
        if let Some(lv) = levels.block(CHROMA_DC + c).filter(|_| mb.coded_dc & (2 << c) != 0) {
            dequant::chroma_dc(lv, ls4[0], qpc, &mut dc);
        }
        let plane = if c == 0 { &mut p.cb } else { &mut p.cr };
        for (blk, &dcv) in dc.iter().enumerate() {
            let off = cbase + (blk >> 1) * 4 * cw + (blk & 1) * 4;
            let Some(lv) = levels.block(CHROMA_AC + 4 * c + blk).filter(|_| mb.total_coeff[16 + 4 * c + blk] > 0) else {
                // DC only (the common case).
                if dcv != 0 {
                    put_flat(plane, cw, off, dcv);
                    written |= chroma_bit(c, blk);
                }
                continue;
            };
            let mut d = [0i32; 16];
            dequant::scale_4x4(lv, ls4, qpc, true, &mut d);
            d[0] = dcv;
            put(plane, cw, off, 4, &idct4(&d));
            written |= chroma_bit(c, blk);
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_saturates_instead_of_wrapping() {
        let mut plane = [0i16; 16];
        put(&mut plane, 4, 0, 4, &[40_000; 16]);
        assert!(plane.iter().all(|&v| v == i16::MAX));
        put(&mut plane, 4, 0, 4, &[-40_000; 16]);
        assert!(plane.iter().all(|&v| v == i16::MIN));
        // Out of the plane: nothing written, no panic.
        put(&mut plane, 4, 14, 4, &[1; 16]);
    }

    #[test]
    fn a_flat_block_is_its_inverse_transform() {
        for d00 in [-40_000, -4096, -33, -32, -31, -1, 1, 31, 32, 33, 95, 96, 4095, 40_000] {
            let mut d = [0i32; 16];
            d[0] = d00;
            let (mut a, mut b) = ([0i16; 16], [0i16; 16]);
            put(&mut a, 4, 0, 4, &idct4(&d));
            put_flat(&mut b, 4, 0, d00);
            assert_eq!(a, b, "d00 {d00}");
        }
    }

    #[test]
    fn a_picture_without_slices_is_refused() {
        let mut d = ResidualDecoder::new();
        assert_eq!(d.compute(&Picture::new()), Err(ResidualError::NoSlices));
    }
}
