//! Calibration: how noisy each workload is on this machine, measured as `check` measures (A/A
//! rounds, the same command as both sides, in random order), and what that means for `check`:
//! the smallest change it would find within its time cap, the time it needs for 2 % and 5 %,
//! and the metric, time cap and threshold to use.
//!
//! The gate judges the log ratios of the rounds (signed-rank test, Hodges-Lehmann interval).
//! With their spread `sigma` (from the median absolute deviation, so that a disturbed round does
//! not decide it), the interval's half-width after `n` rounds is about
//! `1.96 sigma / sqrt(0.955 n)` (0.955 = 3/pi, the Hodges-Lehmann estimate's efficiency
//! against the mean on normal data). A change `d` is found once the interval clears the
//! threshold: with the threshold at `d / 2`, once the half-width is below `d / 2`.

use serde::Serialize;

use super::series;
use crate::config::Sampling;
use crate::errors::MeasureError;
use crate::measure::{Look, MIN_LOOK_ROUNDS, RunSpec, Runner, Sample, measure_paired};
use crate::stats::mad;
use crate::vocab::Metric;

/// The Hodges-Lehmann estimate's efficiency against the mean on normal data, 3/pi.
const HL_EFFICIENCY: f64 = 0.955;
/// z of a two-sided 95 % interval.
const Z: f64 = 1.96;
/// A change that takes longer than this a side to find is not worth the time cap it would need:
/// a larger threshold, or the instructions metric, is proposed instead.
const LONGEST_CAP_S: f64 = 30.0;
/// The thresholds proposed, smallest first.
const THRESHOLDS: [f64; 4] = [0.01, 0.02, 0.05, 0.10];

/// The noise of one metric of a workload.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricNoise {
    pub metric: Metric,
    /// The spread of the rounds' log ratios (0.03: about 3 % between the two runs of a round).
    pub sigma: f64,
    /// Seconds a side to find a 2 % change (threshold 1 %) and a 5 % one (threshold 2.5 %).
    pub seconds_for_2pct: f64,
    pub seconds_for_5pct: f64,
    /// The smallest change `check` finds within the workload's time cap at its threshold.
    pub smallest_change: f64,
}

/// What calibration found for a workload, and what it proposes.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub workload: String,
    pub rounds: usize,
    /// Mean seconds of one run (one side of a round).
    pub seconds_per_run: f64,
    pub noise: Vec<MetricNoise>,
    /// The proposal: `metric`, `time_cap` (seconds a side) and `threshold`.
    pub metric: Metric,
    pub time_cap_s: f64,
    pub threshold: f64,
    /// More rounds than the workload's `max_runs` allows would be needed: this many.
    pub max_runs: Option<u32>,
    /// Why, for people.
    pub reason: String,
}

/// Rounds needed for an interval of half-width `half` with log-ratio spread `sigma` (at least
/// the rounds of the first look).
pub fn rounds_for(sigma: f64, half: f64) -> f64 {
    let n = (Z * sigma / half).powi(2) / HL_EFFICIENCY;
    // The check decides only at its looks: from 20 rounds, then 20 % apart.
    let mut look = MIN_LOOK_ROUNDS;
    while (look as f64) < n && look < 1_000_000 {
        look = (look * 6).div_ceil(5).max(look + 1);
    }
    look as f64
}

/// The interval's half-width after `rounds`.
pub fn half_width(sigma: f64, rounds: f64) -> f64 {
    Z * sigma / (HL_EFFICIENCY * rounds.max(1.0)).sqrt()
}

/// The spread of log ratios, from their median absolute deviation (scaled to a normal's
/// standard deviation).
pub fn log_ratio_sigma(base: &[f64], new: &[f64]) -> Option<f64> {
    let logs: Vec<f64> = base
        .iter()
        .zip(new)
        .filter(|(b, n)| **b > 0.0 && **n > 0.0)
        .map(|(b, n)| (n / b).ln())
        .collect();
    if logs.len() < 2 {
        return None;
    }
    Some(mad(&logs)? * 1.4826)
}

/// Measures `spec` against itself in `sampling.time_cap` a side of A/A rounds and proposes
/// settings; `time_cap` and `threshold` are the workload's current ones.
#[allow(clippy::too_many_arguments)]
pub fn calibrate(
    runner: &mut dyn Runner,
    name: &str,
    spec: &RunSpec,
    sampling: &Sampling,
    current: (f64, f64, u32),
    valgrind: bool,
    on_round: &mut dyn FnMut(usize, usize),
) -> Result<Result<Calibration, String>, MeasureError> {
    let base = RunSpec {
        name: format!("{}@base", spec.name),
        ..spec.clone()
    };
    let new = RunSpec {
        name: format!("{}@new", spec.name),
        ..spec.clone()
    };
    let seed = crate::fnv::fnv1a(name.as_bytes());
    let paired = measure_paired(
        runner,
        &base,
        &new,
        sampling,
        seed,
        &mut |_, _| Look::Continue,
        on_round,
    )?;
    if let Some(f) = paired.base.failure.as_ref().or(paired.new.failure.as_ref()) {
        return Ok(Err(format!("it failed: {}", f.reason)));
    }
    Ok(propose(
        name,
        &paired.base.samples,
        &paired.new.samples,
        current,
        valgrind,
    ))
}

/// The proposal from A/A rounds (`base[i]` and `new[i]` of round `i`); `current` is the
/// workload's time cap (seconds a side), threshold and `max_runs`.
pub fn propose(
    name: &str,
    base: &[Sample],
    new: &[Sample],
    current: (f64, f64, u32),
    valgrind: bool,
) -> Result<Calibration, String> {
    let (time_cap_s, threshold, max_runs) = current;
    let rounds = base.len().min(new.len());
    if rounds < MIN_LOOK_ROUNDS {
        return Err(format!(
            "only {rounds} rounds fit in the time given; calibration needs {MIN_LOOK_ROUNDS} \
             (give it more with --time)"
        ));
    }
    let all: Vec<f64> = base.iter().chain(new).map(|s| s.wall_ns as f64).collect();
    let seconds_per_run = all.iter().sum::<f64>() / all.len() as f64 / 1e9;
    let seconds = |rounds: f64| rounds * seconds_per_run;
    let noise: Vec<MetricNoise> = [Metric::Wall, Metric::Cpu]
        .into_iter()
        .filter_map(|metric| {
            let sigma = log_ratio_sigma(&series(base, metric), &series(new, metric))?;
            let cap_rounds = (time_cap_s / seconds_per_run).clamp(1.0, f64::from(max_runs));
            Some(MetricNoise {
                metric,
                sigma,
                seconds_for_2pct: seconds(rounds_for(sigma, 0.01)),
                seconds_for_5pct: seconds(rounds_for(sigma, 0.025)),
                smallest_change: threshold + half_width(sigma, cap_rounds),
            })
        })
        .collect();
    let best = noise
        .iter()
        .min_by(|a, b| a.sigma.total_cmp(&b.sigma))
        .ok_or("its runs have no figures to compare")?;
    // The smallest threshold whose doubled change is found within the longest reasonable cap.
    let fitting = THRESHOLDS
        .into_iter()
        .find(|t| seconds(rounds_for(best.sigma, *t)) <= LONGEST_CAP_S);
    let mut more_runs = None;
    let (metric, threshold, cap_s, reason) = match fitting {
        Some(t) => {
            let needed = seconds(rounds_for(best.sigma, t));
            let rounds = (rounds_for(best.sigma, t) * 1.2).ceil();
            if rounds > f64::from(max_runs) {
                more_runs = Some(rounds as u32);
            }
            (
                best.metric,
                t,
                (needed * 1.2).ceil().max(1.0),
                format!(
                    "{} varies by {:.1}% between the runs of a round; a {:.0}% change is found \
                     in about {:.1} s a side at a {:.0}% threshold",
                    best.metric.as_str(),
                    best.sigma * 100.0,
                    t * 200.0,
                    needed,
                    t * 100.0
                ),
            )
        }
        None if valgrind => (
            Metric::Instructions,
            crate::config::DEFAULT_INSTRUCTIONS_THRESHOLD,
            time_cap_s,
            format!(
                "time varies by {:.1}% between the runs of a round, too much to find even a \
                 20% change within {LONGEST_CAP_S:.0} s a side; counted instructions do not vary",
                best.sigma * 100.0
            ),
        ),
        None => (
            best.metric,
            *THRESHOLDS.last().unwrap_or(&0.10),
            LONGEST_CAP_S,
            format!(
                "time varies by {:.1}% between the runs of a round, too much to find even a 20% \
                 change within {LONGEST_CAP_S:.0} s a side; with valgrind installed, the \
                 instructions metric would not vary",
                best.sigma * 100.0
            ),
        ),
    };
    Ok(Calibration {
        workload: name.to_owned(),
        rounds,
        seconds_per_run,
        noise,
        metric,
        time_cap_s: cap_s,
        threshold,
        max_runs: more_runs,
        reason,
    })
}

/// Today's spread of a check's rounds on `metric`, to hold against the calibrated one.
pub fn observed_sigma(base: &[Sample], new: &[Sample], metric: Metric) -> Option<f64> {
    if base.len().min(new.len()) < MIN_LOOK_ROUNDS {
        return None;
    }
    log_ratio_sigma(&series(base, metric), &series(new, metric))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: f64) -> Sample {
        Sample {
            wall_ns: (ms * 1e6) as u64,
            user_ns: (ms * 1e6) as u64,
            sys_ns: 0,
            max_rss_bytes: 0,
        }
    }

    #[test]
    fn rounds_follow_the_half_width_formula() {
        // 1.96 x 0.05 / 0.01 = 9.8; squared 96.04; / 0.955 = 100.6 rounds, decided at the
        // look after that: 20, 24, 29, 35, 42, 51, 62, 75, 90, 108.
        assert_eq!(rounds_for(0.05, 0.01), 108.0);
        assert!((half_width(0.05, 100.565) - 0.01).abs() < 1e-6);
        // Never fewer than the first look.
        assert_eq!(rounds_for(0.001, 0.05), MIN_LOOK_ROUNDS as f64);
    }

    #[test]
    fn quiet_workloads_get_small_thresholds_and_noisy_ones_instructions() {
        let mut rng = fastrand::Rng::with_seed(1);
        // Rounds of a `ms` workload whose runs vary by `sd`.
        let mut noisy = |sd: f64, ms: f64| -> (Vec<Sample>, Vec<Sample>) {
            (0..60)
                .map(|_| {
                    let mut z = || {
                        let (u1, u2) = (1.0 - rng.f64(), rng.f64());
                        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                    };
                    let (a, b) = (z(), z());
                    (sample(ms * (1.0 + sd * a)), sample(ms * (1.0 + sd * b)))
                })
                .unzip()
        };
        let (b, n) = noisy(0.005, 50.0);
        let quiet = propose("q", &b, &n, (3.0, 0.02, 500), true).unwrap();
        assert_eq!(quiet.max_runs, None, "{quiet:?}");
        // With at most 10 rounds allowed, more are proposed.
        let capped = propose("q", &b, &n, (3.0, 0.02, 10), true).unwrap();
        assert!(capped.max_runs.is_some_and(|m| m >= 20), "{capped:?}");
        assert_eq!(quiet.threshold, 0.01, "{quiet:?}");
        assert!(quiet.time_cap_s <= 3.0, "{quiet:?}");
        // Half a second a run, 30 % apart: a 20 % change would take 35 s a side.
        let (b, n) = noisy(0.30, 500.0);
        let loud = propose("l", &b, &n, (3.0, 0.02, 500), true).unwrap();
        assert_eq!(loud.metric, Metric::Instructions, "{loud:?}");
        let loud = propose("l", &b, &n, (3.0, 0.02, 500), false).unwrap();
        assert_eq!(loud.metric, Metric::Wall, "{loud:?}");
        assert!(loud.reason.contains("valgrind"), "{loud:?}");
        let few = propose("f", &b[..5], &n[..5], (3.0, 0.02, 500), true).unwrap_err();
        assert!(few.contains("--time"), "{few}");
    }
}
