//! slice_data() and macroblock_layer() in CAVLC mode (H.264 7.3.4, 7.3.5) for I and P
//! slices: macroblock types, prediction syntax, coded_block_pattern, mb_qp_delta and the
//! residual levels, and the motion vectors that follow from them (8.4.1).

use super::bits::BitReader;
use super::cavlc::{nc_from_neighbours, residual_block};
use super::dpb::RefFrame;
use super::error::{ErrorKind, Fail};
use super::mb::{blk_xy, MbKind, Macroblock};
use super::direct::{direct_motion, direct_motion_corners, expand_corners, spatial, DirectCtx, DirectMotion};
use super::mvpred::{mb_neighbours, median, p_skip_mv, MvCache, Neighbours, Shape, REF_NA};
use super::macroblock_cabac::MvdRows;
use super::picture::{Picture, CHROMA_AC, CHROMA_DC, LUMA_DC, REF_NONE};
use super::pps::Pps;
use super::slice::{SliceHeader, SliceType};
use super::sps::Sps;
use super::tables::mb_types::I_16X16;
use super::tables::misc::{CBP_INTER, CBP_INTER_MONO, CBP_INTRA, CBP_INTRA_MONO};

/// What a slice needs while its macroblocks are parsed.
pub struct SliceCtx<'a> {
    pub sps: &'a Sps,
    pub pps: &'a Pps,
    pub hdr: &'a SliceHeader,
    pub slice_num: u32,
    /// RefPicList0 and RefPicList1.
    pub lists: &'a [Vec<Option<RefFrame>>; 2],
    /// PicOrderCnt of the current picture.
    pub poc: i32,
    /// colZeroFlag masks for spatial direct prediction (`direct::col_zero_masks`), in B
    /// slices that use it.
    pub col_zero: Option<&'a [u16]>,
}

/// Scratch state reused from slice to slice (no allocation per macroblock).
pub struct MbScratch {
    pub(super) cache: [MvCache; 2],
    pub(super) direct: DirectMotion,
    /// |mvd| of the neighbours, for CABAC contexts.
    pub(super) mvd: MvdRows,
}

impl Default for MbScratch {
    fn default() -> Self {
        MbScratch { cache: [MvCache::new(), MvCache::new()], direct: [[(0, [0, 0]); 16]; 2], mvd: MvdRows::default() }
    }
}

/// Parses slice_data() of a CAVLC slice into `pic`. On error, returns it with the address
/// of the macroblock being parsed; macroblocks before it stay decoded.
pub fn decode_slice_cavlc(
    r: &mut BitReader,
    pic: &mut Picture,
    ctx: &SliceCtx,
    scratch: &mut MbScratch,
) -> Result<(), (Fail, u32)> {
    let total = pic.mb_width * pic.mb_height;
    let mut addr = ctx.hdr.first_mb_in_slice;
    let mut qp = ctx.hdr.slice_qp(ctx.pps);
    let inter = ctx.hdr.slice_type != SliceType::I;
    let first = ctx.hdr.first_mb_in_slice;
    let mut n = neighbours(pic.mb_width, addr, first);
    loop {
        if inter {
            let run = r.ue("mb_skip_run").map_err(|e| (e, addr))?;
            if run > total - addr {
                return Err((Box::new(ErrorKind::OutOfRange { element: "mb_skip_run", value: i64::from(run) }), addr));
            }
            for _ in 0..run {
                if ctx.hdr.slice_type == SliceType::B {
                    decode_b_skip(pic, ctx, scratch, addr, n, qp).map_err(|e| (e, addr))?;
                } else {
                    decode_p_skip(pic, ctx, addr, n, qp);
                }
                addr += 1;
                n = next_neighbours(n, pic.mb_width, addr, first);
            }
            if run > 0 && !r.more_rbsp_data() {
                return Ok(());
            }
        }
        if addr >= total {
            return Err((Box::new(ErrorKind::OutOfRange { element: "first_mb_in_slice / slice data length", value: i64::from(addr) }), addr));
        }
        macroblock_layer(r, pic, ctx, scratch, addr, n, &mut qp).map_err(|e| (e, addr))?;
        addr += 1;
        n = next_neighbours(n, pic.mb_width, addr, first);
        if !r.more_rbsp_data() {
            return Ok(());
        }
    }
}

/// Neighbour availability of macroblock `addr` (6.4.9): inside the picture and in the
/// same slice. Without FMO (refused) a slice is a run of consecutive addresses from
/// first_mb_in_slice, so a neighbour (always at a lower address) is in the slice exactly
/// when its address is at least `first_mb`.
pub(super) fn neighbours(mb_width: u32, addr: u32, first_mb: u32) -> Neighbours {
    neighbours_at(mb_width, addr, addr % mb_width, addr / mb_width, first_mb)
}

/// `neighbours` of macroblock `n`'s address + 1, without a division.
#[inline]
pub(super) fn next_neighbours(n: Neighbours, mb_width: u32, addr: u32, first_mb: u32) -> Neighbours {
    let (x, y) = (n.mb_x as u32 + 1, n.mb_y as u32);
    let (x, y) = if x >= mb_width { (0, y + 1) } else { (x, y) };
    neighbours_at(mb_width, addr, x, y, first_mb)
}

#[inline]
fn neighbours_at(mb_width: u32, addr: u32, x: u32, y: u32, first_mb: u32) -> Neighbours {
    let in_slice = |d: u32| addr - d >= first_mb;
    Neighbours {
        a: x > 0 && in_slice(1),
        b: y > 0 && in_slice(mb_width),
        c: y > 0 && x + 1 < mb_width && in_slice(mb_width - 1),
        d: x > 0 && y > 0 && in_slice(mb_width + 1),
        mb_x: x as usize,
        mb_y: y as usize,
    }
}

/// P_Skip (8.4.1.1): ref_idx 0 and the predicted vector, no syntax.
pub(super) fn decode_p_skip(pic: &mut Picture, ctx: &SliceCtx, addr: u32, n: Neighbours, qp: i32) {
    let (x, y) = (n.mb_x, n.mb_y);
    let mv = p_skip_mv(pic, x, y, n);
    pic.fill_motion(0, x, y, 0, mv);
    pic.set_mb(
        addr as usize,
        Macroblock { kind: MbKind::PSkip, slice_num: ctx.slice_num, qp: qp as u8, ..Macroblock::default() },
    );
}

/// B_Skip: direct prediction, no syntax.
pub(super) fn decode_b_skip(
    pic: &mut Picture,
    ctx: &SliceCtx,
    scratch: &mut MbScratch,
    addr: u32,
    n: Neighbours,
    qp: i32,
) -> Result<(), Fail> {
    // No syntax is read for B_Skip.
    direct_16x16(pic, ctx, scratch, addr, n);
    pic.set_mb(addr as usize, Macroblock { kind: MbKind::BSkip, slice_num: ctx.slice_num, qp: qp as u8, ..Macroblock::default() });
    Ok(())
}

/// The motion of a B_Skip or B_Direct_16x16 macroblock (8.4.1.2), straight to the picture.
fn direct_16x16(pic: &mut Picture, ctx: &SliceCtx, scratch: &mut MbScratch, addr: u32, n: Neighbours) {
    let (mb_x, mb_y) = (n.mb_x, n.mb_y);
    let dctx = DirectCtx {
        spatial: ctx.hdr.direct_spatial_mv_pred_flag,
        direct_8x8_inference: ctx.sps.direct_8x8_inference_flag,
        cur_poc: ctx.poc,
        lists: ctx.lists,
        col_zero: ctx.col_zero,
    };
    if dctx.spatial {
        // One refIdx and vector per list, zeroed in the colZeroFlag blocks.
        let nb = [mb_neighbours(pic, 0, mb_x, mb_y, n), mb_neighbours(pic, 1, mb_x, mb_y, n)];
        let sp = spatial(&dctx, &nb, addr as usize);
        for l in 0..2 {
            fill_mb_zeroed(pic, l, mb_x, mb_y, sp.ref_idx[l], sp.mvp[l], sp.zero[l]);
        }
        return;
    }
    let nb = [[(REF_NA, [0, 0]); 3]; 2];
    let direct = &mut scratch.direct;
    if !dctx.direct_8x8_inference {
        direct_motion(&dctx, &nb, addr as usize, direct);
        for (l, d) in direct.iter().enumerate() {
            store_blocks(pic, l, mb_x, mb_y, d);
        }
        return;
    }
    // With direct_8x8_inference each quadrant is uniform (its corner's motion): the
    // corners tell whether the whole macroblock is, and only a macroblock that is not
    // needs the other blocks.
    direct_motion_corners(&dctx, &nb, addr as usize, direct);
    let mut expanded = false;
    for l in 0..2 {
        let d = &direct[l];
        if [3, 12, 15].iter().all(|&b| motion_key(d[b]) == motion_key(d[0])) {
            pic.fill_motion(l, mb_x, mb_y, d[0].0, d[0].1);
        } else {
            if !expanded {
                expand_corners(direct);
                expanded = true;
            }
            store_blocks(pic, l, mb_x, mb_y, &direct[l]);
        }
    }
}

/// `Picture::fill_motion`, but with a zero vector in the blocks of `zero` (bit y * 4 + x).
fn fill_mb_zeroed(pic: &mut Picture, list: usize, mb_x: usize, mb_y: usize, ref_idx: i8, mv: [i16; 2], zero: u16) {
    if zero == 0 {
        return pic.fill_motion(list, mb_x, mb_y, ref_idx, mv);
    }
    // With direct_8x8_inference the zero blocks are whole 8x8 blocks.
    const QUADS: [u16; 4] = [0x0033, 0x00cc, 0x3300, 0xcc00];
    if QUADS.iter().all(|&q| zero & q == 0 || zero & q == q) {
        return pic.set_motion8(list, mb_x, mb_y, [ref_idx; 4], QUADS.map(|q| if zero & q != 0 { [0, 0] } else { mv }));
    }
    let mvs = std::array::from_fn(|b| if (zero >> b) & 1 != 0 { [0, 0] } else { mv });
    pic.set_motion4(list, mb_x, mb_y, [ref_idx; 4], &mvs);
}

/// A block's ref_idx and vector as one integer, for cheap equality tests (a tuple `==`
/// compares field by field with a branch each).
#[inline(always)]
fn motion_key(b: (i8, [i16; 2])) -> u64 {
    u64::from(b.0 as u8) | (u64::from(b.1[0] as u16) << 8) | (u64::from(b.1[1] as u16) << 24)
}

/// Sets the ref_idx and vector of each of the 16 blocks (raster order) of a macroblock;
/// blocks of one 8x8 block have one ref_idx (the standard's partitions).
fn store_blocks(pic: &mut Picture, list: usize, mb_x: usize, mb_y: usize, blocks: &[(i8, [i16; 2]); 16]) {
    let k0 = motion_key(blocks[0]);
    if blocks.iter().all(|&b| motion_key(b) == k0) {
        // The common case: one motion for the whole macroblock.
        return pic.fill_motion(list, mb_x, mb_y, blocks[0].0, blocks[0].1);
    }
    pic.set_motion(list, mb_x, mb_y, [0, 2, 8, 10].map(|b| blocks[b].0), &blocks.map(|b| b.1));
}

/// Marks list `list` unused (ref_idx -1, zero vector) for the 16 blocks of a macroblock.
pub(super) fn set_unused_list(pic: &mut Picture, list: usize, mb_x: usize, mb_y: usize) {
    pic.fill_motion(list, mb_x, mb_y, REF_NONE, [0, 0]);
}

fn macroblock_layer(
    r: &mut BitReader,
    pic: &mut Picture,
    ctx: &SliceCtx,
    scratch: &mut MbScratch,
    addr: u32,
    n: Neighbours,
    qp: &mut i32,
) -> Result<(), Fail> {
    let (mb_x, mb_y) = (n.mb_x, n.mb_y);
    let chroma = ctx.sps.chroma_array_type() != 0;
    let mut mb = Macroblock { slice_num: ctx.slice_num, ..Macroblock::default() };
    let (max, first_intra) = match ctx.hdr.slice_type {
        SliceType::P => (30, 5),
        SliceType::B => (48, 23),
        _ => (25, 0),
    };
    let mb_type = r.ue_max(max, "mb_type")?;
    let intra_type = mb_type.checked_sub(first_intra);
    match intra_type {
        Some(25) => return decode_pcm(r, pic, mb, addr, *qp, chroma),
        Some(t) => {
            mb.mb_type = t as u8;
            if t == 0 {
                let t8 = ctx.pps.transform_8x8_mode_flag && r.flag("transform_size_8x8_flag")?;
                mb.transform_size_8x8_flag = t8;
                mb.kind = if t8 { MbKind::I8x8 } else { MbKind::I4x4 };
                for i in 0..if t8 { 4 } else { 16 } {
                    mb.intra_pred[i] = if r.flag("prev_intra_pred_mode_flag")? {
                        -1
                    } else {
                        r.u(3, "rem_intra_pred_mode")? as i8
                    };
                }
            } else {
                mb.kind = MbKind::I16x16;
                let (pred, cbp_c, cbp_l) = I_16X16[t as usize - 1];
                mb.intra_pred[0] = pred as i8;
                mb.cbp = (cbp_c << 4) | cbp_l;
            }
            if chroma {
                mb.intra_chroma_pred_mode = r.ue_max(3, "intra_chroma_pred_mode")? as u8;
            }
            set_unused_list(pic, 0, mb_x, mb_y);
        }
        None => {
            mb.kind = if ctx.hdr.slice_type == SliceType::B { MbKind::B } else { MbKind::P };
            mb.mb_type = mb_type as u8;
            inter_pred(&mut CavlcSyntax(r), pic, ctx, scratch, &mut mb, addr, n)?;
        }
    }
    if mb.kind != MbKind::I16x16 {
        let code = r.ue_max(if chroma { 47 } else { 15 }, "coded_block_pattern")? as usize;
        let intra = mb.kind.is_intra();
        mb.cbp = match (chroma, intra) {
            (true, true) => CBP_INTRA[code],
            (true, false) => CBP_INTER[code],
            (false, true) => CBP_INTRA_MONO[code],
            (false, false) => CBP_INTER_MONO[code],
        };
        if mb.cbp & 15 != 0 && ctx.pps.transform_8x8_mode_flag && !intra && no_sub_8x8_smaller(&mb, ctx.sps) {
            mb.transform_size_8x8_flag = r.flag("transform_size_8x8_flag")?;
        }
    }
    if mb.cbp != 0 || mb.kind == MbKind::I16x16 {
        let delta = r.se_range(-26, 25, "mb_qp_delta")?;
        *qp = (*qp + delta + 52) % 52;
        mb.qp = *qp as u8;
        residual(r, pic, &mut mb, addr, n, chroma)?;
    } else {
        mb.qp = *qp as u8;
    }
    pic.set_mb(addr as usize, mb);
    Ok(())
}

/// noSubMbPartSizeLessThan8x8Flag (7.3.5), and for B_Direct_16x16 direct_8x8_inference_flag:
/// whether an inter macroblock may use the 8x8 transform.
pub(super) fn no_sub_8x8_smaller(mb: &Macroblock, sps: &Sps) -> bool {
    let eight = match (mb.kind, mb.mb_type) {
        (MbKind::P, 3 | 4) | (MbKind::B, 22) => 4,
        (MbKind::B, 0) => return sps.direct_8x8_inference_flag,
        _ => return true,
    };
    (0..eight).all(|i| {
        if mb.kind == MbKind::B && mb.sub_mb_type[i] == 0 {
            sps.direct_8x8_inference_flag
        } else {
            mb.sub_info(i).is_some_and(|sub| sub.num_parts == 1)
        }
    })
}

/// I_PCM (7.3.5): byte-aligned raw samples, kept in the level buffer.
pub(super) fn decode_pcm(
    r: &mut BitReader,
    pic: &mut Picture,
    mut mb: Macroblock,
    addr: u32,
    qp: i32,
    chroma: bool,
) -> Result<(), Fail> {
    while !r.byte_aligned() {
        if r.u(1, "pcm_alignment_zero_bit")? != 0 {
            return Err(Box::new(ErrorKind::OutOfRange { element: "pcm_alignment_zero_bit", value: 1 }));
        }
    }
    let n = if chroma { 384 } else { 256 };
    let mut samples = [0i16; 384];
    for (i, c) in samples.iter_mut().take(n).enumerate() {
        *c = r.u(8, if i < 256 { "pcm_sample_luma" } else { "pcm_sample_chroma" })? as i16;
    }
    // Stored as blocks 0..24 (see `MbLevels`), in storage order: block 16 first.
    let mut levels = pic.levels.writer(addr as usize);
    for b in [16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23] {
        levels.block(b).copy_from_slice(&samples[b * 16..b * 16 + 16]);
    }
    levels.finish();
    mb.kind = MbKind::IPcm;
    mb.mb_type = 25;
    mb.qp = qp as u8;
    mb.total_coeff = [16; 24];
    mb.coded_dc = 7;
    mb.coded = !0;
    mb.cbp = 0x2f;
    let (x, y) = ((addr % pic.mb_width) as usize, (addr / pic.mb_width) as usize);
    set_unused_list(pic, 0, x, y);
    pic.set_mb(addr as usize, mb);
    Ok(())
}

/// The inter-prediction syntax elements, read by CAVLC or CABAC. Partitions are given by
/// their top-left 4x4 block (x, y) and size (w, h) in 4x4 units inside the macroblock.
pub trait InterSyntax {
    fn sub_mb_type(&mut self, b_slice: bool) -> Result<u8, Fail>;
    /// ref_idx_lX of a partition; `max` = num_ref_idx_lX_active_minus1 (> 0).
    fn ref_idx(&mut self, list: usize, x: usize, y: usize, w: usize, h: usize, max: u32) -> Result<i8, Fail>;
    fn mvd(&mut self, list: usize, x: usize, y: usize, w: usize, h: usize) -> Result<[i32; 2], Fail>;
}

/// CAVLC: te(v) / se(v) / ue(v) straight from the bits.
pub struct CavlcSyntax<'r, 'a>(pub &'r mut BitReader<'a>);

impl InterSyntax for CavlcSyntax<'_, '_> {
    fn sub_mb_type(&mut self, b_slice: bool) -> Result<u8, Fail> {
        Ok(self.0.ue_max(if b_slice { 12 } else { 3 }, "sub_mb_type")? as u8)
    }
    fn ref_idx(&mut self, list: usize, _x: usize, _y: usize, _w: usize, _h: usize, max: u32) -> Result<i8, Fail> {
        Ok(self.0.te(max, if list == 0 { "ref_idx_l0" } else { "ref_idx_l1" })? as i8)
    }
    fn mvd(&mut self, list: usize, _x: usize, _y: usize, _w: usize, _h: usize) -> Result<[i32; 2], Fail> {
        let name = if list == 0 { "mvd_l0" } else { "mvd_l1" };
        Ok([self.0.se_range(-32768, 32767, name)?, self.0.se_range(-32768, 32767, name)?])
    }
}

/// mb_pred() / sub_mb_pred() of a P or B macroblock (7.3.5.1, 7.3.5.2) and its motion
/// vectors (8.4.1): per list, partitions in decoding order, each predicted from the
/// partitions decoded before it.
pub fn inter_pred(
    syn: &mut dyn InterSyntax,
    pic: &mut Picture,
    ctx: &SliceCtx,
    scratch: &mut MbScratch,
    mb: &mut Macroblock,
    addr: u32,
    n: Neighbours,
) -> Result<(), Fail> {
    let (mb_x, mb_y) = (n.mb_x, n.mb_y);
    let b_slice = ctx.hdr.slice_type == SliceType::B;
    let lists = if b_slice { 2 } else { 1 };
    let max_ref = [ctx.hdr.num_ref_idx_l0_active_minus1, ctx.hdr.num_ref_idx_l1_active_minus1];
    let MbScratch { cache, direct, .. } = scratch;
    let is_direct = |t: u8| b_slice && t == 0;
    let dctx = DirectCtx {
        spatial: ctx.hdr.direct_spatial_mv_pred_flag,
        direct_8x8_inference: ctx.sps.direct_8x8_inference_flag,
        cur_poc: ctx.poc,
        lists: ctx.lists,
        col_zero: ctx.col_zero,
    };
    if mb.kind == MbKind::BSkip || (mb.kind == MbKind::B && mb.mb_type == 0) {
        // Whole-macroblock direct: no syntax.
        direct_16x16(pic, ctx, scratch, addr, n);
        return Ok(());
    }
    if let Some(info) = mb.part_info().filter(|i| i.num_parts == 1) {
        // One 16x16 partition (the most common coded inter macroblock): its neighbours
        // straight from the picture, its motion straight to it; no cache.
        let mut refs = [REF_NONE; 2];
        for (l, rf) in refs.iter_mut().enumerate().take(lists) {
            if info.pred[0].uses(l) {
                *rf = if max_ref[l] > 0 { syn.ref_idx(l, 0, 0, 4, 4, max_ref[l])? } else { 0 };
            }
        }
        for (l, &rf) in refs.iter().enumerate().take(lists) {
            if !info.pred[0].uses(l) {
                pic.fill_motion(l, mb_x, mb_y, REF_NONE, [0, 0]);
                continue;
            }
            let mvd = syn.mvd(l, 0, 0, 4, 4)?;
            let [a, b, c] = mb_neighbours(pic, l, mb_x, mb_y, n);
            pic.fill_motion(l, mb_x, mb_y, rf, add_mv(median(a, b, c, rf), mvd));
        }
        return Ok(());
    }
    for (l, c) in cache.iter_mut().enumerate().take(lists) {
        c.load(pic, l, mb_x, mb_y, n);
    }
    let mut fine = false;
    let fill_direct = |c: &mut MvCache, l: usize, direct: &DirectMotion, x8: usize, y8: usize, w: usize| {
        for y in y8..y8 + w {
            for x in x8..x8 + w {
                let (rf, mv) = direct[l][y * 4 + x];
                c.fill(x, y, 1, 1, rf, mv);
            }
        }
    };
    if let Some(info) = mb.part_info().filter(|i| i.num_parts < 4) {
        let parts = usize::from(info.num_parts);
        let (w, h) = (usize::from(info.width) / 4, usize::from(info.height) / 4);
        let mut refs = [[-1i8; 2]; 2];
        let part_xy = |p: usize| if w == 4 { (0, p * h) } else { (p * w, 0) };
        for l in 0..lists {
            for p in 0..parts {
                let (x, y) = part_xy(p);
                if info.pred[p].uses(l) {
                    refs[l][p] = if max_ref[l] > 0 { syn.ref_idx(l, x, y, w, h, max_ref[l])? } else { 0 };
                }
            }
        }
        for (l, c) in cache.iter_mut().enumerate().take(lists) {
            for p in 0..parts {
                let (x, y) = part_xy(p);
                if !info.pred[p].uses(l) {
                    c.fill(x, y, w, h, REF_NONE, [0, 0]);
                    continue;
                }
                let mvd = syn.mvd(l, x, y, w, h)?;
                let shape = match (w, h, parts) {
                    (4, 2, 2) => Shape::P16x8(p as u8),
                    (2, 4, 2) => Shape::P8x16(p as u8),
                    _ => Shape::Other,
                };
                let mvp = c.predict(x, y, w, refs[l][p], shape);
                c.fill(x, y, w, h, refs[l][p], add_mv(mvp, mvd));
            }
        }
    } else {
        // P_8x8, P_8x8ref0, B_8x8.
        for i in 0..4 {
            mb.sub_mb_type[i] = syn.sub_mb_type(b_slice)?;
        }
        // Motion finer than 8x8: sub-partitions smaller than 8x8, or direct ones without
        // direct_8x8_inference.
        fine = !no_sub_8x8_smaller(mb, ctx.sps);
        if mb.sub_mb_type.iter().any(|&t| is_direct(t)) {
            direct_motion(&dctx, &[cache[0].mb_neighbours(), cache[1].mb_neighbours()], addr as usize, direct);
        }
        let mut refs = [[0i8; 4]; 2];
        for l in 0..lists {
            for i in 0..4 {
                let sub = mb.sub_info(i).ok_or_else(|| Box::new(ErrorKind::OutOfRange { element: "sub_mb_type", value: i64::from(mb.sub_mb_type[i]) }))?;
                let ref0 = mb.kind == MbKind::P && mb.mb_type == 4;
                let (x8, y8) = ((i & 1) * 2, (i >> 1) * 2);
                refs[l][i] = if is_direct(mb.sub_mb_type[i]) || !sub.pred.uses(l) {
                    -1
                } else if ref0 || max_ref[l] == 0 {
                    0
                } else {
                    syn.ref_idx(l, x8, y8, 2, 2, max_ref[l])?
                };
            }
        }
        for (l, c) in cache.iter_mut().enumerate().take(lists) {
            for i in 0..4 {
                let (x8, y8) = ((i & 1) * 2, (i >> 1) * 2);
                if is_direct(mb.sub_mb_type[i]) {
                    fill_direct(c, l, direct, x8, y8, 2);
                    mb.direct8x8 |= 1 << i;
                    continue;
                }
                let Some(sub) = mb.sub_info(i) else { continue };
                if !sub.pred.uses(l) {
                    c.fill(x8, y8, 2, 2, REF_NONE, [0, 0]);
                    continue;
                }
                let (w, h) = (usize::from(sub.width) / 4, usize::from(sub.height) / 4);
                for j in 0..usize::from(sub.num_parts) {
                    let (x, y) = (x8 + (j % (2 / w)) * w, y8 + (j / (2 / w)) * h);
                    let mvd = syn.mvd(l, x, y, w, h)?;
                    let mvp = c.predict(x, y, w, refs[l][i], Shape::Other);
                    c.fill(x, y, w, h, refs[l][i], add_mv(mvp, mvd));
                }
            }
        }
    }
    for (l, c) in cache.iter().enumerate().take(lists) {
        c.store(pic, l, mb_x, mb_y, fine);
    }
    Ok(())
}

#[inline(always)]
fn add_mv(p: [i16; 2], d: [i32; 2]) -> [i16; 2] {
    [(i32::from(p[0]) + d[0]) as i16, (i32::from(p[1]) + d[1]) as i16]
}

/// residual() in CAVLC mode (7.3.5.3) for 4:2:0 / monochrome: levels into the picture's
/// level buffer, TotalCoeff per block into the macroblock.
fn residual(
    r: &mut BitReader,
    pic: &mut Picture,
    mb: &mut Macroblock,
    addr: u32,
    n: Neighbours,
    chroma: bool,
) -> Result<(), Fail> {
    let w = pic.mb_width as usize;
    let a_tc = if n.a { Some(pic.mbs[addr as usize - 1].total_coeff) } else { None };
    let b_tc = if n.b { Some(pic.mbs[addr as usize - w].total_coeff) } else { None };
    let mut levels = pic.levels.writer(addr as usize);
    let tc = &mut mb.total_coeff;
    let cbp_l = mb.cbp & 15;
    // nC of the luma 4x4 block at (x, y) (9.2.1).
    let luma_nc = |tc: &[u8; 24], x: usize, y: usize| {
        let a = if x > 0 { Some(tc[y * 4 + x - 1]) } else { a_tc.map(|t| t[y * 4 + 3]) };
        let b = if y > 0 { Some(tc[(y - 1) * 4 + x]) } else { b_tc.map(|t| t[12 + x]) };
        nc_from_neighbours(a, b)
    };
    // A block is stored before it is parsed and taken back when it has no level.
    if mb.kind == MbKind::I16x16 {
        let nc = luma_nc(tc, 0, 0);
        if residual_block(r, nc, levels.block(LUMA_DC), 0, 15, 16)? > 0 {
            mb.coded_dc |= 1;
        } else {
            levels.drop_last(LUMA_DC, 1);
        }
    }
    for i8x8 in 0..4 {
        let coded = cbp_l & (1 << i8x8) != 0;
        if mb.transform_size_8x8_flag {
            if !coded {
                for i4x4 in 0..4 {
                    let (x, y) = blk_xy(i8x8 * 4 + i4x4);
                    tc[y * 4 + x] = 0;
                }
                continue;
            }
            // The four interleaved lists together write all 64 levels.
            let block = levels.block8x8(i8x8);
            for i4x4 in 0..4 {
                let (x, y) = blk_xy(i8x8 * 4 + i4x4);
                let mut tmp = [0i16; 16];
                let nc = luma_nc(tc, x, y);
                tc[y * 4 + x] = residual_block(r, nc, &mut tmp, 0, 15, 16)?;
                // 7.3.5.3.2: coefficient k of list i4x4 is 8x8 scan index 4 * k + i4x4.
                for (k, &v) in tmp.iter().enumerate() {
                    block[4 * k + i4x4] = v;
                }
            }
            continue;
        }
        for i4x4 in 0..4 {
            let blk = i8x8 * 4 + i4x4;
            let (x, y) = blk_xy(blk);
            if !coded {
                tc[y * 4 + x] = 0;
                continue;
            }
            let block = levels.block(blk);
            let nc = luma_nc(tc, x, y);
            tc[y * 4 + x] = if mb.kind == MbKind::I16x16 {
                residual_block(r, nc, block, 1, 15, 15)?
            } else {
                residual_block(r, nc, block, 0, 15, 16)?
            };
            if tc[y * 4 + x] == 0 {
                levels.drop_last(blk, 1);
            }
        }
    }
    if !chroma {
        levels.finish();
        return Ok(());
    }
    let cbp_c = mb.cbp >> 4;
    if cbp_c & 3 != 0 {
        for c in 0..2 {
            if residual_block(r, -1, levels.block(CHROMA_DC + c), 0, 3, 4)? > 0 {
                mb.coded_dc |= 2 << c;
            } else {
                levels.drop_last(CHROMA_DC + c, 1);
            }
        }
    }
    for c in 0..2 {
        let base = 16 + 4 * c;
        for blk in 0..4 {
            let (x, y) = (blk & 1, blk >> 1);
            if cbp_c & 2 == 0 {
                tc[base + blk] = 0;
                continue;
            }
            let a = if x > 0 { Some(tc[base + blk - 1]) } else { a_tc.map(|t| t[base + blk + 1]) };
            let b = if y > 0 { Some(tc[base + blk - 2]) } else { b_tc.map(|t| t[base + blk + 2]) };
            let block = levels.block(CHROMA_AC + c * 4 + blk);
            tc[base + blk] = residual_block(r, nc_from_neighbours(a, b), block, 1, 15, 15)?;
            if tc[base + blk] == 0 {
                levels.drop_last(CHROMA_AC + c * 4 + blk, 1);
            }
        }
    }
    levels.finish();
    Ok(())
}
