//! Descriptive statistics of one metric's samples.
//!
//! Percentiles interpolate linearly between order statistics (Hyndman and Fan type 7, the
//! default of numpy and R), so the figures can be checked against either.

use serde::Serialize;

use super::bootstrap::{Interval, median_ci};

/// Tukey's outlier counts: beyond 1.5 IQR of the quartiles is mild, beyond 3 IQR severe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outliers {
    pub low_severe: usize,
    pub low_mild: usize,
    pub high_mild: usize,
    pub high_severe: usize,
}

/// The summary of one metric. Figures that need two or more samples (or a non-zero mean) are
/// `None` rather than NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub stddev: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    /// Median absolute deviation from the median, unscaled (multiply by 1.4826 for a normal
    /// estimate of the standard deviation).
    pub mad: f64,
    /// Coefficient of variation: standard deviation over mean.
    pub cv: Option<f64>,
    pub outliers: Outliers,
    /// Bootstrap confidence interval of the median.
    pub median_ci: Option<Interval>,
}

/// Summarises `values`; `None` when there are none. `seed` makes the bootstrap reproducible.
pub fn summarize(values: &[f64], seed: u64) -> Option<Summary> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let mean = mean(&sorted)?;
    let stddev = stddev(&sorted);
    Some(Summary {
        n: sorted.len(),
        mean,
        stddev,
        min,
        max,
        median: percentile_sorted(&sorted, 50.0),
        p90: percentile_sorted(&sorted, 90.0),
        p95: percentile_sorted(&sorted, 95.0),
        p99: percentile_sorted(&sorted, 99.0),
        mad: mad(&sorted)?,
        cv: stddev.filter(|_| mean != 0.0).map(|s| s / mean),
        outliers: tukey(&sorted),
        median_ci: median_ci(&sorted, 0.95, 2000, seed),
    })
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n - 1); `None` for fewer than two values.
pub fn stddev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// The `p`-th percentile (0..=100) of unsorted values; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (!sorted.is_empty()).then(|| percentile_sorted(&sorted, p))
}

pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Median absolute deviation; `None` when empty.
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&deviations)
}

/// Type 7 percentile of sorted, non-empty values.
pub(super) fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower as f64)
}

fn tukey(sorted: &[f64]) -> Outliers {
    let q1 = percentile_sorted(sorted, 25.0);
    let q3 = percentile_sorted(sorted, 75.0);
    let iqr = q3 - q1;
    let mut o = Outliers::default();
    for &v in sorted {
        if v < q1 - 3.0 * iqr {
            o.low_severe += 1;
        } else if v < q1 - 1.5 * iqr {
            o.low_mild += 1;
        } else if v > q3 + 3.0 * iqr {
            o.high_severe += 1;
        } else if v > q3 + 1.5 * iqr {
            o.high_mild += 1;
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from numpy 2 / scipy 1.16:
    //   x = [12.1, 9.8, 10.4, 10.0, 35.0, 10.2, 9.9, 11.3, 10.1, 10.6]
    //   np.mean(x) = 12.94, np.std(x, ddof=1) = 7.783772293117979, np.median(x) = 10.3
    //   np.percentile(x, [90, 95, 99]) = [14.39, 24.695, 32.939]
    //   scipy.stats.median_abs_deviation(x) = 0.35
    //   np.percentile(x, [25, 75]) = [10.025, 11.125]: mild fence 12.775, severe 14.425
    //   with 15.0 added: quartiles [10.05, 11.7], mild fence 14.175, severe fence 16.65
    const X: [f64; 10] = [12.1, 9.8, 10.4, 10.0, 35.0, 10.2, 9.9, 11.3, 10.1, 10.6];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn matches_numpy_reference_values() {
        let s = summarize(&X, 1).unwrap();
        assert_eq!(s.n, 10);
        assert!(close(s.mean, 12.94));
        assert!(
            close(s.stddev.unwrap(), 7.783_772_293_117_979),
            "{:?}",
            s.stddev
        );
        assert!(close(s.median, 10.3));
        assert!(close(s.p90, 14.39), "{}", s.p90);
        assert!(close(s.p95, 24.695), "{}", s.p95);
        assert!(close(s.p99, 32.939), "{}", s.p99);
        assert!(close(s.mad, 0.35), "{}", s.mad);
        assert_eq!((s.min, s.max), (9.8, 35.0));
        assert!(close(s.cv.unwrap(), 7.783_772_293_117_979 / 12.94));
    }

    #[test]
    fn tukey_counts_mild_and_severe() {
        // 12.1 is inside the mild fence (12.775); 35.0 is beyond the severe one (14.425).
        let s = summarize(&X, 1).unwrap();
        assert_eq!(
            s.outliers,
            Outliers {
                high_severe: 1,
                ..Outliers::default()
            }
        );
        let mut y = X.to_vec();
        y.push(15.0); // between the recomputed fences 14.175 and 16.65
        let o = summarize(&y, 1).unwrap().outliers;
        assert_eq!((o.high_mild, o.high_severe), (1, 1));
    }

    #[test]
    fn one_sample_has_no_spread() {
        let s = summarize(&[5.0], 1).unwrap();
        assert_eq!((s.median, s.p99, s.mad), (5.0, 5.0, 0.0));
        assert_eq!(s.stddev, None);
        assert_eq!(s.cv, None);
        assert_eq!(s.median_ci, None);
        assert!(summarize(&[], 1).is_none());
    }

    #[test]
    fn percentile_interpolates_like_type_7() {
        // np.percentile([1, 2, 3, 4], 50) = 2.5; np.percentile([1, 2, 3, 4], 90) = 3.7
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0), Some(2.5));
        assert!(close(percentile(&[1.0, 2.0, 3.0, 4.0], 90.0).unwrap(), 3.7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
