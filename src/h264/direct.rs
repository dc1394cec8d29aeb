//! Direct prediction of B_Skip, B_Direct_16x16 and B_Direct_8x8 (H.264 8.4.1.2): the
//! co-located 4x4 block (8.4.1.2.1), spatial direct (8.4.1.2.2) and temporal direct
//! (8.4.1.2.3) for frame pictures.

use super::dpb::RefFrame;
use super::mvpred::median;
use super::picture::{Picture, NO_REF};

/// ref_idx and vector per list for each 4x4 block of the macroblock, raster order.
pub type DirectMotion = [[(i8, [i16; 2]); 16]; 2];

/// What direct prediction reads besides the macroblock's neighbours.
pub struct DirectCtx<'a> {
    pub spatial: bool,
    pub direct_8x8_inference: bool,
    pub cur_poc: i32,
    pub lists: &'a [Vec<Option<RefFrame>>; 2],
    /// `col_zero_masks` of the slice.
    pub col_zero: Option<&'a [u16]>,
}

/// The colZeroFlag masks (`Picture::col_zero`) that spatial direct prediction reads in a
/// slice with reference lists `lists`: RefPicList1[0]'s, or none when colZeroFlag is 0
/// throughout (RefPicList1[0] long-term) or there is no such picture.
pub fn col_zero_masks(lists: &[Vec<Option<RefFrame>>; 2], inference: bool) -> Option<&[u16]> {
    let l1 = lists[1].first()?.as_ref().filter(|r| !r.long_term)?;
    Some(l1.pic.as_deref()?.col_zero(inference))
}

/// A 4x4 block's co-located data for temporal direct: (mvCol, refIdxCol, the id of the
/// picture refIdxCol refers to). Spatial direct reads `Picture::col_zero` instead.
type Col = ([i16; 2], i8, u64);
const COL_NONE: Col = ([0, 0], -1, NO_REF);

/// The co-located blocks (8.4.1.2.1) of macroblock `mb_addr`, in raster order of 4x4 blocks;
/// with direct_8x8_inference_flag only the corner block of each quadrant (0, 3, 12, 15),
/// which is all the quadrant uses. Intra (or missing) co-located blocks give refIdxCol -1.
fn colocated(col: Option<&Picture>, mb_addr: usize, inference: bool, out: &mut [Col; 16]) {
    let Some(col) = col else {
        *out = [COL_NONE; 16];
        return;
    };
    let Some(mb) = col.mbs.get(mb_addr).filter(|m| m.is_decoded() && !m.kind.is_intra()) else {
        *out = [COL_NONE; 16];
        return;
    };
    let w = col.mb_width as usize;
    let (x0, y0) = ((mb_addr % w) * 4, (mb_addr / w) * 4);
    let slice = (mb.slice_num as usize).wrapping_sub(1);
    let at = |blk: usize| {
        let (x, y) = (x0 + blk % 4, y0 + blk / 4);
        let list = if col.ref_idx[0].get(col.ref_index(x, y)).is_some_and(|&r| r >= 0) { 0 } else { 1 };
        match col.motion(list, x, y) {
            (r, mv) if r >= 0 => {
                let id = col.ref_ids.get(slice).and_then(|l| l[list].get(r as usize)).copied().unwrap_or(NO_REF);
                (mv, r, id)
            }
            _ => COL_NONE,
        }
    };
    if inference {
        for blk in CORNERS {
            out[blk] = at(blk);
        }
    } else {
        for (blk, o) in out.iter_mut().enumerate() {
            *o = at(blk);
        }
    }
}

/// Spatial direct prediction of a macroblock (8.4.1.2.2): refIdxL0/L1 and the predicted
/// vectors of the macroblock, and the blocks where colZeroFlag zeroes a vector.
pub struct Spatial {
    pub ref_idx: [i8; 2],
    pub mvp: [[i16; 2]; 2],
    /// Per list, the 4x4 blocks (bit y * 4 + x) whose vector is zero instead of `mvp`:
    /// colZeroFlag where the list's refIdx is 0.
    pub zero: [u16; 2],
}

impl Spatial {
    /// refIdx and vector of 4x4 block `blk` (raster) in list `l`.
    #[inline]
    pub fn block(&self, l: usize, blk: usize) -> (i8, [i16; 2]) {
        if (self.zero[l] >> blk) & 1 != 0 { (self.ref_idx[l], [0, 0]) } else { (self.ref_idx[l], self.mvp[l]) }
    }
}

/// Spatial direct prediction of the macroblock at `mb_addr` with neighbours `nb` per list.
#[inline(always)]
pub fn spatial(ctx: &DirectCtx, nb: &[MbNeighbours; 2], mb_addr: usize) -> Spatial {
    let mut ref_idx = [-1i8; 2];
    let mut mvp = [[0i16; 2]; 2];
    for l in 0..2 {
        let [a, b, c] = nb[l];
        // MinPositive(A, MinPositive(B, C)) as an unsigned minimum: REF_NA and -1 become
        // 254 and 255, above every refIdx, and the minimum is < 128 iff one is >= 0.
        let m = (a.0 as u8).min(b.0 as u8).min(c.0 as u8);
        if m < 128 {
            ref_idx[l] = m as i8;
            mvp[l] = median(a, b, c, m as i8);
        }
    }
    if ref_idx[0] < 0 && ref_idx[1] < 0 {
        // Both lists with refIdx 0 and zero vectors.
        return Spatial { ref_idx: [0, 0], mvp: [[0, 0]; 2], zero: [0, 0] };
    }
    // colZeroFlag needs the co-located block only when a list has refIdx 0.
    let zero = if ref_idx[0] == 0 || ref_idx[1] == 0 { ctx.col_zero.and_then(|z| z.get(mb_addr).copied()).unwrap_or(0) } else { 0 };
    let mask = |l: usize| if ref_idx[l] == 0 { zero } else { 0 };
    Spatial { ref_idx, mvp, zero: [mask(0), mask(1)] }
}

/// The corner 4x4 block of each 8x8 quadrant, and the blocks of quadrant q.
const CORNERS: [usize; 4] = [0, 3, 12, 15];
const QUADRANT: [[usize; 4]; 4] = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]];

/// The neighbours A, B and C (D where C is not available) of a whole macroblock in one
/// list, as (refIdx, mv) with REF_NA for "not available": what spatial direct reads.
pub type MbNeighbours = [(i8, [i16; 2]); 3];

/// Direct motion of every 4x4 block of the macroblock at `mb_addr`. `nb` are its
/// neighbours per list (used by spatial direct: 8.4.1.3 with the macroblock as one 16x16
/// partition).
pub fn direct_motion(ctx: &DirectCtx, nb: &[MbNeighbours; 2], mb_addr: usize, out: &mut DirectMotion) {
    direct_motion_corners(ctx, nb, mb_addr, out);
    if ctx.direct_8x8_inference {
        expand_corners(out);
    }
}

/// With direct_8x8_inference: each quadrant's motion is its corner block's; copies it to
/// the quadrant's other blocks.
pub fn expand_corners(out: &mut DirectMotion) {
    for (q, &corner) in CORNERS.iter().enumerate() {
        for l in 0..2 {
            let v = out[l][corner];
            for blk in QUADRANT[q] {
                out[l][blk] = v;
            }
        }
    }
}

/// `direct_motion`, except that with direct_8x8_inference only the corner blocks (0, 3, 12,
/// 15) are set (`expand_corners` sets the rest).
pub fn direct_motion_corners(ctx: &DirectCtx, nb: &[MbNeighbours; 2], mb_addr: usize, out: &mut DirectMotion) {
    let l1 = ctx.lists[1].first().and_then(|e| e.as_ref());
    let col = l1.and_then(|r| r.pic.as_deref());
    // Blocks computed: with 8x8 inference one per quadrant (its corner), copied to the rest.
    let blocks: &[usize] = if ctx.direct_8x8_inference { &CORNERS } else { &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] };
    let mut cols = [COL_NONE; 16];
    if ctx.spatial {
        let sp = spatial(ctx, nb, mb_addr);
        for &blk in blocks {
            for l in 0..2 {
                out[l][blk] = sp.block(l, blk);
            }
        }
    } else {
        let poc1 = l1.map_or(0, |r| r.poc);
        colocated(col, mb_addr, ctx.direct_8x8_inference, &mut cols);
        for &blk in blocks {
            let (mv_col, ref_col, ref_id) = cols[blk];
            // refIdxL0 = MapColToList0(refIdxCol): the lowest index of that picture in list 0.
            let ref0 = if ref_col < 0 {
                0
            } else {
                ctx.lists[0].iter().position(|e| e.as_ref().is_some_and(|r| r.id == ref_id)).unwrap_or(0)
            };
            let pic0 = ctx.lists[0].get(ref0).and_then(|e| e.as_ref());
            let poc0 = pic0.map_or(0, |r| r.poc);
            let (mv0, mv1) = if pic0.is_some_and(|r| r.long_term) || poc1 - poc0 == 0 {
                (mv_col, [0, 0])
            } else {
                let tb = (ctx.cur_poc - poc0).clamp(-128, 127);
                let td = (poc1 - poc0).clamp(-128, 127);
                let tx = (16384 + (td / 2).abs()) / td;
                let dsf = ((tb * tx + 32) >> 6).clamp(-1024, 1023);
                let scale = |c: i16| ((dsf * i32::from(c) + 128) >> 8) as i16;
                let mv0 = [scale(mv_col[0]), scale(mv_col[1])];
                (mv0, [mv0[0].wrapping_sub(mv_col[0]), mv0[1].wrapping_sub(mv_col[1])])
            };
            out[0][blk] = (ref0 as i8, mv0);
            out[1][blk] = (0, mv1);
        }
    }
}
