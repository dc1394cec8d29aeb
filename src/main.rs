//! gopwatch command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gopwatch::h264::recon::{Frame, Options, Reconstructor};
use gopwatch::h264::residual::{ResidualDecoder, ResidualPlanes};
use gopwatch::h264::sps::Vui;
use gopwatch::h264::{Picture, PictureType};
use gopwatch::dataset::extract::{self, SamplingMode};
use gopwatch::features::Size;
use gopwatch::image::rgb::{ColorSpec, Layout, RgbResizer, Yuv420};
use gopwatch::source::file::{Event, Pipeline, Summary};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "gopwatch", version, about = "Action recognition from a camera's H.264 stream, in the compressed domain")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Describe an H.264 stream: profile, sizes, entropy mode, references, slices, GOP structure.
    Probe {
        /// Annex-B H.264 file (.264/.h264), FIFO, or - for stdin.
        file: PathBuf,
    },
    /// Write the motion-vector field of every picture as CSV
    /// (frame,poc,type,list,x,y,mv_x,mv_y,ref_idx; quarter-pel vectors, display order).
    Mvs {
        /// Annex-B H.264 file (.264/.h264), FIFO, or - for stdin. Default: the bundled
        /// demo clip (assets/demo.264).
        file: Option<PathBuf>,
        /// Block size of the rows: 4 (every 4x4 block), 8 or 16 (the top-left 4x4 of each
        /// 8x8 block / macroblock).
        #[arg(long, default_value = "4")]
        grid: Grid,
        /// Output CSV file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Decode the intra pictures of a stream (every picture whose slices are all I), in
    /// display order, cropped to the display size: raw yuv420p (-o) or PNG files (--png);
    /// and/or picture the residual of P and B pictures (--residual-png).
    ///
    /// Only intra pictures can be decoded: P and B pictures need motion compensation,
    /// which gopwatch does not do. Pictures with lost slices are written with the missing
    /// macroblocks grey (and a warning).
    #[command(after_help = "Examples:\n  gopwatch frames cam.264 --intra-only -o intra.yuv\n  \
        ffplay -f rawvideo -pixel_format yuv420p -video_size WxH intra.yuv\n  \
        gopwatch frames cam.264 --intra-only --png frames/\n  \
        gopwatch frames cam.264 --residual-png residual/")]
    Frames {
        /// Annex-B H.264 file (.264/.h264), FIFO, or - for stdin.
        file: PathBuf,
        /// Write the intra pictures only (required with -o / --png: the only pictures
        /// gopwatch can decode).
        #[arg(long, required_unless_present = "residual_png")]
        intra_only: bool,
        /// Output file of raw yuv420p frames (planes Y, Cb, Cr; - for stdout).
        #[arg(short, long, value_name = "OUT.yuv", required_unless_present_any = ["png", "residual_png"], conflicts_with = "png")]
        output: Option<PathBuf>,
        /// Write one PNG per picture into DIR (frame_NNNNN.png, NNNNN = display index), RGB
        /// converted with the colour matrix and range of the stream's VUI (default BT.601,
        /// limited range).
        #[arg(long, value_name = "DIR")]
        png: Option<PathBuf>,
        /// Leave out the deblocking filter (for comparisons with ffmpeg -skip_loop_filter all).
        #[arg(long)]
        no_deblock: bool,
        /// Write the luma residual of each P and B picture into DIR as a grey PNG
        /// (residual_NNNNN.png, display index; residual + 128, clipped to 0..255; intra and
        /// skipped macroblocks are 128), cropped to the display size.
        #[arg(long, value_name = "DIR")]
        residual_png: Option<PathBuf>,
    },
    /// Run the compressed-domain pass over a whole stream and report its speed.
    Scan {
        /// Annex-B H.264 file (.264/.h264), FIFO, or - for stdin.
        file: PathBuf,
        /// Also print, per picture in output order, a digest of everything parsed
        /// (macroblock syntax, motion field, residual levels): equal digests, equal parses.
        #[arg(long)]
        digest: bool,
        /// Also compute the residual planes of every P and B picture (dequantisation and
        /// inverse transforms), and report the time they take.
        #[arg(long)]
        residual: bool,
    },
    /// Turn a list of clips into training data: one .npz of compressed-domain features per
    /// clip (TSN segments, each with its GOP's I picture as RGB, the motion and the residual
    /// accumulated back to that I picture, as CoViAR defines them).
    ///
    /// Output per clip, in DIR: NAME.npz with `iframe` u8 [S,3,H,W], `mv` i16 [S,2,H,W]
    /// (whole pels), `residual` i16 [S,3,H,W] (Y, Cb, Cr), `label`, `label_name`, `frames`,
    /// `iframes`, `types`, `source_size`, `params`; plus index.csv, classes.txt,
    /// params.json and, when clips fail, failed.csv. Clips already in DIR are skipped, so
    /// an interrupted run resumes with the same command. A bad clip is reported and
    /// skipped; the exit status is then 1.
    #[command(after_help = "Examples:\n  gopwatch extract --list data/CLIPS.csv --out data/features\n  \
        gopwatch extract --list CLIPS.csv --out feats --segments 5 --size 160x120 --jobs 4\n  \
        python3 -c \"import numpy; z = numpy.load('feats/clip.npz'); print(z['mv'].shape)\"")]
    Extract {
        /// CSV of clips: `path,label[,split]` per line (header optional; paths relative to
        /// the list's directory). Split `train` samples at random, others at the centre.
        #[arg(long, value_name = "CLIPS.csv")]
        list: PathBuf,
        /// Output directory (created).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// TSN segments per clip (S).
        #[arg(long, default_value = "3")]
        segments: usize,
        /// Tensor size: N (N x N), WxH, or `native` (the stream's size, no resizing).
        #[arg(long, default_value = "112", value_parser = parse_size)]
        size: Size,
        /// Worker threads (default: one per CPU).
        #[arg(long, default_value = "0")]
        jobs: usize,
        /// Seed of the random sampling (same seed, same output).
        #[arg(long, default_value = "0")]
        seed: u64,
        /// Frame choice within a segment: auto (random for the train split, centre
        /// otherwise), random or centre.
        #[arg(long, default_value = "auto")]
        sampling: SamplingArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SamplingArg {
    Auto,
    Random,
    Centre,
}

fn parse_size(s: &str) -> Result<Size, String> {
    if s == "native" {
        return Ok(Size::Native);
    }
    let num = |v: &str| v.parse::<usize>().ok().filter(|n| (1..=4096).contains(n));
    let (w, h) = match s.split_once('x') {
        Some((w, h)) => (num(w), num(h)),
        None => (num(s), num(s)),
    };
    match (w, h) {
        (Some(width), Some(height)) => Ok(Size::Fixed { width, height }),
        _ => Err(format!("`{s}`: expected N, WxH (1..=4096 each) or native")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Grid {
    #[value(name = "4")]
    G4,
    #[value(name = "8")]
    G8,
    #[value(name = "16")]
    G16,
}

/// The clip built into the binary, used when no input is named.
const DEMO_CLIP: &[u8] = include_bytes!("../assets/demo.264");
const DEMO_NAME: &str = "<bundled demo clip>";

fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new(DEMO_NAME) {
        return Ok(Box::new(DEMO_CLIP));
    }
    if path == Path::new("-") {
        return Ok(Box::new(io::stdin().lock()));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(f))
}

/// Runs the pipeline over `path`, logging stream errors, calling `f` for each picture.
fn run_stream(
    path: &Path,
    mut input: Box<dyn Read>,
    mut f: impl FnMut(u64, &Picture) -> Result<()>,
) -> Result<(Pipeline, Summary)> {
    let mut pipe = Pipeline::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut first_err: Option<String> = None;
    let mut out_err: Option<anyhow::Error> = None;
    let mut on_event = |e: Event<'_>| match e {
        Event::Picture(i, p) => {
            if out_err.is_none() {
                if let Err(e) = f(i, p) {
                    out_err = Some(e);
                }
            }
        }
        Event::Error(e) => {
            log::warn!("{}: {e}", path.display());
            first_err.get_or_insert_with(|| e.to_string());
        }
    };
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        pipe.push(&buf[..n], &mut on_event);
    }
    pipe.finish(&mut on_event);
    if let Some(e) = out_err {
        return Err(e);
    }
    let summary = pipe.summary.clone();
    if summary.pictures == 0 {
        match first_err {
            Some(e) => bail!("{}: no picture could be parsed; first error: {e}", path.display()),
            None if summary.skipped_leading > 0 => bail!(
                "{}: {} pictures parsed, none output: the stream never reaches an intra picture or a recovery point \
                 (joined mid-way into a long intra-refresh period?); record longer or configure the camera for periodic I frames",
                path.display(),
                summary.skipped_leading
            ),
            None => bail!("{}: no H.264 picture found (is it an Annex-B stream?)", path.display()),
        }
    }
    if summary.errors > 0 {
        log::warn!("{}: {} units or slices dropped (see warnings above)", path.display(), summary.errors);
    }
    Ok((pipe, summary))
}

fn mvs(file: &Path, grid: Grid, output: Option<&Path>) -> Result<()> {
    let input = open(file)?;
    let sink: Box<dyn Write> = match output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    writeln!(w, "frame,poc,type,list,x,y,mv_x,mv_y,ref_idx")?;
    let step = match grid {
        Grid::G4 => 1,
        Grid::G8 => 2,
        Grid::G16 => 4,
    };
    run_stream(file, input, |frame, p| {
        let stride = p.stride4();
        let t = p.picture_type.letter();
        for list in 0..2 {
            for y4 in (0..p.mb_height as usize * 4).step_by(step) {
                for x4 in (0..stride).step_by(step) {
                    let r = p.ref_idx[list][p.ref_index(x4, y4)];
                    if r < 0 || !p.mbs[(y4 / 4) * p.mb_width as usize + x4 / 4].is_decoded() {
                        continue;
                    }
                    let mv = p.mv(list, x4, y4);
                    writeln!(w, "{frame},{},{t},{list},{},{},{},{},{r}", p.poc, x4 * 4, y4 * 4, mv[0], mv[1])?;
                }
            }
        }
        Ok(())
    })?;
    w.flush()?;
    Ok(())
}

fn frames(file: &Path, output: Option<&Path>, png_dir: Option<&Path>, deblock: bool, residual_dir: Option<&Path>) -> Result<()> {
    let input = open(file)?;
    let mut yuv: Option<BufWriter<Box<dyn Write>>> = match output {
        Some(p) if p == Path::new("-") => Some(BufWriter::with_capacity(1 << 20, Box::new(io::stdout().lock()))),
        Some(p) => {
            let f = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Some(BufWriter::with_capacity(1 << 20, Box::new(f)))
        }
        None => None,
    };
    for d in [png_dir, residual_dir].into_iter().flatten() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create the directory {}", d.display()))?;
    }
    let intra = output.is_some() || png_dir.is_some();
    let mut res = ResidualDecoder::new();
    let mut residuals = 0u64;
    let mut rec = Reconstructor::new();
    let mut buf = Vec::new();
    let mut written = 0u64;
    let mut size = None;
    run_stream(file, input, |index, p| {
        if p.picture_type != PictureType::I {
            if let Some(dir) = residual_dir {
                let planes = match res.compute(p) {
                    Ok(r) => r,
                    Err(e) => {
                        log::warn!("{}: picture {index}: {e}; skipped", file.display());
                        return Ok(());
                    }
                };
                let path = dir.join(format!("residual_{index:05}.png"));
                write_residual_png(&path, planes, p.crop).with_context(|| format!("writing {}", path.display()))?;
                residuals += 1;
            }
            return Ok(());
        }
        if !intra {
            return Ok(());
        }
        let frame = match rec.reconstruct(p, Options { deblock }) {
            Ok(f) => f,
            Err(e) => {
                log::warn!("{}: picture {index}: {e}; skipped", file.display());
                return Ok(());
            }
        };
        if frame.missing_mbs > 0 {
            log::warn!("{}: picture {index}: {} macroblocks were not received (grey)", file.display(), frame.missing_mbs);
        }
        let (_, _, w, h) = frame.crop_clipped(p.crop);
        if size.is_some_and(|s| s != (w, h)) {
            log::warn!("{}: picture {index}: the size changes to {w}x{h}", file.display());
        }
        size = Some((w, h));
        if let Some(out) = yuv.as_mut() {
            buf.clear();
            frame.write_cropped(p.crop, &mut buf);
            out.write_all(&buf).context("writing the yuv output")?;
        }
        if let Some(dir) = png_dir {
            let vui = p.slice_info.first().and_then(|s| s.sps.vui.clone());
            let path = dir.join(format!("frame_{index:05}.png"));
            write_png(&path, frame, p.crop, vui.as_ref()).with_context(|| format!("writing {}", path.display()))?;
        }
        written += 1;
        Ok(())
    })?;
    if let Some(mut out) = yuv {
        out.flush().context("writing the yuv output")?;
    }
    if residual_dir.is_some() {
        eprintln!("{residuals} residual pictures (P and B)");
    }
    match size {
        Some((w, h)) => eprintln!("{written} intra pictures, {w}x{h} yuv420p"),
        None if intra => bail!("{}: the stream has no intra picture that could be decoded", file.display()),
        None => {}
    }
    Ok(())
}

/// The luma residual as a grey PNG: r + 128 clipped to 0..255, display rectangle.
fn write_residual_png(path: &Path, r: &ResidualPlanes, crop: (u32, u32, u32, u32)) -> Result<()> {
    let l = (crop.0 as usize).min(r.width);
    let t = (crop.1 as usize).min(r.height);
    let (w, h) = ((crop.2 as usize).min(r.width - l), (crop.3 as usize).min(r.height - t));
    let mut grey = Vec::with_capacity(w * h);
    for row in r.y.chunks_exact(r.width.max(1)).skip(t).take(h) {
        grey.extend(row[l..l + w].iter().map(|&v| (i32::from(v) + 128).clamp(0, 255) as u8));
    }
    let file = BufWriter::new(File::create(path)?);
    let mut enc = png::Encoder::new(file, w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&grey)?;
    Ok(())
}

fn write_png(path: &Path, f: &Frame, crop: (u32, u32, u32, u32), vui: Option<&Vui>) -> Result<()> {
    let rect = f.crop_clipped(crop);
    let (w, h) = (rect.2, rect.3);
    let mut rgb = vec![0u8; w * h * 3];
    RgbResizer::new().convert(&Yuv420::from_frame(f), rect, &ColorSpec::from_vui(vui), w, h, Layout::Interleaved, &mut rgb)?;
    let file = BufWriter::new(File::create(path)?);
    let mut enc = png::Encoder::new(file, w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&rgb)?;
    Ok(())
}

fn scan(file: &Path, digest: bool, residual: bool) -> Result<()> {
    let start = Instant::now();
    let mut mbs = 0u64;
    let mut res = ResidualDecoder::new();
    let (mut res_secs, mut res_pics, mut res_counts) = (0f64, 0u64, [0usize; 4]);
    let (_, s) = run_stream(file, open(file)?, |i, p| {
        mbs += p.mbs_decoded as u64;
        if residual && p.picture_type != PictureType::I {
            let t = Instant::now();
            if let Ok(planes) = res.compute(p) {
                for (n, c) in res_counts.iter_mut().zip(planes.counts()) {
                    *n += c;
                }
                res_pics += 1;
            }
            res_secs += t.elapsed().as_secs_f64();
        }
        if digest {
            println!("picture {i} {} {:016x}", p.picture_type.letter(), p.digest());
        }
        Ok(())
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "frames {}  macroblocks {}  seconds {:.3}  frames/s {:.1}  dropped {}",
        s.pictures,
        mbs,
        secs,
        s.pictures as f64 / secs.max(1e-9),
        s.errors
    );
    if residual {
        let [missing, skip, inter, intra] = res_counts;
        println!(
            "residual: pictures {res_pics}  seconds {res_secs:.3}  ms/picture {:.2}  macroblocks inter {inter} skip {skip} intra {intra} missing {missing}",
            1000.0 * res_secs / (res_pics.max(1) as f64)
        );
    }
    Ok(())
}

fn run_extract(opts: &extract::Options) -> Result<()> {
    if !(1..=1024).contains(&opts.segments) {
        bail!("--segments {}: must be 1..=1024", opts.segments);
    }
    let r = extract::run(opts)?;
    extract::summary(&r, io::stderr())?;
    if !r.failed.is_empty() {
        eprintln!("gopwatch: {} clips failed (listed in {})", r.failed.len(), opts.out.join("failed.csv").display());
        std::process::exit(1);
    }
    Ok(())
}

fn probe(file: &Path) -> Result<()> {
    let mut types: Vec<(u64, PictureType, bool, u32)> = Vec::new();
    let (pipe, s) = run_stream(file, open(file)?, |i, p| {
        types.push((i, p.picture_type, p.idr, p.slices));
        Ok(())
    })?;
    let Some((sps, pps)) = pipe.decoder().active.clone() else { bail!("no slice found") };
    let (_, _, cw, ch) = sps.crop_rect();
    println!("profile        {} (profile_idc {}), level {:.1}", sps.profile_name(), sps.profile_idc, f64::from(sps.level_idc) / 10.0);
    println!("coded size     {}x{}", sps.mb_width() * 16, sps.mb_height() * 16);
    println!("display size   {cw}x{ch}");
    match sps.frame_rate() {
        Some(r) => println!("frame rate     {r:.3} fps (VUI timing)"),
        None => println!("frame rate     not signalled"),
    }
    println!("entropy        {}", if pps.entropy_coding_mode_flag { "CABAC" } else { "CAVLC" });
    println!("8x8 transform  {}", if pps.transform_8x8_mode_flag { "yes" } else { "no" });
    println!(
        "references     max_num_ref_frames {}, default active L0 {} L1 {}",
        sps.max_num_ref_frames,
        pps.num_ref_idx_l0_default_active_minus1 + 1,
        pps.num_ref_idx_l1_default_active_minus1 + 1
    );
    let (smin, smax) = types.iter().fold((u32::MAX, 0), |(a, b), t| (a.min(t.3), b.max(t.3)));
    println!("slices/picture {}", if smin == smax { smin.to_string() } else { format!("{smin}..{smax}") });
    let pattern: String = types.iter().take(60).map(|t| t.1.letter()).collect();
    println!("display order  {pattern}{}", if types.len() > 60 { "..." } else { "" });
    let intra: Vec<u64> = types.iter().filter(|t| t.1 == PictureType::I).map(|t| t.0).collect();
    let idr: Vec<u64> = types.iter().filter(|t| t.2).map(|t| t.0).collect();
    println!("I period       {}", period(&intra));
    println!("IDR period     {}", period(&idr));
    println!("B frames       {}", if types.iter().any(|t| t.1 == PictureType::B) { "yes" } else { "no" });
    println!("frames         {}", s.pictures);
    if s.errors > 0 || s.skipped_leading > 0 {
        println!("dropped        {} units/slices, {} leading pictures before the first intra picture or recovery point", s.errors, s.skipped_leading);
    }
    Ok(())
}

/// The distance between successive entries, summarised.
fn period(idx: &[u64]) -> String {
    if idx.len() < 2 {
        return format!("{} in stream", idx.len());
    }
    let d: Vec<u64> = idx.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = (d.iter().min().copied().unwrap_or(0), d.iter().max().copied().unwrap_or(0));
    if lo == hi { format!("{lo} frames") } else { format!("{lo}..{hi} frames") }
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Probe { file } => probe(file),
        Cmd::Mvs { file, grid, output } => {
            let file = file.clone().unwrap_or_else(|| PathBuf::from(DEMO_NAME));
            mvs(&file, *grid, output.as_deref())
        }
        Cmd::Scan { file, digest, residual } => scan(file, *digest, *residual),
        Cmd::Extract { list, out, segments, size, jobs, seed, sampling } => {
            let sampling = match sampling {
                SamplingArg::Auto => SamplingMode::Auto,
                SamplingArg::Random => SamplingMode::Random,
                SamplingArg::Centre => SamplingMode::Centre,
            };
            let opts = extract::Options {
                list: list.clone(),
                out: out.clone(),
                segments: *segments,
                size: *size,
                seed: *seed,
                sampling,
                jobs: *jobs,
                progress: io::stderr().is_terminal(),
            };
            run_extract(&opts)
        }
        Cmd::Frames { file, intra_only: _, output, png, no_deblock, residual_png } => {
            frames(file, output.as_deref(), png.as_deref(), !*no_deblock, residual_png.as_deref())
        }
    };
    if let Err(e) = r {
        // A closed pipe (e.g. `| head`) is not an error for the user.
        if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
            std::process::exit(0);
        }
        eprintln!("gopwatch: {e:#}");
        std::process::exit(2);
    }
}
