//! From the stored integer tensors to the networks' float inputs, as the PKD / CoViAR code
//! does it. Training (tools/train) applies the same formulas to the same integers, so the
//! networks see the same numbers on the board.
//!
//! - Motion: `u = clip(floor(mv * 127.5 / 20) + 128, 0, 255)` (CoViAR's `clip_and_scale`
//!   with bound 20, then +128), then `(u / 255 - 0.5) / 0.226`.
//! - Residual: `u = clip(r + 128, 0, 255)`, then `(u / 255 - 0.5) / 0.226`. (Ours is Y, Cb,
//!   Cr of the compressed residual where CoViAR's is BGR of decoded frames; the same
//!   scaling.)
//! - I picture: RGB `(u / 255 - mean) / std` with ImageNet's mean and std.

/// CoViAR's mean and std of the motion and residual inputs after the 0..255 mapping.
pub const MV_RES_MEAN: f32 = 0.5;
pub const MV_RES_STD: f32 = 0.226;
/// ImageNet statistics of R, G, B.
pub const RGB_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const RGB_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The 0..255 code of a whole-pel motion component: floor(mv * 6.375) + 128, clipped.
/// 127.5 / 20 = 51 / 8, so the product is exact in integers.
pub fn mv_code(mv: i16) -> u8 {
    ((i32::from(mv) * 51).div_euclid(8) + 128).clamp(0, 255) as u8
}

/// The 0..255 code of a residual sample.
pub fn residual_code(r: i16) -> u8 {
    (i32::from(r) + 128).clamp(0, 255) as u8
}

/// Motion planes to network input.
pub fn mv_input(mv: &[i16], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(mv) {
        *o = (f32::from(mv_code(v)) / 255.0 - MV_RES_MEAN) / MV_RES_STD;
    }
}

/// Residual planes to network input.
pub fn residual_input(r: &[i16], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(r) {
        *o = (f32::from(residual_code(v)) / 255.0 - MV_RES_MEAN) / MV_RES_STD;
    }
}

/// Planar RGB [3, H, W] to network input.
pub fn rgb_input(rgb: &[u8], out: &mut [f32]) {
    let n = rgb.len() / 3;
    for (c, (o, i)) in out.chunks_mut(n.max(1)).zip(rgb.chunks(n.max(1))).enumerate().take(3) {
        for (o, &v) in o.iter_mut().zip(i) {
            *o = (f32::from(v) / 255.0 - RGB_MEAN[c]) / RGB_STD[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_coviar_scaling() {
        assert_eq!(mv_code(0), 128);
        assert_eq!(mv_code(1), 134); // 6.375 -> 6
        assert_eq!(mv_code(-1), 121); // -6.375 -> -7
        assert_eq!(mv_code(20), 255); // 127.5 + 128 clipped
        assert_eq!(mv_code(-20), 0); // 128 - 127.5 = 0.5 -> floor 0
        assert_eq!(mv_code(i16::MIN), 0);
        assert_eq!(mv_code(i16::MAX), 255);
        assert_eq!(residual_code(-300), 0);
        assert_eq!(residual_code(5), 133);
        for v in -100i16..100 {
            let f = (f64::from(v) * 127.5 / 20.0 + 128.0).clamp(0.0, 255.0).floor() as u8;
            assert_eq!(mv_code(v), f, "{v}");
        }
    }
}
