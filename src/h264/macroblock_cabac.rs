//! slice_data() and macroblock_layer() in CABAC mode (H.264 7.3.4, 7.3.5, 9.3): the
//! binarisations of 9.3.2 and the context index increments of 9.3.3.1, for I, P and B
//! slices of progressive 4:2:0 / monochrome frames.

use super::bits::BitReader;
use super::cabac::{Cabac, Engine};
use super::error::{ErrorKind, Fail};
use super::macroblock::{
    decode_b_skip, decode_p_skip, inter_pred, neighbours, next_neighbours, no_sub_8x8_smaller, set_unused_list, InterSyntax,
    MbScratch, SliceCtx,
};
use super::mb::{blk_xy, Macroblock, MbKind, CODED_CB_DC, CODED_LUMA_DC};
use super::mvpred::Neighbours;
use super::picture::{LevelWriter, Picture, CHROMA_AC, CHROMA_DC, LUMA_DC};
use super::slice::SliceType;
use super::tables::cabac::{LAST_COEFF_8X8, SIG_COEFF_8X8_FRAME};
use super::tables::mb_types::I_16X16;

/// Parses slice_data() of a CABAC slice into `pic`. On error, returns it with the address
/// of the macroblock being parsed.
pub fn decode_slice_cabac(
    r: &mut BitReader,
    pic: &mut Picture,
    ctx: &SliceCtx,
    scratch: &mut MbScratch,
    cabac: &mut Cabac,
) -> Result<(), (Fail, u32)> {
    let total = pic.mb_width * pic.mb_height;
    let mut addr = ctx.hdr.first_mb_in_slice;
    let fail = |e: Fail, addr: u32| (e, addr);
    while !r.byte_aligned() {
        if r.u(1, "cabac_alignment_one_bit").map_err(|e| fail(e, addr))? != 1 {
            return Err(fail(Box::new(ErrorKind::OutOfRange { element: "cabac_alignment_one_bit", value: 0 }), addr));
        }
    }
    let slice_qp = ctx.hdr.slice_qp(ctx.pps);
    let column = if ctx.hdr.slice_type == SliceType::I { 0 } else { 1 + ctx.hdr.cabac_init_idc as usize };
    cabac.init_contexts(column, slice_qp);
    cabac.init_engine(r);
    let mut m = MbCabac { cabac, qp: slice_qp, last_dqp_nonzero: false };
    for row in &mut scratch.mvd.above {
        row.resize(pic.mb_width as usize, [[0; 2]; 4]);
    }
    let first = ctx.hdr.first_mb_in_slice;
    let mut n = neighbours(pic.mb_width, addr, first);
    loop {
        let skip = ctx.hdr.slice_type != SliceType::I && m.mb_skip_flag(r, pic, ctx, addr, n);
        if skip {
            if ctx.hdr.slice_type == SliceType::B {
                decode_b_skip(pic, ctx, scratch, addr, n, m.qp).map_err(|e| fail(e, addr))?;
            } else {
                decode_p_skip(pic, ctx, addr, n, m.qp);
            }
            m.last_dqp_nonzero = false;
        } else {
            m.macroblock_layer(r, pic, ctx, scratch, addr, n).map_err(|e| fail(e, addr))?;
        }
        if r.overrun_at(m.cabac.position(r)) {
            return Err(fail(Box::new(ErrorKind::Truncated { element: "slice_data (CABAC)" }), addr));
        }
        if m.cabac.terminate(r) == 1 {
            return Ok(());
        }
        addr += 1;
        if addr >= total {
            return Err(fail(
                Box::new(ErrorKind::OutOfRange { element: "end_of_slice_flag (slice runs past the picture)", value: i64::from(addr) }),
                addr,
            ));
        }
        n = next_neighbours(n, pic.mb_width, addr, first);
    }
}

/// |mvd| (saturated at 255) of the 4x4 blocks that the contexts of later macroblocks read
/// (9.3.3.1.1.7), per list: of each macroblock column, the bottom row of the last coded
/// inter macroblock decoded in it (`above`), and the right column of the last one
/// (`left`). A macroblock's neighbours A and B, when available, are in its slice, decoded
/// just before it and just above it (raster order: no FMO in CABAC's profiles); only coded
/// inter ones are read, so skipped and intra macroblocks write nothing. One row for the
/// picture, in the cache, instead of an array per picture.
#[derive(Default)]
pub struct MvdRows {
    above: [Vec<[[u8; 2]; 4]>; 2],
    left: [[[u8; 2]; 4]; 2],
}

/// Writes the |mvd| of an inter macroblock that is not skipped, at column `mb_x`: of its
/// 4x4 blocks in the CABAC neighbourhood grid, the right column and the bottom row.
/// Only the slice's `lists` lists: the neighbours that read them are in the same slice,
/// so list 1 is never read in a P slice.
fn store_mvd(rows: &mut MvdRows, mb_x: usize, mvd: &[[[[u8; 2]; 5]; 5]; 2], lists: usize) {
    for (l, grid) in mvd.iter().enumerate().take(lists) {
        rows.left[l] = std::array::from_fn(|k| grid[k + 1][4]);
        if let Some(d) = rows.above[l].get_mut(mb_x) {
            *d = std::array::from_fn(|k| grid[4][k + 1]);
        }
    }
}

/// What the contexts of a macroblock's syntax need from a neighbour: a small copy, taken
/// once per macroblock while the picture is borrowed mutably.
#[derive(Clone, Copy)]
struct Nb {
    kind: MbKind,
    cbp: u8,
    t8: bool,
    chroma_pred: u8,
    coded: u32,
}

impl Nb {
    fn of(m: &Macroblock) -> Nb {
        Nb { kind: m.kind, cbp: m.cbp, t8: m.transform_size_8x8_flag, chroma_pred: m.intra_chroma_pred_mode, coded: m.coded }
    }
}

struct MbCabac<'c> {
    cabac: &'c mut Cabac,
    /// QPY of the previous macroblock (QPY,PRED).
    qp: i32,
    /// The previous macroblock in decoding order had a non-zero mb_qp_delta (9.3.3.1.1.5).
    last_dqp_nonzero: bool,
}

/// The left (A) and above (B) macroblocks when available.
fn ab<'p>(pic: &'p Picture, addr: u32, n: Neighbours) -> (Option<&'p Macroblock>, Option<&'p Macroblock>) {
    let w = pic.mb_width;
    (
        if n.a { pic.mbs.get(addr as usize - 1) } else { None },
        if n.b { pic.mbs.get((addr - w) as usize) } else { None },
    )
}

impl MbCabac<'_> {
    #[inline(always)]
    fn d(&mut self, r: &mut BitReader, ctx: usize) -> u32 {
        self.cabac.decision(r, ctx)
    }

    /// mb_skip_flag (9.3.3.1.1.1).
    fn mb_skip_flag(&mut self, r: &mut BitReader, pic: &Picture, ctx: &SliceCtx, addr: u32, n: Neighbours) -> bool {
        let (a, b) = ab(pic, addr, n);
        let cond = |m: Option<&Macroblock>| usize::from(m.is_some_and(|m| !m.kind.is_skip()));
        let base = if ctx.hdr.slice_type == SliceType::B { 24 } else { 11 };
        self.d(r, base + cond(a) + cond(b)) == 1
    }

    /// The I mb_type suffix (Table 9-36) after its first bin: 1..=24 or 25 (I_PCM).
    /// `off` is the ctxIdxOffset; `i_slice` selects the I-slice context layout.
    fn mb_type_i_rest(&mut self, r: &mut BitReader, off: usize, i_slice: bool) -> u8 {
        if self.cabac.terminate(r) == 1 {
            return 25;
        }
        let mut b = self.cabac.bins();
        // Table 9-39 / 9-41: in I slices the bins after b3 use ctxIdx 5..7 (the prediction
        // mode bins always 6 and 7); in P/B suffixes 2 for the second chroma bin, else 3.
        let (c_luma, c_chroma, c_chroma2, c_pred0, c_pred1) =
            if i_slice { (off + 3, off + 4, off + 5, off + 6, off + 7) } else { (off + 1, off + 2, off + 2, off + 3, off + 3) };
        let luma = b.d(r, c_luma);
        let chroma = if b.d(r, c_chroma) == 1 { 1 + b.d(r, c_chroma2) } else { 0 };
        let pred = (b.d(r, c_pred0) << 1) | b.d(r, c_pred1);
        (1 + pred + 4 * chroma + 12 * luma) as u8
    }

    /// mb_type (9.3.2.5, 9.3.3.1.1.3): (intra, mb_type within its table).
    fn mb_type(&mut self, r: &mut BitReader, pic: &Picture, ctx: &SliceCtx, addr: u32, n: Neighbours) -> (bool, u8) {
        let (a, b) = ab(pic, addr, n);
        match ctx.hdr.slice_type {
            SliceType::I => {
                let cond = |m: Option<&Macroblock>| usize::from(m.is_some_and(|m| !matches!(m.kind, MbKind::I4x4 | MbKind::I8x8)));
                if self.d(r, 3 + cond(a) + cond(b)) == 0 {
                    return (true, 0);
                }
                (true, self.mb_type_i_rest(r, 3, true))
            }
            SliceType::P => {
                let mut b = self.cabac.bins();
                if b.d(r, 14) == 1 {
                    let prefix = b.d(r, 17);
                    drop(b);
                    if prefix == 0 {
                        return (true, 0);
                    }
                    return (true, self.mb_type_i_rest(r, 17, false));
                }
                let t = if b.d(r, 15) == 0 {
                    if b.d(r, 16) == 0 { 0 } else { 3 }
                } else if b.d(r, 17) == 1 {
                    1
                } else {
                    2
                };
                (false, t)
            }
            _ => {
                let cond = |m: Option<&Macroblock>| {
                    usize::from(m.is_some_and(|m| !(m.kind == MbKind::BSkip || (m.kind == MbKind::B && m.mb_type == 0))))
                };
                let inc = cond(a) + cond(b);
                let mut b = self.cabac.bins();
                if b.d(r, 27 + inc) == 0 {
                    return (false, 0);
                }
                if b.d(r, 27 + 3) == 0 {
                    return (false, 1 + b.d(r, 27 + 5) as u8);
                }
                let b2 = b.d(r, 27 + 4);
                let b3 = b.d(r, 27 + 5);
                let b4 = b.d(r, 27 + 5);
                let b5 = b.d(r, 27 + 5);
                if b2 == 0 {
                    return (false, (3 + ((b3 << 2) | (b4 << 1) | b5)) as u8);
                }
                match (b3, b4, b5) {
                    (1, 1, 0) => (false, 11),
                    (1, 1, 1) => (false, 22),
                    (1, 0, 1) => {
                        // Intra prefix 111101, then the I suffix with ctxIdxOffset 32.
                        let prefix = b.d(r, 32);
                        drop(b);
                        if prefix == 0 {
                            return (true, 0);
                        }
                        (true, self.mb_type_i_rest(r, 32, false))
                    }
                    _ => {
                        let b6 = b.d(r, 27 + 5);
                        let v = if b3 == 0 { 12 + ((b4 << 2) | (b5 << 1) | b6) } else { 20 + b6 };
                        (false, v as u8)
                    }
                }
            }
        }
    }

    fn macroblock_layer(
        &mut self,
        r: &mut BitReader,
        pic: &mut Picture,
        ctx: &SliceCtx,
        scratch: &mut MbScratch,
        addr: u32,
        n: Neighbours,
    ) -> Result<(), Fail> {
        let (mb_x, mb_y) = (n.mb_x, n.mb_y);
        let chroma = ctx.sps.chroma_array_type() != 0;
        let mut mb = Macroblock { slice_num: ctx.slice_num, ..Macroblock::default() };
        let (intra, t) = self.mb_type(r, pic, ctx, addr, n);
        let (a, b) = ab(pic, addr, n);
        let (a, b) = (a.map(Nb::of), b.map(Nb::of));
        if intra {
            if t == 25 {
                // I_PCM: the samples follow the arithmetic code, then the engine restarts.
                r.seek(self.cabac.position(r));
                super::macroblock::decode_pcm(r, pic, mb, addr, self.qp, chroma)?;
                self.cabac.init_engine(r);
                self.last_dqp_nonzero = false;
                return Ok(());
            }
            mb.mb_type = t;
            if t == 0 {
                let t8 = ctx.pps.transform_8x8_mode_flag && self.transform_size_8x8_flag(r, a, b);
                mb.transform_size_8x8_flag = t8;
                mb.kind = if t8 { MbKind::I8x8 } else { MbKind::I4x4 };
                let mut b = self.cabac.bins();
                for i in 0..if t8 { 4 } else { 16 } {
                    mb.intra_pred[i] = if b.d(r, 68) == 1 {
                        -1
                    } else {
                        (b.d(r, 69) | (b.d(r, 69) << 1) | (b.d(r, 69) << 2)) as i8
                    };
                }
            } else {
                mb.kind = MbKind::I16x16;
                let (pred, cbp_c, cbp_l) = I_16X16[t as usize - 1];
                mb.intra_pred[0] = pred as i8;
                mb.cbp = (cbp_c << 4) | cbp_l;
            }
            if chroma {
                let cond = |m: Option<Nb>| {
                    usize::from(m.is_some_and(|m| m.kind.is_intra() && m.kind != MbKind::IPcm && m.chroma_pred != 0))
                };
                let mut v = 0;
                if self.d(r, 64 + cond(a) + cond(b)) == 1 {
                    v = 1;
                    while v < 3 && self.d(r, 64 + 3) == 1 {
                        v += 1;
                    }
                }
                mb.intra_chroma_pred_mode = v;
            }
            set_unused_list(pic, 0, mb_x, mb_y);
        } else {
            mb.kind = if ctx.hdr.slice_type == SliceType::B { MbKind::B } else { MbKind::P };
            mb.mb_type = t;
            let lists = if ctx.hdr.slice_type == SliceType::B { 2 } else { 1 };
            let mut syn = CabacInter::new(self, r, pic, &scratch.mvd, addr, n, lists);
            inter_pred(&mut syn, pic, ctx, scratch, &mut mb, addr, n)?;
            let mvd = syn.mvd;
            store_mvd(&mut scratch.mvd, mb_x, &mvd, lists);
        }
        if mb.kind != MbKind::I16x16 {
            mb.cbp = self.coded_block_pattern(r, a, b, chroma);
            if mb.cbp & 15 != 0 && ctx.pps.transform_8x8_mode_flag && !intra && no_sub_8x8_smaller(&mb, ctx.sps) {
                mb.transform_size_8x8_flag = self.transform_size_8x8_flag(r, a, b);
            }
        }
        if mb.cbp != 0 || mb.kind == MbKind::I16x16 {
            let delta = self.mb_qp_delta(r)?;
            self.last_dqp_nonzero = delta != 0;
            self.qp = (self.qp + delta + 52) % 52;
            mb.qp_delta_nonzero = delta != 0;
            mb.qp = self.qp as u8;
            self.residual(r, pic, &mut mb, addr, a, b, chroma)?;
        } else {
            self.last_dqp_nonzero = false;
            mb.qp = self.qp as u8;
        }
        pic.set_mb(addr as usize, mb);
        Ok(())
    }

    /// transform_size_8x8_flag (9.3.3.1.1.10).
    fn transform_size_8x8_flag(&mut self, r: &mut BitReader, a: Option<Nb>, b: Option<Nb>) -> bool {
        let cond = |m: Option<Nb>| usize::from(m.is_some_and(|m| m.t8));
        self.d(r, 399 + cond(a) + cond(b)) == 1
    }

    /// coded_block_pattern (9.3.2.6, 9.3.3.1.1.4).
    fn coded_block_pattern(&mut self, r: &mut BitReader, a: Option<Nb>, b: Option<Nb>, chroma: bool) -> u8 {
        // Luma: condTermFlagN is 0 when N's 8x8 block has coded luma, when N is unavailable
        // or I_PCM; 1 when N is skipped. As bits: an unavailable / I_PCM neighbour reads
        // as all coded, a skipped one as none.
        let luma_of = |m: Option<Nb>| match m {
            None => 15,
            Some(m) if m.kind == MbKind::IPcm => 15,
            Some(m) if m.kind.is_skip() => 0,
            Some(m) => m.cbp & 15,
        };
        let (la, lb) = (luma_of(a), luma_of(b));
        let not = |v: u8, i: u8| usize::from(((v >> i) & 1) ^ 1);
        let st = &mut self.cabac.state;
        let mut e = self.cabac.engine;
        // 8x8 blocks in order 0..3: A is the left block (in the left macroblock for 0 and 2),
        // B the upper one (in the upper macroblock for 0 and 1).
        let mut luma = e.decision(r, &mut st[73 + not(la, 1) + 2 * not(lb, 2)]) as u8;
        luma |= (e.decision(r, &mut st[73 + not(luma, 0) + 2 * not(lb, 3)]) as u8) << 1;
        luma |= (e.decision(r, &mut st[73 + not(la, 3) + 2 * not(luma, 0)]) as u8) << 2;
        luma |= (e.decision(r, &mut st[73 + not(luma, 2) + 2 * not(luma, 1)]) as u8) << 3;
        if !chroma {
            self.cabac.engine = e;
            return luma;
        }
        // Chroma: condTermFlagN is 1 for I_PCM, 0 when unavailable or skipped, else whether
        // N's CodedBlockPatternChroma is non-zero (bin 0) / equal to 2 (bin 1).
        let cc = |m: Option<Nb>, two: bool| match m {
            None => 0,
            Some(m) if m.kind == MbKind::IPcm => 1,
            Some(m) if m.kind.is_skip() => 0,
            Some(m) => usize::from(if two { m.cbp >> 4 == 2 } else { m.cbp >> 4 != 0 }),
        };
        let mut c = 0;
        if e.decision(r, &mut st[77 + cc(a, false) + 2 * cc(b, false)]) == 1 {
            c = 1 + e.decision(r, &mut st[77 + 4 + cc(a, true) + 2 * cc(b, true)]) as u8;
        }
        self.cabac.engine = e;
        luma | (c << 4)
    }

    /// mb_qp_delta (9.3.2.7, 9.3.3.1.1.5).
    fn mb_qp_delta(&mut self, r: &mut BitReader) -> Result<i32, Fail> {
        let mut k = 0u32;
        let first = 60 + usize::from(self.last_dqp_nonzero);
        let mut b = self.cabac.bins();
        if b.d(r, first) == 1 {
            k = 1;
            let mut ctx = 62;
            while b.d(r, ctx) == 1 {
                k += 1;
                ctx = 63;
                if k > 52 {
                    return Err(Box::new(ErrorKind::OutOfRange { element: "mb_qp_delta", value: i64::from(k) }));
                }
            }
        }
        let v = if k % 2 == 1 { k.div_ceil(2) as i32 } else { -((k / 2) as i32) };
        if !(-26..=25).contains(&v) {
            return Err(Box::new(ErrorKind::OutOfRange { element: "mb_qp_delta", value: i64::from(v) }));
        }
        Ok(v)
    }

    /// residual() in CABAC mode (7.3.5.3) for 4:2:0 / monochrome. Sets the levels, TotalCoeff
    /// and `Macroblock::coded` (the coded_block_flag bits that later macroblocks' contexts use).
    #[allow(clippy::too_many_arguments)]
    fn residual(
        &mut self,
        r: &mut BitReader,
        pic: &mut Picture,
        mb: &mut Macroblock,
        addr: u32,
        a: Option<Nb>,
        b: Option<Nb>,
        chroma: bool,
    ) -> Result<(), Fail> {
        // condTermFlagN of coded_block_flag (9.3.3.1.1.9) for every block of neighbour N at
        // once: an unavailable N counts as coded for intra macroblocks only, an I_PCM one is
        // all ones and a skipped one all zeros (as stored).
        let outer = |m: Option<Nb>| m.map_or(if mb.kind.is_intra() { !0 } else { 0 }, |m| m.coded);
        let (left, top) = (outer(a), outer(b));
        let mut levels = pic.levels.writer(addr as usize);
        let mut coded = 0u32;
        // ctxIdxInc = condTermFlagA + 2 * condTermFlagB, from the bit of block A (left) and
        // block B (above) in `coded` or in the neighbour's mask.
        let inc = |a: (u32, u32), b: (u32, u32)| ((a.0 >> a.1) & 1) as usize + 2 * ((b.0 >> b.1) & 1) as usize;
        if mb.kind == MbKind::I16x16 {
            let i = inc((left, CODED_LUMA_DC), (top, CODED_LUMA_DC));
            if self.block::<0>(r, &mut levels, LUMA_DC, i)? > 0 {
                coded |= 1 << CODED_LUMA_DC;
                mb.coded_dc |= 1;
            }
        }
        // `mb` is fresh (`macroblock_layer`): TotalCoeff of the blocks that are not coded is
        // already 0, so uncoded 8x8 quadrants and chroma AC are skipped without a store.
        debug_assert!(mb.total_coeff == [0; 24]);
        let tc = &mut mb.total_coeff;
        let cbp_l = mb.cbp & 15;
        // luma4x4BlkIdx -> raster position y * 4 + x (blk_xy as a table: the loop is not
        // unrolled, and the bit arithmetic of blk_xy cost more than the load).
        const RASTER: [u8; 16] = {
            let mut t = [0u8; 16];
            let mut b = 0;
            while b < 16 {
                let (x, y) = blk_xy(b);
                t[b] = (y * 4 + x) as u8;
                b += 1;
            }
            t
        };
        for b8 in 0..4 {
            if cbp_l & (1 << b8) == 0 {
                continue;
            }
            if mb.transform_size_8x8_flag {
                // The four 4x4 blocks of an 8x8 block share its count.
                let n = self.block8x8(r, levels.block8x8(b8))?;
                let b0 = usize::from(RASTER[b8 * 4]);
                for o in [0, 1, 4, 5] {
                    tc[(b0 + o) & 15] = n;
                }
                coded |= u32::from(n > 0) * (0x33 << b0);
                continue;
            }
            for blk in b8 * 4..b8 * 4 + 4 {
                let bit = u32::from(RASTER[blk]);
                let (x, y) = (bit & 3, bit >> 2);
                let ab = if x > 0 { (coded, bit - 1) } else { (left, bit + 3) };
                let bb = if y > 0 { (coded, bit - 4) } else { (top, bit + 12) };
                let i = inc(ab, bb);
                let n = if mb.kind == MbKind::I16x16 {
                    self.block::<1>(r, &mut levels, blk, i)?
                } else {
                    self.block::<2>(r, &mut levels, blk, i)?
                };
                tc[bit as usize] = n;
                coded |= u32::from(n > 0) << bit;
            }
        }
        if chroma {
            let cbp_c = mb.cbp >> 4;
            if cbp_c != 0 {
                for c in 0..2 {
                    let dc = CODED_CB_DC + c as u32;
                    if self.block::<3>(r, &mut levels, CHROMA_DC + c, inc((left, dc), (top, dc)))? > 0 {
                        coded |= 1 << dc;
                        mb.coded_dc |= 2 << c;
                    }
                }
            }
            for c in (0..2).filter(|_| cbp_c & 2 != 0) {
                for blk in 0..4 {
                    let (x, y) = (blk & 1, blk >> 1);
                    let bit = (16 + 4 * c + blk) as u32;
                    let ab = if x > 0 { (coded, bit - 1) } else { (left, bit + 1) };
                    let bb = if y > 0 { (coded, bit - 2) } else { (top, bit + 2) };
                    let n = self.block::<4>(r, &mut levels, CHROMA_AC + c * 4 + blk, inc(ab, bb))?;
                    tc[bit as usize] = n;
                    coded |= u32::from(n > 0) << bit;
                }
            }
        }
        levels.finish();
        mb.coded = coded;
        Ok(())
    }

    /// residual_block_cabac() of ctxBlockCat `CAT` 0..=4 (7.3.5.3.3, 9.3.3.1.3):
    /// coded_block_flag, the significance map and the levels, stored from entry
    /// startIdx (1 for the AC blocks), as block `blk` of `out` when coded. Returns the
    /// number of non-zero levels.
    #[inline(always)]
    fn block<const CAT: usize>(&mut self, r: &mut BitReader, out: &mut LevelWriter, blk: usize, cbf_inc: usize) -> Result<u8, Fail> {
        // Per ctxBlockCat: ctxIdxBlockCatOffset of coded_block_flag, of the significance
        // map and of coeff_abs_level_minus1 (Table 9-40); maxNumCoeff; startIdx.
        const CBF: [usize; 5] = [0, 4, 8, 12, 16];
        const SIG: [usize; 5] = [0, 15, 29, 44, 47];
        const ABS: [usize; 5] = [0, 10, 20, 30, 39];
        const MAX: [usize; 5] = [16, 15, 16, 4, 15];
        let (max, first) = (MAX[CAT], usize::from(CAT == 1 || CAT == 4));
        let st = &mut self.cabac.state;
        let mut e = self.cabac.engine;
        if e.decision(r, &mut st[85 + CBF[CAT] + (cbf_inc & 3)]) == 0 {
            self.cabac.engine = e;
            return Ok(0);
        }
        let (sig, last) = (105 + SIG[CAT], 166 + SIG[CAT]);
        let mut pos = [0u8; 16];
        let mut count = 0;
        let mut i = 0;
        loop {
            if i == max - 1 {
                // The last position is significant when no earlier one was the last.
                pos[count & 15] = i as u8;
                count += 1;
                break;
            }
            let inc = if CAT == 3 { i.min(2) } else { i };
            if e.decision(r, &mut st[sig + (inc & 15)]) == 1 {
                pos[count & 15] = i as u8;
                count += 1;
                if e.decision(r, &mut st[last + (inc & 15)]) == 1 {
                    break;
                }
            }
            i += 1;
        }
        let levels = out.block(blk);
        let res = coeff_levels(&mut e, r, st, 227 + ABS[CAT], CAT == 3, &pos[..count], |p, v| levels[(first + p) & 15] = v);
        self.cabac.engine = e;
        res.map(|()| count as u8)
    }

    /// An 8x8 block (ctxBlockCat 5, frame coding): no coded_block_flag in 4:2:0 (inferred
    /// 1); significance contexts from Table 9-43. `levels` must be zero.
    fn block8x8(&mut self, r: &mut BitReader, levels: &mut [i16; 64]) -> Result<u8, Fail> {
        let st = &mut self.cabac.state;
        let mut e = self.cabac.engine;
        let mut pos = [0u8; 64];
        let mut count = 0;
        let mut i = 0;
        loop {
            if i == 63 {
                pos[count & 63] = 63;
                count += 1;
                break;
            }
            if e.decision(r, &mut st[402 + usize::from(SIG_COEFF_8X8_FRAME[i] & 15)]) == 1 {
                pos[count & 63] = i as u8;
                count += 1;
                if e.decision(r, &mut st[417 + usize::from(LAST_COEFF_8X8[i] & 15)]) == 1 {
                    break;
                }
            }
            i += 1;
        }
        let res = coeff_levels(&mut e, r, st, 426, false, &pos[..count], |p, v| levels[p & 63] = v);
        self.cabac.engine = e;
        res.map(|()| count as u8)
    }
}

/// coeff_abs_level_minus1 and coeff_sign_flag of the significant positions `pos`, in
/// reverse scanning order (9.3.2.3 UEG0, 9.3.3.1.3), each level given to `put`.
///
/// ctxIdxInc depends on numDecodAbsLevelEq1 / numDecodAbsLevelGt1 only through eight
/// states (`node`): 0 (none decoded yet), 1..=3 (that many levels equal to 1, none greater;
/// 3 stands for "3 or more"), 4..=7 (1, 2, 3, 4 or more levels greater than 1).
#[inline(always)]
fn coeff_levels(
    e: &mut Engine,
    r: &mut BitReader,
    st: &mut [u8; super::cabac::NUM_CTX],
    base: usize,
    chroma_dc: bool,
    pos: &[u8],
    mut put: impl FnMut(usize, i16),
) -> Result<(), Fail> {
    // First bin: ctxIdxInc = numDecodAbsLevelGt1 != 0 ? 0 : Min(4, 1 + numDecodAbsLevelEq1).
    const FIRST: [usize; 8] = [1, 2, 3, 4, 0, 0, 0, 0];
    // Other bins: 5 + Min(4 - (ctxBlockCat == 3), numDecodAbsLevelGt1).
    const REST: [[usize; 8]; 2] = [[5, 5, 5, 5, 6, 7, 8, 9], [5, 5, 5, 5, 6, 7, 8, 8]];
    const AFTER_EQ1: [usize; 8] = [1, 2, 3, 3, 4, 5, 6, 7];
    const AFTER_GT1: [usize; 8] = [4, 4, 4, 4, 5, 6, 7, 7];
    let rest = &REST[usize::from(chroma_dc)];
    let mut node = 0;
    for &p in pos.iter().rev() {
        let mut level = 1u32;
        if e.decision(r, &mut st[base + FIRST[node & 7]]) == 0 {
            node = AFTER_EQ1[node & 7];
        } else {
            let ctx = &mut st[base + rest[node & 7]];
            level = 2;
            while level < 15 && e.decision(r, ctx) == 1 {
                level += 1;
            }
            if level == 15 {
                let (e2, suffix) = exp_golomb(*e, r, 0, "coeff_abs_level_minus1")?;
                *e = e2;
                level = level.saturating_add(suffix);
            }
            node = AFTER_GT1[node & 7];
        }
        let m = e.bypass_mask(r);
        let v = level.min(i16::MAX as u32);
        put(usize::from(p), ((v ^ m).wrapping_sub(m)) as i16);
    }
    Ok(())
}

/// The k-th order Exp-Golomb suffix of UEGk, in bypass bins (9.3.2.3).
/// Takes and returns the engine by value, so that callers keep theirs in registers.
#[inline(never)]
fn exp_golomb(mut e: Engine, r: &mut BitReader, mut k: u32, element: &'static str) -> Result<(Engine, u32), Fail> {
    let mut v = 0u32;
    while e.bypass(r) == 1 {
        v = v.wrapping_add(1 << k);
        k += 1;
        if k > 24 {
            return Err(Box::new(ErrorKind::OutOfRange { element, value: i64::from(k) }));
        }
    }
    while k > 0 {
        k -= 1;
        v = v.wrapping_add(e.bypass(r) << k);
    }
    Ok((e, v))
}

/// ref_idx, mvd and sub_mb_type in CABAC, with the neighbourhood their contexts need
/// (9.3.3.1.1.6, 9.3.3.1.1.7): rows / columns -1..=3 at [y + 1][x + 1].
struct CabacInter<'m, 'c, 'r, 'a> {
    m: &'m mut MbCabac<'c>,
    r: &'r mut BitReader<'a>,
    /// refIdx > 0 of a non-direct, non-skipped partition using the list.
    ref_gt0: [[[bool; 5]; 5]; 2],
    /// |mvd| per 4x4 block and component.
    mvd: [[[[u8; 2]; 5]; 5]; 2],
}

impl<'m, 'c, 'r, 'a> CabacInter<'m, 'c, 'r, 'a> {
    fn new(m: &'m mut MbCabac<'c>, r: &'r mut BitReader<'a>, pic: &Picture, rows: &MvdRows, addr: u32, n: Neighbours, lists: usize) -> Self {
        let mut s = CabacInter { m, r, ref_gt0: [[[false; 5]; 5]; 2], mvd: [[[[0; 2]; 5]; 5]; 2] };
        let w = pic.mb_width as usize;
        let (mb_x, mb_y) = (n.mb_x, n.mb_y);
        let direct_at = |m: &Macroblock, x: usize, y: usize| {
            m.kind == MbKind::BSkip
                || (m.kind == MbKind::B && m.mb_type == 0)
                || (m.direct8x8 >> ((y / 2) * 2 + x / 2)) & 1 != 0
        };
        // Only inter macroblocks that are not skipped have stored mvd / refIdx > 0 syntax.
        let coded_inter = |m: &&Macroblock| matches!(m.kind, MbKind::P | MbKind::B);
        let a = if n.a { pic.mbs.get(addr as usize - 1).filter(coded_inter) } else { None };
        let b = if n.b { pic.mbs.get(addr as usize - w).filter(coded_inter) } else { None };
        for l in 0..lists {
            if let Some(m) = a {
                // The right column of A.
                let mvd = rows.left[l];
                for k in 0..4 {
                    let r = pic.ref_idx[l].get(pic.ref_index(mb_x * 4 - 1, mb_y * 4 + k));
                    s.ref_gt0[l][k + 1][0] = !direct_at(m, 3, k) && r.is_some_and(|&r| r > 0);
                    s.mvd[l][k + 1][0] = mvd[k];
                }
            }
            if let Some(m) = b {
                // The bottom row of B.
                let ri = pic.ref_index(mb_x * 4, mb_y * 4 - 1);
                if let (Some(refs), Some(mvd)) = (pic.ref_idx[l].get(ri..ri + 2), rows.above[l].get(mb_x)) {
                    for k in 0..4 {
                        s.ref_gt0[l][0][k + 1] = !direct_at(m, k, 3) && refs[k / 2] > 0;
                        s.mvd[l][0][k + 1] = mvd[k];
                    }
                }
            }
        }
        s
    }
}

impl InterSyntax for CabacInter<'_, '_, '_, '_> {
    fn sub_mb_type(&mut self, b_slice: bool) -> Result<u8, Fail> {
        let (mut m, r) = (self.m.cabac.bins(), &mut *self.r);
        if !b_slice {
            return Ok(if m.d(r, 21) == 1 {
                0
            } else if m.d(r, 22) == 0 {
                1
            } else if m.d(r, 23) == 1 {
                2
            } else {
                3
            });
        }
        if m.d(r, 36) == 0 {
            return Ok(0);
        }
        if m.d(r, 37) == 0 {
            return Ok(1 + m.d(r, 39) as u8);
        }
        if m.d(r, 38) == 0 {
            let b3 = m.d(r, 39);
            let b4 = m.d(r, 39);
            return Ok((3 + ((b3 << 1) | b4)) as u8);
        }
        if m.d(r, 39) == 1 {
            return Ok(11 + m.d(r, 39) as u8);
        }
        let b4 = m.d(r, 39);
        let b5 = m.d(r, 39);
        Ok((7 + ((b4 << 1) | b5)) as u8)
    }

    fn ref_idx(&mut self, list: usize, x: usize, y: usize, w: usize, h: usize, max: u32) -> Result<i8, Fail> {
        let g = &self.ref_gt0[list];
        let inc = usize::from(g[y + 1][x]) + 2 * usize::from(g[y][x + 1]);
        let (mut m, r) = (self.m.cabac.bins(), &mut *self.r);
        let mut v = 0u32;
        if m.d(r, 54 + inc) == 1 {
            v = 1;
            let mut ctx = 54 + 4;
            while m.d(r, ctx) == 1 {
                v += 1;
                ctx = 54 + 5;
                if v > max {
                    return Err(Box::new(ErrorKind::OutOfRange { element: "ref_idx", value: i64::from(v) }));
                }
            }
        }
        if v > max {
            return Err(Box::new(ErrorKind::OutOfRange { element: "ref_idx", value: i64::from(v) }));
        }
        for row in &mut self.ref_gt0[list][y + 1..y + 1 + h] {
            row[x + 1..x + 1 + w].fill(v > 0);
        }
        Ok(v as i8)
    }

    fn mvd(&mut self, list: usize, x: usize, y: usize, w: usize, h: usize) -> Result<[i32; 2], Fail> {
        let mut out = [0i32; 2];
        // The engine in a local, as in the residual loops: through `self` each bin would
        // store and reload it.
        let (cabac, r) = (&mut *self.m.cabac, &mut *self.r);
        let (st, mut e) = (&mut cabac.state, cabac.engine);
        for (comp, o) in out.iter_mut().enumerate() {
            let g = &self.mvd[list];
            let sum = u32::from(g[y + 1][x][comp]) + u32::from(g[y][x + 1][comp]);
            let inc = if sum < 3 { 0 } else if sum > 32 { 2 } else { 1 };
            let base = if comp == 0 { 40 } else { 47 };
            let mut abs = 0u32;
            if e.decision(r, &mut st[base + inc]) == 1 {
                abs = 1;
                while abs < 9 && e.decision(r, &mut st[base + 2 + (abs as usize).min(4)]) == 1 {
                    abs += 1;
                }
                if abs == 9 {
                    let (e2, suffix) = match exp_golomb(e, r, 3, "mvd") {
                        Ok(v) => v,
                        Err(err) => {
                            cabac.engine = e;
                            return Err(err);
                        }
                    };
                    e = e2;
                    abs += suffix;
                }
            }
            let v = abs.min(1 << 16) as i32;
            // The sign, without a branch on it: (v ^ m) - m negates v when the bin is 1.
            let m = if v != 0 { e.bypass_mask(r) as i32 } else { 0 };
            *o = (v ^ m).wrapping_sub(m);
        }
        cabac.engine = e;
        let sat = [out[0].unsigned_abs().min(255) as u8, out[1].unsigned_abs().min(255) as u8];
        for row in &mut self.mvd[list][y + 1..y + 1 + h] {
            row[x + 1..x + 1 + w].fill(sat);
        }
        Ok(out)
    }
}
