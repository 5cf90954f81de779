//! Seeded simulations of the gate's statistics through the real adaptive loop and verdicts,
//! with a synthetic runner: no processes, no timing, the same numbers every time.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use cargo_perf::config::{Class, Metric, Sampling, Thresholds};
use cargo_perf::discover::Workload;
use cargo_perf::errors::MeasureError;
use cargo_perf::gate::{GateVerdict, GateWorkload, run_gate};
use cargo_perf::measure::{Exit, RunResult, RunSpec, Runner, Sample};
use cargo_perf::report::{Progress, ProgressMode};

/// Wall times of `base_ms` with normal noise of `noise` (0.05 = 5 % standard deviation); the
/// `@new` side is `shift` slower (0.05 = 5 %).
struct Synthetic {
    rng: fastrand::Rng,
    base_ms: f64,
    noise: f64,
    shift: f64,
}

impl Runner for Synthetic {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError> {
        let (u1, u2) = (1.0 - self.rng.f64(), self.rng.f64());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let level = if spec.name.ends_with("@new") {
            self.base_ms * (1.0 + self.shift)
        } else {
            self.base_ms
        };
        let wall_ns = (level * (1.0 + self.noise * z)).max(0.01) * 1e6;
        Ok(RunResult {
            sample: Sample {
                wall_ns: wall_ns as u64,
                user_ns: wall_ns as u64,
                sys_ns: 0,
                max_rss_bytes: 1 << 20,
            },
            exit: Exit::Code(0),
            stderr_tail: String::new(),
            rss_floor_bytes: 0,
        })
    }
}

fn workload(name: String, sampling: Sampling) -> GateWorkload {
    GateWorkload {
        workload: Workload {
            name,
            line: 1,
            fixture: None,
            class: Class::Small,
            class_reason: "declared".into(),
            budget: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
            argv: vec!["synthetic".into()],
            env: vec![],
            cwd: PathBuf::from("."),
            thresholds: Thresholds::default(),
            sampling,
            threshold: 0.02,
            bins: BTreeSet::new(),
            criterion: None,
        },
        base_argv: Some(vec!["synthetic".into()]),
        base_env: vec![],
    }
}

/// The default sampling of `check` for a ~50 ms workload, except that the time cap is set by
/// `max_rounds` here: simulated runs take no time.
fn sampling(max_rounds: u32) -> Sampling {
    Sampling {
        warmup: 0,
        min_runs: 10,
        max_runs: max_rounds,
        time_cap: Duration::from_secs(3600),
        metric: Metric::Wall,
    }
}

/// Runs `checks` single-workload checks and returns (verdict counts, mean rounds).
fn simulate(
    checks: usize,
    shift: f64,
    max_rounds: u32,
    seed: u64,
) -> (Vec<(GateVerdict, usize)>, f64) {
    let mut counts: Vec<(GateVerdict, usize)> = Vec::new();
    let mut rounds = 0usize;
    for i in 0..checks {
        let mut runner = Synthetic {
            rng: fastrand::Rng::with_seed(seed + i as u64),
            base_ms: 50.0,
            noise: 0.05,
            shift,
        };
        // Each check is seeded differently (the gate seeds its bootstrap and round order by the
        // workload's name).
        let w = workload(format!("sim-{seed}-{i}"), sampling(max_rounds));
        let (results, _) = run_gate(
            vec![w],
            &mut runner,
            &mut Progress::new(ProgressMode::Silent),
        )
        .unwrap();
        rounds += results[0].candidate.samples.len();
        let v = results[0].verdict;
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    (counts, rounds as f64 / checks as f64)
}

fn count(counts: &[(GateVerdict, usize)], v: GateVerdict) -> usize {
    counts.iter().find(|(k, _)| *k == v).map_or(0, |(_, n)| *n)
}

#[test]
fn a_a_checks_rarely_cry_wolf() {
    // 1,000 A/A checks with 5 % noise: at most 1 % may come out regressed (or improved).
    let (counts, mean_rounds) = simulate(1000, 0.0, 300, 1_000_000);
    let false_alarms =
        count(&counts, GateVerdict::Regressed) + count(&counts, GateVerdict::Improved);
    eprintln!("A/A: {counts:?}, mean rounds {mean_rounds:.0}");
    assert!(
        false_alarms <= 10,
        "{false_alarms} false alarms in 1000: {counts:?}"
    );
    // And they mostly come to a conclusion rather than giving up.
    assert!(count(&counts, GateVerdict::Unchanged) >= 900, "{counts:?}");
}

#[test]
fn a_five_percent_slowdown_is_found() {
    // +5 % with 5 % noise: found in at least 95 % of checks, at the round counts adaptive
    // stopping reaches (reported).
    let (counts, mean_rounds) = simulate(400, 0.05, 300, 2_000_000);
    eprintln!("+5 %: {counts:?}, mean rounds {mean_rounds:.0}");
    let found = count(&counts, GateVerdict::Regressed);
    assert!(found >= 380, "found in {found} of 400: {counts:?}");
    assert_eq!(count(&counts, GateVerdict::Improved), 0);
}

#[test]
fn benjamini_hochberg_holds_false_alarms_down_across_many_workloads() {
    // One check of 50 A/A workloads, 20 times: the gate fails on a false alarm in at most 2.
    let mut failed_checks = 0;
    for c in 0..20u64 {
        let mut runner = Synthetic {
            rng: fastrand::Rng::with_seed(3_000_000 + c),
            base_ms: 20.0,
            noise: 0.05,
            shift: 0.0,
        };
        let ws = (0..50)
            .map(|i| workload(format!("w{c}-{i}"), sampling(100)))
            .collect();
        let (results, _) =
            run_gate(ws, &mut runner, &mut Progress::new(ProgressMode::Silent)).unwrap();
        if results.iter().any(|r| r.verdict == GateVerdict::Regressed) {
            failed_checks += 1;
        }
    }
    assert!(
        failed_checks <= 2,
        "{failed_checks} of 20 checks raised a false alarm"
    );
}
