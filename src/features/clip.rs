//! The representation of one whole clip (training data): TSN segments, each with its I
//! picture, accumulated motion and accumulated residual, as tensors.

use super::accumulate::Accumulator;
use super::resize;
use super::sample::{self, Sampling};
use crate::h264::recon::{Options, Reconstructor};
use crate::h264::residual::ResidualDecoder;
use crate::h264::{Picture, PictureType, SkipSliceData};
use crate::image::rgb::{ColorSpec, Layout, RgbResizer, Yuv420, MAX_OUT};
use crate::source::file::{decode_stream_skipping, Event};
use std::fmt;

/// Size of the tensors' planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The stream's display size: no resizing (motion stays exact, as CoViAR computes it).
    Native,
    /// Resized to `width` x `height`: I pictures bilinearly, motion and residual by area.
    Fixed { width: usize, height: usize },
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Native => write!(f, "native"),
            Size::Fixed { width, height } => write!(f, "{width}x{height}"),
        }
    }
}

/// How a clip is turned into tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub segments: usize,
    pub size: Size,
    pub sampling: Sampling,
}

/// A clip's tensors. Planes are `height` x `width`, row-major; segment k's planes follow
/// segment k - 1's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipTensors {
    pub segments: usize,
    pub width: usize,
    pub height: usize,
    /// The stream's display size.
    pub source_width: usize,
    pub source_height: usize,
    /// Picture types in display order ("IPPB...").
    pub types: String,
    /// Per segment: display index of the P picture whose motion and residual it holds
    /// (-1 in a clip without P pictures: motion and residual are zero).
    pub frames: Vec<i64>,
    /// Per segment: display index of the I picture that starts that picture's GOP.
    pub iframes: Vec<i64>,
    /// [S, 3, H, W] RGB of the I picture.
    pub iframe: Vec<u8>,
    /// [S, 2, H, W] accumulated motion back to the I picture, whole luma pels, x then y
    /// (the pixel's position minus its source's position in the I picture).
    pub mv: Vec<i16>,
    /// [S, 3, H, W] accumulated residual, Y, Cb, Cr (chroma at luma resolution).
    pub residual: Vec<i16>,
    /// What was damaged but did not stop the clip (missing macroblocks, a picture left out
    /// of the chain), for the caller to report with the clip's name.
    pub warnings: Vec<String>,
}

/// Why a clip cannot be turned into tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipError {
    /// No picture could be parsed; the first stream error, if any.
    NoPictures(Option<String>),
    /// No I picture: nothing to start a GOP from.
    NoIntra { pictures: usize },
    /// An I picture needed by a segment could not be reconstructed.
    Intra { frame: u64, why: String },
    /// Bad parameters.
    Params(String),
}

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClipError::NoPictures(Some(e)) => write!(f, "no picture could be parsed; first error: {e}"),
            ClipError::NoPictures(None) => write!(f, "no H.264 picture found (is it an Annex-B H.264 stream?)"),
            ClipError::NoIntra { pictures } => write!(
                f,
                "none of its {pictures} pictures is an I picture, so no GOP starts (an intra-refresh stream?); \
                 encode the clip with periodic I frames"
            ),
            ClipError::Intra { frame, why } => write!(f, "I picture {frame} cannot be decoded: {why}"),
            ClipError::Params(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for ClipError {}

/// Which pictures the segments use (from the first pass).
struct Plan {
    frames: Vec<i64>,
    iframes: Vec<i64>,
    types: Vec<PictureType>,
}

/// Chooses the segments' pictures: TSN over the P pictures that follow an I picture (the
/// accumulation chain; B pictures are not in it), each with its GOP's I picture; in a
/// clip without such P pictures, TSN over the I pictures.
fn plan(types: Vec<PictureType>, params: &Params) -> Result<Plan, ClipError> {
    let mut gop = None;
    let mut chain = Vec::new();
    let mut intra = Vec::new();
    for (i, &t) in types.iter().enumerate() {
        match t {
            PictureType::I => {
                gop = Some(i as i64);
                intra.push(i as i64);
            }
            PictureType::P => {
                if let Some(g) = gop {
                    chain.push((i as i64, g));
                }
            }
            PictureType::B => {}
        }
    }
    if intra.is_empty() {
        return Err(ClipError::NoIntra { pictures: types.len() });
    }
    let (frames, iframes) = if chain.is_empty() {
        let pick = sample::segments(intra.len(), params.segments, params.sampling);
        (vec![-1; pick.len()], pick.iter().map(|&c| intra[c]).collect())
    } else {
        let pick = sample::segments(chain.len(), params.segments, params.sampling);
        pick.iter().map(|&c| chain[c]).unzip()
    };
    Ok(Plan { frames, iframes, types })
}

/// Turns an Annex-B H.264 clip into its tensors. Two passes over `stream`: the first reads
/// only slice headers, for the picture types; the second decodes the I and P pictures (B
/// slices' macroblocks are skipped) and computes only what the chosen segments need.
pub fn extract(stream: &[u8], params: &Params) -> Result<ClipTensors, ClipError> {
    if params.segments == 0 || params.segments > 1024 {
        return Err(ClipError::Params(format!("segments must be 1..=1024, not {}", params.segments)));
    }
    let mut types = Vec::new();
    let mut first_err = None;
    let mut size = (0, 0);
    let _ = decode_stream_skipping(stream, SkipSliceData::All, |e| match e {
        Event::Picture(_, p) => {
            types.push(p.picture_type);
            if size == (0, 0) {
                size = display_size(p);
            }
        }
        Event::Error(e) => {
            first_err.get_or_insert_with(|| e.to_string());
        }
    });
    if types.is_empty() {
        return Err(ClipError::NoPictures(first_err));
    }
    let plan = plan(types, params)?;
    let (sw, sh) = size;
    let (w, h) = match params.size {
        Size::Native => (sw, sh),
        Size::Fixed { width, height } => (width, height),
    };
    if !(1..=MAX_OUT).contains(&w) || !(1..=MAX_OUT).contains(&h) {
        return Err(ClipError::Params(format!("output size {w}x{h}: each side must be 1..={MAX_OUT}")));
    }
    let s = plan.frames.len();
    let mut t = ClipTensors {
        segments: s,
        width: w,
        height: h,
        source_width: sw,
        source_height: sh,
        types: plan.types.iter().map(|t| t.letter()).collect(),
        frames: plan.frames.clone(),
        iframes: plan.iframes.clone(),
        iframe: vec![0; s * 3 * w * h],
        mv: vec![0; s * 2 * w * h],
        residual: vec![0; s * 3 * w * h],
        warnings: Vec::new(),
    };
    let mut state = Second::default();
    let mut err = None;
    let _ = decode_stream_skipping(stream, SkipSliceData::B, |e| {
        if let (Event::Picture(i, p), None) = (e, &err) {
            if let Err(e) = state.picture(i as i64, p, &plan, &mut t) {
                err = Some(e);
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(t),
    }
}

/// The display window's size, clipped to the coded picture.
fn display_size(p: &Picture) -> (usize, usize) {
    let (cw, ch) = (p.mb_width as usize * 16, p.mb_height as usize * 16);
    let (l, t, w, h) = p.crop;
    let (l, t) = ((l as usize).min(cw), (t as usize).min(ch));
    ((w as usize).min(cw - l), (h as usize).min(ch - t))
}

/// State of the second pass.
struct Second {
    acc: Accumulator,
    /// Display index of the last picture of the current GOP that a segment uses (-1: none).
    last: i64,
    rec: Reconstructor,
    res: ResidualDecoder,
    rgb: RgbResizer,
    motion: Vec<i16>,
    residual: Vec<i16>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            acc: Accumulator::new(),
            last: -1,
            rec: Reconstructor::new(),
            res: ResidualDecoder::new(),
            rgb: RgbResizer::new(),
            motion: Vec::new(),
            residual: Vec::new(),
        }
    }
}

impl Second {
    fn picture(&mut self, i: i64, p: &Picture, plan: &Plan, t: &mut ClipTensors) -> Result<(), ClipError> {
        let (w, h) = (t.width, t.height);
        match p.picture_type {
            PictureType::I => {
                // The chain is followed only as far as the GOP's last sampled picture.
                self.last = (0..t.segments).filter(|&k| plan.iframes[k] == i).map(|k| plan.frames[k].max(i)).max().unwrap_or(-1);
                if self.last < 0 {
                    return Ok(());
                }
                let f = self.rec.reconstruct(p, Options::default()).map_err(|e| ClipError::Intra { frame: i as u64, why: e.to_string() })?;
                if f.missing_mbs > 0 {
                    t.warnings.push(format!("I picture {i}: {} macroblocks missing (grey)", f.missing_mbs));
                }
                let vui = p.slice_info.first().and_then(|s| s.sps.vui.as_ref());
                let rect = f.crop_clipped(p.crop);
                for k in (0..t.segments).filter(|&k| plan.iframes[k] == i) {
                    let out = &mut t.iframe[k * 3 * w * h..][..3 * w * h];
                    self.rgb
                        .convert(&Yuv420::from_frame(f), rect, &ColorSpec::from_vui(vui), w, h, Layout::Planar, out)
                        .map_err(|e| ClipError::Intra { frame: i as u64, why: e.to_string() })?;
                }
                let (sw, sh) = display_size(p);
                self.acc.start(sw, sh, true);
            }
            PictureType::P if i <= self.last => {
                let planes = self.res.compute(p).ok();
                if !self.acc.step(p, planes) {
                    t.warnings.push(format!("P picture {i}: does not fit its GOP (size change or no slices); left out of the chain"));
                }
                let (sw, sh) = self.acc.size();
                for k in (0..t.segments).filter(|&k| plan.frames[k] == i) {
                    self.motion.resize(2 * sw * sh, 0);
                    self.residual.resize(3 * sw * sh, 0);
                    self.acc.motion(&mut self.motion);
                    self.acc.residual(&mut self.residual);
                    resize::area(&self.motion, sw, sh, 2, &mut t.mv[k * 2 * w * h..][..2 * w * h], w, h);
                    resize::area(&self.residual, sw, sh, 3, &mut t.residual[k * 3 * w * h..][..3 * w * h], w, h);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
