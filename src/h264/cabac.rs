//! The CABAC arithmetic decoding engine (H.264 9.3.1.2, 9.3.3.2) and context
//! initialisation (9.3.1.1). Bits come from the slice's `BitReader`, so the bit position
//! stays exact (I_PCM samples follow the last bit the engine read).

use super::bits::BitReader;
use super::tables::cabac::{CONTEXT_INIT, RANGE_TAB_LPS, TRANS_IDX_LPS, TRANS_IDX_MPS};

/// Context variables used by progressive 4:2:0 frames: ctxIdx 0..460.
pub const NUM_CTX: usize = 460;

pub struct Cabac {
    range: u32,
    offset: u32,
    /// Per ctxIdx: pStateIdx << 1 | valMPS.
    pub state: [u8; NUM_CTX],
}

impl Default for Cabac {
    fn default() -> Self {
        Cabac { range: 510, offset: 0, state: [0; NUM_CTX] }
    }
}

impl Cabac {
    /// 9.3.1.1: every context from (m, n) for the slice type / cabac_init_idc and SliceQPY.
    /// `column` is 0 for I slices, 1 + cabac_init_idc otherwise.
    pub fn init_contexts(&mut self, column: usize, slice_qp: i32) {
        let qp = slice_qp.clamp(0, 51);
        for (s, &(m, n)) in self.state.iter_mut().zip(CONTEXT_INIT[column.min(3)].iter()) {
            let pre = (((i32::from(m) * qp) >> 4) + i32::from(n)).clamp(1, 126);
            *s = if pre <= 63 { ((63 - pre) << 1) as u8 } else { (((pre - 64) << 1) | 1) as u8 };
        }
    }

    /// 9.3.1.2: initialisation of the decoding engine (9 bits).
    pub fn init_engine(&mut self, r: &mut BitReader) {
        self.range = 510;
        self.offset = r.peek(9);
        r.consume(9);
    }

    #[inline(always)]
    fn renorm(&mut self, r: &mut BitReader) {
        if self.range < 256 {
            let n = self.range.leading_zeros() - 23;
            self.range <<= n;
            self.offset = (self.offset << n) | r.peek(n);
            r.consume(n);
        }
    }

    /// DecodeDecision (9.3.3.2.1) with context `ctx`.
    #[inline(always)]
    pub fn decision(&mut self, r: &mut BitReader, ctx: usize) -> u32 {
        let Some(s) = self.state.get_mut(ctx) else { return 0 };
        let p = usize::from(*s >> 1);
        let mps = u32::from(*s & 1);
        let lps = u32::from(RANGE_TAB_LPS[p][((self.range >> 6) & 3) as usize]);
        self.range -= lps;
        let bin;
        if self.offset >= self.range {
            bin = mps ^ 1;
            self.offset -= self.range;
            self.range = lps;
            let flip = u8::from(p == 0);
            *s = (TRANS_IDX_LPS[p] << 1) | ((mps as u8) ^ flip);
        } else {
            bin = mps;
            *s = (TRANS_IDX_MPS[p] << 1) | mps as u8;
        }
        self.renorm(r);
        bin
    }

    /// DecodeBypass (9.3.3.2.3).
    #[inline(always)]
    pub fn bypass(&mut self, r: &mut BitReader) -> u32 {
        self.offset = (self.offset << 1) | r.peek(1);
        r.consume(1);
        if self.offset >= self.range {
            self.offset -= self.range;
            1
        } else {
            0
        }
    }

    /// DecodeTerminate (9.3.3.2.2.3): end_of_slice_flag and the I_PCM bin. After a 1 the
    /// bit reader stands just after the last bit of the arithmetic code.
    pub fn terminate(&mut self, r: &mut BitReader) -> u32 {
        self.range -= 2;
        if self.offset >= self.range {
            1
        } else {
            self.renorm(r);
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_init_follows_9_3_1_1() {
        let mut c = Cabac::default();
        c.init_contexts(0, 26);
        // ctxIdx 0: (m, n) = (20, -15): preCtxState = ((20 * 26) >> 4) - 15 = 17 -> pStateIdx 46, MPS 0.
        assert_eq!(c.state[0], 46 << 1);
        // ctxIdx 1: (2, 54): 3 + 54 = 57 -> pStateIdx 6, MPS 0.
        assert_eq!(c.state[1], 6 << 1);
        // ctxIdx 2: (3, 74): 4 + 74 = 78 -> pStateIdx 14, MPS 1.
        assert_eq!(c.state[2], (14 << 1) | 1);
    }

    #[test]
    fn bypass_reads_bits_when_range_is_maximal() {
        // With codIRange 510 and codIOffset < 510, bypass bins follow the offset's bits.
        let data = [0x00u8, 0x00, 0xff, 0xff, 0x80];
        let mut r = BitReader::new(&data);
        let mut c = Cabac::default();
        c.init_engine(&mut r);
        assert_eq!(c.bypass(&mut r), 0);
    }
}
