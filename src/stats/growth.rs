//! How time grows with input size: the exponent `k` of `time ~ size^k`, fitted by least squares
//! on the logarithms of each size's median time (1.0 linear, about 1.1 for n log n over two
//! decades, 2.0 quadratic), with a percentile-bootstrap interval that resamples each size's
//! samples; and how much a change raises it, from the ratios of paired rounds at each size.

use super::bootstrap::Interval;
use super::summary::median;

/// Bootstrap resamples of a growth interval.
const RESAMPLES: usize = 1000;

/// A fitted exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    pub exponent: f64,
    pub ci: Interval,
}

/// The least-squares slope of `ys` on `xs`; `None` unless two `xs` differ.
pub fn slope(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len() as f64;
    if xs.len() != ys.len() || xs.len() < 2 {
        return None;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    Some(sxy / sxx)
}

/// The exponent of `time ~ size^k` over `points` (a size and that size's samples of time, all
/// positive). `None` with fewer than two distinct sizes or a size without samples.
pub fn growth(points: &[(f64, Vec<f64>)], level: f64, seed: u64) -> Option<Growth> {
    fit(points, level, seed, |s| median(s).filter(|m| *m > 0.0))
}

/// How much the candidate's exponent exceeds the base's: at each size, the median ratio of the
/// paired rounds (`base[i]` and `new[i]` taken together); the slope of their logarithms on the
/// sizes' is the change of the exponent (0.9 when n log n became n^2 over two decades, 0 when
/// every size changed alike).
pub fn growth_change(
    points: &[(f64, Vec<f64>, Vec<f64>)],
    level: f64,
    seed: u64,
) -> Option<Growth> {
    let ratios: Vec<(f64, Vec<f64>)> = points
        .iter()
        .map(|(size, base, new)| {
            let r: Vec<f64> = base
                .iter()
                .zip(new)
                .filter(|(b, n)| **b > 0.0 && **n > 0.0)
                .map(|(b, n)| n / b)
                .collect();
            (*size, r)
        })
        .collect();
    fit(&ratios, level, seed, |r| median(r).filter(|m| *m > 0.0))
}

/// The slope of `ln(figure(samples))` on `ln(size)`, and its percentile-bootstrap interval
/// resampling each size's samples.
fn fit(
    points: &[(f64, Vec<f64>)],
    level: f64,
    seed: u64,
    figure: impl Fn(&[f64]) -> Option<f64>,
) -> Option<Growth> {
    if points.iter().any(|(s, v)| *s <= 0.0 || v.is_empty()) {
        return None;
    }
    let xs: Vec<f64> = points.iter().map(|(s, _)| s.ln()).collect();
    let ys: Vec<f64> = points
        .iter()
        .map(|(_, v)| figure(v).map(f64::ln))
        .collect::<Option<_>>()?;
    let exponent = slope(&xs, &ys)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut slopes = Vec::with_capacity(RESAMPLES);
    let mut resample = Vec::new();
    for _ in 0..RESAMPLES {
        let ys: Option<Vec<f64>> = points
            .iter()
            .map(|(_, v)| {
                resample.clear();
                resample.extend((0..v.len()).map(|_| v[rng.usize(..v.len())]));
                figure(&resample).map(f64::ln)
            })
            .collect();
        if let Some(s) = ys.and_then(|ys| slope(&xs, &ys)) {
            slopes.push(s);
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let last = slopes.len() - 1;
    let at = |q: f64| slopes[((q * last as f64).round() as usize).min(last)];
    let tail = (1.0 - level) / 2.0;
    Some(Growth {
        exponent,
        ci: Interval {
            lower: at(tail),
            upper: at(1.0 - tail),
            level,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples of `f(n)` at three sizes, with 3 % multiplicative noise.
    fn points(f: impl Fn(f64) -> f64) -> Vec<(f64, Vec<f64>)> {
        let mut rng = fastrand::Rng::with_seed(5);
        [1_000.0, 10_000.0, 100_000.0]
            .into_iter()
            .map(|n| {
                let v = (0..30)
                    .map(|_| f(n) * (1.0 + 0.03 * (rng.f64() * 2.0 - 1.0)))
                    .collect();
                (n, v)
            })
            .collect()
    }

    #[test]
    fn slope_of_known_lines() {
        assert_eq!(slope(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]), Some(2.0));
        // numpy.polyfit([1, 2, 4, 5], [1, 3, 2, 6], 1)[0] = 0.9
        let s = slope(&[1.0, 2.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 6.0]).unwrap();
        assert!((s - 0.9).abs() < 1e-12, "{s}");
        assert_eq!(slope(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(slope(&[1.0], &[1.0]), None);
    }

    #[test]
    fn linear_n_log_n_and_quadratic_times_give_their_exponents() {
        let g = growth(&points(|n| n * 1e3), 0.95, 1).unwrap();
        assert!((g.exponent - 1.0).abs() < 0.1, "{g:?}");
        assert!(
            g.ci.lower <= g.exponent && g.exponent <= g.ci.upper,
            "{g:?}"
        );
        assert!(g.ci.upper - g.ci.lower < 0.05, "{g:?}");
        // Over sizes 10^3 to 10^5, n ln n grows as n^1.11: 1 + ln(ln 1e5 / ln 1e3) / ln 100.
        let g = growth(&points(|n| n * n.ln() * 1e3), 0.95, 1).unwrap();
        let expected = 1.0 + (1e5f64.ln() / 1e3f64.ln()).ln() / 100f64.ln();
        assert!(
            (g.exponent - expected).abs() < 0.02,
            "{g:?} against {expected}"
        );
        assert!((g.exponent - 1.1).abs() < 0.1, "{g:?}");
        let g = growth(&points(|n| n * n), 0.95, 1).unwrap();
        assert!((g.exponent - 2.0).abs() < 0.1, "{g:?}");
    }

    #[test]
    fn a_quadratic_path_raises_the_exponent_of_the_change() {
        // Base n log n; the candidate adds n^2 / 2000, barely anything at 1,000 (+7 %), but 6x
        // at 100,000.
        let base = points(|n| n * n.ln());
        let mut rng = fastrand::Rng::with_seed(9);
        let paired: Vec<(f64, Vec<f64>, Vec<f64>)> = base
            .iter()
            .map(|(n, b)| {
                let extra = n * n / 2000.0 / (n * n.ln());
                let new = b
                    .iter()
                    .map(|t| t * (1.0 + extra) * (1.0 + 0.02 * (rng.f64() - 0.5)))
                    .collect();
                (*n, b.clone(), new)
            })
            .collect();
        let c = growth_change(&paired, 0.95, 3).unwrap();
        assert!(c.ci.lower > 0.3, "{c:?}");
        // A change that slows every size alike does not move the exponent.
        let alike: Vec<(f64, Vec<f64>, Vec<f64>)> = base
            .iter()
            .map(|(n, b)| (*n, b.clone(), b.iter().map(|t| t * 1.2).collect()))
            .collect();
        let c = growth_change(&alike, 0.95, 3).unwrap();
        assert!(c.exponent.abs() < 1e-9 && c.ci.lower <= 0.0 + 1e-9, "{c:?}");
    }

    #[test]
    fn too_few_sizes_or_samples_fit_nothing() {
        assert!(growth(&[(10.0, vec![1.0, 1.1])], 0.95, 1).is_none());
        assert!(growth(&[(10.0, vec![1.0]), (10.0, vec![2.0])], 0.95, 1).is_none());
        assert!(growth(&[(10.0, vec![1.0]), (100.0, vec![])], 0.95, 1).is_none());
        assert!(growth(&[(0.0, vec![1.0]), (100.0, vec![2.0])], 0.95, 1).is_none());
    }
}
