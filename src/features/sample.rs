//! TSN segment sampling (Wang et al. 2016, as CoViAR uses it): a clip's candidate frames
//! are cut into equal segments and one frame is taken from each, at random when training,
//! at the segment's centre when testing. Integer arithmetic and our own generator, so a
//! seed gives the same frames on every platform and with every crate version.

/// How a frame is chosen within its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Uniformly at random, from a generator seeded with this value.
    Random(u64),
    /// The segment's centre.
    Centre,
}

/// The chosen index into `n` candidates for each of `segments` segments, in order.
/// Empty when there are no candidates. With fewer candidates than segments, segments
/// share frames (each segment still covers at least one candidate).
pub fn segments(n: usize, segments: usize, sampling: Sampling) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut rng = match sampling {
        Sampling::Random(seed) => Some(SplitMix64(seed)),
        Sampling::Centre => None,
    };
    (0..segments)
        .map(|k| match rng.as_mut() {
            None => ((2 * k + 1) * n / (2 * segments)).min(n - 1),
            Some(rng) => {
                let lo = (k * n / segments).min(n - 1);
                let hi = ((k + 1) * n / segments).max(lo + 1).min(n);
                lo + (rng.next_u64() % (hi - lo) as u64) as usize
            }
        })
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast and fully specified.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A seed for one clip from the run's seed and the clip's name (FNV-1a), so that a clip's
/// frames do not depend on the order or the number of threads clips are processed in.
pub fn clip_seed(seed: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    SplitMix64(h).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // First outputs for seed 1234567 (the reference implementation's test vector).
        let mut r = SplitMix64(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn centres_and_random_frames_stay_in_their_segments() {
        assert_eq!(segments(30, 3, Sampling::Centre), vec![5, 15, 25]);
        assert_eq!(segments(2, 3, Sampling::Centre), vec![0, 1, 1]);
        assert!(segments(0, 3, Sampling::Centre).is_empty());
        for seed in 0..200 {
            for n in 1..40 {
                let s = segments(n, 3, Sampling::Random(seed));
                for (k, &i) in s.iter().enumerate() {
                    let lo = (k * n / 3).min(n - 1);
                    assert!(i >= lo && i < ((k + 1) * n / 3).max(lo + 1).min(n), "n {n} k {k} i {i}");
                }
            }
        }
        assert_eq!(segments(90, 5, Sampling::Random(7)), segments(90, 5, Sampling::Random(7)));
    }
}
