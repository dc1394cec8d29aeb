//! AnnexBSplitter: the same units and offsets however the stream is cut, and the same as
//! a naive reference split; `unescape` and `NalHeader::parse` never panic.
//!
//! Input: [n][n chunk sizes (used in turn, 0 = an empty push)][stream].
#![no_main]

use gopwatch::h264::nal::{unescape, AnnexBSplitter, NalHeader};
use libfuzzer_sys::fuzz_target;

type Units = Vec<(Vec<u8>, u64)>;

fn split(stream: &[u8], sizes: &[usize]) -> Units {
    let mut s = AnnexBSplitter::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < stream.len() {
        let n = sizes[k % sizes.len()].min(stream.len() - pos);
        k += 1;
        s.push(&stream[pos..pos + n], |u| out.push((u.data.to_vec(), u.offset)));
        pos += n;
        if k > stream.len() * 4 + 16 {
            break; // all-zero sizes: the loop below finishes the stream
        }
    }
    if pos < stream.len() {
        s.push(&stream[pos..], |u| out.push((u.data.to_vec(), u.offset)));
    }
    s.finish(|u| out.push((u.data.to_vec(), u.offset)));
    assert_eq!(s.dropped_oversized, 0);
    out
}

/// Annex B by hand: units start after each 00 00 01 and end at the next one; trailing zero
/// bytes are not part of a unit; bytes before the first start code are dropped.
fn reference(stream: &[u8]) -> Units {
    let starts: Vec<usize> = (2..stream.len())
        .filter(|&i| stream[i] == 1 && stream[i - 1] == 0 && stream[i - 2] == 0)
        .collect();
    let mut out = Vec::new();
    for (j, &i) in starts.iter().enumerate() {
        let begin = i + 1;
        let mut end = starts.get(j + 1).map_or(stream.len(), |&n| n - 2);
        while end > begin && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > begin {
            out.push((stream[begin..end].to_vec(), begin as u64));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 16);
    if rest.len() < n {
        return;
    }
    let (size_bytes, stream) = rest.split_at(n);
    let mut sizes: Vec<usize> = size_bytes.iter().map(|&b| usize::from(b)).collect();
    if sizes.is_empty() {
        sizes.push(1);
    }
    let whole = split(stream, &[stream.len().max(1)]);
    let cut = split(stream, &sizes);
    assert_eq!(whole, cut, "units differ when the stream is cut in chunks {sizes:?}");
    assert_eq!(whole, reference(stream), "units differ from the reference split");
    let mut buf = Vec::new();
    for (unit, offset) in &whole {
        let o = *offset as usize;
        assert_eq!(&stream[o..o + unit.len()], &unit[..]);
        let _ = NalHeader::parse(unit);
        unescape(unit, &mut buf);
        assert!(buf.len() <= unit.len());
    }
    unescape(stream, &mut buf);
    assert!(buf.len() <= stream.len());
});
