//! NumPy `.npz` files (a zip of `.npy` arrays, format 1.0), written byte-identically for
//! identical contents: stored entries, fixed timestamps.

use std::io::{self, Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// An array's element type, as a NumPy `descr`.
pub trait Element: Copy {
    const DESCR: &'static str;
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DESCR: &'static str = $d;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
element!(u8, "|u1");
element!(i16, "<i2");
element!(i32, "<i4");
element!(i64, "<i8");
element!(u64, "<u8");

/// Writes arrays into an `.npz`.
pub struct NpzWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    buf: Vec<u8>,
}

impl<W: Write + Seek> NpzWriter<W> {
    pub fn new(w: W) -> Self {
        NpzWriter { zip: ZipWriter::new(w), buf: Vec::new() }
    }

    /// Array `name` of `shape` (C order); `data.len()` must be the product of `shape`.
    pub fn array<T: Element>(&mut self, name: &str, shape: &[usize], data: &[T]) -> io::Result<()> {
        if shape.iter().product::<usize>() != data.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: shape {shape:?} does not hold {} elements", data.len())));
        }
        self.buf.clear();
        header(&mut self.buf, T::DESCR, shape);
        self.buf.reserve(std::mem::size_of_val(data));
        for &v in data {
            v.put(&mut self.buf);
        }
        self.entry(name)
    }

    /// A 0-d unicode string array (NumPy `<U`n), e.g. a label.
    pub fn string(&mut self, name: &str, s: &str) -> io::Result<()> {
        self.buf.clear();
        header(&mut self.buf, &format!("<U{}", s.chars().count().max(1)), &[]);
        for c in s.chars() {
            self.buf.extend_from_slice(&(c as u32).to_le_bytes());
        }
        if s.is_empty() {
            self.buf.extend_from_slice(&[0; 4]);
        }
        self.entry(name)
    }

    fn entry(&mut self, name: &str) -> io::Result<()> {
        let opts = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::default())
            .unix_permissions(0o644)
            .large_file(self.buf.len() >= u32::MAX as usize);
        self.zip.start_file(format!("{name}.npy"), opts).map_err(io::Error::other)?;
        self.zip.write_all(&self.buf)
    }

    /// Writes the zip's directory; returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        self.zip.finish().map_err(io::Error::other)
    }
}

/// The `.npy` 1.0 header: magic, version, length, the dict padded so that the data starts
/// at a multiple of 64 bytes.
fn header(out: &mut Vec<u8>, descr: &str, shape: &[usize]) {
    let dims = match shape {
        [] => String::new(),
        [n] => format!("{n},"),
        _ => shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    let total = 10 + dict.len() + 1;
    dict.extend(std::iter::repeat_n(' ', total.next_multiple_of(64) - total));
    dict.push('\n');
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_names_the_layout() {
        let mut h = Vec::new();
        header(&mut h, "<i2", &[3, 2, 4, 5]);
        assert_eq!(h.len() % 64, 0);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.starts_with("{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2, 4, 5), }"), "{text}");
        assert!(text.ends_with('\n'));
        let mut h = Vec::new();
        header(&mut h, "<i8", &[7]);
        assert!(String::from_utf8_lossy(&h).contains("'shape': (7,)"));
    }

    #[test]
    fn identical_contents_give_identical_bytes() {
        let write = || {
            let mut w = NpzWriter::new(io::Cursor::new(Vec::new()));
            w.array("a", &[2, 3], &[1i16, -2, 3, -4, 5, -6]).unwrap();
            w.string("label", "walk").unwrap();
            w.finish().unwrap().into_inner()
        };
        assert_eq!(write(), write());
        let mut w = NpzWriter::new(io::Cursor::new(Vec::new()));
        assert!(w.array("a", &[2, 2], &[1u8; 3]).is_err());
    }
}
