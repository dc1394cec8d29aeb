//! `gopwatch extract`: a clip list to one `.npz` of features per clip, in parallel,
//! resumable, deterministic.
//!
//! Output directory:
//! - `NAME.npz` per clip (`list::npz_name`): `iframe` u8 [S,3,H,W] (RGB), `mv` i16
//!   [S,2,H,W], `residual` i16 [S,3,H,W] (see `features::ClipTensors`), `label` i64 (index
//!   into classes.txt), `label_name`, `frames` / `iframes` i64 [S] (display indices),
//!   `types` (picture types in display order), `source_size` i64 [2] (height, width), and
//!   `params` (JSON: segments, size, sampling, seed);
//! - `index.csv`: `npz,path,label,split` for every clip extracted, in list order;
//! - `classes.txt`: the sorted labels, one per line (label i is line i + 1);
//! - `params.json`: the run's parameters and classes; a later run into the same directory
//!   must use the same ones (clips already there are skipped, so mixing would mix tensor
//!   layouts or label numbers);
//! - `failed.csv`: `path,error` for each clip that could not be extracted (only if any).

use super::list::{self, Clip, ListError};
use super::npz::NpzWriter;
use crate::features::{self, sample, ClipTensors, Params, Sampling, Size};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// How segments pick their frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingMode {
    /// Random for clips of the `train` split, centre for the others.
    Auto,
    Random,
    Centre,
}

impl SamplingMode {
    fn name(self) -> &'static str {
        match self {
            SamplingMode::Auto => "auto",
            SamplingMode::Random => "random",
            SamplingMode::Centre => "centre",
        }
    }
}

/// What to extract.
#[derive(Debug, Clone)]
pub struct Options {
    pub list: PathBuf,
    pub out: PathBuf,
    pub segments: usize,
    pub size: Size,
    pub seed: u64,
    pub sampling: SamplingMode,
    /// Worker threads (0: one per CPU).
    pub jobs: usize,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub clips: usize,
    pub extracted: usize,
    /// Already in the output directory.
    pub skipped: usize,
    /// (listed path, why) per clip that failed.
    pub failed: Vec<(String, String)>,
    /// Pictures parsed by this run (not counting skipped clips).
    pub pictures: u64,
    pub seconds: f64,
}

/// Why a run cannot start or finish (a bad clip is not one: see `Report::failed`).
#[derive(Debug)]
pub enum ExtractError {
    List(PathBuf, ListError),
    Io(PathBuf, io::Error),
    Invalid(String),
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::List(p, e) => write!(f, "{}: {e}", p.display()),
            ExtractError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ExtractError::Invalid(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for ExtractError {}

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> ExtractError + '_ {
    move |e| ExtractError::Io(p.to_path_buf(), e)
}

/// Writes `bytes` to `path` through a temporary name, so that `path` is whole or absent.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExtractError> {
    let tmp = path.with_extension("part");
    fs::write(&tmp, bytes).and_then(|_| fs::rename(&tmp, path)).map_err(io_err(path))
}

pub fn run(opts: &Options) -> Result<Report, ExtractError> {
    let start = Instant::now();
    let text = fs::read_to_string(&opts.list).map_err(io_err(&opts.list))?;
    let dir = opts.list.parent().unwrap_or(Path::new("."));
    let clips = list::parse(&text, dir).map_err(|e| ExtractError::List(opts.list.clone(), e))?;
    if clips.is_empty() {
        return Err(ExtractError::Invalid(format!("{}: the list names no clip", opts.list.display())));
    }
    let mut names: HashMap<String, &Clip> = HashMap::new();
    for c in &clips {
        if let Some(other) = names.insert(list::npz_name(c), c) {
            return Err(ExtractError::Invalid(format!(
                "{}: clips `{}` and `{}` would both be written to {}; rename one",
                opts.list.display(),
                other.name,
                c.name,
                list::npz_name(c)
            )));
        }
    }
    let classes: Vec<&str> = clips.iter().map(|c| c.label.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    check_params(opts, &classes)?;
    write_atomic(&opts.out.join("classes.txt"), classes.iter().map(|c| format!("{c}\n")).collect::<String>().as_bytes())?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .map_err(|e| ExtractError::Invalid(format!("cannot start {} worker threads: {e}", opts.jobs)))?;
    let bar = if opts.progress { ProgressBar::new(clips.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} clips, {per_sec}, ETA {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let finished = AtomicUsize::new(0);
    let step = (clips.len() / 20).max(1);
    let outcomes: Vec<Outcome> = pool.install(|| {
        clips
            .par_iter()
            .map(|c| {
                // A bug must cost one clip, not the run (and the clips already done).
                let o = std::panic::catch_unwind(AssertUnwindSafe(|| one(c, opts, &classes, &bar)))
                    .unwrap_or_else(|_| Outcome::Failed("internal error (a bug: please report it with this clip)".into()));
                if let Outcome::Failed(why) = &o {
                    bar.suspend(|| eprintln!("gopwatch extract: {}: {why}", c.name));
                }
                bar.inc(1);
                // Without a terminal (a log file, a service), a line every 5 % of a long run.
                let done = finished.fetch_add(1, Ordering::Relaxed) + 1;
                if !opts.progress && clips.len() >= 100 && done % step == 0 && done < clips.len() {
                    let secs = start.elapsed().as_secs_f64();
                    eprintln!(
                        "gopwatch extract: {done}/{} clips, {:.1} clips/s, about {:.0} s left",
                        clips.len(),
                        done as f64 / secs,
                        secs * (clips.len() - done) as f64 / done as f64
                    );
                }
                o
            })
            .collect()
    });
    bar.finish_and_clear();

    let mut report = Report { clips: clips.len(), ..Report::default() };
    let mut index = String::from("npz,path,label,split\n");
    let mut failed = String::from("path,error\n");
    for (c, o) in clips.iter().zip(&outcomes) {
        match o {
            Outcome::Extracted(n) => {
                report.extracted += 1;
                report.pictures += n;
            }
            Outcome::Skipped => report.skipped += 1,
            Outcome::Failed(why) => {
                report.failed.push((c.name.clone(), why.clone()));
                failed.push_str(&format!("{},{}\n", c.name, why.replace([',', '\n'], ";")));
                continue;
            }
        }
        index.push_str(&format!("{},{},{},{}\n", list::npz_name(c), c.name, c.label, c.split));
    }
    write_atomic(&opts.out.join("index.csv"), index.as_bytes())?;
    let failed_path = opts.out.join("failed.csv");
    if report.failed.is_empty() {
        let _ = fs::remove_file(&failed_path);
    } else {
        write_atomic(&failed_path, failed.as_bytes())?;
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The run's parameters as JSON (keys sorted, no spaces: compared as text). The classes
/// are in it because `label` indexes them.
fn params_json(opts: &Options, classes: &[&str]) -> String {
    let classes: Vec<String> = classes.iter().map(|c| format!("\"{}\"", c.replace(['"', '\\'], "_"))).collect();
    format!(
        "{{\"classes\":[{}],\"sampling\":\"{}\",\"seed\":{},\"segments\":{},\"size\":\"{}\",\"version\":1}}\n",
        classes.join(","),
        opts.sampling.name(),
        opts.seed,
        opts.segments,
        opts.size
    )
}

/// Records the parameters in a new directory; refuses a directory made with others.
fn check_params(opts: &Options, classes: &[&str]) -> Result<(), ExtractError> {
    let path = opts.out.join("params.json");
    let want = params_json(opts, classes);
    match fs::read_to_string(&path) {
        Ok(have) if have == want => Ok(()),
        Ok(have) => Err(ExtractError::Invalid(format!(
            "{} holds clips extracted with other parameters ({}); this run has {}: use another --out, or delete the directory",
            opts.out.display(),
            have.trim(),
            want.trim()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_atomic(&path, want.as_bytes()),
        Err(e) => Err(ExtractError::Io(path, e)),
    }
}

enum Outcome {
    /// Pictures parsed.
    Extracted(u64),
    Skipped,
    Failed(String),
}

fn one(c: &Clip, opts: &Options, classes: &[&str], bar: &ProgressBar) -> Outcome {
    let path = opts.out.join(list::npz_name(c));
    if path.exists() {
        return Outcome::Skipped;
    }
    let stream = match fs::read(&c.path) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("cannot read {}: {e}", c.path.display())),
    };
    let sampling = match (opts.sampling, c.split.as_str()) {
        (SamplingMode::Random, _) | (SamplingMode::Auto, "train") => Sampling::Random(sample::clip_seed(opts.seed, &c.name)),
        _ => Sampling::Centre,
    };
    let params = Params { segments: opts.segments, size: opts.size, sampling };
    let t = match features::extract(&stream, &params) {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    for w in &t.warnings {
        bar.suspend(|| eprintln!("gopwatch extract: {}: warning: {w}", c.name));
    }
    let label = classes.iter().position(|&l| l == c.label).unwrap_or(0) as i64;
    let bytes = match npz(&t, c, label, &params, opts.seed) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("cannot encode the npz: {e}")),
    };
    match write_atomic(&path, &bytes) {
        Ok(()) => Outcome::Extracted(t.types.len() as u64),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn npz(t: &ClipTensors, c: &Clip, label: i64, p: &Params, seed: u64) -> io::Result<Vec<u8>> {
    let (s, h, w) = (t.segments, t.height, t.width);
    let sampling = match p.sampling {
        Sampling::Random(clip_seed) => format!("\"random\",\"clip_seed\":{clip_seed}"),
        Sampling::Centre => "\"centre\"".to_string(),
    };
    let params = format!("{{\"segments\":{},\"size\":\"{}\",\"sampling\":{sampling},\"seed\":{seed}}}", p.segments, p.size);
    let mut z = NpzWriter::new(io::Cursor::new(Vec::with_capacity(t.iframe.len() + 2 * (t.mv.len() + t.residual.len()) + 4096)));
    z.array("iframe", &[s, 3, h, w], &t.iframe)?;
    z.array("mv", &[s, 2, h, w], &t.mv)?;
    z.array("residual", &[s, 3, h, w], &t.residual)?;
    z.array("label", &[], &[label])?;
    z.string("label_name", &c.label)?;
    z.array("frames", &[s], &t.frames)?;
    z.array("iframes", &[s], &t.iframes)?;
    z.string("types", &t.types)?;
    z.array("source_size", &[2], &[t.source_height as i64, t.source_width as i64])?;
    z.string("params", &params)?;
    Ok(z.finish()?.into_inner())
}

/// Prints the run's summary lines.
pub fn summary(r: &Report, mut out: impl Write) -> io::Result<()> {
    let secs = r.seconds.max(1e-9);
    writeln!(
        out,
        "{} clips: {} extracted, {} already there, {} failed; {:.1} s, {:.2} clips/s, {:.0} frames/s",
        r.clips,
        r.extracted,
        r.skipped,
        r.failed.len(),
        r.seconds,
        r.extracted as f64 / secs,
        r.pictures as f64 / secs
    )
}

