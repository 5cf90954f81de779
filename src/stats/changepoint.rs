//! Change points in a series of medians (one per commit), with false alarms controlled over
//! many series.
//!
//! Each segment is tested with Pettitt's rank statistic, standardised: `U_k = 2 W_k - k (m + 1)`
//! with `W_k` the sum of the ranks of the first `k` values (the Mann-Whitney statistic of the
//! split at `k`), divided by its standard deviation under no change,
//! `sqrt(k (m - k) (m + 1) / 3)`, and `T = max |Z_k|`. Ranks make the test robust to outliers,
//! but they forget by how much values differ, so where the maximum falls can be a commit or two
//! off a clean step; the change point is placed at the best least-squares split of the values
//! within 5 commits of it. The p-value of `T` comes from a permutation test (the ranks shuffled, the maximum taken again
//! over the same splits), stopped early once it is clearly large; in the far tail, where
//! permutations cannot resolve it, from the Mann-Whitney normal approximation with a
//! Bonferroni bound over the splits tried. A significant split is searched again on both
//! sides (binary segmentation). Every test performed, in every series, then goes through
//! Benjamini-Hochberg together, and a change point must also move the level by at least the
//! series' threshold.

use super::compare::benjamini_hochberg;
use super::summary::median;

/// A change of level found in a series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePoint {
    /// The index of the first value at the new level.
    pub index: usize,
    /// The median after over the median before, minus one (0.2 = 20 % higher).
    pub step: f64,
    pub before: f64,
    pub after: f64,
    pub p: f64,
    /// Adjusted over every test of every series (Benjamini-Hochberg).
    pub p_adjusted: f64,
    /// Whether this is a cut given as accepted (`detect_with_cuts`): not tested, so `p` and
    /// `p_adjusted` are NaN.
    pub accepted: bool,
}

/// The settings of the search.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Each side of a split has at least this many values.
    pub min_segment: usize,
    /// A split is searched on both of its sides when its own p is below this.
    pub search_alpha: f64,
    /// The false discovery rate over all tests of all series.
    pub alpha: f64,
    /// Permutations of a test at most.
    pub permutations: usize,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_segment: 3,
            search_alpha: 0.05,
            alpha: 0.05,
            permutations: 1999,
            seed: 0x5eed,
        }
    }
}

/// Below this bound the bound is used: 1,999 permutations could not tell 1e-4 from 1e-10, and
/// both must survive an adjustment over hundreds of tests.
const TAIL: f64 = 1e-4;
/// The permutation test stops after this many permuted statistics reach the observed one
/// (Besag and Clifford's sequential p-value): the p-value is already known to be large.
const ENOUGH_HITS: usize = 20;

/// Ranks from 1, ties given their average rank.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            out[o] = average;
        }
        i = j + 1;
    }
    out
}

/// Pettitt's statistic standardised, over the splits `k` in `min..=m-min` (the first `k`
/// values before): `(k, |Z_k|)` where it is largest. `None` when no split is allowed.
pub fn pettitt(ranks: &[f64], min: usize) -> Option<(usize, f64)> {
    let m = ranks.len();
    let min = min.max(1);
    if m < 2 * min {
        return None;
    }
    let mut w = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in ranks.iter().enumerate().take(m - min) {
        w += r;
        let k = i + 1;
        if k < min {
            continue;
        }
        let (kf, mf) = (k as f64, m as f64);
        let u = (2.0 * w - kf * (mf + 1.0)).abs();
        let z = u / (kf * (mf - kf) * (mf + 1.0) / 3.0).sqrt();
        if best.is_none_or(|(_, b)| z > b) {
            best = Some((k, z));
        }
    }
    best
}

/// How far from the rank statistic's maximum the least-squares split is looked for.
const REFINE: usize = 5;

/// The split within `REFINE` of `around` (and `min` from either end) where the values' means
/// differ most, weighted as least squares does: `k (m - k) (mean after - mean before)^2`.
pub fn locate(values: &[f64], around: usize, min: usize) -> usize {
    let m = values.len();
    let min = min.max(1);
    let total: f64 = values.iter().sum();
    let mut prefix = 0.0;
    let mut best = (around, f64::NEG_INFINITY);
    for (i, v) in values.iter().enumerate().take(m.saturating_sub(min)) {
        prefix += v;
        let k = i + 1;
        if k < min || k.abs_diff(around) > REFINE {
            continue;
        }
        let (kf, mf) = (k as f64, m as f64);
        let diff = (total - prefix) / (mf - kf) - prefix / kf;
        let score = kf * (mf - kf) * diff * diff;
        if score > best.1 {
            best = (k, score);
        }
    }
    best.0
}

/// A bound on the p-value of the largest `|Z|` of `splits` splits: the two-sided normal
/// p-value of one Mann-Whitney split, times the number of splits (Bonferroni).
pub fn tail_bound(z: f64, splits: usize) -> f64 {
    (splits as f64 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)).min(1.0)
}

/// The p-value of the largest split of `ranks`: permutations, or the approximation in the tail.
fn split_p(ranks: &[f64], min: usize, observed: f64, settings: &Settings, seed: u64) -> f64 {
    let splits = (ranks.len() + 1).saturating_sub(2 * min.max(1));
    let bound = tail_bound(observed, splits);
    if bound < TAIL {
        return bound;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut shuffled = ranks.to_vec();
    // The splits' standard deviations depend only on the length: worked out once, not once a
    // permutation (a series of 10,000 commits is permuted up to 1,999 times).
    let (m, min) = (ranks.len(), min.max(1));
    let mf = m as f64;
    let inverse_sd: Vec<f64> = (0..m)
        .map(|k| {
            let kf = k as f64;
            1.0 / (kf * (mf - kf) * (mf + 1.0) / 3.0).sqrt()
        })
        .collect();
    let reaches = |r: &[f64]| {
        let mut w = 0.0;
        for (i, x) in r.iter().enumerate().take(m - min) {
            w += x;
            let k = i + 1;
            if k >= min
                && (2.0 * w - k as f64 * (mf + 1.0)).abs() * inverse_sd[k] >= observed - 1e-9
            {
                return true;
            }
        }
        false
    };
    let mut hits = 0;
    for done in 1..=settings.permutations {
        rng.shuffle(&mut shuffled);
        if reaches(&shuffled) {
            hits += 1;
            if hits >= ENOUGH_HITS {
                return hits as f64 / done as f64;
            }
        }
    }
    (hits + 1) as f64 / (settings.permutations + 1) as f64
}

/// A split tested: where, and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    pub index: usize,
    pub p: f64,
}

/// Binary segmentation of `values`: every split tested, significant ones or not.
pub fn tests(values: &[f64], settings: &Settings, series_seed: u64) -> Vec<Test> {
    let mut out = Vec::new();
    let mut stack = vec![(0, values.len())];
    while let Some((lo, hi)) = stack.pop() {
        let r = ranks(&values[lo..hi]);
        let Some((k, observed)) = pettitt(&r, settings.min_segment) else {
            continue;
        };
        let k = locate(&values[lo..hi], k, settings.min_segment);
        let seed = settings.seed ^ series_seed ^ ((lo as u64) << 32 | hi as u64);
        let p = split_p(&r, settings.min_segment, observed, settings, seed);
        out.push(Test { index: lo + k, p });
        if p < settings.search_alpha {
            stack.push((lo, lo + k));
            stack.push((lo + k, hi));
        }
    }
    out.sort_by_key(|t| t.index);
    out
}

/// The change points of each series: `series[i]` with practical threshold `thresholds[i]`
/// (0.02: steps smaller than 2 % are ignored), with the false discovery rate controlled over
/// every test of every series.
pub fn detect(
    series: &[Vec<f64>],
    thresholds: &[f64],
    settings: &Settings,
) -> Vec<Vec<ChangePoint>> {
    // Each series is tested on its own (its seed from its index), on every CPU (up to four):
    // the same tests in the same order as on one.
    let indexed: Vec<(usize, &Vec<f64>)> = series.iter().enumerate().collect();
    let all: Vec<Vec<Test>> = crate::parallel::map_parallel(&indexed, |&(i, s)| {
        tests(s, settings, crate::fnv::fnv1a(&i.to_le_bytes()))
    });
    let ps: Vec<f64> = all.iter().flatten().map(|t| t.p).collect();
    let adjusted = benjamini_hochberg(&ps);
    let mut adjusted = adjusted.into_iter();
    all.into_iter()
        .zip(series)
        .zip(thresholds)
        .map(|((tests, values), &threshold)| {
            let mut kept: Vec<(Test, f64)> = tests
                .into_iter()
                .map(|t| (t, adjusted.next().unwrap_or(1.0)))
                .filter(|(_, q)| *q <= settings.alpha)
                .collect();
            // Drop the smallest step below the threshold until every step is large enough; the
            // levels on either side of a change point run to its neighbours.
            loop {
                let points = levels(values, &kept);
                match points
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.step.abs() < threshold)
                    .min_by(|a, b| a.1.step.abs().total_cmp(&b.1.step.abs()))
                {
                    Some((i, _)) => {
                        kept.remove(i);
                    }
                    None => return points,
                }
            }
        })
        .collect()
}

/// As `detect`, with each series cut where a new level was accepted as intended: `cuts[i]` are
/// the indices of the first values of series `i` at such a level. Each stretch between cuts is
/// searched on its own (its tests adjusted together with every other stretch's), so a change
/// after a cut is judged against the level the cut started, and nothing before the cut counts
/// against it. A cut whose step (the median of the level it ends over that of the level it
/// starts) reaches the threshold is a change point of its own, marked `accepted`.
pub fn detect_with_cuts(
    series: &[Vec<f64>],
    thresholds: &[f64],
    cuts: &[Vec<usize>],
    settings: &Settings,
) -> Vec<Vec<ChangePoint>> {
    // Every stretch of every series: (series, start, end).
    let mut stretches: Vec<(usize, usize, usize)> = Vec::new();
    for (i, values) in series.iter().enumerate() {
        let mut bounds: Vec<usize> = cuts
            .get(i)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&c| c > 0 && c < values.len())
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let mut start = 0;
        for end in bounds.into_iter().chain(std::iter::once(values.len())) {
            stretches.push((i, start, end));
            start = end;
        }
    }
    let pieces: Vec<Vec<f64>> = stretches
        .iter()
        .map(|&(i, a, b)| series[i][a..b].to_vec())
        .collect();
    let piece_thresholds: Vec<f64> = stretches.iter().map(|&(i, ..)| thresholds[i]).collect();
    let found = detect(&pieces, &piece_thresholds, settings);
    let mut out: Vec<Vec<ChangePoint>> = vec![Vec::new(); series.len()];
    // The level a stretch ends at, for the cut after it: (series, its median).
    let mut previous: Option<(usize, f64)> = None;
    for ((&(i, start, _), points), piece) in stretches.iter().zip(found).zip(&pieces) {
        let first_end = points.first().map_or(piece.len(), |c| c.index);
        let last_start = points.last().map_or(0, |c| c.index);
        let starts_at = median(&piece[..first_end]).unwrap_or(f64::NAN);
        if let Some((j, before)) = previous
            && j == i
        {
            let step = starts_at / before - 1.0;
            if step.abs() >= thresholds[i] {
                out[i].push(ChangePoint {
                    index: start,
                    step,
                    before,
                    after: starts_at,
                    p: f64::NAN,
                    p_adjusted: f64::NAN,
                    accepted: true,
                });
            }
        }
        out[i].extend(points.into_iter().map(|c| ChangePoint {
            index: c.index + start,
            ..c
        }));
        previous = Some((i, median(&piece[last_start..]).unwrap_or(f64::NAN)));
    }
    out
}

/// The change points `kept` with the levels between them.
fn levels(values: &[f64], kept: &[(Test, f64)]) -> Vec<ChangePoint> {
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(kept.iter().map(|(t, _)| t.index))
        .chain(std::iter::once(values.len()))
        .collect();
    kept.iter()
        .enumerate()
        .map(|(i, (t, q))| {
            let before = median(&values[bounds[i]..bounds[i + 1]]).unwrap_or(f64::NAN);
            let after = median(&values[bounds[i + 1]..bounds[i + 2]]).unwrap_or(f64::NAN);
            ChangePoint {
                index: t.index,
                step: after / before - 1.0,
                before,
                after,
                p: t.p,
                p_adjusted: *q,
                accepted: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard normal numbers (Box-Muller) from a seeded generator.
    fn normal(rng: &mut fastrand::Rng) -> f64 {
        let (u1, u2) = (rng.f64().max(1e-12), rng.f64());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn noisy(levels: &[(usize, f64)], noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        levels
            .iter()
            .flat_map(|&(n, level)| std::iter::repeat_n(level, n))
            .map(|l| l * (1.0 + noise * normal(&mut rng)))
            .collect()
    }

    #[test]
    fn an_accepted_cut_starts_a_new_level_and_later_changes_are_judged_against_it() {
        // 20 commits at 100, then +30 % at commit 20 (accepted there), then 20 at 130, then
        // +10 % more at commit 40.
        let values = noisy(&[(20, 100.0), (20, 130.0), (20, 143.0)], 0.01, 7);
        let settings = Settings::default();
        let plain = detect(std::slice::from_ref(&values), &[0.02], &settings);
        assert_eq!(
            plain[0].iter().map(|c| c.index).collect::<Vec<_>>(),
            vec![20, 40]
        );
        let cut = detect_with_cuts(
            std::slice::from_ref(&values),
            &[0.02],
            &[vec![20]],
            &settings,
        );
        let cut = &cut[0];
        assert_eq!(cut.len(), 2, "{cut:?}");
        assert!(cut[0].accepted && cut[0].index == 20, "{cut:?}");
        assert!((cut[0].step - 0.30).abs() < 0.03, "{cut:?}");
        assert!(cut[0].p.is_nan());
        // The later step is found from the new level (130), not from the old one.
        assert!(!cut[1].accepted && cut[1].index == 40, "{cut:?}");
        assert!((cut[1].before - 130.0).abs() < 3.0, "{cut:?}");
        assert!((cut[1].step - 0.10).abs() < 0.03, "{cut:?}");
        // A cut where nothing moved is no change point; nor is one at either end.
        let flat = noisy(&[(40, 100.0)], 0.01, 8);
        let none = detect_with_cuts(&[flat], &[0.02], &[vec![0, 15, 40]], &settings);
        assert!(none[0].is_empty(), "{none:?}");
    }

    #[test]
    fn ranks_average_ties() {
        // scipy.stats.rankdata([3, 1, 4, 1, 5]) == [3, 1.5, 4, 1.5, 5]
        assert_eq!(ranks(&[3.0, 1.0, 4.0, 1.0, 5.0]), [3.0, 1.5, 4.0, 1.5, 5.0]);
    }

    #[test]
    fn pettitt_matches_hand_computed_values() {
        // x = [1, 2, 3, 10, 11, 12]: ranks are the values' order; U_k = 2 W_k - 7k, with
        // variance k (6 - k) 7 / 3. k=1: -5 / sqrt(35/3) = -1.4639; k=2: -8 / sqrt(56/3) =
        // -1.8516; k=3: -9 / sqrt(21) = -1.9640; k=4 and k=5 mirror k=2 and k=1.
        let r = ranks(&[1.0, 2.0, 3.0, 10.0, 11.0, 12.0]);
        let (k, z) = pettitt(&r, 1).unwrap();
        assert_eq!(k, 3);
        assert!((z - 9.0 / 21f64.sqrt()).abs() < 1e-12, "{z}");
        // Only splits with two values on each side: k in 2..=4.
        assert_eq!(pettitt(&r, 2).map(|(k, _)| k), Some(3));
        assert_eq!(pettitt(&r, 4), None);
        // scipy.stats.norm.sf(1.96) * 2 = 0.04999579; times 3 splits.
        assert!((tail_bound(1.96, 3) - 3.0 * 0.049_995_790).abs() < 1e-7);
    }

    /// A step two thirds of the way along (40 values, then 20 at a level 40 % higher, 1 %
    /// noise) is placed exactly in each of 200 seeded series. By ranks alone it lands a commit
    /// early whenever the last value before the step is among the top five of its level (29 of
    /// these 200).
    #[test]
    fn a_change_near_the_end_is_placed_exactly() {
        let misplaced = (0..200)
            .filter(|&seed| {
                let values = noisy(&[(40, 100.0), (20, 140.0)], 0.01, seed);
                let (k, _) = pettitt(&ranks(&values), 3).unwrap();
                locate(&values, k, 3) != 40
            })
            .count();
        assert_eq!(misplaced, 0);
    }

    #[test]
    fn finds_the_two_steps_of_a_known_series_and_nothing_else() {
        // +20 % at index 25, -10 % at index 45, 1.5 % noise.
        let values = noisy(&[(25, 100.0), (20, 120.0), (15, 108.0)], 0.015, 3);
        let found = &detect(&[values], &[0.02], &Settings::default())[0];
        let at: Vec<usize> = found.iter().map(|c| c.index).collect();
        assert_eq!(at, [25, 45], "{found:?}");
        assert!((found[0].step - 0.20).abs() < 0.03, "{found:?}");
        assert!((found[1].step + 0.10).abs() < 0.03, "{found:?}");
    }

    #[test]
    fn steps_below_the_threshold_are_ignored() {
        let values = noisy(&[(30, 100.0), (30, 103.0)], 0.002, 5);
        assert_eq!(
            detect(std::slice::from_ref(&values), &[0.01], &Settings::default())[0].len(),
            1
        );
        assert!(detect(&[values], &[0.05], &Settings::default())[0].is_empty());
    }

    /// A/A: 400 series of pure noise (60 commits each, 2 % noise) analysed together; the
    /// false discovery control must keep series with any change point rare.
    #[test]
    fn noise_alone_rarely_gives_change_points() {
        let series: Vec<Vec<f64>> = (0..400).map(|i| noisy(&[(60, 100.0)], 0.02, i)).collect();
        let found = detect(&series, &vec![0.0; 400], &Settings::default());
        let alarms = found.iter().filter(|f| !f.is_empty()).count();
        assert!(
            alarms <= 8,
            "{alarms} of 400 noise series had change points"
        );
    }

    /// Power among many series: 50 series, 10 with a +10 % step somewhere in 40..60 commits
    /// (2 % noise), the rest noise; the steps are found, at their commit, and little else.
    #[test]
    fn steps_are_found_among_many_series() {
        let mut series = Vec::new();
        let mut truth = Vec::new();
        for i in 0..50u64 {
            if i % 5 == 0 {
                let at = 20 + (i as usize % 17);
                series.push(noisy(&[(at, 100.0), (50 - at, 110.0)], 0.02, 100 + i));
                truth.push(Some(at));
            } else {
                series.push(noisy(&[(50, 100.0)], 0.02, 100 + i));
                truth.push(None);
            }
        }
        let found = detect(&series, &vec![0.02; 50], &Settings::default());
        let mut hits = 0;
        let mut false_alarms = 0;
        for (f, t) in found.iter().zip(&truth) {
            for c in f {
                match t {
                    Some(at) if c.index.abs_diff(*at) <= 1 => hits += 1,
                    _ => false_alarms += 1,
                }
            }
        }
        assert!(hits >= 9, "found {hits} of 10 steps");
        assert!(false_alarms <= 1, "{false_alarms} false change points");
    }
}
