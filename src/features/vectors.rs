//! Motion vectors as ffmpeg exports them (`AV_FRAME_DATA_MOTION_VECTORS`), the form CoViAR
//! defines its representation on: one vector per partition, whole pels.

use crate::h264::mb::MbKind;
use crate::h264::Picture;

/// One exported vector: a `w` x `h` block centred on (`dst_x`, `dst_y`) of the current
/// picture comes from the block centred on (`src_x`, `src_y`) of the reference picture.
/// Coordinates are luma samples of the coded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockVector {
    pub dst_x: i32,
    pub dst_y: i32,
    pub src_x: i32,
    pub src_y: i32,
    pub w: i32,
    pub h: i32,
}

impl BlockVector {
    /// The block at luma (`x0`, `y0`) of size `w` x `h`, moved by the quarter-pel vector
    /// `mv`. Whole pels by truncation towards zero, as ffmpeg's `motion_x / motion_scale`.
    fn new(x0: usize, y0: usize, w: i32, h: i32, mv: [i16; 2]) -> BlockVector {
        let (dst_x, dst_y) = (x0 as i32 + w / 2, y0 as i32 + h / 2);
        BlockVector { dst_x, dst_y, src_x: dst_x + i32::from(mv[0]) / 4, src_y: dst_y + i32::from(mv[1]) / 4, w, h }
    }

    /// The whole-pel displacement (dst - src).
    pub fn motion(&self) -> (i32, i32) {
        (self.dst_x - self.src_x, self.dst_y - self.src_y)
    }
}

/// The list-0 vectors of the P macroblocks of `pic`, in ffmpeg's convention: one per
/// partition of P_L0_16x16 / P_Skip (16x16), P_L0_L0_16x8, P_L0_L0_8x16; four 8x8 blocks
/// for P_8x8 and P_8x8ref0, each with the vector of its top-left 4x4 block (sub-partitions
/// are not exported separately). Intra macroblocks have none; B macroblocks are left out
/// (B pictures do not enter CoViAR's accumulation chain). `out` is cleared first.
pub fn list0_vectors(pic: &Picture, out: &mut Vec<BlockVector>) {
    out.clear();
    let mbw = pic.mb_width as usize;
    for (addr, mb) in pic.mbs.iter().enumerate() {
        let (x0, y0) = (addr % mbw * 16, addr / mbw * 16);
        // The vector of the 4x4 block at (bx, by) within the macroblock, in 4x4 units.
        let mv = |bx: usize, by: usize| pic.mv(0, x0 / 4 + bx, y0 / 4 + by);
        let shape = match mb.kind {
            MbKind::PSkip => (16, 16),
            MbKind::P => match mb.part_info() {
                Some(p) => (i32::from(p.width), i32::from(p.height)),
                None => continue,
            },
            _ => continue,
        };
        match shape {
            (16, 8) => out.extend((0..2).map(|i| BlockVector::new(x0, y0 + 8 * i, 16, 8, mv(0, 2 * i)))),
            (8, 16) => out.extend((0..2).map(|i| BlockVector::new(x0 + 8 * i, y0, 8, 16, mv(2 * i, 0)))),
            (8, 8) => out.extend((0..4).map(|i| {
                let (bx, by) = (i & 1, i >> 1);
                BlockVector::new(x0 + 8 * bx, y0 + 8 * by, 8, 8, mv(2 * bx, 2 * by))
            })),
            _ => out.push(BlockVector::new(x0, y0, 16, 16, mv(0, 0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_quarter_pels_towards_zero() {
        let b = BlockVector::new(16, 32, 16, 16, [-7, 7]);
        assert_eq!((b.dst_x, b.dst_y), (24, 40));
        // -7/4 = -1.75 -> -1 (not -2), 7/4 -> 1: ffmpeg's C division.
        assert_eq!((b.src_x, b.src_y), (23, 41));
        assert_eq!(b.motion(), (1, -1));
    }
}
