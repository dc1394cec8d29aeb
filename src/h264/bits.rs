//! Bit reader over RBSP bytes (H.264 7.2): fixed-length, Exp-Golomb (9.1) and truncated
//! Exp-Golomb reads, each named after the syntax element it reads so that an error can say
//! which element was cut or out of range.
//!
//! The reader looks at the data through a 64-bit big-endian window loaded at the current
//! byte; reads past the end see zero bits and are reported as `Truncated` by the named
//! reads, so no input can make it panic.

use super::error::{ErrorKind, Fail};

/// Reader over one RBSP (emulation prevention already removed, see `nal::unescape`).
#[derive(Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into the cache (may run past the end: zeros).
    next: usize,
    /// The next bits of the stream, first bit in the MSB.
    cache: u64,
    /// Number of valid bits in `cache` (at most 63).
    avail: u32,
    /// Number of bits of payload: position of the rbsp_stop_one_bit, or the data length.
    end: usize,
}

impl<'a> BitReader<'a> {
    /// A reader whose payload ends at the rbsp_stop_one_bit (the last set bit, 7.3.2.11).
    pub fn new(data: &'a [u8]) -> Self {
        let end = match data.iter().rposition(|&b| b != 0) {
            Some(i) => i * 8 + 7 - data[i].trailing_zeros() as usize,
            None => 0,
        };
        BitReader { data, next: 0, cache: 0, avail: 0, end }
    }

    /// Tops the cache up to at least 56 valid bits.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(s) = self.data.get(self.next..self.next + 8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            self.cache |= u64::from_be_bytes(b) >> self.avail;
            let n = (63 - self.avail) >> 3;
            self.next += n as usize;
            self.avail += n * 8;
        } else {
            while self.avail <= 56 {
                let b = self.data.get(self.next).copied().unwrap_or(0);
                self.cache |= u64::from(b) << (56 - self.avail);
                self.avail += 8;
                self.next += 1;
            }
        }
    }

    /// The next `n` (1..=32) bits, MSB first, without consuming them.
    #[inline(always)]
    pub fn peek(&mut self, n: u32) -> u32 {
        debug_assert!((1..=32).contains(&n));
        if self.avail < n {
            self.refill();
        }
        (self.cache >> (64 - n)) as u32
    }

    /// The next `n` (1..=56) bits, MSB first, consumed; zeros past the end (the caller
    /// checks for truncation).
    #[inline(always)]
    pub fn take_bits(&mut self, n: u32) -> u64 {
        debug_assert!((1..=56).contains(&n));
        if self.avail < n {
            self.refill();
        }
        let v = self.cache >> (64 - n);
        self.consume(n);
        v
    }

    /// Consume `n` bits.
    #[inline(always)]
    pub fn skip(&mut self, mut n: usize) {
        if n <= self.avail as usize {
            self.consume(n as u32);
            return;
        }
        n -= self.avail as usize;
        self.cache = 0;
        self.avail = 0;
        // Whole bytes directly, the rest through the cache.
        // Past the end everything reads as zero; clamping keeps position() from overflowing.
        self.next = self.next.saturating_add(n / 8).min(self.data.len() + 16);
        if n % 8 != 0 {
            self.refill();
            self.consume((n % 8) as u32);
        }
    }

    /// Drops `n` bits after a `peek(m)` with m >= n. Unchecked: the caller checks for
    /// truncation later (`check`), as the hot residual loop does once per block.
    #[inline(always)]
    pub fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.avail);
        self.cache = if n >= 64 { 0 } else { self.cache << n };
        self.avail -= n;
    }

    /// Truncated when the last read went past the end of the payload.
    #[inline(always)]
    pub fn check(&self, element: &'static str) -> Result<(), Fail> {
        if self.position() > self.end {
            Err(Box::new(ErrorKind::Truncated { element }))
        } else {
            Ok(())
        }
    }

    /// u(n), n in 0..=32.
    #[inline(always)]
    pub fn u(&mut self, n: u32, element: &'static str) -> Result<u32, Fail> {
        if n == 0 {
            return Ok(0);
        }
        let v = self.peek(n);
        self.consume(n);
        self.check(element)?;
        Ok(v)
    }

    /// u(1) as a flag.
    #[inline(always)]
    pub fn flag(&mut self, element: &'static str) -> Result<bool, Fail> {
        Ok(self.u(1, element)? != 0)
    }

    /// ue(v), 9.1. Values up to 2^32 - 2.
    #[inline(always)]
    pub fn ue(&mut self, element: &'static str) -> Result<u32, Fail> {
        let w = self.peek(32);
        let lz = w.leading_zeros();
        if lz < 16 {
            // The whole codeword (2 * lz + 1 <= 31 bits) is in `w`.
            let len = 2 * lz + 1;
            self.consume(len);
            self.check(element)?;
            Ok((w >> (32 - len)) - 1)
        } else if lz < 32 {
            self.consume(lz + 1);
            let info = self.u(lz, element)?;
            Ok(((1u32 << lz) - 1) + info)
        } else {
            // 32 or more leading zeros: beyond u32, or the data ended.
            let truncated = self.position() + 32 > self.end;
            self.skip(self.end + 1 - self.position().min(self.end));
            Err(Box::new(if truncated {
                ErrorKind::Truncated { element }
            } else {
                ErrorKind::OutOfRange { element, value: 32 }
            }))
        }
    }

    /// ue(v) checked against an inclusive maximum.
    #[inline(always)]
    pub fn ue_max(&mut self, max: u32, element: &'static str) -> Result<u32, Fail> {
        let v = self.ue(element)?;
        if v > max {
            return Err(Box::new(ErrorKind::OutOfRange { element, value: i64::from(v) }));
        }
        Ok(v)
    }

    /// se(v), 9.1.1.
    #[inline(always)]
    pub fn se(&mut self, element: &'static str) -> Result<i32, Fail> {
        let k = self.ue(element)?;
        let m = (k >> 1) as i32 + (k & 1) as i32;
        Ok(if k & 1 == 1 { m } else { -m })
    }

    /// se(v) checked against an inclusive range.
    #[inline(always)]
    pub fn se_range(&mut self, min: i32, max: i32, element: &'static str) -> Result<i32, Fail> {
        let v = self.se(element)?;
        if v < min || v > max {
            return Err(Box::new(ErrorKind::OutOfRange { element, value: i64::from(v) }));
        }
        Ok(v)
    }

    /// te(v) with range `max` >= 1, 9.1 (a single inverted bit when max == 1).
    #[inline(always)]
    pub fn te(&mut self, max: u32, element: &'static str) -> Result<u32, Fail> {
        if max == 1 {
            Ok(1 - self.u(1, element)?)
        } else {
            self.ue_max(max, element)
        }
    }

    /// Whether bit `pos` lies past the rbsp_stop_one_bit (CABAC reads the stop bit itself).
    pub fn overrun_at(&self, pos: usize) -> bool {
        pos > self.end + 1
    }

    /// Moves to bit `pos` (back or forth), e.g. to where an arithmetic decoder stopped.
    pub fn seek(&mut self, pos: usize) {
        self.next = (pos / 8).min(self.data.len() + 16);
        self.cache = 0;
        self.avail = 0;
        self.skip(pos % 8);
    }

    /// more_rbsp_data(), 7.2.
    #[inline(always)]
    pub fn more_rbsp_data(&self) -> bool {
        self.position() < self.end
    }

    /// byte_aligned(), 7.2.
    pub fn byte_aligned(&self) -> bool {
        self.position() & 7 == 0
    }

    /// Bits read so far.
    #[inline(always)]
    pub fn position(&self) -> usize {
        self.next * 8 - self.avail as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes bits MSB first, the reference the reader is checked against.
    struct Writer {
        bytes: Vec<u8>,
        bits: usize,
    }
    impl Writer {
        fn new() -> Self {
            Writer { bytes: Vec::new(), bits: 0 }
        }
        fn put(&mut self, v: u64, n: u32) {
            for i in (0..n).rev() {
                if self.bits % 8 == 0 {
                    self.bytes.push(0);
                }
                if (v >> i) & 1 == 1 {
                    let last = self.bytes.len() - 1;
                    self.bytes[last] |= 0x80 >> (self.bits % 8);
                }
                self.bits += 1;
            }
        }
        fn ue(&mut self, v: u32) {
            let x = u64::from(v) + 1;
            let len = 64 - x.leading_zeros();
            self.put(0, len - 1);
            self.put(x, len);
        }
        fn finish(mut self) -> Vec<u8> {
            self.put(1, 1); // rbsp_stop_one_bit
            self.bytes
        }
    }

    #[derive(Debug, Clone)]
    enum Item {
        U(u32, u32),
        Ue(u32),
        Se(i32),
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            (1u32..=32).prop_flat_map(|n| (Just(n), 0..=(u32::MAX >> (32 - n)))).prop_map(|(n, v)| Item::U(n, v)),
            any::<u32>().prop_map(|v| Item::Ue(v.min(u32::MAX - 1))),
            (-(1i32 << 30)..(1i32 << 30)).prop_map(Item::Se),
        ]
    }

    proptest! {
        #[test]
        fn reads_back_what_was_written(items in proptest::collection::vec(item(), 1..60)) {
            let mut w = Writer::new();
            for it in &items {
                match *it {
                    Item::U(n, v) => w.put(u64::from(v), n),
                    Item::Ue(v) => w.ue(v),
                    Item::Se(v) => w.ue(if v > 0 { 2 * v as u32 - 1 } else { (-2 * i64::from(v)) as u32 }),
                }
            }
            let data = w.finish();
            let mut r = BitReader::new(&data);
            for it in &items {
                match *it {
                    Item::U(n, v) => prop_assert_eq!(r.u(n, "u").unwrap(), v),
                    Item::Ue(v) => prop_assert_eq!(r.ue("ue").unwrap(), v),
                    Item::Se(v) => prop_assert_eq!(r.se("se").unwrap(), v),
                }
            }
            prop_assert!(!r.more_rbsp_data());
            prop_assert!(r.u(1, "past_end").is_err());
        }

        #[test]
        fn never_panics_on_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = BitReader::new(&data);
            for _ in 0..200 {
                let _ = r.ue("x");
                let _ = r.se("y");
                let _ = r.u(13, "z");
            }
        }
    }

    #[test]
    fn stop_bit_ends_payload() {
        let data = [0b1010_0000u8, 0x80, 0x00];
        let mut r = BitReader::new(&data);
        assert_eq!(r.u(3, "a").unwrap(), 0b101);
        assert!(r.more_rbsp_data());
        assert_eq!(r.u(5, "b").unwrap(), 0);
        assert!(!r.more_rbsp_data());
    }

    #[test]
    fn long_zero_run_is_an_error_not_a_hang() {
        let data = [0u8; 16];
        let mut r = BitReader::new(&data);
        assert!(r.ue("big").is_err());
    }
}
