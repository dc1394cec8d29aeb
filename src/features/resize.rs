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
    let xs: Vec<(usize, usize)> = (0..ow).map(|o| span(o, w, ow)).collect();
    // Column sums of the source rows one output row covers.
    let mut col = vec![0i32; w];
    for p in 0..planes {
        let s = &src[p * w * h..][..w * h];
        let o = &mut out[p * ow * oh..][..ow * oh];
        if (w, h) == (ow, oh) {
            o.copy_from_slice(s);
            continue;
        }
        for (oy, orow) in o.chunks_exact_mut(ow).enumerate() {
            let (y0, y1) = span(oy, h, oh);
            col.fill(0);
            for row in s[y0 * w..y1 * w].chunks_exact(w) {
                for (c, &v) in col.iter_mut().zip(row) {
                    *c += i32::from(v);
                }
            }
            for (ov, &(x0, x1)) in orow.iter_mut().zip(&xs) {
                let sum: i64 = col[x0..x1].iter().map(|&c| i64::from(c)).sum();
                // At least one sample unless a source side is 0 (not a picture: zeros out).
                let n = ((y1 - y0) * (x1 - x0)).max(1) as i64;
                *ov = ((2 * sum + sum.signum() * n) / (2 * n)) as i16;
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
