//! Area (box) resizing of the integer planes (motion, residual) to the model's input size,
//! in exact integer arithmetic so that every platform computes the same numbers.

/// The source range [lo, hi) that output sample `o` of `n_out` averages over `n_in`
/// inputs: the inputs its area covers, at least one.
fn span(o: usize, n_in: usize, n_out: usize) -> (usize, usize) {
    let lo = o * n_in / n_out;
    let hi = ((o + 1) * n_in / n_out).max(lo + 1).min(n_in);
    (lo, hi)
}

/// Resizes each of the `planes` planes of `src` (`w` x `h`, planes one after the other) to
/// `ow` x `oh` into `out`, each output the mean of the inputs its area covers, rounded to
/// nearest (halves away from zero). Equal sizes copy.
pub fn area(src: &[i16], w: usize, h: usize, planes: usize, out: &mut [i16], ow: usize, oh: usize) {
    for p in 0..planes {
        let s = &src[p * w * h..][..w * h];
        let o = &mut out[p * ow * oh..][..ow * oh];
        if (w, h) == (ow, oh) {
            o.copy_from_slice(s);
            continue;
        }
        for oy in 0..oh {
            let (y0, y1) = span(oy, h, oh);
            for ox in 0..ow {
                let (x0, x1) = span(ox, w, ow);
                let sum: i64 = (y0..y1).map(|y| s[y * w + x0..y * w + x1].iter().map(|&v| i64::from(v)).sum::<i64>()).sum();
                let n = ((y1 - y0) * (x1 - x0)) as i64;
                let mean = (2 * sum + sum.signum() * n) / (2 * n);
                o[oy * ow + ox] = mean as i16;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_2x2_blocks_and_rounds_halves_away_from_zero() {
        let src = [1i16, 2, -1, -2, 3, 4, -1, -1];
        let mut out = [0i16; 2];
        area(&src, 4, 2, 1, &mut out, 2, 1);
        // (1+2+3+4)/4 = 2.5 -> 3; (-1-2-1-1)/4 = -1.25 -> -1.
        assert_eq!(out, [3, -1]);
    }

    #[test]
    fn upscaling_repeats_and_constant_planes_stay_constant() {
        let mut out = [0i16; 12];
        area(&[5, -7], 1, 1, 2, &mut out, 3, 2);
        assert_eq!(out, [5, 5, 5, 5, 5, 5, -7, -7, -7, -7, -7, -7]);
        let src = vec![9i16; 37 * 23];
        let mut out = vec![0i16; 16 * 12];
        area(&src, 37, 23, 1, &mut out, 16, 12);
        assert!(out.iter().all(|&v| v == 9));
    }
}
