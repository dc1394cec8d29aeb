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
