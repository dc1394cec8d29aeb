//! Direct prediction of B_Skip, B_Direct_16x16 and B_Direct_8x8 (H.264 8.4.1.2): the
//! co-located 4x4 block (8.4.1.2.1), spatial direct (8.4.1.2.2) and temporal direct
//! (8.4.1.2.3) for frame pictures.

use super::dpb::RefFrame;
use super::mvpred::{MvCache, Shape, REF_NA};
use super::picture::{Picture, NO_REF};

/// ref_idx and vector per list for each 4x4 block of the macroblock, raster order.
pub type DirectMotion = [[(i8, [i16; 2]); 16]; 2];

/// What direct prediction reads besides the macroblock's neighbours.
pub struct DirectCtx<'a> {
    pub spatial: bool,
    pub direct_8x8_inference: bool,
    pub cur_poc: i32,
    pub lists: &'a [Vec<Option<RefFrame>>; 2],
}

/// The co-located blocks' vectors and references (8.4.1.2.1) for the 16 4x4 blocks of
/// macroblock `mb_addr`: (mvCol, refIdxCol, the id of the picture it refers to, resolved
/// only when `with_ids`). Intra (or missing) co-located blocks give refIdxCol -1. With
/// direct_8x8_inference_flag each 8x8 quadrant takes its corner block.
fn colocated(col: Option<&Picture>, mb_addr: usize, inference: bool, with_ids: bool, out: &mut [([i16; 2], i8, u64); 16]) {
    *out = [([0, 0], -1, NO_REF); 16];
    let Some(col) = col else { return };
    let Some(mb) = col.mbs.get(mb_addr) else { return };
    if !mb.is_decoded() || mb.kind.is_intra() {
        return;
    }
    let w = col.mb_width as usize;
    let base = (mb_addr / w) * 4 * col.stride4() + (mb_addr % w) * 4;
    let slice = (mb.slice_num as usize).wrapping_sub(1);
    let at = |x: usize, y: usize| {
        let i = base + y * col.stride4() + x;
        let list = if col.ref_idx[0].get(i).is_some_and(|&r| r >= 0) { 0 } else { 1 };
        match (col.ref_idx[list].get(i), col.mv[list].get(i)) {
            (Some(&r), Some(&mv)) if r >= 0 => {
                let id = if with_ids {
                    col.ref_ids.get(slice).and_then(|l| l[list].get(r as usize)).copied().unwrap_or(NO_REF)
                } else {
                    NO_REF
                };
                (mv, r, id)
            }
            _ => ([0, 0], -1, NO_REF),
        }
    };
    if inference {
        for q in 0..4 {
            let (x8, y8) = ((q & 1) * 2, (q >> 1) * 2);
            let v = at(if x8 > 0 { 3 } else { 0 }, if y8 > 0 { 3 } else { 0 });
            for blk in [0, 1, 4, 5] {
                out[y8 * 4 + x8 + blk] = v;
            }
        }
    } else {
        for (blk, o) in out.iter_mut().enumerate() {
            *o = at(blk % 4, blk / 4);
        }
    }
}

/// MinPositive (8-190).
fn min_positive(a: i8, b: i8) -> i8 {
    if a >= 0 && b >= 0 { a.min(b) } else { a.max(b) }
}

/// Direct motion of every 4x4 block of the macroblock at `mb_addr`; `caches` hold its
/// neighbours (for spatial direct: 8.4.1.3 with the macroblock as one 16x16 partition).
pub fn direct_motion(ctx: &DirectCtx, caches: &[MvCache; 2], mb_addr: usize, out: &mut DirectMotion) {
    let l1 = ctx.lists[1].first().and_then(|e| e.as_ref());
    let col = l1.and_then(|r| r.pic.as_deref());
    if ctx.spatial {
        let mut ref_idx = [-1i8; 2];
        let mut mvp = [[0i16; 2]; 2];
        for l in 0..2 {
            let c = &caches[l];
            let norm = |r: i8| if r == REF_NA { -1 } else { r };
            let a = norm(c.refs[1][0]);
            let b = norm(c.refs[0][1]);
            let cc = if c.refs[0][5] != REF_NA { c.refs[0][5] } else { norm(c.refs[0][0]) };
            ref_idx[l] = min_positive(a, min_positive(b, cc));
            if ref_idx[l] >= 0 {
                mvp[l] = c.predict(0, 0, 4, ref_idx[l], Shape::Other);
            }
        }
        let direct_zero = ref_idx[0] < 0 && ref_idx[1] < 0;
        if direct_zero {
            *out = [[(0, [0, 0]); 16]; 2];
            return;
        }
        let l1_short = l1.is_some_and(|r| !r.long_term);
        let mut cols = [([0i16; 2], -1i8, NO_REF); 16];
        colocated(col, mb_addr, ctx.direct_8x8_inference, false, &mut cols);
        for blk in 0..16 {
            let (mv_col, ref_col, _) = cols[blk];
            let col_zero = l1_short && ref_col == 0 && (-1..=1).contains(&mv_col[0]) && (-1..=1).contains(&mv_col[1]);
            for l in 0..2 {
                out[l][blk] = if ref_idx[l] < 0 {
                    (-1, [0, 0])
                } else if ref_idx[l] == 0 && col_zero {
                    (0, [0, 0])
                } else {
                    (ref_idx[l], mvp[l])
                };
            }
        }
        return;
    }
    let poc1 = l1.map_or(0, |r| r.poc);
    let mut cols = [([0i16; 2], -1i8, NO_REF); 16];
    colocated(col, mb_addr, ctx.direct_8x8_inference, true, &mut cols);
    for blk in 0..16 {
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
