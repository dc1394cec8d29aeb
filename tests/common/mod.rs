//! What the oracle tests share: where the streams and the oracle's Python are (set by
//! tools/test.sh), and writing oracle caches safely while tests run in parallel.
#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

/// The crate's directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Directory `var` names, else `default`; it must exist.
pub fn dir_from_env(var: &str, default: PathBuf) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    assert!(p.is_dir(), "{} not found ({var}); run the tests through tools/test.sh", p.display());
    p
}

/// ../shared/streams ($GOPWATCH_SHARED/streams).
pub fn shared() -> PathBuf {
    dir_from_env("GOPWATCH_SHARED", root().join("../shared")).join("streams")
}

/// The x264 streams of tools/streams/make_x264.sh ($GOPWATCH_STREAMS).
pub fn x264_streams() -> PathBuf {
    dir_from_env("GOPWATCH_STREAMS", root().join("target/streams"))
}

/// The Python of the oracle venv ($GOPWATCH_PYTHON).
pub fn python() -> PathBuf {
    let p = std::env::var_os("GOPWATCH_PYTHON").map(PathBuf::from).unwrap_or(root().join(".venv/bin/python"));
    assert!(p.exists(), "{} not found (GOPWATCH_PYTHON); run the tests through tools/test.sh", p.display());
    p
}

/// Makes the cache files `outputs` with `make`, which receives private names to write:
/// tests run in parallel and share streams, so each writer renames complete files into
/// place and no test reads a file another one is still writing.
pub fn write_cache(outputs: &[&Path], make: impl FnOnce(&[PathBuf])) {
    let tag = format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let tmp: Vec<PathBuf> = outputs.iter().map(|p| PathBuf::from(format!("{}.tmp{tag}", p.display()))).collect();
    make(&tmp);
    for (t, p) in tmp.iter().zip(outputs) {
        std::fs::rename(t, p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

/// One array of an `.npz`: its NumPy dtype (`descr`), shape and little-endian bytes.
pub struct NpyArray {
    pub descr: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl NpyArray {
    /// The elements as i32, from any little-endian integer dtype of 1, 2, 4 or 8 bytes.
    pub fn ints(&self) -> Vec<i64> {
        let signed = self.descr.contains('i');
        match (&self.descr[self.descr.len() - 1..], signed) {
            ("1", false) => self.data.iter().map(|&b| i64::from(b)).collect(),
            ("2", true) => self.data.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
            ("4", true) => self.data.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap()))).collect(),
            ("8", true) => self.data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect(),
            _ => panic!("dtype {} not handled", self.descr),
        }
    }
}

/// Reads every array of an `.npz` (format 1.0 headers, stored or deflated as the zip
/// crate allows), by name without `.npy`.
pub fn read_npz(path: &Path) -> std::collections::HashMap<String, NpyArray> {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut z = zip::ZipArchive::new(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = std::collections::HashMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().trim_end_matches(".npy").to_string();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        assert_eq!(&b[..6], b"\x93NUMPY", "{}: {name} is not .npy", path.display());
        let (hlen, start) = match b[6] {
            1 => (usize::from(u16::from_le_bytes([b[8], b[9]])), 10),
            _ => (u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize, 12),
        };
        let h = String::from_utf8_lossy(&b[start..start + hlen]).to_string();
        let field = |key: &str| {
            let i = h.find(key).unwrap_or_else(|| panic!("{name}: no {key} in {h}")) + key.len();
            h[i..].trim_start_matches([':', ' ', '\'']).to_string()
        };
        let descr = field("'descr'").split('\'').next().unwrap().to_string();
        assert!(field("'fortran_order'").starts_with("False"), "{name}: Fortran order");
        let s = field("'shape'");
        let dims = &s[1..s.find(')').unwrap()];
        let shape = dims.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().unwrap()).collect();
        out.insert(name, NpyArray { descr, shape, data: b[start + hlen..].to_vec() });
    }
    out
}

/// The tiny synthetic clip set of tools/synth ($GOPWATCH_SYNTH), made by tools/test.sh.
pub fn synth_tiny() -> PathBuf {
    dir_from_env("GOPWATCH_SYNTH", root().join("target/synth_tiny"))
}
