//! Paired comparison from per-round ratios: the Wilcoxon signed-rank test on the logarithms of
//! `new[i] / base[i]`, with the Hodges-Lehmann estimate and its distribution-free interval.
//!
//! Why: where the machine's speed drifts by tens of percent from one second to the next (a
//! shared VM), the two figures of one round, taken back to back, share most of the drift, while
//! figures of different rounds do not. The ratio of each round cancels what the pair shares; a
//! ratio of the two sides' medians does not. The Hodges-Lehmann estimate (the median of the
//! pairwise means of the log ratios) and its interval come from the same signed-rank
//! distribution as the test, hold their coverage for any symmetric distribution without a
//! bootstrap, and lose little efficiency against the mean on normal data.

use super::bootstrap::Interval;
use super::compare::Comparison;
use super::summary::median;

/// Up to this many pairs, p-values and intervals use the exact distribution of the signed-rank
/// statistic (as scipy's `wilcoxon(method="auto")` does); beyond it, the normal approximation.
const EXACT_MAX: usize = 50;

/// Compares `new` with `base`, round by round (`base[i]` and `new[i]` were taken together).
/// `None` when fewer than `min_pairs()` rounds have a positive figure on both sides.
pub fn compare_paired_ratios(base: &[f64], new: &[f64], level: f64) -> Option<Comparison> {
    let logs: Vec<f64> = base
        .iter()
        .zip(new)
        .filter(|(b, n)| **b > 0.0 && **n > 0.0 && b.is_finite() && n.is_finite())
        .map(|(b, n)| (n / b).ln())
        .collect();
    if logs.len() < min_pairs(level) {
        return None;
    }
    let (lo, hi) = hodges_lehmann_interval(&logs, level)?;
    Some(Comparison {
        base_median: median(base)?,
        new_median: median(new)?,
        ratio: hodges_lehmann(&logs)?.exp(),
        ci: Interval {
            lower: lo.exp(),
            upper: hi.exp(),
            level,
        },
        p: wilcoxon_p(&logs),
        p_adjusted: wilcoxon_p(&logs),
    })
}

/// The fewest pairs with which an interval at `level` exists (6 at 95 %: with 5, even the
/// extremes cover only 94 %).
pub fn min_pairs(level: f64) -> usize {
    (2..=EXACT_MAX)
        .find(|&n| {
            let counts = signed_rank_counts(n);
            let total: f64 = counts.iter().sum();
            counts[0] / total <= (1.0 - level) / 2.0
        })
        .unwrap_or(EXACT_MAX)
}

/// The Hodges-Lehmann estimate: the median of the Walsh averages `(x[i] + x[j]) / 2`, `i <= j`.
pub fn hodges_lehmann(x: &[f64]) -> Option<f64> {
    median(&walsh_averages(x))
}

fn walsh_averages(x: &[f64]) -> Vec<f64> {
    let mut w = Vec::with_capacity(x.len() * (x.len() + 1) / 2);
    for i in 0..x.len() {
        for j in i..x.len() {
            w.push((x[i] + x[j]) / 2.0);
        }
    }
    w.sort_by(f64::total_cmp);
    w
}

/// The interval of the Hodges-Lehmann estimate at `level`: the `c`-th smallest and largest
/// Walsh averages, where `c - 1` is the largest count of the signed-rank statistic whose lower
/// tail probability is at most `(1 - level) / 2` (R's `wilcox.test(conf.int = TRUE)`).
pub fn hodges_lehmann_interval(x: &[f64], level: f64) -> Option<(f64, f64)> {
    let n = x.len();
    let w = walsh_averages(x);
    let m = w.len();
    let alpha = (1.0 - level) / 2.0;
    let c = if n <= EXACT_MAX {
        let counts = signed_rank_counts(n);
        let total: f64 = counts.iter().sum();
        let mut cumulative = 0.0;
        let mut c = 0;
        for (t, count) in counts.iter().enumerate() {
            cumulative += count / total;
            if cumulative > alpha {
                break;
            }
            c = t + 1;
        }
        c
    } else {
        let nf = n as f64;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        (m as f64 / 2.0 - normal_quantile(1.0 - alpha) * sd).floor() as usize
    };
    if c == 0 || c > m {
        return None;
    }
    Some((w[c - 1], w[m - c]))
}

/// Two-sided p-value of the Wilcoxon signed-rank test that the `x` are centred on zero. Zeros
/// are dropped (scipy's `zero_method="wilcox"`); exact without ties for up to 50 values, else
/// the normal approximation with the tie correction and no continuity correction (scipy's
/// defaults). 1 when nothing is left.
pub fn wilcoxon_p(x: &[f64]) -> f64 {
    let nonzero: Vec<f64> = x.iter().copied().filter(|v| *v != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return 1.0;
    }
    let (ranks, ties) = abs_ranks(&nonzero);
    let t_plus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let max = (n * (n + 1) / 2) as f64;
    let t = t_plus.min(max - t_plus);
    let p = if n <= EXACT_MAX && !ties {
        let counts = signed_rank_counts(n);
        let total: f64 = counts.iter().sum();
        let below: f64 = counts[..=(t.round() as usize)].iter().sum();
        2.0 * below / total
    } else {
        let nf = n as f64;
        let tie_term: f64 = tie_groups(&nonzero)
            .into_iter()
            .map(|g| (g * g * g - g) as f64)
            .sum();
        let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
        if var <= 0.0 {
            return 1.0;
        }
        let z = (t - max / 2.0) / var.sqrt();
        2.0 * normal_cdf(z)
    };
    p.clamp(0.0, 1.0)
}

/// Ranks of `|x|` (ties get their mean rank), and whether there were ties.
fn abs_ranks(x: &[f64]) -> (Vec<f64>, bool) {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs()));
    let mut ranks = vec![0.0; x.len()];
    let mut ties = false;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]].abs() == x[order[i]].abs() {
            j += 1;
        }
        ties |= j > i;
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    (ranks, ties)
}

/// The sizes of groups of equal `|x|` with more than one member.
fn tie_groups(x: &[f64]) -> Vec<usize> {
    let mut abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let mut groups = Vec::new();
    let mut i = 0;
    while i < abs.len() {
        let j = abs[i..].iter().take_while(|v| **v == abs[i]).count();
        if j > 1 {
            groups.push(j);
        }
        i += j;
    }
    groups
}

/// How many of the 2^n sign patterns give each value `0..=n(n+1)/2` of the signed-rank
/// statistic (the count of subsets of `1..=n` with that sum), as floats (2^50 fits).
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    counts
}

/// The standard normal distribution function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)
}

/// Its inverse.
fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy 1.17 (`scipy.stats.wilcoxon(x)`), numpy for the Walsh
    // averages, and the exact signed-rank distribution tabulated by hand for n = 10.
    const X: [f64; 10] = [0.12, -0.05, 0.31, 0.08, 0.22, -0.11, 0.17, 0.04, 0.27, 0.15];

    #[test]
    fn signed_rank_counts_are_subset_sums() {
        // n = 3: subsets of {1,2,3} by sum 0..6: {}, {1}, {2}, {3},{1,2}, {1,3}, {2,3}, {1,2,3}.
        assert_eq!(signed_rank_counts(3), [1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
        let c = signed_rank_counts(20);
        assert_eq!(c.iter().sum::<f64>(), 2f64.powi(20));
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        // scipy.stats.wilcoxon(X): exact, statistic 6 (T = min(T+, T-)), p = 2 P(T <= 6).
        assert!(
            (wilcoxon_p(&X) - 0.02734375).abs() < 1e-12,
            "{}",
            wilcoxon_p(&X)
        );
        // All positive: 2 / 2^10.
        let pos: Vec<f64> = (1..=10).map(|i| i as f64).collect();
        assert!((wilcoxon_p(&pos) - 0.001953125).abs() < 1e-12);
        // Beyond 50 values, the normal approximation with the tie correction: scipy gives
        // 0.00033637635630268407 for x = [i - 20 for i in range(60)] (a zero dropped, ties).
        let wide: Vec<f64> = (0..60).map(|i| i as f64 - 20.0).collect();
        assert!(
            (wilcoxon_p(&wide) - 0.00033637635630268407).abs() < 1e-12,
            "{}",
            wilcoxon_p(&wide)
        );
        assert_eq!(wilcoxon_p(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn hodges_lehmann_and_its_interval() {
        // The median of the 55 Walsh averages of X (numpy.median of them: 0.125).
        assert!((hodges_lehmann(&X).unwrap() - 0.125).abs() < 1e-12);
        // n = 10 at 95 %: P(T <= 8) = 0.02441 <= 0.025 < P(T <= 9) = 0.03223, so c = 9:
        // the 9th smallest and largest of the 55 Walsh averages.
        let (lo, hi) = hodges_lehmann_interval(&X, 0.95).unwrap();
        let w = walsh_averages(&X);
        assert_eq!((lo, hi), (w[8], w[46]));
        assert!(
            (lo - 0.02).abs() < 1e-12 && (hi - 0.22).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(min_pairs(0.95), 6);
        assert!(hodges_lehmann_interval(&X[..5], 0.95).is_none());
    }

    #[test]
    fn a_shared_drift_cancels() {
        // Each round's machine speed moves both sides by up to 2x; the candidate is 10 % slower.
        let speed = [1.0, 1.9, 1.2, 0.7, 1.5, 1.1, 2.0, 0.9, 1.3, 1.6, 0.8, 1.4];
        let noise = [
            1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01, 0.99, 1.0, 1.0, 1.01, 0.99,
        ];
        let base: Vec<f64> = speed.iter().map(|s| 100.0 * s).collect();
        let new: Vec<f64> = speed
            .iter()
            .zip(noise)
            .map(|(s, e)| 110.0 * s * e)
            .collect();
        let c = compare_paired_ratios(&base, &new, 0.95).unwrap();
        assert!((c.ratio - 1.1).abs() < 0.01, "{c:?}");
        assert!(c.ci.lower > 1.08 && c.ci.upper < 1.12, "{c:?}");
        // Equal noise factors tie: the normal approximation, p about 0.002.
        assert!(c.p < 0.005, "{c:?}");
    }
}
