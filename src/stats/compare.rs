//! Comparing a candidate with a base: the ratio of medians with a bootstrap interval, a
//! Mann-Whitney U p-value, Benjamini-Hochberg across workloads, and the verdict.

use serde::{Deserialize, Serialize};
use statrs::stats_tests::Alternative;
use statrs::stats_tests::mannwhitneyu::{MannWhitneyUMethod, mannwhitneyu};

use super::bootstrap::{Interval, percentile_interval};

/// What a comparison concluded about one workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The whole interval lies above +threshold and the adjusted p is below alpha.
    Regressed,
    /// The whole interval lies below -threshold and the adjusted p is below alpha.
    Improved,
    /// The interval lies within +/-threshold.
    Unchanged,
    /// None of the above: more samples, or a quieter machine, would tell.
    Inconclusive,
}

/// Base against candidate on one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base_median: f64,
    pub new_median: f64,
    /// new median / base median: 1.05 is 5 % slower.
    pub ratio: f64,
    /// Bootstrap interval of the ratio.
    pub ci: Interval,
    /// Two-sided Mann-Whitney U p-value.
    pub p: f64,
    /// `p` after Benjamini-Hochberg over every workload of the check.
    pub p_adjusted: f64,
}

/// How many bootstrap resamples a comparison uses.
pub const RESAMPLES: usize = 1000;

/// Compares `new` with `base`. When `paired`, sample `i` of each side was taken in the same
/// round, and rounds are resampled together (which cancels drift that affects both sides of a
/// round). `None` with fewer than two samples a side (or unequal sides when paired).
pub fn compare(
    base: &[f64],
    new: &[f64],
    paired: bool,
    level: f64,
    seed: u64,
) -> Option<Comparison> {
    let ci = ratio_ci(base, new, paired, level, RESAMPLES, seed)?;
    let base_median = median(base)?;
    let new_median = median(new)?;
    if base_median <= 0.0 {
        return None;
    }
    let p = mann_whitney_p(base, new);
    Some(Comparison {
        base_median,
        new_median,
        ratio: new_median / base_median,
        ci,
        p,
        p_adjusted: p,
    })
}

/// The comparison of two exact figures (instruction counts): no sampling, so the interval is
/// the ratio itself, and `p` is 0 when they differ at all and 1 when they are equal. `decide`
/// then calls it a change exactly when the ratio is past the threshold.
pub fn compare_exact(base: f64, new: f64) -> Comparison {
    let ratio = if base > 0.0 {
        new / base
    } else if new > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let p = if base == new { 1.0 } else { 0.0 };
    Comparison {
        base_median: base,
        new_median: new,
        ratio,
        ci: Interval {
            lower: ratio,
            upper: ratio,
            level: 1.0,
        },
        p,
        p_adjusted: p,
    }
}

/// The verdict for an interval and adjusted p-value, with a practical `threshold` (0.02 = 2 %).
pub fn decide(ci: &Interval, p_adjusted: f64, threshold: f64, alpha: f64) -> Verdict {
    if ci.lower > 1.0 + threshold && p_adjusted < alpha {
        Verdict::Regressed
    } else if ci.upper < 1.0 - threshold && p_adjusted < alpha {
        Verdict::Improved
    } else if ci.lower >= 1.0 - threshold && ci.upper <= 1.0 + threshold {
        Verdict::Unchanged
    } else {
        Verdict::Inconclusive
    }
}

/// Two-sided Mann-Whitney U p-value (scipy's `method="auto"`: exact for small samples without
/// ties, otherwise the normal approximation with tie and continuity corrections). 1 when it is
/// undefined (every value equal).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    mannwhitneyu(a, b, MannWhitneyUMethod::Automatic, Alternative::TwoSided)
        .ok()
        .map(|(_, p)| p)
        .filter(|p| p.is_finite())
        .map_or(1.0, |p| p.clamp(0.0, 1.0))
}

/// Benjamini-Hochberg adjusted p-values, in the order given (scipy's
/// `false_discovery_control(ps, method="bh")`).
pub fn benjamini_hochberg(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| ps[i].total_cmp(&ps[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(ps[i] * m as f64 / (rank + 1) as f64);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

/// Percentile-bootstrap interval of median(new) / median(base).
pub fn ratio_ci(
    base: &[f64],
    new: &[f64],
    paired: bool,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    if base.len() < 2 || new.len() < 2 || (paired && base.len() != new.len()) || resamples == 0 {
        return None;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut ra, mut rb) = (vec![0.0; base.len()], vec![0.0; new.len()]);
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        if paired {
            for k in 0..base.len() {
                let i = rng.usize(..base.len());
                ra[k] = base[i];
                rb[k] = new[i];
            }
        } else {
            ra.iter_mut()
                .for_each(|v| *v = base[rng.usize(..base.len())]);
            rb.iter_mut().for_each(|v| *v = new[rng.usize(..new.len())]);
        }
        let (ma, mb) = (median_in_place(&mut ra), median_in_place(&mut rb));
        if ma > 0.0 {
            ratios.push(mb / ma);
        }
    }
    percentile_interval(ratios, level)
}

fn median(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| median_in_place(&mut values.to_vec()))
}

/// The median by selection (linear time), reordering `v`.
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_exact_comparison_is_a_change_exactly_past_the_threshold() {
        use super::{Verdict, compare_exact, decide};
        let verdict = |b: f64, n: f64| {
            let c = compare_exact(b, n);
            decide(&c.ci, c.p_adjusted, 0.01, 0.05)
        };
        assert_eq!(verdict(1_000_000.0, 1_010_001.0), Verdict::Regressed);
        assert_eq!(verdict(1_000_000.0, 1_010_000.0), Verdict::Unchanged);
        assert_eq!(verdict(1_000_000.0, 1_000_000.0), Verdict::Unchanged);
        assert_eq!(verdict(1_000_000.0, 989_999.0), Verdict::Improved);
        assert_eq!(verdict(1_000_000.0, 990_000.0), Verdict::Unchanged);
        let same = compare_exact(5.0, 5.0);
        assert_eq!((same.ratio, same.p), (1.0, 1.0));
        assert_eq!(compare_exact(5.0, 6.0).ci.lower, 1.2);
    }

    use super::*;

    #[test]
    fn mann_whitney_matches_scipy() {
        // scipy.stats.mannwhitneyu(a, b, alternative="two-sided") = (4.5, 0.0006480405677249192)
        let a = [10.1, 10.4, 9.8, 10.0, 10.3, 10.2, 9.9, 10.5, 10.1, 10.0];
        let b = [10.6, 10.9, 10.4, 10.7, 10.5, 11.0, 10.3, 10.8, 10.6, 10.7];
        assert!((mann_whitney_p(&a, &b) - 0.000_648_040_567_724_919_2).abs() < 1e-12);
        // ... and for [1..=12] against [3, 5, .., 25]: p = 0.010987159788802917
        let c: Vec<f64> = (1..=12).map(f64::from).collect();
        let d: Vec<f64> = (1..=12).map(|i| f64::from(2 * i + 1)).collect();
        assert!((mann_whitney_p(&c, &d) - 0.010_987_159_788_802_917).abs() < 1e-12);
        assert_eq!(mann_whitney_p(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
    }

    #[test]
    fn benjamini_hochberg_matches_scipy() {
        // scipy.stats.false_discovery_control([0.01, 0.04, 0.03, 0.005, 0.5])
        let adjusted = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.5]);
        let expected = [0.025, 0.05, 0.05, 0.025, 0.5];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn median_by_selection() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn verdict_rules() {
        let ci = |lower, upper| Interval {
            lower,
            upper,
            level: 0.95,
        };
        assert_eq!(
            decide(&ci(1.03, 1.08), 0.01, 0.02, 0.05),
            Verdict::Regressed
        );
        assert_eq!(
            decide(&ci(1.03, 1.08), 0.2, 0.02, 0.05),
            Verdict::Inconclusive
        );
        assert_eq!(decide(&ci(0.90, 0.97), 0.01, 0.02, 0.05), Verdict::Improved);
        assert_eq!(
            decide(&ci(0.99, 1.015), 0.5, 0.02, 0.05),
            Verdict::Unchanged
        );
        assert_eq!(
            decide(&ci(1.01, 1.04), 0.01, 0.02, 0.05),
            Verdict::Inconclusive
        );
    }

    #[test]
    fn paired_interval_sees_through_drift_that_hits_both_sides() {
        // Each round is 10 % slower than the last for both sides; the candidate is 3 % slower
        // within every round. Pairing by round recovers 1.03 tightly.
        let base: Vec<f64> = (0..30).map(|i| 100.0 * 1.1f64.powi(i % 10)).collect();
        let new: Vec<f64> = base.iter().map(|b| b * 1.03).collect();
        let paired = ratio_ci(&base, &new, true, 0.95, 2000, 1).unwrap();
        assert!((paired.lower - 1.03).abs() < 1e-9 && (paired.upper - 1.03).abs() < 1e-9);
        let unpaired = ratio_ci(&base, &new, false, 0.95, 2000, 1).unwrap();
        assert!(unpaired.upper - unpaired.lower > 0.2, "{unpaired:?}");
    }
}
