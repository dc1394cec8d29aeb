//! Bit reader over RBSP bytes (H.264 7.2): fixed-length, Exp-Golomb (9.1) and truncated
//! Exp-Golomb reads, each named after the syntax element it reads so that an error can say
//! which element was cut or out of range.
//!
//! The reader looks at the data through a 64-bit big-endian window loaded at the current
//! byte; reads past the end see zero bits and are reported as `Truncated` by the named
//! reads, so no input can make it panic.

use super::error::ErrorKind;

/// Reader over one RBSP (emulation prevention already removed, see `nal::unescape`).
#[derive(Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position of the next unread bit.
    pos: usize,
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
        BitReader { data, pos: 0, end }
    }

    /// A reader over all the bits of `data`, with no trailing stop bit (e.g. SEI payloads).
    pub fn new_raw(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0, end: data.len() * 8 }
    }

    #[inline(always)]
    fn window(&self) -> u64 {
        let i = self.pos >> 3;
        let w = match self.data.get(i..i + 8) {
            Some(s) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(s);
                u64::from_be_bytes(b)
            }
            None => {
                let mut b = [0u8; 8];
                for (k, v) in b.iter_mut().enumerate() {
                    *v = self.data.get(i + k).copied().unwrap_or(0);
                }
                u64::from_be_bytes(b)
            }
        };
        w << (self.pos & 7)
    }

    /// The next `n` (1..=32) bits, MSB first, without consuming them.
    #[inline(always)]
    pub fn peek(&self, n: u32) -> u32 {
        debug_assert!((1..=32).contains(&n));
        (self.window() >> (64 - n)) as u32
    }

    /// Consume `n` bits (after a `peek`).
    #[inline(always)]
    pub fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }

    /// Truncated when the last read went past the end of the payload.
    #[inline(always)]
    pub fn check(&self, element: &'static str) -> Result<(), ErrorKind> {
        if self.pos > self.end {
            Err(ErrorKind::Truncated { element })
        } else {
            Ok(())
        }
    }

    /// u(n), n in 0..=32.
    #[inline(always)]
    pub fn u(&mut self, n: u32, element: &'static str) -> Result<u32, ErrorKind> {
        if n == 0 {
            return Ok(0);
        }
        let v = self.peek(n);
        self.pos += n as usize;
        self.check(element)?;
        Ok(v)
    }

    /// u(1) as a flag.
    #[inline(always)]
    pub fn flag(&mut self, element: &'static str) -> Result<bool, ErrorKind> {
        Ok(self.u(1, element)? != 0)
    }

    /// ue(v), 9.1. Values up to 2^32 - 2.
    #[inline(always)]
    pub fn ue(&mut self, element: &'static str) -> Result<u32, ErrorKind> {
        let w = self.window();
        let lz = w.leading_zeros();
        if lz <= 27 {
            // The whole codeword (2 * lz + 1 <= 55 bits) lies inside the window.
            let len = 2 * lz + 1;
            let v = (w >> (64 - len)) as u32 - 1;
            self.pos += len as usize;
            self.check(element)?;
            Ok(v)
        } else if lz < 32 {
            self.pos += lz as usize + 1;
            let info = self.u(lz, element)?;
            Ok(((1u32 << lz) - 1) + info)
        } else {
            let truncated = self.pos + lz as usize > self.end;
            self.pos = self.end + 1;
            Err(if truncated {
                ErrorKind::Truncated { element }
            } else {
                ErrorKind::OutOfRange { element, value: i64::from(lz) }
            })
        }
    }

    /// ue(v) checked against an inclusive maximum.
    #[inline(always)]
    pub fn ue_max(&mut self, max: u32, element: &'static str) -> Result<u32, ErrorKind> {
        let v = self.ue(element)?;
        if v > max {
            return Err(ErrorKind::OutOfRange { element, value: i64::from(v) });
        }
        Ok(v)
    }

    /// se(v), 9.1.1.
    #[inline(always)]
    pub fn se(&mut self, element: &'static str) -> Result<i32, ErrorKind> {
        let k = self.ue(element)?;
        let m = (k >> 1) as i32 + (k & 1) as i32;
        Ok(if k & 1 == 1 { m } else { -m })
    }

    /// se(v) checked against an inclusive range.
    #[inline(always)]
    pub fn se_range(&mut self, min: i32, max: i32, element: &'static str) -> Result<i32, ErrorKind> {
        let v = self.se(element)?;
        if v < min || v > max {
            return Err(ErrorKind::OutOfRange { element, value: i64::from(v) });
        }
        Ok(v)
    }

    /// te(v) with range `max` >= 1, 9.1 (a single inverted bit when max == 1).
    #[inline(always)]
    pub fn te(&mut self, max: u32, element: &'static str) -> Result<u32, ErrorKind> {
        if max == 1 {
            Ok(1 - self.u(1, element)?)
        } else {
            self.ue_max(max, element)
        }
    }

    /// more_rbsp_data(), 7.2.
    #[inline(always)]
    pub fn more_rbsp_data(&self) -> bool {
        self.pos < self.end
    }

    /// byte_aligned(), 7.2.
    pub fn byte_aligned(&self) -> bool {
        self.pos & 7 == 0
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits of payload left before the stop bit (0 once past it).
    pub fn bits_left(&self) -> usize {
        self.end.saturating_sub(self.pos)
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
