//! NAL units (H.264 7.3.1, 7.4.1), the Annex-B byte stream (Annex B) and the AVCC
//! length-prefixed format, and emulation-prevention removal.

use super::error::ErrorKind;

/// The largest NAL unit the splitter keeps. A 4K intra picture at the highest level fits;
/// anything larger is garbage and is dropped so that memory stays bounded.
pub const MAX_NAL_SIZE: usize = 32 << 20;

/// nal_unit_type values used by the parser (Table 7-1).
pub mod nal_type {
    pub const SLICE: u8 = 1;
    pub const SLICE_DPA: u8 = 2;
    pub const SLICE_DPB: u8 = 3;
    pub const SLICE_DPC: u8 = 4;
    pub const SLICE_IDR: u8 = 5;
    pub const SEI: u8 = 6;
    pub const SPS: u8 = 7;
    pub const PPS: u8 = 8;
    pub const AUD: u8 = 9;
    pub const END_OF_SEQUENCE: u8 = 10;
    pub const END_OF_STREAM: u8 = 11;
    pub const FILLER: u8 = 12;
    pub const SPS_EXT: u8 = 13;
    pub const PREFIX: u8 = 14;
    pub const SUBSET_SPS: u8 = 15;
    pub const SLICE_AUX: u8 = 19;
    pub const SLICE_EXT: u8 = 20;
    pub const SLICE_EXT_3D: u8 = 21;
}

/// nal_unit_header, 7.3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalHeader {
    pub nal_ref_idc: u8,
    pub nal_unit_type: u8,
}

impl NalHeader {
    pub fn parse(nal: &[u8]) -> Result<NalHeader, ErrorKind> {
        let b = *nal.first().ok_or(ErrorKind::BadNalHeader { detail: "empty NAL unit" })?;
        if b & 0x80 != 0 {
            return Err(ErrorKind::BadNalHeader { detail: "forbidden_zero_bit is 1" });
        }
        Ok(NalHeader { nal_ref_idc: (b >> 5) & 3, nal_unit_type: b & 0x1f })
    }

    /// Length of the header: 1 byte, plus 3 for the SVC/MVC/3D extensions (7.3.1).
    pub fn len(&self) -> usize {
        match self.nal_unit_type {
            nal_type::PREFIX | nal_type::SLICE_EXT | nal_type::SLICE_EXT_3D => 4,
            _ => 1,
        }
    }
}

/// Removes emulation_prevention_three_byte (7.4.1): every 0x03 that follows two zero
/// bytes. `out` is cleared and reused, so a stream is parsed without allocating per unit.
pub fn unescape(escaped: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(escaped.len());
    let mut zeros = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < escaped.len() {
        // Eight bytes at a time while none is zero: no emulation byte can end in them (it
        // needs two zeros before it), and they leave no zeros pending. Coded slice data
        // has few zero bytes, so most of a unit takes this path.
        if zeros < 2 {
            if let Some(w) = escaped.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
                let w = u64::from_le_bytes(w);
                if w.wrapping_sub(0x0101_0101_0101_0101) & !w & 0x8080_8080_8080_8080 == 0 {
                    zeros = 0;
                    i += 8;
                    continue;
                }
            }
        }
        let b = escaped[i];
        if zeros >= 2 && b == 3 {
            out.extend_from_slice(&escaped[start..i]);
            start = i + 1;
            zeros = 0;
        } else if b == 0 {
            zeros += 1;
        } else {
            zeros = 0;
        }
        i += 1;
    }
    out.extend_from_slice(&escaped[start..]);
}

/// One NAL unit found in a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalRef<'a> {
    /// The unit's bytes (header + escaped payload, trailing zero bytes removed).
    pub data: &'a [u8],
    /// Byte offset of `data[0]` in the stream.
    pub offset: u64,
}

/// Splits an Annex-B byte stream into NAL units. Push the stream in chunks of any size;
/// the units and their offsets are the same however the stream is cut.
#[derive(Default)]
pub struct AnnexBSplitter {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Start of the current unit in `buf` (just after its start code), if one has begun.
    unit_start: Option<usize>,
    /// How far `buf` has been scanned for start codes.
    scanned: usize,
    /// The current unit grew past MAX_NAL_SIZE: drop bytes until the next start code.
    overflow: bool,
    /// Units dropped because they were larger than MAX_NAL_SIZE.
    pub dropped_oversized: u64,
}

impl AnnexBSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and calls `f` for each unit completed by them.
    pub fn push(&mut self, chunk: &[u8], mut f: impl FnMut(NalRef<'_>)) {
        self.buf.extend_from_slice(chunk);
        // A start code is 00 00 01; scan for the 01 with two zeros before it.
        let mut i = self.scanned.max(2);
        while i < self.buf.len() {
            let b = self.buf[i];
            if b > 1 {
                i += 3;
                continue;
            }
            if b == 1 && self.buf[i - 1] == 0 && self.buf[i - 2] == 0 {
                let code_start = i - 2;
                if let Some(s) = self.unit_start {
                    if !self.overflow {
                        self.emit(s, code_start, &mut f);
                    }
                }
                self.overflow = false;
                self.unit_start = Some(i + 1);
                i += 3;
                continue;
            }
            i += 1;
        }
        self.scanned = i.min(self.buf.len());
        self.compact();
    }

    /// Ends the stream: the last unit is complete.
    pub fn finish(&mut self, mut f: impl FnMut(NalRef<'_>)) {
        if let Some(s) = self.unit_start.take() {
            if !self.overflow {
                let end = self.buf.len();
                self.emit(s, end, &mut f);
            }
        }
        self.buf_offset += self.buf.len() as u64;
        self.buf.clear();
        self.scanned = 0;
        self.overflow = false;
    }

    fn emit(&self, start: usize, end: usize, f: &mut impl FnMut(NalRef<'_>)) {
        let mut e = end;
        // trailing_zero_8bits and the leading zero of a 4-byte start code (B.2).
        while e > start && self.buf[e - 1] == 0 {
            e -= 1;
        }
        if e > start {
            f(NalRef { data: &self.buf[start..e], offset: self.buf_offset + start as u64 });
        }
    }

    /// Drops bytes no longer needed, keeping memory bounded.
    fn compact(&mut self) {
        let keep_from = match self.unit_start {
            Some(s) => {
                if self.buf.len() - s > MAX_NAL_SIZE && !self.overflow {
                    self.overflow = true;
                    self.dropped_oversized += 1;
                }
                if self.overflow {
                    // Keep two bytes: a start code may straddle the chunk boundary.
                    self.buf.len().saturating_sub(2)
                } else {
                    s
                }
            }
            None => self.buf.len().saturating_sub(2),
        };
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.buf_offset += keep_from as u64;
            self.scanned = self.scanned.saturating_sub(keep_from);
            self.unit_start = self.unit_start.map(|s| s.saturating_sub(keep_from));
        }
    }
}

/// Splits AVCC / ISO BMFF sample data: NAL units each preceded by a big-endian length of
/// `length_size` (1, 2 or 4) bytes. Stops with an error at a length that overruns the data.
pub fn split_avcc(
    data: &[u8],
    length_size: usize,
    mut f: impl FnMut(NalRef<'_>),
) -> Result<(), ErrorKind> {
    if !matches!(length_size, 1 | 2 | 4) {
        return Err(ErrorKind::OutOfRange { element: "lengthSizeMinusOne", value: length_size as i64 - 1 });
    }
    let mut pos = 0usize;
    while pos < data.len() {
        let len_bytes = data
            .get(pos..pos + length_size)
            .ok_or(ErrorKind::Truncated { element: "NALUnitLength" })?;
        let len = len_bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        pos += length_size;
        let unit = data.get(pos..pos + len).ok_or(ErrorKind::Truncated { element: "NALUnitLength" })?;
        if !unit.is_empty() {
            f(NalRef { data: unit, offset: pos as u64 });
        }
        pos += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(stream: &[u8], chunk: usize) -> Vec<(Vec<u8>, u64)> {
        let mut s = AnnexBSplitter::new();
        let mut out = Vec::new();
        for c in stream.chunks(chunk.max(1)) {
            s.push(c, |n| out.push((n.data.to_vec(), n.offset)));
        }
        s.finish(|n| out.push((n.data.to_vec(), n.offset)));
        out
    }

    #[test]
    fn finds_units_and_offsets() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 0, 0, 3, 1];
        let units = split_all(&stream, 1000);
        assert_eq!(
            units,
            vec![(vec![0x67, 1, 2], 4), (vec![0x68, 3], 10), (vec![0x65, 0, 0, 3, 1], 17)]
        );
    }

    proptest! {
        #[test]
        fn same_units_however_the_stream_is_cut(
            units in proptest::collection::vec(proptest::collection::vec(1u8..=255, 1..40), 1..12),
            zeros in proptest::collection::vec(0usize..3, 12),
            chunk in 1usize..50,
        ) {
            let mut stream = Vec::new();
            for (i, u) in units.iter().enumerate() {
                stream.extend(std::iter::repeat(0).take(zeros[i]));
                stream.extend_from_slice(&[0, 0, 1]);
                stream.extend_from_slice(u);
            }
            let whole = split_all(&stream, stream.len());
            let cut = split_all(&stream, chunk);
            prop_assert_eq!(&whole, &cut);
            let got: Vec<Vec<u8>> = whole.into_iter().map(|(d, _)| d).collect();
            prop_assert_eq!(got, units);
        }

        #[test]
        fn unescape_removes_only_emulation_bytes(data in proptest::collection::vec(0u8..4, 0..100)) {
            // Escape as an encoder would (7.4.1), then unescape.
            let mut esc = Vec::new();
            let mut zeros = 0;
            for &b in &data {
                if zeros >= 2 && b <= 3 {
                    esc.push(3);
                    zeros = 0;
                }
                esc.push(b);
                zeros = if b == 0 { zeros + 1 } else { 0 };
            }
            let mut out = Vec::new();
            unescape(&esc, &mut out);
            prop_assert_eq!(out, data);
        }
    }

    #[test]
    fn avcc_lengths() {
        let data = [0, 0, 0, 2, 0x67, 1, 0, 0, 0, 1, 0x68];
        let mut got = Vec::new();
        split_avcc(&data, 4, |n| got.push(n.data.to_vec())).unwrap();
        assert_eq!(got, vec![vec![0x67, 1], vec![0x68]]);
        assert!(split_avcc(&[0, 0, 0, 9, 1], 4, |_| {}).is_err());
    }
}
