//! What the compressed-domain pass gives per picture: types, POC, per-macroblock syntax,
//! the motion field (ref_idx and vectors) and the residual levels (not transformed).

use super::mb::{Macroblock, MbKind};
use super::mvpred::REF_NA;
use super::pps::Pps;
use super::slice::{SliceHeader, SliceType};
use super::sps::Sps;
use std::sync::{Arc, OnceLock};

/// Residual levels of one macroblock, as 16-level blocks in coding (scan) order:
/// luma blocks 0..16 by luma4x4BlkIdx (with the 8x8 transform, blocks 4i..4i+4 hold the
/// 64 levels of 8x8 block i: scan index k is at block 4i + k / 16, entry k % 16), then the
/// Intra16x16 DC block, the Cb and Cr DC blocks (entries 0..4) and the chroma AC blocks
/// (Cb 0..4, Cr 0..4; AC levels at entries 1..16). I_PCM samples fill the first 384 entries
/// in raster order (luma 256, Cb 64, Cr 64).
/// A block's levels are meaningful only when its TotalCoeff (or `coded_dc` bit) says coded.
/// The picture stores only the blocks that were coded (`Levels`); this is the expanded form
/// (`Levels::mb`), with zeros for the others.
pub type MbLevels = [[i16; 16]; 27];
pub const LUMA_DC: usize = 16;
pub const CHROMA_DC: usize = 17;
pub const CHROMA_AC: usize = 19;

/// ref_idx of a block that is intra or does not use the list.
pub const REF_NONE: i8 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureType {
    I,
    P,
    B,
}

impl PictureType {
    pub fn letter(self) -> char {
        match self {
            PictureType::I => 'I',
            PictureType::P => 'P',
            PictureType::B => 'B',
        }
    }
}

/// One decoded (compressed-domain) picture. Buffers are reused from picture to picture.
#[derive(Debug, Clone)]
pub struct Picture {
    pub mb_width: u32,
    pub mb_height: u32,
    /// Display rectangle (left, top, width, height) in luma samples.
    pub crop: (u32, u32, u32, u32),
    pub poc: i32,
    pub frame_num: u32,
    pub idr: bool,
    pub nal_ref_idc: u8,
    /// B if any slice is B, else P if any slice is P, else I.
    pub picture_type: PictureType,
    /// Index in decoding order, from 0.
    pub decode_index: u64,
    /// Increments at each IDR or MMCO 5: POCs are ordered only within one period.
    pub poc_period: u64,
    /// Pictures that may wait for output before this one (its SPS's num_reorder_frames).
    pub reorder_depth: u32,
    /// Number of slices parsed, and of slices dropped for errors.
    pub slices: u32,
    pub slices_dropped: u32,
    pub mbs: Vec<Macroblock>,
    /// Number of macroblocks that were decoded, as counted by the decoder when it finished
    /// the picture (`decoded_mbs` counts `mbs` again).
    pub mbs_decoded: usize,
    /// Motion vectors per list, quarter pel, read through `mv`: per 8x8 block (`stride8`
    /// per row, as `ref_idx`), the granularity of every partition of 8x8 or larger, so that
    /// a macroblock writes 16 bytes per list instead of 64 (the bytes, going to buffers
    /// that are out of the cache, cost more than the instructions). A macroblock with
    /// smaller partitions has `FINE` in its four entries and its 16 vectors in `mv4` (per
    /// 4x4 block, stride `stride4`).
    mv8: [Vec<[i16; 2]>; 2],
    mv4: [Vec<[i16; 2]>; 2],
    /// ref_idx per 8x8 block and list, its granularity in the standard (REF_NONE where the
    /// list is unused or the block intra): `ref_index`, `stride8` entries per row.
    /// Both arrays are valid only inside decoded macroblocks.
    pub ref_idx: [Vec<i8>; 2],
    /// Residual levels of the coded blocks (see `MbLevels` for the block numbering).
    pub levels: Levels,
    /// Per slice (index slice_num - 1): the reference picture lists, as the decode_index
    /// of each entry (NO_REF where none). Co-located data of later B pictures uses them.
    pub ref_ids: Vec<[[u64; 32]; 2]>,
    /// Per slice (index slice_num - 1): deblocking parameters and parameter sets, for
    /// picture reconstruction (`recon`).
    pub slice_info: Vec<SliceInfo>,
    /// Per macroblock: the `generation` in which `mbs` got its entry. `reset` does not
    /// clear `mbs` (a memset of 0.5 MB per 1080p picture, then written again); `seal`
    /// resets the entries the picture did not write.
    mb_written: Vec<u32>,
    generation: u32,
    /// A B slice was decoded into the picture: list 1 of `ref_idx` may hold entries other
    /// than REF_NONE (no other slice writes list 1), so `reset` has to clear it.
    pub(super) list1_used: bool,
    /// The picture's colZeroFlag mask per macroblock for spatial direct prediction of later
    /// B pictures (`col_zero`), made on first use; without and with direct_8x8_inference.
    col_zero: [OnceLock<Vec<u16>>; 2],
}

/// What picture reconstruction needs of a slice's headers (one per parsed slice).
#[derive(Debug, Clone)]
pub struct SliceInfo {
    pub slice_type: SliceType,
    pub disable_deblocking_filter_idc: u8,
    /// FilterOffsetA / FilterOffsetB (7-32, 7-33): the slice's offsets, doubled.
    pub filter_offset_a: i8,
    pub filter_offset_b: i8,
    pub sps: Arc<Sps>,
    pub pps: Arc<Pps>,
}

impl SliceInfo {
    pub fn new(hdr: &SliceHeader, sps: &Arc<Sps>, pps: &Arc<Pps>) -> SliceInfo {
        SliceInfo {
            slice_type: hdr.slice_type,
            disable_deblocking_filter_idc: hdr.disable_deblocking_filter_idc.min(2) as u8,
            filter_offset_a: (hdr.slice_alpha_c0_offset_div2.clamp(-6, 6) * 2) as i8,
            filter_offset_b: (hdr.slice_beta_offset_div2.clamp(-6, 6) * 2) as i8,
            sps: sps.clone(),
            pps: pps.clone(),
        }
    }
}

/// Marks in `Picture::mv8` an 8x8 block whose vectors are kept per 4x4 block (`mv4`):
/// beyond the range of any vector in a conforming stream (8.4.1, Table A-1).
const FINE: [i16; 2] = [i16::MIN, i16::MIN];
const FINE_KEY: u32 = 0x8000_8000;

/// A vector as one integer, for one comparison instead of two.
#[inline(always)]
fn key(v: [i16; 2]) -> u32 {
    u32::from(v[0] as u16) | (u32::from(v[1] as u16) << 16)
}

/// An empty entry of `Picture::ref_ids`.
pub const NO_REF: u64 = u64::MAX;

impl Picture {
    pub fn new() -> Picture {
        Picture {
            mb_width: 0,
            mb_height: 0,
            crop: (0, 0, 0, 0),
            poc: 0,
            frame_num: 0,
            idr: false,
            nal_ref_idc: 0,
            picture_type: PictureType::I,
            decode_index: 0,
            poc_period: 0,
            reorder_depth: 0,
            slices: 0,
            slices_dropped: 0,
            mbs: Vec::new(),
            mbs_decoded: 0,
            mv8: [Vec::new(), Vec::new()],
            mv4: [Vec::new(), Vec::new()],
            ref_idx: [Vec::new(), Vec::new()],
            levels: Levels::default(),
            ref_ids: Vec::new(),
            slice_info: Vec::new(),
            mb_written: Vec::new(),
            generation: 0,
            list1_used: false,
            col_zero: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Sizes the buffers for `sps` and marks every macroblock as not decoded. Allocates only
    /// when the picture size grows.
    pub fn reset(&mut self, sps: &Sps) {
        self.mb_width = sps.mb_width();
        self.mb_height = sps.mb_height();
        self.crop = sps.crop_rect();
        let mbs = (self.mb_width * self.mb_height) as usize;
        // Entries left from the last picture stay until `seal`: only the decoder reads `mbs`
        // before then, and only entries written in this picture (`is_written`).
        self.mbs.resize(mbs, Macroblock::default());
        self.mbs_decoded = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.mb_written.fill(0);
            self.generation = 1;
        }
        self.mb_written.resize(mbs, 0);
        // Every decoded macroblock writes its list-0 vectors and ref_idx; list 1 is reset
        // here and written only by B slices. Entries of macroblocks that were not decoded are
        // stale and must be ignored (see `Macroblock::is_decoded`).
        for l in 0..2 {
            self.mv8[l].resize(mbs * 4, [0, 0]);
            self.mv4[l].resize(mbs * 16, [0, 0]);
            self.ref_idx[l].resize(mbs * 4, REF_NONE);
        }
        if std::mem::take(&mut self.list1_used) {
            self.ref_idx[1].fill(REF_NONE);
        }
        self.levels.reset(mbs);
        self.slices = 0;
        self.slices_dropped = 0;
        self.ref_ids.clear();
        self.slice_info.clear();
        self.picture_type = PictureType::I;
        self.col_zero = [OnceLock::new(), OnceLock::new()];
    }

    /// Sets macroblock `addr` of the picture being decoded.
    #[inline]
    pub(super) fn set_mb(&mut self, addr: usize, mb: Macroblock) {
        if let (Some(m), Some(w)) = (self.mbs.get_mut(addr), self.mb_written.get_mut(addr)) {
            // Stamped only when decoded, so that the stamps count decoded macroblocks.
            if mb.is_decoded() {
                *w = self.generation;
            }
            *m = mb;
        }
    }

    /// Whether the picture being decoded has set macroblock `addr` (`set_mb`).
    pub(super) fn is_written(&self, addr: usize) -> bool {
        self.mb_written.get(addr) == Some(&self.generation)
    }

    /// Ends decoding: macroblocks that no slice set become `Macroblock::default()` (not
    /// decoded), as if `reset` had cleared them; counts the decoded ones (`mbs_decoded`).
    pub(super) fn seal(&mut self) {
        let g = self.generation;
        let mut n = 0;
        for (m, &w) in self.mbs.iter_mut().zip(&self.mb_written) {
            if w != g {
                *m = Macroblock::default();
            } else {
                n += 1;
            }
        }
        self.mbs_decoded = n;
    }

    /// Per macroblock, the 4x4 blocks (bit y * 4 + x) whose co-located block in this
    /// picture has refIdxCol 0 and both components of mvCol within -1..=1 (8.4.1.2.1,
    /// 8.4.1.2.2): colZeroFlag, but for the condition on RefPicList1[0] being short-term,
    /// which the caller checks. With direct_8x8_inference_flag each 8x8 quadrant takes its
    /// corner block's value. Made once, on the first request, for the whole (sealed) picture:
    /// B pictures read it for every skipped or direct macroblock, and a sweep costs less than
    /// reading the co-located motion macroblock by macroblock.
    pub fn col_zero(&self, inference: bool) -> &[u16] {
        self.col_zero[usize::from(inference)].get_or_init(|| self.col_zero_masks(inference))
    }

    fn col_zero_masks(&self, inference: bool) -> Vec<u16> {
        let w = self.mb_width as usize;
        // Blocks read: with inference only the corners, each standing for its quadrant.
        const CORNERS: [(usize, u16); 4] = [(0, 0x0033), (3, 0x00cc), (12, 0x3300), (15, 0xcc00)];
        let zero = |x4: usize, y4: usize| {
            // refIdxCol and mvCol: list 0's when the co-located block uses list 0, else list 1's.
            let l = usize::from(!self.ref_idx[0].get(self.ref_index(x4, y4)).is_some_and(|&r| r >= 0));
            let (r, m) = self.motion(l, x4, y4);
            r == 0 && (-1..=1).contains(&m[0]) && (-1..=1).contains(&m[1])
        };
        self.mbs
            .iter()
            .enumerate()
            .map(|(addr, mb)| {
                if !mb.is_decoded() || mb.kind.is_intra() {
                    return 0;
                }
                let (x0, y0) = ((addr % w) * 4, (addr / w) * 4);
                let at = |blk: usize| zero(x0 + blk % 4, y0 + blk / 4);
                if inference {
                    CORNERS.iter().filter(|&&(b, _)| at(b)).fold(0, |m, &(_, q)| m | q)
                } else {
                    (0..16).filter(|&b| at(b)).fold(0, |m, b| m | (1 << b))
                }
            })
            .collect()
    }

    /// Stride of the per-4x4 arrays.
    pub fn stride4(&self) -> usize {
        self.mb_width as usize * 4
    }

    /// 8x8 blocks per row of `ref_idx`.
    #[inline]
    pub fn stride8(&self) -> usize {
        self.mb_width as usize * 2
    }

    /// Sets the ref_idx of the four 8x8 blocks of macroblock (mb_x, mb_y) (raster order) in
    /// list `list`.
    #[inline(always)]
    pub(super) fn set_refs(&mut self, list: usize, mb_x: usize, mb_y: usize, refs: [i8; 4]) {
        let stride = self.stride8();
        let i0 = (mb_y * stride + mb_x) * 2;
        if let Some(r) = self.ref_idx.get_mut(list).and_then(|v| v.get_mut(i0..i0 + stride + 2)) {
            r[..2].copy_from_slice(&refs[..2]);
            if let Some(r) = r.get_mut(stride..stride + 2) {
                r.copy_from_slice(&refs[2..]);
            }
        }
    }

    /// The motion vector of 4x4 block (x4, y4) in list `list`, x4 < `stride4` (stale where
    /// the block is not decoded or does not use the list; zero below the picture).
    #[inline]
    pub fn mv(&self, list: usize, x4: usize, y4: usize) -> [i16; 2] {
        self.motion(list, x4, y4).1
    }

    /// ref_idx and vector of 4x4 block (x4, y4) in list `list`, x4 < `stride4` (REF_NA below
    /// the picture).
    #[inline(always)]
    pub fn motion(&self, list: usize, x4: usize, y4: usize) -> (i8, [i16; 2]) {
        let ri = self.ref_index(x4, y4);
        match (self.ref_idx[list & 1].get(ri), self.mv8[list & 1].get(ri)) {
            (Some(&r), Some(&v)) => (r, if key(v) != FINE_KEY { v } else { self.mv_fine(list, x4, y4) }),
            _ => (REF_NA, [0, 0]),
        }
    }

    /// A vector kept per 4x4 block (`mv4`). Out of line: rare, and the readers are hot.
    #[cold]
    #[inline(never)]
    fn mv_fine(&self, list: usize, x4: usize, y4: usize) -> [i16; 2] {
        self.mv4[list & 1].get(y4 * self.stride4() + x4).copied().unwrap_or([0, 0])
    }

    /// Sets list `list`'s motion of macroblock (mb_x, mb_y): one ref_idx and vector for the
    /// whole macroblock.
    #[inline(always)]
    pub(super) fn fill_motion(&mut self, list: usize, mb_x: usize, mb_y: usize, ref_idx: i8, mv: [i16; 2]) {
        self.set_motion8(list, mb_x, mb_y, [ref_idx; 4], [mv; 4]);
    }

    /// Sets list `list`'s motion of macroblock (mb_x, mb_y): ref_idx and vector per 8x8
    /// block (raster order).
    #[inline(always)]
    pub(super) fn set_motion8(&mut self, list: usize, mb_x: usize, mb_y: usize, refs: [i8; 4], mvs: [[i16; 2]; 4]) {
        if mvs.iter().any(|&v| key(v) == FINE_KEY) {
            // Only a damaged stream gets here: the value is kept, per 4x4 block.
            return self.set_motion4(list, mb_x, mb_y, refs, &std::array::from_fn(|b| mvs[(b >> 3) * 2 + ((b & 3) >> 1)]));
        }
        self.set_refs(list, mb_x, mb_y, refs);
        self.set_mv8(list, mb_x, mb_y, mvs);
    }

    /// Sets list `list`'s motion of macroblock (mb_x, mb_y): ref_idx per 8x8 block and a
    /// vector per 4x4 block (raster order), for partitions smaller than 8x8.
    pub(super) fn set_motion4(&mut self, list: usize, mb_x: usize, mb_y: usize, refs: [i8; 4], mvs: &[[i16; 2]; 16]) {
        self.set_refs(list, mb_x, mb_y, refs);
        self.set_mv8(list, mb_x, mb_y, [FINE; 4]);
        let stride = self.stride4();
        for (r, row) in mvs.chunks_exact(4).enumerate() {
            let i = (mb_y * 4 + r) * stride + mb_x * 4;
            if let Some(dst) = self.mv4[list & 1].get_mut(i..i + 4) {
                dst.copy_from_slice(row);
            }
        }
    }

    /// `set_motion8` where each 8x8 block's four vectors are equal, else `set_motion4`.
    pub(super) fn set_motion(&mut self, list: usize, mb_x: usize, mb_y: usize, refs: [i8; 4], mvs: &[[i16; 2]; 16]) {
        let quads = [0, 2, 8, 10];
        if quads.iter().all(|&b| mvs[b] == mvs[b + 1] && mvs[b] == mvs[b + 4] && mvs[b] == mvs[b + 5]) {
            self.set_motion8(list, mb_x, mb_y, refs, quads.map(|b| mvs[b]));
        } else {
            self.set_motion4(list, mb_x, mb_y, refs, mvs);
        }
    }

    /// The four 8x8 vectors of a macroblock (raster order).
    #[inline(always)]
    fn set_mv8(&mut self, list: usize, mb_x: usize, mb_y: usize, mvs: [[i16; 2]; 4]) {
        let stride = self.stride8();
        let i0 = (mb_y * stride + mb_x) * 2;
        if let Some(v) = self.mv8[list & 1].get_mut(i0..i0 + stride + 2) {
            v[..2].copy_from_slice(&mvs[..2]);
            if let Some(v) = v.get_mut(stride..stride + 2) {
                v.copy_from_slice(&mvs[2..]);
            }
        }
    }

    /// The index in `ref_idx` of the 8x8 block that holds 4x4 block (x4, y4).
    #[inline]
    pub fn ref_index(&self, x4: usize, y4: usize) -> usize {
        (y4 / 2) * self.stride8() + x4 / 2
    }

    /// A 64-bit FNV-1a hash of everything parsed: the syntax of each decoded macroblock, its
    /// motion field and its coded levels (blocks that are not coded hold stale data and are
    /// left out). Equal digests mean equal parses, e.g. across CPU architectures or before
    /// and after an optimisation.
    pub fn digest(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |b: &[u8]| {
            for &x in b {
                h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (addr, m) in self.mbs.iter().enumerate().filter(|(_, m)| m.is_decoded()) {
            eat(&[m.kind as u8, m.mb_type, m.qp, m.cbp, u8::from(m.transform_size_8x8_flag), m.intra_chroma_pred_mode]);
            eat(&[m.coded_dc, m.direct8x8]);
            eat(&m.sub_mb_type);
            eat(&m.intra_pred.map(|v| v as u8));
            eat(&m.total_coeff);
            let (mx, my) = (addr % self.mb_width as usize * 4, addr / self.mb_width as usize * 4);
            for l in 0..2 {
                for y in my..my + 4 {
                    for x in mx..mx + 4 {
                        let r = self.ref_idx[l].get(self.ref_index(x, y)).copied().unwrap_or(REF_NONE);
                        let v = if r >= 0 { self.mv(l, x, y) } else { [0, 0] };
                        eat(&[r as u8]);
                        eat(&[v[0].to_le_bytes(), v[1].to_le_bytes()].concat());
                    }
                }
            }
            let levels = self.levels.of(addr);
            for b in 0..27 {
                let coded = match b {
                    _ if m.kind == MbKind::IPcm => b < 24,
                    0..16 => {
                        let (x, y) = super::mb::blk_xy(b);
                        m.total_coeff[y * 4 + x] > 0
                    }
                    LUMA_DC => m.coded_dc & 1 != 0,
                    17 | 18 => m.coded_dc & (2 << (b - CHROMA_DC)) != 0,
                    _ => m.total_coeff.get(16 + b - CHROMA_AC).is_some_and(|&n| n > 0),
                };
                if coded {
                    for v in levels.block(b).unwrap_or(&[0; 16]) {
                        eat(&v.to_le_bytes());
                    }
                }
            }
        }
        h
    }

    /// Number of macroblocks that were decoded.
    pub fn decoded_mbs(&self) -> usize {
        self.mbs.iter().filter(|m| m.is_decoded()).count()
    }
}

/// Residual levels of a picture, compact: per macroblock only the blocks that were coded,
/// 16 levels each, one run per macroblock in a buffer shared by the picture. Written in
/// decoding order (`Levels::writer`), so that the scan writes a few hundred bytes per
/// macroblock into a buffer that stays in cache, instead of touching a full `MbLevels`.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    data: Vec<i16>,
    /// Per macroblock: where its run starts in `data` and which blocks it holds, as bits in
    /// storage order (`slot_bit`).
    index: Vec<(u32, u32)>,
}

/// Bit of block `b` in a run's mask: blocks are stored in the order they are parsed, the
/// Intra16x16 DC block (16) first, then luma blocks 0..16, then the chroma blocks.
#[inline(always)]
const fn slot_bit(b: usize) -> u32 {
    match b {
        0..16 => b as u32 + 1,
        16 => 0,
        _ => b as u32,
    }
}

/// Number of blocks in `MbLevels`.
const BLOCKS: usize = 27;

impl Levels {
    /// Forgets every macroblock's levels, for a picture of `mbs` macroblocks.
    pub fn reset(&mut self, mbs: usize) {
        self.data.clear();
        self.index.clear();
        self.index.resize(mbs, (0, 0));
    }

    /// The stored blocks of macroblock `addr` (none where it has no run).
    #[inline]
    pub fn of(&self, addr: usize) -> MbLevelsRef<'_> {
        match self.index.get(addr) {
            Some(&(start, mask)) => {
                let run = self.data.get(start as usize..).unwrap_or(&[]);
                MbLevelsRef { data: run, mask }
            }
            None => MbLevelsRef { data: &[], mask: 0 },
        }
    }

    /// Macroblock `addr`'s levels, expanded (zeros in the blocks that are not stored).
    pub fn mb(&self, addr: usize) -> MbLevels {
        let l = self.of(addr);
        let mut out = [[0; 16]; BLOCKS];
        for (b, o) in out.iter_mut().enumerate() {
            if let Some(v) = l.block(b) {
                *o = *v;
            }
        }
        out
    }

    /// Starts the run of macroblock `addr`, replacing any earlier one. Blocks must be added
    /// in storage order (`slot_bit`); the run is recorded by `LevelWriter::finish`.
    #[inline]
    pub fn writer(&mut self, addr: usize) -> LevelWriter<'_> {
        let start = self.data.len();
        LevelWriter { levels: self, addr, start, mask: 0 }
    }
}

/// The stored blocks of one macroblock.
#[derive(Clone, Copy)]
pub struct MbLevelsRef<'a> {
    data: &'a [i16],
    mask: u32,
}

impl<'a> MbLevelsRef<'a> {
    /// Block `b` (numbering of `MbLevels`), if stored.
    #[inline]
    pub fn block(&self, b: usize) -> Option<&'a [i16; 16]> {
        let bit = slot_bit(b);
        if b >= BLOCKS || (self.mask >> bit) & 1 == 0 {
            return None;
        }
        let i = (self.mask & ((1 << bit) - 1)).count_ones() as usize * 16;
        self.data.get(i..i + 16)?.first_chunk::<16>()
    }

    /// The stored blocks in storage order (`slot_bit`), without a lookup per block: each
    /// block's number and the levels from its first on (the four blocks of a luma 8x8
    /// block follow one another; see `has_8x8`).
    #[inline]
    pub fn stored(&self) -> StoredBlocks<'a> {
        StoredBlocks { data: self.data, mask: self.mask }
    }

    /// Whether all four blocks of luma 8x8 block `b8` are stored (`block8x8` is `Some`).
    #[inline]
    pub fn has_8x8(&self, b8: usize) -> bool {
        b8 < 4 && (self.mask >> slot_bit(b8 * 4)) & 15 == 15
    }

    /// The 64 levels of luma 8x8 block `b8` (blocks 4 * b8 .. 4 * b8 + 4), if all stored.
    #[inline]
    pub fn block8x8(&self, b8: usize) -> Option<&'a [i16; 64]> {
        let bit = slot_bit(b8 * 4);
        if b8 >= 4 || (self.mask >> bit) & 15 != 15 {
            return None;
        }
        let i = (self.mask & ((1 << bit) - 1)).count_ones() as usize * 16;
        self.data.get(i..i + 64)?.first_chunk::<64>()
    }
}

/// Iterator of `MbLevelsRef::stored`.
pub struct StoredBlocks<'a> {
    data: &'a [i16],
    mask: u32,
}

impl<'a> Iterator for StoredBlocks<'a> {
    type Item = (usize, &'a [i16]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.mask == 0 {
            return None;
        }
        let slot = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        let levels = self.data;
        self.data = self.data.get(16..).unwrap_or(&[]);
        // The inverse of `slot_bit`.
        let b = match slot {
            0 => LUMA_DC,
            1..=16 => slot - 1,
            _ => slot,
        };
        Some((b, levels))
    }
}

/// Adds the blocks of one macroblock to `Levels`, in storage order.
pub struct LevelWriter<'l> {
    levels: &'l mut Levels,
    addr: usize,
    start: usize,
    mask: u32,
}

impl LevelWriter<'_> {
    /// Appends `n` zeroed blocks from block `b` (`n` > 1 only for luma) and returns them.
    #[inline]
    fn add(&mut self, b: usize, n: usize) -> &mut [i16] {
        let bit = slot_bit(b);
        // Out of order (a caller's bug, not input): the blocks go to a run of their own
        // that is not recorded, so stored blocks stay where the mask says.
        debug_assert!(self.mask >> bit == 0, "level blocks out of storage order");
        if self.mask >> bit == 0 {
            self.mask |= ((1 << n) - 1) << bit;
        } else {
            self.mask = u32::MAX;
        }
        let d = &mut self.levels.data;
        let o = d.len();
        // Fixed-size appends (stores of a constant size; `resize` may stay an out-of-line
        // element loop).
        if n == 4 {
            d.extend_from_slice(&[0; 64]);
        } else {
            for _ in 0..n {
                d.extend_from_slice(&[0; 16]);
            }
        }
        &mut d[o..]
    }

    /// A zeroed block `b`, now stored.
    #[inline]
    pub fn block(&mut self, b: usize) -> &mut [i16; 16] {
        let s = self.add(b, 1);
        s.first_chunk_mut::<16>().unwrap_or_else(|| unreachable!())
    }

    /// The zeroed 64 levels of luma 8x8 block `b8`, now stored (as its four blocks).
    #[inline]
    pub fn block8x8(&mut self, b8: usize) -> &mut [i16; 64] {
        let s = self.add((b8 & 3) * 4, 4);
        s.first_chunk_mut::<64>().unwrap_or_else(|| unreachable!())
    }

    /// Takes back the block (or 8x8 block) added last: it turned out not coded.
    #[inline]
    pub fn drop_last(&mut self, b: usize, n: usize) {
        let bit = slot_bit(b);
        if self.mask != u32::MAX {
            self.mask &= !(((1 << n) - 1) << bit);
        }
        let d = &mut self.levels.data;
        d.truncate(d.len().saturating_sub(16 * n));
    }

    /// Records the run as macroblock `addr`'s levels.
    #[inline]
    pub fn finish(self) {
        let (start, mask) = (self.start, self.mask);
        if let Some(e) = self.levels.index.get_mut(self.addr) {
            *e = match u32::try_from(start) {
                Ok(s) if mask != u32::MAX => (s, mask),
                _ => (0, 0),
            };
        }
    }
}

impl Default for Picture {
    fn default() -> Self {
        Picture::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_blocks_are_the_blocks_in_storage_order() {
        let mut levels = Levels::default();
        levels.reset(2);
        let mut w = levels.writer(1);
        w.block(LUMA_DC)[0] = 16;
        w.block8x8(1)[63] = 1;
        w.block(8)[0] = 8;
        w.block(CHROMA_DC + 1)[3] = 18;
        w.block(CHROMA_AC + 7)[15] = 26;
        w.finish();
        let l = levels.of(1);
        let stored: Vec<usize> = l.stored().map(|(b, _)| b).collect();
        assert_eq!(stored, [LUMA_DC, 4, 5, 6, 7, 8, CHROMA_DC + 1, CHROMA_AC + 7]);
        for (b, lv) in l.stored() {
            assert_eq!(lv.first_chunk::<16>(), l.block(b), "block {b}");
        }
        assert!(l.has_8x8(1) && !l.has_8x8(0) && !l.has_8x8(4));
        assert_eq!(l.stored().nth(1).and_then(|(_, lv)| lv.first_chunk::<64>()), l.block8x8(1));
        assert_eq!(levels.of(0).stored().count(), 0);
    }

    #[test]
    fn motion_reads_back_as_set_per_8x8_or_per_4x4_block() {
        let mut p = Picture::new();
        (p.mb_width, p.mb_height) = (2, 2);
        for l in 0..2 {
            (p.mv8[l], p.mv4[l], p.ref_idx[l]) = (vec![[0, 0]; 16], vec![[0, 0]; 64], vec![REF_NONE; 16]);
        }
        // Macroblock (0, 0): one vector; (1, 0): one per 8x8 block; (0, 1): one per 4x4 block;
        // (1, 1): the value that marks 4x4 storage, which only a damaged stream gives.
        let quad = [[4, -4], [8, 0], [-12, 2], [0, 6]];
        let blocks: [[i16; 2]; 16] = std::array::from_fn(|b| [b as i16, -(b as i16)]);
        p.fill_motion(0, 0, 0, 0, [1, 1]);
        p.set_motion8(0, 1, 0, [0, 1, 2, 3], quad);
        p.set_motion(0, 0, 1, [2; 4], &blocks);
        p.fill_motion(0, 1, 1, 1, FINE);
        for y4 in 0..8 {
            for x4 in 0..8 {
                let q = (y4 % 4 / 2) * 2 + x4 % 4 / 2;
                let expect = match (x4 / 4, y4 / 4) {
                    (0, 0) => (0, [1, 1]),
                    (1, 0) => (q as i8, quad[q]),
                    (0, 1) => (2, blocks[(y4 % 4) * 4 + x4 % 4]),
                    _ => (1, FINE),
                };
                assert_eq!(p.motion(0, x4, y4), expect, "block ({x4}, {y4})");
                assert_eq!(p.mv(0, x4, y4), expect.1, "block ({x4}, {y4})");
            }
        }
        // Equal vectors in each 8x8 block are kept per 8x8 block.
        let coarse: [[i16; 2]; 16] = std::array::from_fn(|b| quad[(b >> 3) * 2 + ((b & 3) >> 1)]);
        p.set_motion(1, 0, 1, [0; 4], &coarse);
        assert_eq!(p.mv8[1][p.ref_index(2, 6)], quad[3]);
        assert_eq!(p.mv(1, 3, 7), quad[3]);
        assert_eq!(p.motion(0, 0, 8), (REF_NA, [0, 0]), "below the picture");
    }
}
