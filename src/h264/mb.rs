//! Macroblock types (H.264 7.4.5) and the per-macroblock record kept for each picture.

use super::tables::mb_types::{B_MB_TYPES, B_SUB_MB_TYPES, P_MB_TYPES, P_SUB_MB_TYPES};

/// Prediction mode of a partition (MbPartPredMode / SubMbPredMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pred {
    Na,
    L0,
    L1,
    Bi,
    Direct,
}

impl Pred {
    /// Whether the partition uses list `l` (predFlagLX).
    pub fn uses(self, l: usize) -> bool {
        match self {
            Pred::L0 => l == 0,
            Pred::L1 => l == 1,
            Pred::Bi => true,
            Pred::Na | Pred::Direct => false,
        }
    }
}

/// A row of Table 7-13 / 7-14.
#[derive(Debug, Clone, Copy)]
pub struct MbPartInfo {
    pub num_parts: u8,
    pub pred: [Pred; 2],
    pub width: u8,
    pub height: u8,
}

/// A row of Table 7-17 / 7-18.
#[derive(Debug, Clone, Copy)]
pub struct SubMbInfo {
    pub num_parts: u8,
    pub pred: Pred,
    pub width: u8,
    pub height: u8,
}

/// The kind of a macroblock, from mb_type and the slice type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MbKind {
    /// Not (yet) decoded: outside every parsed slice.
    #[default]
    NotDecoded,
    I4x4,
    I8x8,
    I16x16,
    IPcm,
    PSkip,
    /// P mb_type 0..=4 (`Macroblock::mb_type` holds the value).
    P,
    BSkip,
    /// B mb_type 0..=22 (`Macroblock::mb_type` holds the value).
    B,
}

impl MbKind {
    pub fn is_intra(self) -> bool {
        matches!(self, MbKind::I4x4 | MbKind::I8x8 | MbKind::I16x16 | MbKind::IPcm)
    }
    pub fn is_skip(self) -> bool {
        matches!(self, MbKind::PSkip | MbKind::BSkip)
    }
}

/// Syntax of one macroblock, as parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Macroblock {
    pub kind: MbKind,
    /// mb_type within its table: I 0..=25, P 0..=4, B 0..=22 (intra types in P/B slices are
    /// stored as the I mb_type with `kind` intra).
    pub mb_type: u8,
    pub sub_mb_type: [u8; 4],
    /// Which slice of the picture holds the macroblock (for neighbour availability).
    pub slice_num: u32,
    /// QPY.
    pub qp: u8,
    /// coded_block_pattern (luma bits 0..3, chroma in bits 4..5).
    pub cbp: u8,
    pub transform_size_8x8_flag: bool,
    /// prev_intra_pred_mode_flag / rem_intra_pred_mode per 4x4 (or 8x8) block, in block
    /// order: -1 for "use the predicted mode", else rem_intra_pred_mode (0..7).
    /// For Intra_16x16, entry 0 holds Intra16x16PredMode.
    pub intra_pred: [i8; 16],
    pub intra_chroma_pred_mode: u8,
    /// TotalCoeff(coeff_token) per 4x4 block: luma in raster order (y * 4 + x), then Cb and
    /// Cr 2x2 in raster order. I_PCM: 16 everywhere (9.2.1).
    pub total_coeff: [u8; 24],
    /// Bit 0: Intra16x16 DC levels coded, bit 1: Cb DC, bit 2: Cr DC.
    pub coded_dc: u8,
    /// 8x8 partitions predicted in direct mode (B_8x8 with B_Direct_8x8), bit per partition.
    pub direct8x8: u8,
    /// mb_qp_delta was non-zero (CABAC context of the next macroblock's mb_qp_delta).
    pub qp_delta_nonzero: bool,
    /// Which blocks are coded (coded_block_flag, for the CABAC contexts of later
    /// macroblocks), one bit per block: luma 4x4 at y * 4 + x, Cb AC at 16 + y * 2 + x,
    /// Cr AC at 20 + y * 2 + x, then `CODED_LUMA_DC`, `CODED_CB_DC`, `CODED_CB_DC + 1`.
    /// All ones for I_PCM; written by CABAC slices only.
    pub coded: u32,
}

/// Bits of `Macroblock::coded` for the DC blocks.
pub const CODED_LUMA_DC: u32 = 24;
pub const CODED_CB_DC: u32 = 25;

impl Macroblock {
    pub fn is_decoded(&self) -> bool {
        self.kind != MbKind::NotDecoded
    }

    /// Partition layout of a P or B macroblock with more than... one row of Table 7-13/7-14.
    pub fn part_info(&self) -> Option<&'static MbPartInfo> {
        match self.kind {
            MbKind::P => P_MB_TYPES.get(usize::from(self.mb_type)),
            MbKind::B => B_MB_TYPES.get(usize::from(self.mb_type)),
            _ => None,
        }
    }

    /// Sub-macroblock layout of 8x8 partition `i` of a P_8x8 / B_8x8 macroblock.
    pub fn sub_info(&self, i: usize) -> Option<&'static SubMbInfo> {
        let t = usize::from(*self.sub_mb_type.get(i)?);
        match self.kind {
            MbKind::P => P_SUB_MB_TYPES.get(t),
            MbKind::B => B_SUB_MB_TYPES.get(t),
            _ => None,
        }
    }

    /// Short name for logs and CSV: the standard's mb_type name family.
    pub fn name(&self) -> &'static str {
        match self.kind {
            MbKind::NotDecoded => "none",
            MbKind::I4x4 => "I_NxN(4x4)",
            MbKind::I8x8 => "I_NxN(8x8)",
            MbKind::I16x16 => "I_16x16",
            MbKind::IPcm => "I_PCM",
            MbKind::PSkip => "P_Skip",
            MbKind::BSkip => "B_Skip",
            MbKind::P => match self.mb_type {
                0 => "P_L0_16x16",
                1 => "P_L0_L0_16x8",
                2 => "P_L0_L0_8x16",
                3 => "P_8x8",
                _ => "P_8x8ref0",
            },
            MbKind::B => match self.mb_type {
                0 => "B_Direct_16x16",
                22 => "B_8x8",
                _ => "B_inter",
            },
        }
    }
}

/// luma4x4BlkIdx -> (x, y) of the 4x4 block in 4x4 units inside the macroblock (6.4.3).
#[inline(always)]
pub const fn blk_xy(idx: usize) -> (usize, usize) {
    (((idx >> 2) & 1) * 2 + (idx & 1), ((idx >> 3) & 1) * 2 + ((idx >> 1) & 1))
}
