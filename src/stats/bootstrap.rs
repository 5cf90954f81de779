//! Seeded percentile-bootstrap confidence interval of the median.

use serde::Serialize;

use super::summary::percentile_sorted;

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
    /// The confidence level, such as 0.95.
    pub level: f64,
}

/// The percentile-bootstrap interval of the median of `sorted` at `level`, from `resamples`
/// resamples drawn with `seed`, so that the same samples always give the same interval.
/// `None` for fewer than two samples.
pub fn median_ci(sorted: &[f64], level: f64, resamples: usize, seed: u64) -> Option<Interval> {
    let n = sorted.len();
    if n < 2 || resamples == 0 {
        return None;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut medians = Vec::with_capacity(resamples);
    // Drawing indices and sorting them is the same as sorting the drawn values, since `sorted`
    // is already in order; it saves comparing floats.
    let mut idx = vec![0usize; n];
    for _ in 0..resamples {
        for slot in idx.iter_mut() {
            *slot = rng.usize(..n);
        }
        idx.sort_unstable();
        let mid = if n % 2 == 1 {
            sorted[idx[n / 2]]
        } else {
            (sorted[idx[n / 2 - 1]] + sorted[idx[n / 2]]) / 2.0
        };
        medians.push(mid);
    }
    percentile_interval(medians, level)
}

/// The central `level` interval of bootstrap statistics (the percentile method); `None` when
/// there are none.
pub(super) fn percentile_interval(mut stats: Vec<f64>, level: f64) -> Option<Interval> {
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0 * 100.0;
    Some(Interval {
        lower: percentile_sorted(&stats, tail),
        upper: percentile_sorted(&stats, 100.0 - tail),
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard normal deviates by Box-Muller, from a seeded generator.
    fn normals(rng: &mut fastrand::Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let (u1, u2) = (1.0 - rng.f64(), rng.f64());
                mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect()
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn same_seed_same_interval() {
        let x = sorted(normals(&mut fastrand::Rng::with_seed(3), 30, 100.0, 5.0));
        assert_eq!(median_ci(&x, 0.95, 1000, 7), median_ci(&x, 0.95, 1000, 7));
        assert_ne!(median_ci(&x, 0.95, 1000, 7), median_ci(&x, 0.95, 1000, 8));
    }

    #[test]
    fn interval_brackets_the_median_within_the_range() {
        let x = sorted(normals(&mut fastrand::Rng::with_seed(4), 25, 10.0, 1.0));
        let ci = median_ci(&x, 0.95, 2000, 1).unwrap();
        let m = percentile_sorted(&x, 50.0);
        assert!(x[0] <= ci.lower && ci.lower <= m && m <= ci.upper && ci.upper <= x[24]);
    }

    #[test]
    fn covers_the_true_median_about_95_percent_of_the_time() {
        // 400 simulated samples of 41 normal values with median 50: the 95 % interval should
        // cover 50 in roughly 380 of them. The percentile bootstrap of a median is a little
        // conservative or liberal depending on n, so allow 90-99 %.
        let mut rng = fastrand::Rng::with_seed(11);
        let trials = 400;
        let covered = (0..trials)
            .filter(|&t| {
                let x = sorted(normals(&mut rng, 41, 50.0, 4.0));
                let ci = median_ci(&x, 0.95, 1000, t).unwrap();
                ci.lower <= 50.0 && 50.0 <= ci.upper
            })
            .count();
        let rate = covered as f64 / trials as f64;
        assert!((0.90..=0.99).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn too_few_samples() {
        assert_eq!(median_ci(&[1.0], 0.95, 100, 1), None);
    }
}
