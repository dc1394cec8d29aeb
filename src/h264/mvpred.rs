//! Motion-vector prediction, H.264 8.4.1.3 (median, directional 16x8 / 8x16) and P_Skip
//! (8.4.1.1), over a small neighbourhood cache of one macroblock and one list.

use super::picture::Picture;

/// ref_idx marking a neighbouring 4x4 block that is not available (outside the picture,
/// another slice, or later in decoding order). -1 (REF_NONE) marks an available block that
/// is intra or does not use the list.
pub const REF_NA: i8 = -2;

/// The shape of the partition being predicted, for the directional rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Other,
    /// 16x8, upper (0) or lower (1) partition.
    P16x8(u8),
    /// 8x16, left (0) or right (1) partition.
    P8x16(u8),
}

/// ref_idx and mv of the 4x4 blocks around and inside the current macroblock, for one list:
/// rows -1..=3 and columns -1..=4 in 4x4 units, stored at [row + 1][col + 1]. Column 4 is
/// the neighbour C of the right-most partitions: available only above the macroblock.
#[derive(Debug, Clone)]
pub struct MvCache {
    pub refs: [[i8; 6]; 5],
    pub mvs: [[[i16; 2]; 6]; 5],
}

/// A macroblock's place: which neighbouring macroblocks (6.4.9) are available, and its
/// column and row (carried along, so that no step divides its address again).
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbours {
    pub a: bool,
    pub b: bool,
    pub c: bool,
    pub d: bool,
    pub mb_x: usize,
    pub mb_y: usize,
}

impl MvCache {
    pub fn new() -> Self {
        MvCache { refs: [[REF_NA; 6]; 5], mvs: [[[0; 2]; 6]; 5] }
    }

    /// Loads the neighbours of macroblock (mb_x, mb_y) for `list`; the inside is marked
    /// not available until partitions are decoded.
    pub fn load(&mut self, pic: &Picture, list: usize, mb_x: usize, mb_y: usize, n: Neighbours) {
        self.refs = [[REF_NA; 6]; 5];
        let (x0, y0) = (mb_x * 4, mb_y * 4);
        let at = |x: usize, y: usize| pic.motion(list, x, y);
        // The row above (x0 - 1 ..= x0 + 4) and the column to the left, where available.
        let mut put = |cy: usize, cx: usize, (r, m): (i8, [i16; 2])| {
            self.refs[cy][cx] = r;
            self.mvs[cy][cx] = m;
        };
        if n.d {
            put(0, 0, at(x0 - 1, y0 - 1));
        }
        if n.b {
            for k in 0..4 {
                put(0, k + 1, at(x0 + k, y0 - 1));
            }
        }
        if n.c {
            put(0, 5, at(x0 + 4, y0 - 1));
        }
        if n.a {
            for r in 0..4 {
                put(r + 1, 0, at(x0 - 1, y0 + r));
            }
        }
    }

    /// Writes the inside of the cache back into the picture: per 8x8 block, or per 4x4
    /// block when the macroblock has partitions smaller than 8x8 (`fine`).
    pub fn store(&self, pic: &mut Picture, list: usize, mb_x: usize, mb_y: usize, fine: bool) {
        let refs = [self.refs[1][1], self.refs[1][3], self.refs[3][1], self.refs[3][3]];
        if fine {
            pic.set_motion4(list, mb_x, mb_y, refs, &std::array::from_fn(|b| self.mvs[(b / 4 + 1) % 5][b % 4 + 1]));
        } else {
            pic.set_motion8(list, mb_x, mb_y, refs, [self.mvs[1][1], self.mvs[1][3], self.mvs[3][1], self.mvs[3][3]]);
        }
    }

    /// Sets a decoded partition: (x, y, w, h) in 4x4 units inside the macroblock.
    #[inline(always)]
    pub fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, ref_idx: i8, mv: [i16; 2]) {
        for row in &mut self.refs[y + 1..y + 1 + h] {
            row[x + 1..x + 1 + w].fill(ref_idx);
        }
        for row in &mut self.mvs[y + 1..y + 1 + h] {
            row[x + 1..x + 1 + w].fill(mv);
        }
    }

    #[inline(always)]
    fn at(&self, x: isize, y: isize) -> (i8, [i16; 2]) {
        let (r, c) = ((y + 1) as usize, (x + 1) as usize);
        (self.refs[r][c], self.mvs[r][c])
    }

    /// mvpLX for the partition at (x, y) of width w (4x4 units) using `ref_idx` (8.4.1.3).
    pub fn predict(&self, x: usize, y: usize, w: usize, ref_idx: i8, shape: Shape) -> [i16; 2] {
        let (x, y, w) = (x as isize, y as isize, w as isize);
        let a = self.at(x - 1, y);
        let b = self.at(x, y - 1);
        let mut c = self.at(x + w, y - 1);
        if c.0 == REF_NA {
            c = self.at(x - 1, y - 1);
        }
        // 8.4.1.3 directional rules; unavailable / intra neighbours have refIdx < 0.
        match shape {
            Shape::P16x8(0) if b.0 == ref_idx => return b.1,
            Shape::P16x8(1) if a.0 == ref_idx => return a.1,
            Shape::P8x16(0) if a.0 == ref_idx => return a.1,
            Shape::P8x16(1) if c.0 == ref_idx => return c.1,
            _ => {}
        }
        median(a, b, c, ref_idx)
    }
}

impl MvCache {
    /// Neighbours A, B and C (or D) of the whole macroblock, as spatial direct reads them.
    pub fn mb_neighbours(&self) -> [(i8, [i16; 2]); 3] {
        let c = if self.refs[0][5] != REF_NA { self.at(4, -1) } else { self.at(-1, -1) };
        [self.at(-1, 0), self.at(0, -1), c]
    }
}

/// Neighbours A, B and C (or D) of macroblock (mb_x, mb_y) in `list`, read straight from
/// the picture (REF_NA where not available): no cache for skipped / direct macroblocks.
#[inline(always)]
pub fn mb_neighbours(pic: &Picture, list: usize, mb_x: usize, mb_y: usize, n: Neighbours) -> [(i8, [i16; 2]); 3] {
    const NA: (i8, [i16; 2]) = (REF_NA, [0, 0]);
    // Availability implies that the row above / the column to the left exist.
    let at = |x: usize, y: usize| pic.motion(list, x, y);
    let (x0, y0) = (mb_x * 4, mb_y * 4);
    let a = if n.a { at(x0.wrapping_sub(1), y0) } else { NA };
    let b = if n.b { at(x0, y0.wrapping_sub(1)) } else { NA };
    let c = if n.c {
        at(x0 + 4, y0.wrapping_sub(1))
    } else if n.d {
        at(x0.wrapping_sub(1), y0.wrapping_sub(1))
    } else {
        NA
    };
    [a, b, c]
}

/// The P_Skip motion vector of macroblock (mb_x, mb_y) (8.4.1.1 with 8.4.1.3 for a 16x16
/// partition, ref_idx 0), read straight from the picture: no cache is built for the long
/// runs of skipped macroblocks.
pub fn p_skip_mv(pic: &Picture, mb_x: usize, mb_y: usize, n: Neighbours) -> [i16; 2] {
    if !n.a || !n.b {
        return [0, 0];
    }
    let at = |x: usize, y: usize| pic.motion(0, x, y);
    let (x0, y0) = (mb_x * 4, mb_y * 4);
    let a = at(x0 - 1, y0);
    let b = at(x0, y0 - 1);
    if (a.0 == 0 && a.1 == [0, 0]) || (b.0 == 0 && b.1 == [0, 0]) {
        return [0, 0];
    }
    let c = if n.c {
        at(x0 + 4, y0 - 1)
    } else if n.d {
        at(x0 - 1, y0 - 1)
    } else {
        (REF_NA, [0, 0])
    };
    median(a, b, c, 0)
}

impl Default for MvCache {
    fn default() -> Self {
        Self::new()
    }
}

/// 8.4.1.3.1: median prediction from neighbours A, B, C (C already replaced by D), for
/// refIdx `ref_idx` >= 0.
#[inline(always)]
pub fn median(a: (i8, [i16; 2]), b: (i8, [i16; 2]), c: (i8, [i16; 2]), ref_idx: i8) -> [i16; 2] {
    debug_assert!(ref_idx >= 0);
    // Unavailable neighbours count as refIdx -1 with a zero vector; a block with refIdx < 0
    // (unavailable, intra, list unused) has a zero vector whatever is stored.
    let mv = |n: (i8, [i16; 2])| if n.0 < 0 { [0, 0] } else { n.1 };
    if b.0 == REF_NA && c.0 == REF_NA && a.0 != REF_NA {
        // B and C take A's motion: all three equal.
        return mv(a);
    }
    match (a.0 == ref_idx, b.0 == ref_idx, c.0 == ref_idx) {
        (true, false, false) => a.1,
        (false, true, false) => b.1,
        (false, false, true) => c.1,
        _ => {
            let (a, b, c) = (mv(a), mv(b), mv(c));
            [med3(a[0], b[0], c[0]), med3(a[1], b[1], c[1])]
        }
    }
}

#[inline(always)]
fn med3(a: i16, b: i16, c: i16) -> i16 {
    a.max(b).min(a.min(b).max(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_three() {
        assert_eq!(med3(1, 2, 3), 2);
        assert_eq!(med3(3, 1, 2), 2);
        assert_eq!(med3(-5, 7, 7), 7);
    }

    #[test]
    fn only_a_available_copies_a() {
        let mut c = MvCache::new();
        c.refs[1][0] = 0;
        c.mvs[1][0] = [8, -4];
        assert_eq!(c.predict(0, 0, 4, 0, Shape::Other), [8, -4]);
        // With ref_idx 1 nothing matches: median of (A, A, A) is still A.
        assert_eq!(c.predict(0, 0, 4, 1, Shape::Other), [8, -4]);
    }

    #[test]
    fn single_matching_reference_wins() {
        let mut c = MvCache::new();
        for col in 0..6 {
            c.refs[0][col] = 1;
            c.mvs[0][col] = [100, 100];
        }
        c.refs[1][0] = 0;
        c.mvs[1][0] = [4, 4];
        assert_eq!(c.predict(0, 0, 4, 0, Shape::Other), [4, 4]);
    }
}
