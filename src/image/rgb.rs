//! Cropping, Y'CbCr -> R'G'B' conversion and bilinear resizing of an 8-bit 4:2:0 picture to
//! a network's input, in one pass: only the samples that the resize reads are converted.
//!
//! Conventions, exactly:
//! - Colour: H.264 Annex E (E.2.1, Table E-5). The matrix (Kr, Kb) comes from the VUI's
//!   matrix_coefficients (1: BT.709; 4: FCC; 5, 6: BT.601; 7: SMPTE 240M; 9, 10: BT.2020;
//!   anything else, or no VUI: BT.601, as ffmpeg assumes), the range from
//!   video_full_range_flag (limited: Y 16..235, Cb/Cr 16..240; full: 0..255).
//!   R = Y' + 2(1-Kr) Pr, G = Y' - 2 Kb(1-Kb)/Kg Pb - 2 Kr(1-Kr)/Kg Pr, B = Y' + 2(1-Kb) Pb,
//!   scaled to 0..255 and clipped.
//! - Chroma: each 2x2 luma block uses its one chroma sample (nearest; luma (x, y) reads chroma
//!   (x / 2, y / 2) of the coded frame), as ffmpeg's swscale does for yuv420p -> rgb24 at
//!   the same size.
//! - Resize: bilinear on the R'G'B' picture (after clipping) with pixel centres aligned, as
//!   OpenCV's INTER_LINEAR and PyTorch's `interpolate(mode="bilinear", align_corners=False)`
//!   (without antialiasing): output column dx samples the source at
//!   sx = (dx + 0.5) * W_in / W_out - 0.5, clamped to 0 below; taps floor(sx) and
//!   floor(sx) + 1 (the last column repeated at the right edge); rows likewise. Weights have
//!   11 fractional bits (as OpenCV's), converted samples 8: the result is within 1 of the same
//!   computation in f64 (tested).
//! - Cropping: the rectangle (left, top, width, height) in luma samples is the source picture
//!   (`Picture::crop`, the SPS's frame cropping, 7.4.2.1.1).

use crate::h264::recon::Frame;
use crate::h264::sps::Vui;
use std::fmt;

/// The Y'CbCr -> R'G'B' conversion of a stream (Table E-5 coefficients and the range).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorSpec {
    pub kr: f64,
    pub kb: f64,
    pub full_range: bool,
}

impl ColorSpec {
    pub const BT601_LIMITED: ColorSpec = ColorSpec { kr: 0.299, kb: 0.114, full_range: false };

    /// From the SPS's VUI (E.2.1); BT.601 limited range when absent or unspecified.
    pub fn from_vui(vui: Option<&Vui>) -> ColorSpec {
        let (kr, kb) = match vui.map(|v| v.matrix_coefficients) {
            Some(1) => (0.2126, 0.0722),
            Some(4) => (0.30, 0.11),
            Some(7) => (0.212, 0.087),
            Some(9 | 10) => (0.2627, 0.0593),
            _ => (0.299, 0.114),
        };
        ColorSpec { kr, kb, full_range: vui.is_some_and(|v| v.video_full_range_flag) }
    }

    /// (Y scale, chroma scale, Y offset) to 0..255 R'G'B' (E-16 .. E-21 for 8 bits).
    fn scales(&self) -> (f64, f64, f64) {
        if self.full_range { (1.0, 1.0, 0.0) } else { (255.0 / 219.0, 255.0 / 224.0, 16.0) }
    }

    /// The conversion in f64, clipped to 0..=255: the reference of the fixed-point path.
    pub fn rgb_f64(&self, y: u8, cb: u8, cr: u8) -> [f64; 3] {
        let (ys, cs, yo) = self.scales();
        let kg = 1.0 - self.kr - self.kb;
        let yy = (f64::from(y) - yo) * ys;
        let (pb, pr) = ((f64::from(cb) - 128.0) * cs, (f64::from(cr) - 128.0) * cs);
        let r = yy + 2.0 * (1.0 - self.kr) * pr;
        let g = yy - 2.0 * self.kb * (1.0 - self.kb) / kg * pb - 2.0 * self.kr * (1.0 - self.kr) / kg * pr;
        let b = yy + 2.0 * (1.0 - self.kb) * pb;
        [r, g, b].map(|v| v.clamp(0.0, 255.0))
    }
}

/// Fixed-point form of a `ColorSpec` (coefficients with 16 fractional bits).
#[derive(Debug, Clone, Copy)]
struct Fixed {
    /// R = Y + a Cr, G = Y - b Cb - c Cr, B = Y + d Cb.
    coef: [i32; 4],
    y_scale: i32,
    y_off: i32,
}

impl Fixed {
    fn new(s: &ColorSpec) -> Fixed {
        let (ys, cs, yo) = s.scales();
        let kg = 1.0 - s.kr - s.kb;
        let fx = |v: f64| (v * 65536.0).round() as i32;
        Fixed {
            coef: [
                fx(2.0 * (1.0 - s.kr) * cs),
                fx(2.0 * s.kb * (1.0 - s.kb) / kg * cs),
                fx(2.0 * s.kr * (1.0 - s.kr) / kg * cs),
                fx(2.0 * (1.0 - s.kb) * cs),
            ],
            y_scale: fx(ys),
            y_off: yo as i32,
        }
    }

    /// R'G'B' with 8 fractional bits (0 ..= 255 << 8), clipped.
    #[inline(always)]
    fn rgb_q8(&self, y: u8, cb: u8, cr: u8) -> [i32; 3] {
        let [a, b, c, d] = self.coef;
        let yy = (i32::from(y) - self.y_off) * self.y_scale + (1 << 7);
        let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
        let q = |v: i32| v.clamp(0, 255 << 16) >> 8;
        [q(yy + a * cr), q(yy - b * cb - c * cr), q(yy + d * cb)]
    }
}

/// A borrowed 8-bit 4:2:0 picture: luma `width` x `height`, chroma at half resolution.
#[derive(Debug, Clone, Copy)]
pub struct Yuv420<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub y_stride: usize,
    pub cb: &'a [u8],
    pub cr: &'a [u8],
    pub c_stride: usize,
}

impl<'a> Yuv420<'a> {
    pub fn from_frame(f: &'a Frame) -> Yuv420<'a> {
        Yuv420 { width: f.width, height: f.height, y: &f.y, y_stride: f.width, cb: &f.cb, cr: &f.cr, c_stride: f.width / 2 }
    }
}

/// Order of the output samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [3, H, W]: the R plane, then G, then B (the networks' input).
    Planar,
    /// [H, W, 3]: RGB triples (images, PNG).
    Interleaved,
}

/// Why a conversion cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// The crop rectangle is empty or not inside the picture, or a plane is too short.
    BadSource(String),
    /// The output size is zero or the output buffer shorter than 3 * width * height.
    BadOutput(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::BadSource(s) => write!(f, "bad source picture: {s}"),
            ImageError::BadOutput(s) => write!(f, "bad output: {s}"),
        }
    }
}

impl std::error::Error for ImageError {}

/// One output coordinate: source taps i0, i1 (absolute) and the weight of i1 (of 2048).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tap {
    i0: usize,
    i1: usize,
    w1: i32,
}

/// Largest output width or height.
pub const MAX_OUT: usize = 8192;

const WBITS: u32 = 11;
const WONE: i32 = 1 << WBITS;

/// The taps of `n_out` outputs over `n_in` source samples starting at `start` (the module's
/// sampling convention), in exact integer arithmetic: sx = ((2 dx + 1) n_in - n_out) / (2 n_out).
fn taps(start: usize, n_in: usize, n_out: usize, out: &mut Vec<Tap>) {
    out.clear();
    let (ni, no) = (n_in as i64, n_out as i64);
    for dx in 0..no {
        let num = (2 * dx + 1) * ni - no;
        let den = 2 * no;
        let (i0, w1) = if num <= 0 {
            (0, 0)
        } else {
            let i0 = num / den;
            (i0, (((num - i0 * den) << WBITS) + den / 2) / den)
        };
        let (i0, w1) = if i0 >= ni - 1 { (ni - 1, 0) } else { (i0, w1) };
        let i1 = (i0 + 1).min(ni - 1);
        out.push(Tap { i0: start + i0 as usize, i1: start + i1 as usize, w1: w1 as i32 });
    }
}

/// Crops, converts and resizes pictures; keeps its tap tables between calls of one size.
#[derive(Debug, Default)]
pub struct RgbResizer {
    key: Option<(usize, usize, usize, usize, usize, usize)>,
    tx: Vec<Tap>,
    ty: Vec<Tap>,
}

impl RgbResizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the `rect` (left, top, width, height) of `src`, converted with `spec` and
    /// resized to `out_w` x `out_h`, into `out[..3 * out_w * out_h]` in `layout` order.
    #[allow(clippy::too_many_arguments)]
    pub fn convert(
        &mut self,
        src: &Yuv420<'_>,
        rect: (usize, usize, usize, usize),
        spec: &ColorSpec,
        out_w: usize,
        out_h: usize,
        layout: Layout,
        out: &mut [u8],
    ) -> Result<(), ImageError> {
        let (l, t, w, h) = rect;
        check_source(src, rect)?;
        // Each side at most MAX_OUT, so 3 * out_w * out_h cannot overflow, even on 32 bits.
        if !(1..=MAX_OUT).contains(&out_w) || !(1..=MAX_OUT).contains(&out_h) {
            return Err(ImageError::BadOutput(format!("output size {out_w}x{out_h}: each side must be 1..={MAX_OUT}")));
        }
        let n = out_w * out_h;
        if out.len() < 3 * n {
            return Err(ImageError::BadOutput(format!("{out_w}x{out_h} RGB needs {} bytes, the buffer has {}", 3 * n, out.len())));
        }
        if self.key != Some((l, t, w, h, out_w, out_h)) {
            taps(l, w, out_w, &mut self.tx);
            taps(t, h, out_h, &mut self.ty);
            self.key = Some((l, t, w, h, out_w, out_h));
        }
        let fx = Fixed::new(spec);
        let conv = |x: usize, y: usize| {
            let c = (y >> 1) * src.c_stride + (x >> 1);
            fx.rgb_q8(src.y[y * src.y_stride + x], src.cb[c], src.cr[c])
        };
        // Horizontal pass of one source row at one output column: 19 fractional bits.
        let hrow = |tx: &Tap, y: usize| {
            let a = conv(tx.i0, y);
            if tx.w1 == 0 {
                return a.map(|v| v << WBITS);
            }
            let b = conv(tx.i1, y);
            [0, 1, 2].map(|k| a[k] * (WONE - tx.w1) + b[k] * tx.w1)
        };
        for (dy, ty) in self.ty.iter().enumerate() {
            for (dx, tx) in self.tx.iter().enumerate() {
                let top = hrow(tx, ty.i0);
                let v: [i64; 3] = if ty.w1 == 0 {
                    top.map(|v| i64::from(v) << WBITS)
                } else {
                    let bot = hrow(tx, ty.i1);
                    [0, 1, 2].map(|k| i64::from(top[k]) * i64::from(WONE - ty.w1) + i64::from(bot[k]) * i64::from(ty.w1))
                };
                // 8 + 2 * 11 fractional bits; rounded to the nearest integer.
                let px = v.map(|v| ((v + (1 << 29)) >> 30).clamp(0, 255) as u8);
                let i = dy * out_w + dx;
                match layout {
                    Layout::Planar => {
                        out[i] = px[0];
                        out[n + i] = px[1];
                        out[2 * n + i] = px[2];
                    }
                    Layout::Interleaved => out[3 * i..3 * i + 3].copy_from_slice(&px),
                }
            }
        }
        Ok(())
    }
}

/// The rectangle is inside the picture and every sample it reads is inside the slices.
fn check_source(src: &Yuv420<'_>, (l, t, w, h): (usize, usize, usize, usize)) -> Result<(), ImageError> {
    let bad = |s: String| Err(ImageError::BadSource(s));
    if w == 0 || h == 0 || l.checked_add(w).map_or(true, |r| r > src.width) || t.checked_add(h).map_or(true, |b| b > src.height) {
        return bad(format!("rectangle {w}x{h} at ({l}, {t}) is empty or outside the {}x{} picture", src.width, src.height));
    }
    let (r, b) = (l + w - 1, t + h - 1);
    let need_y = b.checked_mul(src.y_stride).and_then(|v| v.checked_add(r + 1));
    let need_c = (b / 2).checked_mul(src.c_stride).and_then(|v| v.checked_add(r / 2 + 1));
    if src.y_stride < src.width || need_y.map_or(true, |n| n > src.y.len()) {
        return bad("luma plane too short for its size and stride".into());
    }
    if src.c_stride < src.width.div_ceil(2) || need_c.map_or(true, |n| n > src.cb.len().min(src.cr.len())) {
        return bad("chroma planes too short for the size and stride".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(spec: &ColorSpec, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (py, pc) = ([y; 4], [cb]);
        let pr = [cr];
        let src = Yuv420 { width: 2, height: 2, y: &py, y_stride: 2, cb: &pc, cr: &pr, c_stride: 1 };
        let mut out = [0u8; 3];
        RgbResizer::new().convert(&src, (0, 0, 1, 1), spec, 1, 1, Layout::Interleaved, &mut out).unwrap();
        out
    }

    #[test]
    fn bt601_limited_range_by_default() {
        let s = ColorSpec::from_vui(None);
        assert_eq!(one(&s, 16, 128, 128), [0, 0, 0]);
        assert_eq!(one(&s, 235, 128, 128), [255, 255, 255]);
        // BT.601 red: Y 81, Cb 90, Cr 240.
        let red = one(&s, 81, 90, 240);
        assert!(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, "{red:?}");
    }

    #[test]
    fn vui_selects_bt709_and_full_range() {
        let vui = Vui { matrix_coefficients: 1, video_full_range_flag: true, ..Vui::default() };
        let s = ColorSpec::from_vui(Some(&vui));
        assert_eq!(one(&s, 255, 128, 128), [255, 255, 255]);
        // BT.709 full-range red: Y 54, Cb 99, Cr 255.
        let red = one(&s, 54, 99, 255);
        assert!(red[0] >= 253 && red[1] <= 2 && red[2] <= 2, "{red:?}");
    }

    #[test]
    fn taps_follow_the_half_pixel_convention() {
        let mut t = Vec::new();
        // 2:1 down: output x samples source 2x + 0.5, halfway between 2x and 2x + 1.
        taps(10, 8, 4, &mut t);
        assert_eq!(t[0], Tap { i0: 10, i1: 11, w1: 1024 });
        assert_eq!(t[3], Tap { i0: 16, i1: 17, w1: 1024 });
        // 1:2 up: output 0 at -0.25 -> clamped to sample 0; output 7 at 3.25 -> last sample.
        taps(0, 4, 8, &mut t);
        assert_eq!(t[0], Tap { i0: 0, i1: 1, w1: 0 });
        assert_eq!(t[1], Tap { i0: 0, i1: 1, w1: 512 });
        assert_eq!(t[7], Tap { i0: 3, i1: 3, w1: 0 });
        // Same size: every output is its source sample.
        taps(0, 5, 5, &mut t);
        assert!(t.iter().enumerate().all(|(i, tp)| tp.i0 == i && tp.w1 == 0));
    }

    #[test]
    fn bad_rectangles_and_buffers_are_errors() {
        let p = [0u8; 64];
        let src = Yuv420 { width: 8, height: 8, y: &p, y_stride: 8, cb: &p[..16], cr: &p[..16], c_stride: 4 };
        let mut r = RgbResizer::new();
        let mut out = [0u8; 48];
        let s = ColorSpec::BT601_LIMITED;
        assert!(r.convert(&src, (0, 0, 8, 8), &s, 4, 4, Layout::Planar, &mut out).is_ok());
        assert!(matches!(r.convert(&src, (4, 0, 5, 8), &s, 4, 4, Layout::Planar, &mut out), Err(ImageError::BadSource(_))));
        assert!(matches!(r.convert(&src, (0, 0, 0, 8), &s, 4, 4, Layout::Planar, &mut out), Err(ImageError::BadSource(_))));
        assert!(matches!(r.convert(&src, (0, 0, 8, 8), &s, 5, 4, Layout::Planar, &mut out), Err(ImageError::BadOutput(_))));
        assert!(matches!(r.convert(&src, (0, 0, 8, 8), &s, 0, 4, Layout::Planar, &mut out), Err(ImageError::BadOutput(_))));
        assert!(matches!(r.convert(&src, (0, 0, 8, 8), &s, usize::MAX, 4, Layout::Planar, &mut out), Err(ImageError::BadOutput(_))));
        let short = Yuv420 { cb: &p[..15], ..src };
        assert!(matches!(r.convert(&short, (0, 0, 8, 8), &s, 4, 4, Layout::Planar, &mut out), Err(ImageError::BadSource(_))));
    }

    /// The straightforward reference: the whole rectangle converted in f64, then resized in
    /// f64 with the documented convention, rounded. Planar output.
    fn reference(src: &Yuv420<'_>, (l, t, w, h): (usize, usize, usize, usize), spec: &ColorSpec, ow: usize, oh: usize) -> Vec<u8> {
        let mut full = vec![[0f64; 3]; w * h];
        for y in 0..h {
            for x in 0..w {
                let (ax, ay) = (l + x, t + y);
                let c = (ay / 2) * src.c_stride + ax / 2;
                full[y * w + x] = spec.rgb_f64(src.y[ay * src.y_stride + ax], src.cb[c], src.cr[c]);
            }
        }
        let coord = |d: usize, n_in: usize, n_out: usize| {
            let s = ((d as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(n_in - 1);
            let a = if i0 == n_in - 1 { 0.0 } else { s - i0 as f64 };
            (i0, (i0 + 1).min(n_in - 1), a)
        };
        let mut out = vec![0u8; 3 * ow * oh];
        for dy in 0..oh {
            let (y0, y1, b) = coord(dy, h, oh);
            for dx in 0..ow {
                let (x0, x1, a) = coord(dx, w, ow);
                for k in 0..3 {
                    let top = full[y0 * w + x0][k] * (1.0 - a) + full[y0 * w + x1][k] * a;
                    let bot = full[y1 * w + x0][k] * (1.0 - a) + full[y1 * w + x1][k] * a;
                    out[k * ow * oh + dy * ow + dx] = (top * (1.0 - b) + bot * b).round() as u8;
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn fused_path_is_within_one_of_the_f64_reference(
            w in 2usize..40, h in 2usize..40, ow in 1usize..50, oh in 1usize..50,
            seed: u64, crop in (0usize..6, 0usize..6), matrix in 0usize..4, full: bool,
        ) {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let mut s = seed | 1;
            let mut rnd = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s >> 24) as u8 };
            let y: Vec<u8> = (0..w * h).map(|_| rnd()).collect();
            let cb: Vec<u8> = (0..cw * ch).map(|_| rnd()).collect();
            let cr: Vec<u8> = (0..cw * ch).map(|_| rnd()).collect();
            let src = Yuv420 { width: w, height: h, y: &y, y_stride: w, cb: &cb, cr: &cr, c_stride: cw };
            // Even crop offsets (4:2:0, 7.4.2.1.1), at least one sample left.
            let (l, t) = ((crop.0 * 2).min((w - 1) & !1), (crop.1 * 2).min((h - 1) & !1));
            let rect = (l, t, w - l - (crop.1 % 2).min(w - l - 1), h - t);
            let spec = ColorSpec { kr: [0.299, 0.2126, 0.2627, 0.30][matrix], kb: [0.114, 0.0722, 0.0593, 0.11][matrix], full_range: full };
            let mut got = vec![0u8; 3 * ow * oh];
            RgbResizer::new().convert(&src, rect, &spec, ow, oh, Layout::Planar, &mut got).unwrap();
            let want = reference(&src, rect, &spec, ow, oh);
            let worst = got.iter().zip(&want).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).max().unwrap_or(0);
            prop_assert!(worst <= 1, "max difference {}", worst);
        }
    }
}
