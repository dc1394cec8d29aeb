//! RGB conversion (`gopwatch::image::rgb`) against ffmpeg's own: each intra picture of a
//! stream, reconstructed by `recon` (bit-exact with ffmpeg, tests/intra_oracle.rs), cropped
//! and converted at full size, against the rgb24 frame that ffmpeg's swscale makes from the
//! same picture with the matrix and range it read from the VUI
//! (tools/oracle/ffmpeg_frames.py --rgb).
//!
//! Tolerance: ours - ffmpeg within [-1, +3], mean within [0, 1.5]. swscale's default
//! yuv2rgb path (same size, no SWS_ACCURATE_RND / SWS_FULL_CHR_H_INT) truncates and uses
//! coefficients of limited precision: measured against the exact f64 formula on these
//! streams, ffmpeg's samples are never above it and up to 2.9 below (G, limited range; R and
//! B up to 2.0, means -0.5 .. -1.0). Ours are the exact value rounded (within 0.5 + 1/256),
//! so the difference is one-sided. Both read chroma nearest-neighbour (a 2x2 luma block
//! shares its chroma sample), so a wrong upsampling convention, matrix or range shows as
//! differences of tens, far outside the band.
//!
//! Needs: $GOPWATCH_PYTHON, $GOPWATCH_STREAMS (see tests/intra_oracle.rs).

use gopwatch::h264::recon::{Options, Reconstructor};
use gopwatch::h264::PictureType;
use gopwatch::image::rgb::{ColorSpec, Layout, RgbResizer, Yuv420};
use gopwatch::source::file::{decode_stream, Event};
use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{python, root, write_cache, x264_streams};

fn stream(name: &str) -> PathBuf {
    let p = x264_streams().join(name);
    assert!(p.is_file(), "{} not found (GOPWATCH_STREAMS); run the tests through tools/test.sh", p.display());
    p
}

/// ffmpeg's rgb24 I frames: display index -> (width, height, bytes).
fn theirs(name: &str) -> Vec<(u64, usize, usize, Vec<u8>)> {
    let cache = root().join("target/oracle");
    std::fs::create_dir_all(&cache).unwrap();
    let (rgb, index) = (cache.join(format!("{name}.rgb24")), cache.join(format!("{name}.rgb24.csv")));
    write_cache(&[&rgb, &index], |tmp| {
        let st = Command::new(python())
            .arg(root().join("tools/oracle/ffmpeg_frames.py"))
            .arg(stream(name))
            .arg("--rgb")
            .arg("-o")
            .arg(&tmp[0])
            .arg("--index")
            .arg(&tmp[1])
            .status()
            .expect("run the oracle");
        assert!(st.success(), "oracle failed on {name}");
    });
    let data = std::fs::read(&rgb).unwrap();
    std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<usize> = l.split(',').filter_map(|v| v.parse().ok()).collect();
            // frame, written, width, height, offset (the type is not a number).
            let [i, written, w, h, off] = f[..] else { panic!("bad index row {l}") };
            (written == 1).then(|| (i as u64, w, h, data[off..off + w * h * 3].to_vec()))
        })
        .collect()
}

/// Returns (pictures, samples compared, smallest and largest ours - ffmpeg, mean of it).
fn compare(name: &str, expect: ColorSpec) -> (usize, usize, i32, i32, f64) {
    let want = theirs(name);
    let mut rec = Reconstructor::new();
    let mut rs = RgbResizer::new();
    let mut ours = Vec::new();
    decode_stream(std::fs::File::open(stream(name)).unwrap(), |e| {
        let Event::Picture(i, p) = e else { return };
        if p.picture_type != PictureType::I {
            return;
        }
        let spec = ColorSpec::from_vui(p.slice_info[0].sps.vui.as_ref());
        assert_eq!(spec, expect, "{name}: colour description read from the VUI");
        let f = rec.reconstruct(p, Options::default()).unwrap();
        let rect = f.crop_clipped(p.crop);
        let mut rgb = vec![0u8; rect.2 * rect.3 * 3];
        rs.convert(&Yuv420::from_frame(f), rect, &spec, rect.2, rect.3, Layout::Interleaved, &mut rgb).unwrap();
        ours.push((i, rect.2, rect.3, rgb));
    })
    .unwrap();
    assert_eq!(ours.len(), want.len(), "{name}: intra pictures");
    let (mut n, mut lo, mut hi, mut sum) = (0, 0, 0, 0i64);
    for (a, b) in ours.iter().zip(&want) {
        assert_eq!((a.0, a.1, a.2), (b.0, b.1, b.2), "{name}: display index and size");
        for (&x, &y) in a.3.iter().zip(&b.3) {
            let d = i32::from(x) - i32::from(y);
            (lo, hi, sum) = (lo.min(d), hi.max(d), sum + i64::from(d));
            n += 1;
        }
    }
    let mean = sum as f64 / n.max(1) as f64;
    eprintln!("{name}: {} pictures, {n} samples, ours - ffmpeg in [{lo}, {hi}], mean {mean:.3}", ours.len());
    (ours.len(), n, lo, hi, mean)
}

#[test]
fn bt601_limited_unsignalled_cropped_matches_ffmpeg_rgb24() {
    let (pics, n, lo, hi, mean) = compare("intra_crop_350x198.264", ColorSpec::BT601_LIMITED);
    assert!(pics >= 3 && n == pics * 350 * 198 * 3);
    assert!(lo >= -1 && hi <= 3 && (0.0..=1.5).contains(&mean), "[{lo}, {hi}], mean {mean}");
}

#[test]
fn bt709_full_range_cropped_matches_ffmpeg_rgb24() {
    let bt709_full = ColorSpec { kr: 0.2126, kb: 0.0722, full_range: true };
    let (pics, n, lo, hi, mean) = compare("rgb_bt709_full.264", bt709_full);
    assert!(pics >= 2 && n == pics * 350 * 198 * 3);
    assert!(lo >= -1 && hi <= 3 && (0.0..=1.5).contains(&mean), "[{lo}, {hi}], mean {mean}");
}
