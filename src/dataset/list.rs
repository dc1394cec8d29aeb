//! Clip lists: `CLIPS.csv` with `path,label[,split]` per line, an optional header line of
//! those names, paths relative to the list's directory (or absolute).

use std::fmt;
use std::path::{Path, PathBuf};

/// One clip of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// The path as written in the list (names the clip, seeds its sampling).
    pub name: String,
    /// The path to open.
    pub path: PathBuf,
    pub label: String,
    /// Empty when the list has no split column.
    pub split: String,
}

/// A line of the list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    pub line: usize,
    pub why: String,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

impl std::error::Error for ListError {}

/// Parses `text`, the contents of a list in directory `dir`. Blank lines and lines starting
/// with `#` are skipped. Fields are plain (no quoting): a comma cannot be in a path.
pub fn parse(text: &str, dir: &Path) -> Result<Vec<Clip>, ListError> {
    let mut clips = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if clips.is_empty() && f.first() == Some(&"path") && f.get(1) == Some(&"label") {
            continue;
        }
        let err = |why: String| ListError { line: i + 1, why };
        let (name, label, split) = match f.as_slice() {
            [p, l] => (*p, *l, ""),
            [p, l, s] => (*p, *l, *s),
            _ => return Err(err(format!("expected `path,label[,split]`, found {} fields: {line:?}", f.len()))),
        };
        if name.is_empty() || label.is_empty() {
            return Err(err(format!("empty path or label: {line:?}")));
        }
        let p = Path::new(name);
        let path = if p.is_absolute() { p.to_path_buf() } else { dir.join(p) };
        clips.push(Clip { name: name.to_string(), path, label: label.to_string(), split: split.to_string() });
    }
    Ok(clips)
}

/// The output file name of a clip: its listed path without extension, with every character
/// other than ASCII letters, digits, `-` and `_` replaced by `_`, and `.npz`.
pub fn npz_name(clip: &Clip) -> String {
    let stem = match clip.name.rfind('.') {
        Some(dot) if dot > clip.name.rfind('/').map_or(0, |s| s + 1) => &clip.name[..dot],
        _ => &clip.name,
    };
    let s: String = stem.trim_start_matches(['/', '.']).chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{s}.npz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_two_and_three_columns_and_names_bad_lines() {
        let dir = Path::new("/data/set");
        let c = parse("path,label,split\nclips/a.264,walk,train\n\n# note\n/abs/b.h264, fall ,test\r\n", dir).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].path, Path::new("/data/set/clips/a.264"));
        assert_eq!((c[1].label.as_str(), c[1].split.as_str()), ("fall", "test"));
        assert_eq!(c[1].path, Path::new("/abs/b.h264"));
        let c = parse("x.264,run", dir).unwrap();
        assert_eq!(c[0].split, "");
        let e = parse("a.264,walk\nb.264\n", dir).unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(npz_name(&c[0]), "x.npz");
        assert_eq!(npz_name(&Clip { name: "../v1.2/clips/00001_run.264".into(), path: "x".into(), label: "".into(), split: "".into() }), "v1_2_clips_00001_run.npz");
    }
}
