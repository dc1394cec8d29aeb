//! The CABAC arithmetic decoding engine (H.264 9.3.1.2, 9.3.3.2) and context
//! initialisation (9.3.1.1). Bits come from the slice's `BitReader`, so the bit position
//! stays exact (I_PCM samples follow the last bit the engine read).

use super::bits::BitReader;
use super::tables::cabac::{CONTEXT_INIT, RANGE_TAB_LPS, TRANS_IDX_LPS, TRANS_IDX_MPS};

/// Context variables used by progressive 4:2:0 frames: ctxIdx 0..460.
pub const NUM_CTX: usize = 460;

/// Table 9-45 as one transition per index (pStateIdx << 1 | valMPS) << 1 | (bin was LPS),
/// with the valMPS flip of an LPS in state 0. Flat and power-of-two sized, so that a masked
/// index needs no bounds check.
static NEXT_STATE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut s = 0;
    while s < 128 {
        let (p, mps) = (s >> 1, (s & 1) as u8);
        t[s << 1] = (TRANS_IDX_MPS[p] << 1) | mps;
        t[(s << 1) | 1] = (TRANS_IDX_LPS[p] << 1) | (mps ^ (p == 0) as u8);
        s += 1;
    }
    t
};

/// Table 9-44 by qCodIRangeIdx << 7 | (pStateIdx << 1 | valMPS), flat like NEXT_STATE,
/// each rangeTabLPS at the scale of `Engine::range`.
static LPS_RANGE: [Word; 512] = {
    let mut t = [0 as Word; 512];
    let mut i = 0;
    while i < 512 {
        t[i] = (RANGE_TAB_LPS[(i & 127) >> 1][i >> 7] as Word) << PRELOAD;
        i += 1;
    }
    t
};

/// The register that holds codIOffset and the bits loaded ahead of it: as wide as the
/// machine's, so that 64-bit targets load 32 bits at a time (armv7 16).
#[cfg(target_pointer_width = "64")]
type Word = u64;
#[cfg(not(target_pointer_width = "64"))]
type Word = u32;

/// Position of codIOffset in `Engine::value`: the room for bits loaded ahead.
const PRELOAD: u32 = Word::BITS - 16;
/// Bits loaded at a time: all the room under codIOffset (48 on 64-bit targets, 16 on 32-bit).
const LOAD: u32 = PRELOAD;

/// The arithmetic decoder's registers. Small and `Copy`, so that hot loops can keep a
/// local copy in machine registers and write it back once (`Cabac::engine`).
#[derive(Clone, Copy, Debug)]
pub struct Engine {
    /// codIRange << PRELOAD: at the scale of codIOffset in `value`, so that the two compare
    /// without a shift, and its leading zeros are the renormalisation shift.
    range: Word,
    /// codIOffset << PRELOAD, with the next stream bits (`avail` of them)
    /// below it: renormalisation shifts bits in without going back to the reader.
    value: Word,
    /// Valid preloaded bits under codIOffset (may go negative before a refill).
    avail: isize,
}

impl Engine {
    #[inline(always)]
    fn refill(&mut self, r: &mut BitReader) {
        if self.avail < 0 {
            (self.value, self.avail) = loaded(self.value, self.avail, r);
        }
    }

    /// The engine after a refill (`loaded`), for its initialisation.
    fn load(mut self, r: &mut BitReader) -> Engine {
        (self.value, self.avail) = loaded(self.value, self.avail, r);
        self
    }

    #[inline(always)]
    fn renorm(&mut self, r: &mut BitReader) {
        // 9.3.3.2.2: shift until codIRange >= 256, i.e. until its top bit is bit PRELOAD + 8
        // (7 leading zeros in both word sizes). `| 1` tells the compiler the word is not 0.
        let n = (self.range | 1).leading_zeros() - 7;
        self.range <<= n;
        self.value <<= n;
        self.avail -= n as isize;
        self.refill(r);
    }

    /// DecodeDecision (9.3.3.2.1) with the context variable `s` (pStateIdx << 1 | valMPS),
    /// without branches on the decoded bin (they would be unpredictable).
    #[inline(always)]
    pub fn decision(&mut self, r: &mut BitReader, s: &mut u8) -> u32 {
        let st = usize::from(*s & 127);
        // ((codIRange >> 6) & 3) << 7 is qCodIRangeIdx at its place in LPS_RANGE.
        let lps = LPS_RANGE[((self.range >> (PRELOAD - 1)) as usize & 0x180) | st];
        let rmps = self.range - lps;
        let is_lps = self.value >= rmps;
        self.value -= rmps & (0 as Word).wrapping_sub(Word::from(is_lps));
        self.range = if is_lps { lps } else { rmps };
        *s = NEXT_STATE[(st << 1) | usize::from(is_lps)];
        self.renorm(r);
        (st as u32 & 1) ^ u32::from(is_lps)
    }

    /// DecodeBypass (9.3.3.2.3).
    #[inline(always)]
    pub fn bypass(&mut self, r: &mut BitReader) -> u32 {
        self.bypass_mask(r) & 1
    }

    /// DecodeBypass as a mask: all ones for 1, 0 for 0, without a branch (for signs, which
    /// are unpredictable): `(x ^ m) - m` negates x when the bin is 1.
    #[inline(always)]
    pub fn bypass_mask(&mut self, r: &mut BitReader) -> u32 {
        self.value <<= 1;
        self.avail -= 1;
        self.refill(r);
        let one = self.value >= self.range;
        self.value -= self.range & (0 as Word).wrapping_sub(Word::from(one));
        0u32.wrapping_sub(u32::from(one))
    }
}

pub struct Cabac {
    pub engine: Engine,
    /// Per ctxIdx: pStateIdx << 1 | valMPS.
    pub state: [u8; NUM_CTX],
}

/// `value` and `avail` after loading the next LOAD bits under codIOffset. Out of line:
/// taken once per LOAD bits, and the reader's code would crowd the registers of the hot
/// loops that inline `decision`. Two words in, two out, so that they pass in registers
/// (a `&mut Engine` here would pin the engine to memory, and an `Engine` by value went
/// through memory as well).
#[inline(never)]
fn loaded(value: Word, avail: isize, r: &mut BitReader) -> (Word, isize) {
    // With avail < 0 the low -avail bits of codIOffset are missing too.
    (value | ((r.take_bits(LOAD) as Word) << -avail), avail + LOAD as isize)
}

impl Default for Cabac {
    fn default() -> Self {
        Cabac { engine: Engine { range: 510 << PRELOAD, value: 0, avail: 0 }, state: [0; NUM_CTX] }
    }
}

/// The engine in a local beside the context states, written back when dropped. Decisions
/// through `&mut Cabac` reload codIRange and codIOffset after each state store (the
/// compiler cannot tell that the store misses them); through `Bins` they stay in registers.
pub struct Bins<'a> {
    e: Engine,
    st: &'a mut [u8; NUM_CTX],
    home: &'a mut Engine,
}

impl Bins<'_> {
    /// DecodeDecision with context `ctx`.
    #[inline(always)]
    pub fn d(&mut self, r: &mut BitReader, ctx: usize) -> u32 {
        match self.st.get_mut(ctx) {
            Some(s) => self.e.decision(r, s),
            None => 0,
        }
    }
}

impl Drop for Bins<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        *self.home = self.e;
    }
}

impl Cabac {
    /// The engine and the states as `Bins`, for a run of decisions.
    #[inline(always)]
    pub fn bins(&mut self) -> Bins<'_> {
        let Cabac { engine, state } = self;
        Bins { e: *engine, st: state, home: engine }
    }

    /// 9.3.1.1: every context from (m, n) for the slice type / cabac_init_idc and SliceQPY.
    /// `column` is 0 for I slices, 1 + cabac_init_idc otherwise.
    pub fn init_contexts(&mut self, column: usize, slice_qp: i32) {
        let qp = slice_qp.clamp(0, 51);
        for (s, &(m, n)) in self.state.iter_mut().zip(CONTEXT_INIT[column.min(3)].iter()) {
            let pre = (((i32::from(m) * qp) >> 4) + i32::from(n)).clamp(1, 126);
            *s = if pre <= 63 { ((63 - pre) << 1) as u8 } else { (((pre - 64) << 1) | 1) as u8 };
        }
    }

    /// 9.3.1.2: initialisation of the decoding engine (9 bits, plus the preload).
    pub fn init_engine(&mut self, r: &mut BitReader) {
        let offset = r.peek(9);
        r.consume(9);
        self.engine = Engine { range: 510 << PRELOAD, value: Word::from(offset) << PRELOAD, avail: 0 }.load(r);
    }

    /// The bit position of the arithmetic decoder in the reader (bits it has really used).
    pub fn position(&self, r: &BitReader) -> usize {
        r.position().saturating_sub(self.engine.avail.max(0) as usize)
    }

    /// DecodeDecision with context `ctx`.
    #[inline(always)]
    pub fn decision(&mut self, r: &mut BitReader, ctx: usize) -> u32 {
        match self.state.get_mut(ctx) {
            Some(s) => self.engine.decision(r, s),
            None => 0,
        }
    }

    /// DecodeBypass.
    #[inline(always)]
    pub fn bypass(&mut self, r: &mut BitReader) -> u32 {
        self.engine.bypass(r)
    }

    /// DecodeTerminate (9.3.3.2.2.3): end_of_slice_flag and the I_PCM bin. After a 1 the
    /// decoder's position (`position`) is just after the last bit of the arithmetic code.
    pub fn terminate(&mut self, r: &mut BitReader) -> u32 {
        let e = &mut self.engine;
        e.range -= 2 << PRELOAD;
        if e.value >= e.range {
            1
        } else {
            e.renorm(r);
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
