//! Mutated real streams through `decode_stream`: bit flips, byte overwrites, truncation,
//! chunk deletion and duplication, inserted start codes, zeroed runs, and combinations.
//! Every run must finish without a panic, within a time bound, and with a number of
//! pictures bounded by the number of slice NAL units in its input. Intra pictures are also
//! reconstructed and deblocked (`h264::recon`) and converted to a 64x64 RGB input
//! (`image::rgb`), and the residual planes of P and B pictures computed
//! (`h264::residual`), none of which may panic either. Every fourth run also goes through
//! the CoViAR features of a whole clip (`features::extract`: accumulation, sampling,
//! resizing), which must end in tensors or an error.
//!
//! Streams: $GOPWATCH_SHARED/streams/openh264-res (default ../shared next to the crate; the
//! test fails when it is missing) and $GOPWATCH_STREAMS (default target/streams; the x264
//! streams there are used when present). A failing input is written to
//! target/mutation-failures/ with the mutation that made it.
//!
//! `cargo test --release --test mutation`; GOPWATCH_MUTATIONS=N changes the number of runs
//! (default 3000), GOPWATCH_MUTATION_SEED the seed.

use gopwatch::features::{self, Params, Sampling, Size};
use gopwatch::h264::nal::{nal_type, AnnexBSplitter, NalHeader};
use gopwatch::h264::recon::{Options, Reconstructor};
use gopwatch::h264::residual::ResidualDecoder;
use gopwatch::image::rgb::{ColorSpec, Layout, RgbResizer, Yuv420};
use gopwatch::h264::PictureType;
use gopwatch::source::file::{decode_stream, Event};
use std::io::{self, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Each stream is cut (at a start code) to about this size, to keep the test fast.
const MAX_STREAM_BYTES: usize = 192 * 1024;

const SHARED_STREAMS: &[&str] = &[
    "BA_MW_D.264",
    "CVPCMNL1_SVA_C.264",
    "MR2_TANDBERG_E.264",
    "SVA_BA2_D.264",
    "test_scalinglist_jm.264",
    "CVFC1_Sony_C.jsv",
    "BA1_FT_C.264",
    "MIDR_MW_D.264",
    "NRF_MW_E.264",
];
const LOCAL_STREAMS: &[&str] = &[
    "high_cavlc_8x8.264",
    "base_slices4.264",
    "base_ref4.264",
    "main_cavlc_pskip.264",
    // B slices (spatial / temporal direct) and CABAC.
    "main_cavlc_b2.264",
    "high_cavlc_b3_temporal.264",
    "high_cabac_8x8.264",
    "high_direct_spatial.264",
    // Intra pictures for reconstruction: all intra with matrices and slices, low QP.
    "intra_all_cqm_slices.264",
    "intra_qp8.264",
    // Residual planes: B pyramid, CABAC, 8x8 transform, scaling matrices.
    "resid_cabac_b3_cqm.264",
];

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        // Bytes that matter to the syntax come up more often than chance.
        match self.below(4) {
            0 => [0x00, 0x01, 0x03, 0xff, 0x80, 0x7f][self.below(6)],
            _ => self.next() as u8,
        }
    }
    /// A length biased towards small values, at most `max` (>= 1).
    fn len(&mut self, max: usize) -> usize {
        let cap = [8usize, 64, 512, 4096, 1 << 16][self.below(5)].min(max.max(1));
        1 + self.below(cap)
    }
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) {
    if data.is_empty() {
        data.extend_from_slice(&[0, 0, 1]);
    }
    let len = data.len();
    match rng.below(8) {
        0 => {
            let n = 1 + rng.below(32);
            for _ in 0..n {
                let bit = rng.below(len * 8);
                data[bit / 8] ^= 0x80 >> (bit % 8);
            }
            log.push(format!("flip {n} bits"));
        }
        1 => {
            let n = 1 + rng.below(16);
            for _ in 0..n {
                let i = rng.below(len);
                data[i] = rng.byte();
            }
            log.push(format!("overwrite {n} bytes"));
        }
        2 => {
            let at = rng.below(len + 1);
            data.truncate(at);
            log.push(format!("truncate at {at}"));
        }
        3 => {
            let at = rng.below(len);
            let n = rng.len(len - at);
            data.drain(at..at + n);
            log.push(format!("delete {n} bytes at {at}"));
        }
        4 => {
            let from = rng.below(len);
            let n = rng.len(len - from);
            let chunk = data[from..from + n].to_vec();
            let to = rng.below(len + 1);
            let times = 1 + rng.below(3);
            for _ in 0..times {
                data.splice(to..to, chunk.iter().copied());
            }
            log.push(format!("duplicate {n} bytes from {from} to {to} x{times}"));
        }
        5 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.below(data.len() + 1);
                let mut code = vec![0, 0, 1];
                if rng.below(2) == 0 {
                    code.insert(0, 0);
                }
                if rng.below(2) == 0 {
                    // A NAL header: a slice, SPS, PPS or anything.
                    code.push([0x65, 0x41, 0x01, 0x67, 0x68, 0x06, 0x09, 0x0a, rng.byte()][rng.below(9)]);
                }
                data.splice(at..at, code);
            }
            log.push(format!("insert {n} start codes"));
        }
        6 => {
            let at = rng.below(len);
            let n = rng.len(len - at);
            data[at..at + n].fill(0);
            log.push(format!("zero {n} bytes at {at}"));
        }
        _ => {
            // Swap two ranges of the same length (reordered packets).
            let n = rng.len(len / 2);
            if len >= 2 * n {
                let a = rng.below(len - 2 * n + 1);
                let b = a + n + rng.below(len - a - 2 * n + 1);
                let tmp = data[a..a + n].to_vec();
                data.copy_within(b..b + n, a);
                data[b..b + n].copy_from_slice(&tmp);
                log.push(format!("swap {n} bytes at {a} and {b}"));
            }
        }
    }
}

/// Feeds a byte slice in chunks of random sizes, so that the splitter sees start codes cut
/// at every place.
struct Chunked<'a> {
    data: &'a [u8],
    rng: Rng,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = [1usize, 7, 100, 4096, 1 << 20][self.rng.below(5)];
        let n = (1 + self.rng.below(max)).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn slice_units(data: &[u8]) -> u64 {
    let mut s = AnnexBSplitter::new();
    let mut n = 0u64;
    let mut count = |u: gopwatch::h264::nal::NalRef<'_>| {
        if let Ok(h) = NalHeader::parse(u.data) {
            if matches!(h.nal_unit_type, nal_type::SLICE | nal_type::SLICE_IDR) {
                n += 1;
            }
        }
    };
    s.push(data, &mut count);
    s.finish(&mut count);
    n
}

struct Run {
    pictures: u64,
    errors: u64,
    elapsed: Duration,
}

fn run(data: &[u8], chunk_seed: u64, with_features: bool) -> Run {
    let start = Instant::now();
    if with_features {
        let params = Params { segments: 3, size: Size::Fixed { width: 32, height: 24 }, sampling: Sampling::Random(chunk_seed) };
        if let Ok(t) = features::extract(data, &params) {
            assert_eq!(t.mv.len(), t.segments * 2 * 32 * 24);
        }
    }
    let mut pictures = 0u64;
    let mut errors = 0u64;
    let reader = Chunked { data, rng: Rng(chunk_seed | 1) };
    let mut rec = Reconstructor::new();
    let mut res = ResidualDecoder::new();
    let mut rgb = RgbResizer::new();
    let mut input = vec![0u8; 3 * 64 * 64];
    let summary = decode_stream(reader, |e| match e {
        Event::Picture(_, p) => {
            assert_eq!(p.mbs.len(), p.mb_width as usize * p.mb_height as usize);
            if p.picture_type == PictureType::I {
                if let Ok(f) = rec.reconstruct(p, Options::default()) {
                    assert_eq!(f.y.len(), p.mbs.len() * 256);
                    let spec = ColorSpec::from_vui(p.slice_info.first().and_then(|s| s.sps.vui.as_ref()));
                    // An empty crop rectangle is an error, never a panic.
                    let _ = rgb.convert(&Yuv420::from_frame(f), f.crop_clipped(p.crop), &spec, 64, 64, Layout::Planar, &mut input);
                }
            } else if let Ok(r) = res.compute(p) {
                assert_eq!(r.y.len(), p.mbs.len() * 256);
            }
            pictures += 1;
        }
        Event::Error(_) => errors += 1,
    })
    .expect("reading from memory cannot fail");
    assert_eq!(summary.pictures, pictures);
    Run { pictures, errors, elapsed: start.elapsed() }
}

fn shared_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("GOPWATCH_SHARED").map(PathBuf::from).unwrap_or_else(|| manifest.join("../shared"));
    let streams = dir.join("streams/openh264-res");
    assert!(
        streams.is_dir(),
        "conformance streams not found at {}: set GOPWATCH_SHARED to the shared directory \
         (the one holding streams/openh264-res)",
        streams.display()
    );
    streams
}

fn local_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("GOPWATCH_STREAMS").map(PathBuf::from).unwrap_or_else(|| manifest.join("target/streams"))
}

/// The stream, cut at the last start code before MAX_STREAM_BYTES.
fn load(path: &Path) -> Vec<u8> {
    let mut d = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if d.len() > MAX_STREAM_BYTES {
        let cut = d[..MAX_STREAM_BYTES].windows(3).rposition(|w| w == [0, 0, 1]).unwrap_or(MAX_STREAM_BYTES);
        d.truncate(cut);
    }
    d
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn mutated_streams_never_panic_hang_or_explode() {
    let shared = shared_dir();
    let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
    for name in SHARED_STREAMS {
        let p = shared.join(name);
        assert!(p.is_file(), "conformance stream {} is missing", p.display());
        streams.push((name.to_string(), load(&p)));
    }
    let local = local_dir();
    for name in LOCAL_STREAMS {
        let p = local.join(name);
        if p.is_file() {
            streams.push((name.to_string(), load(&p)));
        } else {
            eprintln!("note: {} not found, skipped (set GOPWATCH_STREAMS)", p.display());
        }
    }

    let total = env_u64("GOPWATCH_MUTATIONS", 3000);
    let seed = env_u64("GOPWATCH_MUTATION_SEED", 0x6f70_7761_7463_6801);
    // Generous: the slowest stream takes well under 100 ms unmutated in release.
    let limit = Duration::from_secs(if cfg!(debug_assertions) { 20 } else { 5 });
    let fail_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mutation-failures");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut slowest = (Duration::ZERO, String::new());

    for (name, data) in &streams {
        let base = run(data, 1, true);
        eprintln!(
            "{name}: {} bytes, {} slices, unmutated: {} pictures, {} errors, {:?}",
            data.len(),
            slice_units(data),
            base.pictures,
            base.errors,
            base.elapsed
        );
        assert!(base.pictures > 0, "{name}: the unmutated stream gives no picture");
    }
    let (mut pictures, mut errors) = (0u64, 0u64);

    for i in 0..total {
        let (name, original) = &streams[i as usize % streams.len()];
        let mut data = original.clone();
        let mut log = Vec::new();
        let steps = if rng.below(3) == 0 { 2 + rng.below(4) } else { 1 };
        for _ in 0..steps {
            mutate_once(&mut rng, &mut data, &mut log);
        }
        let chunk_seed = rng.next();
        let what = format!("{name} mutation {i} (seed {seed:#x}): {}", log.join(", "));
        let save = |why: &str| {
            let _ = std::fs::create_dir_all(&fail_dir);
            let p = fail_dir.join(format!("{}_{i}.264", name.replace('.', "_")));
            let _ = std::fs::write(&p, &data);
            format!("{why}: {what}; input saved to {}", p.display())
        };
        let r = match catch_unwind(AssertUnwindSafe(|| run(&data, chunk_seed, i % 4 == 0))) {
            Ok(r) => r,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{}", save(&format!("panic ({msg})")));
            }
        };
        pictures += r.pictures;
        errors += r.errors;
        if r.elapsed > slowest.0 {
            slowest = (r.elapsed, what.clone());
        }
        assert!(r.elapsed < limit, "{}", save(&format!("took {:?}", r.elapsed)));
        let slices = slice_units(&data);
        assert!(
            r.pictures <= slices + 16,
            "{}",
            save(&format!("{} pictures from {slices} slice NAL units", r.pictures))
        );
    }
    eprintln!(
        "{total} mutated runs in {:?}: {pictures} pictures, {errors} errors; slowest {:?}: {}",
        started.elapsed(),
        slowest.0,
        slowest.1
    );
}
