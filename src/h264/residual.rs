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

use super::dequant::{self, chroma_qp, in_scan_order, scale_scan, LevelScale, LIST_INTER_Y};
use super::mb::{blk_xy, Macroblock, MbKind};
use super::picture::{MbLevelsRef, Picture, CHROMA_AC, CHROMA_DC};
use super::sps::ScalingMatrices;
use super::tables::misc::{ZIGZAG_4X4, ZIGZAG_8X8};
use super::transform::{idct4_scan, idct8_scan};
use std::fmt;

/// Index of the Inter Y 8x8 list in `LevelScale::ls8` (Table 7-2: Intra Y, Inter Y).
const LIST8_INTER_Y: usize = 1;

/// The LevelScale tables of the inter lists (Table 7-2) per qP % 6, in scan order
/// (`dequant::in_scan_order`): levels are scaled in the order they are stored.
struct InterScale {
    /// Inter Y, Inter Cb, Inter Cr.
    ls4: [[[i16; 16]; 6]; 3],
    /// Inter Y 8x8.
    ls8: [[i16; 64]; 6],
    /// LevelScale4x4(qP % 6, 0, 0) of Inter Cb and Inter Cr, for the chroma DC.
    dc: [[i32; 6]; 2],
}

impl InterScale {
    fn new(ls: &LevelScale) -> InterScale {
        InterScale {
            ls4: std::array::from_fn(|c| ls.ls4[LIST_INTER_Y + c].map(|q| in_scan_order(&q, &ZIGZAG_4X4))),
            ls8: ls.ls8[LIST8_INTER_Y].map(|q| in_scan_order(&q, &ZIGZAG_8X8)),
            dc: std::array::from_fn(|c| ls.ls4[LIST_INTER_Y + 1 + c].map(|q| q[0])),
        }
    }
}

/// The three planes being written and the luma width.
struct Target<'a> {
    y: &'a mut [i16],
    cb: &'a mut [i16],
    cr: &'a mut [i16],
    width: usize,
}

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
    scale: Option<(ScalingMatrices, Box<InterScale>)>,
    /// Per macroblock: which of its 4x4 blocks (`BlockMask`) may hold non-zero samples from
    /// the previous picture. Only these blocks are cleared, instead of whole planes, and
    /// only where this picture does not overwrite them.
    dirty: Vec<u32>,
    /// The current macroblock row's stores, made when the row ends.
    row: RowStores,
}

/// The stores of a macroblock row, collected while its macroblocks are computed and made
/// when it ends (`Target::flush`), by rows of 4x4 blocks across the macroblock row: the
/// planes are written in four ascending streams at a time, which the caches' prefetchers
/// follow, instead of jumping down 16 + 2 x 8 rows per macroblock.
#[derive(Default)]
struct RowStores {
    /// Residuals of the row's coded macroblocks; `used` of them hold this row's.
    bufs: Vec<MbBuf>,
    used: usize,
    /// Per macroblock to store: mx, the blocks whose rows of blocks are stored, and its
    /// residual in `bufs` (none: zeros).
    list: Vec<(usize, BlockMask, Option<usize>)>,
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
        if self.scale.as_ref().is_none_or(|(m, _)| m != matrices) {
            self.scale = Some((matrices.clone(), Box::new(InterScale::new(&LevelScale::new(matrices)))));
        }
        let Some((_, scale)) = self.scale.as_ref() else { return Err(ResidualError::NoSlices) };
        let chroma = first.sps.chroma_array_type() != 0;
        let offsets = [first.pps.chroma_qp_index_offset, first.pps.second_chroma_qp_index_offset];
        let ResidualPlanes { width, y, cb, cr, mb: states, .. } = &mut self.planes;
        let mut t = Target { y, cb, cr, width: *width };
        let rs = &mut self.row;
        rs.list.clear();
        rs.used = 0;
        let (mut mx, mut my) = (0, 0);
        // Macroblocks without an entry in `mbs` (none when `Picture::reset` sized it) stay
        // missing.
        let mut mbs = pic.mbs.iter();
        for (addr, (state, dirty)) in states.iter_mut().zip(self.dirty.iter_mut()).enumerate() {
            let mb = mbs.next();
            *state = match mb.map(|m| m.kind) {
                None | Some(MbKind::NotDecoded) => MbResidual::Missing,
                Some(MbKind::PSkip | MbKind::BSkip) => MbResidual::Skip,
                Some(k) if k.is_intra() => MbResidual::Intra,
                Some(_) => MbResidual::Inter,
            };
            // Only coded blocks are written, and a macroblock without any writes none.
            let slot = rs.used;
            let written = match mb {
                Some(mb) if *state == MbResidual::Inter && mb.cbp != 0 => {
                    if rs.bufs.len() <= slot {
                        rs.bufs.push(MbBuf::ZERO);
                    }
                    match rs.bufs.get_mut(slot) {
                        Some(buf) => {
                            *buf = MbBuf::ZERO;
                            inter_mb(buf, mb, pic.levels.of(addr), scale, offsets, chroma)
                        }
                        None => 0,
                    }
                }
                _ => 0,
            };
            if written != 0 {
                rs.used += 1;
            }
            if *dirty | written != 0 {
                rs.list.push((mx, *dirty | written, (written != 0).then_some(slot)));
            }
            *dirty = written;
            mx += 1;
            if mx == mbw {
                t.flush(my, rs);
                (mx, my) = (0, my + 1);
            }
        }
        // A last, partial row (only when `mbs` is shorter than the picture).
        t.flush(my, rs);
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

/// The `BlockMask` bit number of chroma 4x4 block `blk` (chroma4x4BlkIdx) of component `c`.
const fn chroma_bit(c: usize, blk: usize) -> usize {
    16 + 4 * c + blk
}

/// The residual of one macroblock, composed here (the blocks it does not code are zero),
/// then stored into the planes by rows of whole macroblock width: a few row stores
/// instead of four per 4x4 block.
struct MbBuf {
    y: [[i16; 16]; 16],
    c: [[[i16; 8]; 8]; 2],
}

impl MbBuf {
    const ZERO: MbBuf = MbBuf { y: [[0; 16]; 16], c: [[[0; 8]; 8]; 2] };
}

impl Target<'_> {
    /// Makes the stores of macroblock row `my` (`RowStores`) and forgets them: for each
    /// listed macroblock, the rows of 4x4 blocks that hold a block of its mask, whole
    /// macroblock wide, from its residual, or zeros without one.
    fn flush(&mut self, my: usize, rs: &mut RowStores) {
        let (w, cw) = (self.width, self.width / 2);
        let buf = |slot: Option<usize>| slot.and_then(|s| rs.bufs.get(s)).unwrap_or(&MbBuf::ZERO);
        for by in 0..4 {
            for &(mx, mask, slot) in &rs.list {
                if mask >> (4 * by) & 15 != 0 {
                    let rows = buf(slot).y.chunks_exact(4).nth(by).unwrap_or(&[]);
                    store_rows(self.y, w, (my * 16 + by * 4) * w + mx * 16, rows);
                }
            }
        }
        for (c, plane) in [&mut *self.cb, &mut *self.cr].into_iter().enumerate() {
            for by in 0..2 {
                for &(mx, mask, slot) in &rs.list {
                    if mask >> (16 + 4 * c + 2 * by) & 3 != 0 {
                        let rows = buf(slot).c[c].chunks_exact(4).nth(by).unwrap_or(&[]);
                        store_rows(plane, cw, (my * 8 + by * 4) * cw + mx * 8, rows);
                    }
                }
            }
        }
        rs.list.clear();
        rs.used = 0;
    }
}

/// Writes `rows` into `plane` from `off` on, one row per `stride`.
#[inline(always)]
fn store_rows<const N: usize>(plane: &mut [i16], stride: usize, off: usize, rows: &[[i16; N]]) {
    for (y, src) in rows.iter().enumerate() {
        if let Some(row) = plane.get_mut(off + y * stride..).and_then(|s| s.first_chunk_mut::<N>()) {
            *row = *src;
        }
    }
}

/// Puts an N x N block into a W x W area at (x, y) (samples).
#[inline(always)]
fn place<const N: usize, const W: usize>(area: &mut [[i16; W]; W], x: usize, y: usize, r: &[[i16; N]; N]) {
    for (row, src) in area.iter_mut().skip(y).zip(r) {
        if let Some(dst) = row.get_mut(x..).and_then(|s| s.first_chunk_mut::<N>()) {
            *dst = *src;
        }
    }
}

/// The residual of an N x N block whose only non-zero scaled coefficient is `d00`: the
/// inverse transform gives (d00 + 32) >> 6 everywhere (8-338 .. 8-354, 8-355 .. 8-378
/// with every other d_ij zero), so it is not needed.
#[inline(always)]
fn flat<const N: usize>(d00: i32) -> [[i16; N]; N] {
    [[((d00 + 32) >> 6).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16; N]; N]
}

/// The residual of a 4x4 block from its levels in scan order (8.5.12). `dc` replaces d_00
/// (chroma, 8.5.11.2; within the d_ij range). Blocks with only a DC coefficient, the
/// common case, are flat.
#[inline(always)]
fn block4x4(levels: &[i16; 16], ls: &[i16; 16], qp: i32, dc: Option<i32>) -> [[i16; 4]; 4] {
    let mut d = [0; 16];
    scale_scan(levels, ls, qp, &mut d);
    if let Some(dc) = dc {
        d[0] = dc.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
    if d[1..].iter().fold(0, |a, &v| a | v) == 0 {
        flat(i32::from(d[0]))
    } else {
        idct4_scan(&d)
    }
}

/// The residual of a luma 8x8 block from its levels in scan order (8.5.13).
#[inline(always)]
fn block8x8(levels: &[i16; 64], ls: &[i16; 64], qp: i32) -> [[i16; 8]; 8] {
    let mut d = [0; 64];
    scale_scan(levels, ls, qp, &mut d);
    if d[1..].iter().fold(0, |a, &v| a | v) == 0 {
        flat(i32::from(d[0]))
    } else {
        idct8_scan(&d)
    }
}

/// The residual of one inter macroblock (8.5.12 / 8.5.13 for luma, 8.5.11 for chroma)
/// into `buf` (zero); returns the blocks it wrote. Walks the stored blocks in storage
/// order, in which the chroma DC blocks come before the AC blocks that use them.
fn inter_mb(buf: &mut MbBuf, mb: &Macroblock, levels: MbLevelsRef, s: &InterScale, offsets: [i32; 2], chroma: bool) -> BlockMask {
    let qp = i32::from(mb.qp).clamp(0, 51);
    let luma = mb.cbp & 15 != 0;
    let chroma = chroma && mb.cbp >> 4 != 0;
    let qpc = if chroma { offsets.map(|o| chroma_qp(qp, o)) } else { [0; 2] };
    let mut dc = [[0i32; 4]; 2];
    let mut written = 0;
    for (b, lv) in levels.stored() {
        match b {
            // With the 8x8 transform the parser writes all 64 levels of every 8x8 block that
            // coded_block_pattern marks coded (7.3.5.3).
            0..=15 if luma && mb.transform_size_8x8_flag => {
                let b8 = b / 4;
                if b % 4 != 0 || mb.cbp & (1 << b8) == 0 || !levels.has_8x8(b8) {
                    continue;
                }
                let Some(lv) = lv.first_chunk::<64>() else { continue };
                let r = block8x8(lv, &s.ls8[(qp % 6) as usize], qp);
                place(&mut buf.y, (b8 & 1) * 8, (b8 >> 1) * 8, &r);
                // Its four 4x4 blocks: rows 2 * (b8 >> 1) and the one below, two columns each.
                written |= 0x33 << ((b8 >> 1) * 8 + (b8 & 1) * 2);
            }
            0..=15 if luma => {
                let (bx, by) = blk_xy(b);
                if mb.total_coeff[by * 4 + bx] == 0 {
                    continue;
                }
                let Some(lv) = lv.first_chunk::<16>() else { continue };
                let r = block4x4(lv, &s.ls4[0][(qp % 6) as usize], qp, None);
                place(&mut buf.y, bx * 4, by * 4, &r);
                written |= 1 << (by * 4 + bx);
            }
            CHROMA_DC | 18 if chroma => {
                let c = b - CHROMA_DC;
                if mb.coded_dc & (2 << c) == 0 {
                    continue;
                }
                let Some(lv) = lv.first_chunk::<16>() else { continue };
                dequant::chroma_dc(lv, s.dc[c][(qpc[c] % 6) as usize], qpc[c], &mut dc[c]);
                // Blocks without AC levels (the common case) hold their DC alone; blocks
                // with AC levels, stored after this one, replace theirs.
                for (blk, &v) in dc[c].iter().enumerate() {
                    place(&mut buf.c[c], (blk & 1) * 4, (blk >> 1) * 4, &flat::<4>(v));
                    written |= BlockMask::from(v != 0) << chroma_bit(c, blk);
                }
            }
            CHROMA_AC..27 if chroma => {
                let (c, blk) = ((b - CHROMA_AC) / 4, (b - CHROMA_AC) % 4);
                if mb.total_coeff[16 + 4 * c + blk] == 0 {
                    continue;
                }
                let Some(lv) = lv.first_chunk::<16>() else { continue };
                // Inter Cb / Inter Cr follow Inter Y in Table 7-2.
                let r = block4x4(lv, &s.ls4[1 + c][(qpc[c] % 6) as usize], qpc[c], Some(dc[c][blk]));
                place(&mut buf.c[c], (blk & 1) * 4, (blk >> 1) * 4, &r);
                written |= 1 << chroma_bit(c, blk);
            }
            _ => {}
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_out_of_the_plane_are_not_written() {
        let mut plane = [0i16; 16];
        store_rows(&mut plane, 4, 14, &[[1; 4]; 4]);
        assert_eq!(plane, [0; 16]);
        let mut area = [[0i16; 8]; 8];
        place(&mut area, 6, 6, &[[1; 4]; 4]);
        assert_eq!(area, [[0; 8]; 8]);
        place(&mut area, 4, 4, &[[1; 4]; 4]);
        assert_eq!(area.concat().iter().filter(|&&v| v == 1).count(), 16);
    }

    #[test]
    fn a_flat_block_is_its_inverse_transform() {
        for d00 in [-32768, -4096, -33, -32, -31, -1, 1, 31, 32, 33, 95, 96, 4095, 32767] {
            let mut d = [0i16; 16];
            d[0] = d00 as i16;
            assert_eq!(idct4_scan(&d), flat::<4>(d00), "d00 {d00}");
            let mut d = [0i16; 64];
            d[0] = d00 as i16;
            assert_eq!(idct8_scan(&d), flat::<8>(d00), "d00 {d00}");
        }
    }

    #[test]
    fn a_picture_without_slices_is_refused() {
        let mut d = ResidualDecoder::new();
        assert_eq!(d.compute(&Picture::new()), Err(ResidualError::NoSlices));
    }
}
