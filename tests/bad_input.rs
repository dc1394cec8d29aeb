//! Damaged and hostile input: each fault gives a typed error that names the syntax
//! element (or feature), the NAL unit and its byte offset; the parser drops what it cannot
//! parse and carries on, so the rest of the stream comes out exactly as without the fault.

use gopwatch::h264::nal::AnnexBSplitter;
use gopwatch::h264::{Error, ErrorKind};
use gopwatch::source::file::{decode_stream, Event};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn stream(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("GOPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let p = dir.join("streams/openh264-res").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run the tests through tools/test.sh", p.display()))
}

/// (offset, bytes) of each NAL unit.
fn units(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut s = AnnexBSplitter::new();
    let mut v = Vec::new();
    s.push(data, |n| v.push((n.offset, n.data.to_vec())));
    s.finish(|n| v.push((n.offset, n.data.to_vec())));
    v
}

fn join(units: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for u in units {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(u);
    }
    out
}

/// Per display frame: (poc, the list-0 vectors of every decoded 4x4 block).
type Frames = BTreeMap<i32, Vec<(usize, [i16; 2])>>;

fn run(data: &[u8]) -> (Frames, Vec<Error>) {
    let mut frames = Frames::new();
    let mut errors = Vec::new();
    decode_stream(data, |e| match e {
        Event::Picture(_, p) => {
            let mut v = Vec::new();
            for i in 0..p.stride4() * p.mb_height as usize * 4 {
                let r = p.ref_idx[0][p.ref_index(i % p.stride4(), i / p.stride4())];
                let mb = (i / p.stride4() / 4) * p.mb_width as usize + (i % p.stride4()) / 4;
                if r >= 0 && p.mbs[mb].is_decoded() {
                    v.push((i, p.mv(0, i % p.stride4(), i / p.stride4())));
                }
            }
            frames.insert(p.poc + 1_000_000 * p.poc_period as i32, v);
        }
        Event::Error(e) => errors.push(e.clone()),
    })
    .unwrap();
    (frames, errors)
}

/// Slice NAL units (type 1) of a stream, by index.
fn p_slices(u: &[(u64, Vec<u8>)]) -> Vec<usize> {
    u.iter().enumerate().filter(|(_, (_, d))| d[0] & 0x1f == 1).map(|(i, _)| i).collect()
}

#[test]
fn truncated_slice_is_dropped_and_named() {
    let data = stream("BA_MW_D.264");
    let (good, errs) = run(&data);
    assert!(errs.is_empty());
    let u = units(&data);
    let victim = p_slices(&u)[10];
    let mut parts: Vec<Vec<u8>> = u.iter().map(|(_, d)| d.clone()).collect();
    let len = parts[victim].len();
    parts[victim].truncate(len / 2);
    let (bad, errs) = run(&join(&parts));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(e.nal_index as usize, victim);
    assert_eq!(e.nal_unit_type, 1);
    assert!(e.mb_addr.is_some() && e.first_mb.is_some());
    assert!(
        matches!(e.kind, ErrorKind::Truncated { .. } | ErrorKind::OutOfRange { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("NAL unit #"), "{e}");
    // Every other picture is untouched; the damaged one keeps what was parsed before the cut.
    assert_eq!(bad.len(), good.len());
    let differing: Vec<_> = good.keys().filter(|k| good[k] != bad[k]).collect();
    assert_eq!(differing.len(), 1, "only the damaged picture differs");
    let k = differing[0];
    assert!(bad[k].len() < good[k].len() && bad[k].iter().all(|b| good[k].contains(b)));
}

#[test]
fn stream_cut_mid_slice_keeps_everything_before() {
    let data = stream("BA_MW_D.264");
    let (good, _) = run(&data);
    let u = units(&data);
    let last = u.last().unwrap();
    let cut = last.0 as usize + last.1.len() / 3;
    let (bad, errs) = run(&data[..cut]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].byte_offset, last.0);
    assert_eq!(bad.len(), good.len());
    let same = good.keys().filter(|k| good[k] == bad[k]).count();
    assert_eq!(same, good.len() - 1);
}

fn with_garbage(data: &[u8], header: u8) -> Vec<u8> {
    let u = units(data);
    let slices = p_slices(&u);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut x = 0x9e3779b97f4a7c15u64;
    for (i, (_, d)) in u.iter().enumerate() {
        parts.push(d.clone());
        if slices.contains(&i) && i % 7 == 0 {
            let mut g = vec![header];
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                g.push((x as u8) | 1);
            }
            parts.push(g);
        }
    }
    join(&parts)
}

#[test]
fn garbage_units_are_reported_and_skipped() {
    let data = stream("BA_MW_D.264");
    let (good, _) = run(&data);
    // Units whose header is invalid (forbidden_zero_bit) are named and skipped.
    let (bad, errs) = run(&with_garbage(&data, 0xa1));
    assert_eq!(errs.len(), p_slices(&units(&data)).iter().filter(|&&i| i % 7 == 0).count());
    assert!(errs.iter().all(|e| matches!(e.kind, ErrorKind::BadNalHeader { .. })));
    assert_eq!(bad, good);
    // Noise dressed as slices cannot always be told from slices: it is parsed as far as it
    // goes, and no picture of the stream is lost.
    let (bad, errs) = run(&with_garbage(&data, 0x21));
    assert!(!errs.is_empty());
    assert!(bad.len() >= good.len());
}

#[test]
fn missing_pps_is_named_and_parsing_resumes_when_it_arrives() {
    let data = stream("BA_MW_D.264");
    let u = units(&data);
    let pps = u.iter().position(|(_, d)| d[0] & 0x1f == 8).unwrap();
    let first_slice = u.iter().position(|(_, d)| matches!(d[0] & 0x1f, 1 | 5)).unwrap();
    let mut parts: Vec<Vec<u8>> = u.iter().map(|(_, d)| d.clone()).collect();
    let pps_unit = parts.remove(pps);
    // The PPS arrives again just before the second IDR picture.
    let second_idr = parts.iter().enumerate().filter(|(_, d)| d[0] & 0x1f == 5).nth(1).map(|(i, _)| i).unwrap();
    parts.insert(second_idr, pps_unit);
    let (frames, errs) = run(&join(&parts));
    assert!(!errs.is_empty());
    let e = &errs[0];
    assert_eq!(e.kind, ErrorKind::MissingParameterSet { kind: "PPS", id: 0 });
    assert_eq!(e.nal_index as usize, first_slice - 1);
    assert!(errs.iter().all(|e| matches!(e.kind, ErrorKind::MissingParameterSet { .. })));
    assert!(!frames.is_empty(), "pictures after the PPS arrived");
}

/// Writes bits MSB first, for crafted parameter sets.
struct Bits(Vec<u8>, usize);
impl Bits {
    fn new() -> Self {
        Bits(Vec::new(), 0)
    }
    fn u(&mut self, v: u32, n: u32) -> &mut Self {
        for i in (0..n).rev() {
            if self.1 % 8 == 0 {
                self.0.push(0);
            }
            if (v >> i) & 1 == 1 {
                let l = self.0.len() - 1;
                self.0[l] |= 0x80 >> (self.1 % 8);
            }
            self.1 += 1;
        }
        self
    }
    fn ue(&mut self, v: u32) -> &mut Self {
        let x = v + 1;
        let len = 32 - x.leading_zeros();
        self.u(0, len - 1).u(x, len)
    }
    fn finish(&mut self) -> Vec<u8> {
        self.u(1, 1);
        // Emulation prevention is not needed: no crafted unit has two zero bytes in a row.
        std::mem::take(&mut self.0)
    }
}

/// A Baseline SPS (id 0, 176x144) with pic_order_cnt_type `poc_type`.
fn sps(poc_type: u32) -> Vec<u8> {
    let mut b = Bits::new();
    b.u(66, 8).u(0xc0, 8).u(30, 8).ue(0).ue(0).ue(poc_type);
    if poc_type == 0 {
        b.ue(2);
    }
    b.ue(1).u(0, 1).ue(10).ue(8).u(1, 1).u(1, 1).u(0, 1).u(0, 1);
    let mut v = vec![0x67];
    v.extend(b.finish());
    v
}

/// A PPS (id 0) with `slice_groups` slice groups (map type 0, run lengths 1).
fn pps(slice_groups: u32) -> Vec<u8> {
    let mut b = Bits::new();
    b.ue(0).ue(0).u(0, 1).u(0, 1).ue(slice_groups - 1);
    if slice_groups > 1 {
        b.ue(0);
        for _ in 0..slice_groups {
            b.ue(0);
        }
    }
    b.ue(0).ue(0).u(0, 1).u(0, 2).ue(0).ue(0).ue(0).u(1, 1).u(0, 1).u(0, 1);
    let mut v = vec![0x68];
    v.extend(b.finish());
    v
}

#[test]
fn out_of_range_element_is_named() {
    let (_, errs) = run(&join(&[sps(3)]));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, ErrorKind::OutOfRange { element: "pic_order_cnt_type", value: 3 });
    assert_eq!(errs[0].nal_unit_type, 7);
    assert_eq!(errs[0].byte_offset, 4);
}

#[test]
fn fmo_and_data_partitioning_are_unsupported() {
    let (_, errs) = run(&join(&[sps(0), pps(2), vec![0x22, 0x80]]));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(matches!(errs[0].kind, ErrorKind::Unsupported { feature } if feature.contains("flexible macroblock ordering")));
    assert!(matches!(errs[1].kind, ErrorKind::Unsupported { feature } if feature.contains("data partitioning")));
    assert_eq!(errs[1].nal_index, 2);
    // The crafted SPS and a one-group PPS are fine.
    let (_, errs) = run(&join(&[sps(0), pps(1)]));
    assert!(errs.is_empty(), "{errs:?}");
}
