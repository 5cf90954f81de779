//! Seeded simulations of the gate's statistics through the real adaptive loop and verdicts,
//! with a synthetic runner: no processes, no timing, the same numbers every time.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use cargo_perf::config::{Sampling, Thresholds};
use cargo_perf::discover::{Command, Kind, Workload};
use cargo_perf::errors::MeasureError;
use cargo_perf::gate::{GateVerdict, GateWorkload, run_gate};
use cargo_perf::measure::{Exit, RunResult, RunSpec, Runner};
use cargo_perf::report::{Progress, ProgressMode};
use cargo_perf::vocab::{Class, Metric, Sample};

/// Wall times of `base_ms` with normal noise of `noise` (0.05 = 5 % standard deviation); the
/// `@new` side is `shift` slower (0.05 = 5 %). With `drift`, the machine's speed also walks in
/// log space by about that much from one run to the next, pulled back to its mean slowly (a
/// spread of several times `drift`, as on a shared VM): the two runs of a round share most of
/// it.
struct Synthetic {
    rng: fastrand::Rng,
    base_ms: f64,
    noise: f64,
    shift: f64,
    drift: f64,
    speed: f64,
}

impl Runner for Synthetic {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError> {
        let (u1, u2) = (1.0 - self.rng.f64(), self.rng.f64());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let (u1, u2) = (1.0 - self.rng.f64(), self.rng.f64());
        let step = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        self.speed = 0.98 * self.speed + self.drift * step;
        let level = if spec.name.ends_with("@new") {
            self.base_ms * (1.0 + self.shift)
        } else {
            self.base_ms
        };
        let wall_ns = (level * self.speed.exp() * (1.0 + self.noise * z)).max(0.01) * 1e6;
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
            threshold: 0.02,
            sampling,
            cwd: PathBuf::from("."),
            kind: Kind::Command(Command {
                line: 1,
                fixture: None,
                class: Class::Small,
                class_reason: "declared".into(),
                budget: Duration::from_secs(30),
                timeout: Duration::from_secs(30),
                argv: vec!["synthetic".into()],
                env: vec![],
                thresholds: Thresholds::default(),
                bins: BTreeSet::new(),
                growth: None,
                declared: String::new(),
            }),
        },
        base_argv: Some(vec!["synthetic".into()]),
        base_env: vec![],
        stored_base: None,
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
            drift: 0.0,
            speed: 0.0,
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
fn rounds_are_judged_by_their_ratios_so_shared_drift_costs_little_power() {
    // 3 % noise of each run, and a machine whose speed wanders by about 10 % and changes little
    // from one run to the next. Judged by the ratio of each round's pair (signed-rank test,
    // Hodges-Lehmann interval), +5 % is found within 40 rounds (about 2 s a side of a 50 ms
    // workload) in at least 95 % of checks; the bootstrap of the two sides' medians, which
    // only resamples rounds together, found it in 43 % (examples/gate_power.rs).
    let run = |shift: f64, seed: u64| {
        let mut found = Vec::new();
        for i in 0..200u64 {
            let mut runner = Synthetic {
                rng: fastrand::Rng::with_seed(seed + i),
                base_ms: 50.0,
                noise: 0.03,
                shift,
                drift: 0.02,
                speed: 0.0,
            };
            let w = workload(format!("drift-{seed}-{i}"), sampling(40));
            let (results, _) = run_gate(
                vec![w],
                &mut runner,
                &mut Progress::new(ProgressMode::Silent),
            )
            .unwrap();
            found.push(results[0].verdict);
        }
        found
    };
    let a_a = run(0.0, 4_000_000);
    let flagged = a_a
        .iter()
        .filter(|v| matches!(v, GateVerdict::Regressed | GateVerdict::Improved))
        .count();
    assert!(flagged <= 2, "{flagged} of 200 A/A checks flagged");
    let slower = run(0.05, 5_000_000);
    let found = slower
        .iter()
        .filter(|v| **v == GateVerdict::Regressed)
        .count();
    assert!(found >= 190, "+5 % found in {found} of 200");
}

#[test]
fn calibration_proposes_the_time_the_simulated_gate_needs() {
    use cargo_perf::gate::calibrate::calibrate;
    use cargo_perf::measure::RunSpec;
    // A 50 ms workload whose runs vary by 5 %: calibrate measures it against itself.
    let mut runner = Synthetic {
        rng: fastrand::Rng::with_seed(6_000_000),
        base_ms: 50.0,
        noise: 0.05,
        shift: 0.0,
        drift: 0.0,
        speed: 0.0,
    };
    let spec = RunSpec {
        name: "cal".into(),
        argv: vec!["synthetic".into()],
        env: vec![],
        cwd: PathBuf::from("."),
        timeout: Duration::from_secs(30),
    };
    let a_a = Sampling {
        warmup: 0,
        min_runs: 20,
        max_runs: 100_000,
        // 400 rounds of simulated 50 ms runs.
        time_cap: Duration::from_secs(20),
        metric: Metric::Wall,
    };
    let cal = calibrate(
        &mut runner,
        "cal",
        &spec,
        &a_a,
        (3.0, 0.02, 500),
        false,
        &mut |_, _| {},
    )
    .unwrap()
    .unwrap();
    let wall = cal.noise.iter().find(|n| n.metric == Metric::Wall).unwrap();
    // The log ratio of two runs of 5 % each: about 7.1 %.
    assert!((wall.sigma - 0.0707).abs() < 0.012, "{cal:?}");
    // What the gate needs to find +5 % at a 2.5 % threshold, from simulated checks: the median
    // round at which they decide, in seconds of 50 ms runs.
    let mut rounds = Vec::new();
    for i in 0..200u64 {
        let mut runner = Synthetic {
            rng: fastrand::Rng::with_seed(7_000_000 + i),
            base_ms: 50.0,
            noise: 0.05,
            shift: 0.05,
            drift: 0.0,
            speed: 0.0,
        };
        let mut w = workload(format!("need-{i}"), sampling(5000));
        w.workload.threshold = 0.025;
        let (results, _) = run_gate(
            vec![w],
            &mut runner,
            &mut Progress::new(ProgressMode::Silent),
        )
        .unwrap();
        assert_eq!(results[0].verdict, GateVerdict::Regressed);
        rounds.push(results[0].candidate.samples.len() as f64);
    }
    rounds.sort_by(f64::total_cmp);
    let needed_s = rounds[rounds.len() / 2] * 0.050;
    let proposed_s = wall.seconds_for_5pct;
    eprintln!("calibration: needs {proposed_s:.2} s a side; the simulated gate {needed_s:.2} s");
    assert!(
        (proposed_s - needed_s).abs() / needed_s <= 0.20,
        "calibration says {proposed_s:.2} s, the simulated gate needed {needed_s:.2} s"
    );
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
            drift: 0.0,
            speed: 0.0,
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

/// A stand-in for criterion bench executables: each run writes, into the `CRITERION_HOME` it is
/// given, the files criterion would for the one benchmark it is asked for. Its time of one
/// iteration follows a machine whose speed drifts from run to run (a random walk of `drift` per
/// run in log space, pulled back to its mean slowly: its spread is about 7 times `drift`, as
/// on the VMs this runs on, while two runs in a row differ by about `drift`), times
/// per-process noise of `noise`; `shifted` benchmarks are `shift` slower on the `@new` side.
struct SyntheticCriterion {
    rng: fastrand::Rng,
    log_speed: f64,
    drift: f64,
    noise: f64,
    shift: f64,
    shifted: BTreeSet<String>,
}

impl SyntheticCriterion {
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.rng.f64(), self.rng.f64());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl Runner for SyntheticCriterion {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError> {
        let arg = |flag: &str| {
            spec.argv
                .iter()
                .position(|a| a == flag)
                .map(|i| spec.argv[i + 1].clone())
        };
        let run_id = arg("--save-baseline").expect("a baseline name");
        // The last argument is the anchored regex of one id: `^(?:g/b3)$`.
        let filter = spec.argv.last().expect("a filter");
        let id = filter
            .strip_prefix("^(?:")
            .and_then(|f| f.strip_suffix(")$"))
            .expect("one id")
            .to_owned();
        let home = PathBuf::from(
            &spec
                .env
                .iter()
                .find(|(k, _)| k == "CRITERION_HOME")
                .unwrap()
                .1,
        );
        self.log_speed = 0.99 * self.log_speed + self.drift * self.normal();
        let mut ns = 100.0 * self.log_speed.exp() * (1.0 + self.noise * self.normal());
        if spec.name.ends_with("@new") && self.shifted.contains(&id) {
            ns *= 1.0 + self.shift;
        }
        let dir = home.join(id.replace('/', "_")).join(run_id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("benchmark.json"),
            serde_json::json!({"group_id": "g", "full_id": id, "throughput": null}).to_string(),
        )
        .unwrap();
        let iters = [1000.0, 2000.0];
        std::fs::write(
            dir.join("sample.json"),
            serde_json::json!({"sampling_mode": "Linear", "iters": iters,
                               "times": [iters[0] * ns, iters[1] * ns]})
            .to_string(),
        )
        .unwrap();
        Ok(RunResult {
            sample: Sample {
                wall_ns: 150_000_000,
                user_ns: 150_000_000,
                sys_ns: 0,
                max_rss_bytes: 1 << 20,
            },
            exit: Exit::Code(0),
            stderr_tail: String::new(),
            rss_floor_bytes: 0,
        })
    }
}

/// One criterion target of `n` benchmarks on both sides, gated through the real rounds.
fn criterion_check(runner: &mut SyntheticCriterion, check: usize, n: usize) -> Vec<GateVerdict> {
    use cargo_perf::discover::CriterionBench;
    use cargo_perf::gate::{BenchGate, apply_verdicts, run_bench_gate};
    use cargo_perf::measure::criterion::CriterionSettings;
    let ids: Vec<String> = (0..n).map(|i| format!("g/b{i}")).collect();
    let workloads = ids
        .iter()
        .map(|id| {
            let mut w = workload(format!("criterion:sim{check}/{id}"), sampling(100)).workload;
            w.kind = Kind::Criterion(CriterionBench {
                package: "sim".into(),
                package_spec: "sim@0.1.0".into(),
                target: format!("sim{check}"),
                full_id: id.clone(),
                group: "g".into(),
                exe: PathBuf::from("/nonexistent/synthetic-bench"),
            });
            w
        })
        .collect();
    let gate = BenchGate {
        target: format!("sim{check}"),
        workloads,
        base: Some((
            PathBuf::from("/nonexistent/synthetic-bench"),
            PathBuf::from("."),
        )),
        base_ids: ids,
    };
    let settings = CriterionSettings {
        warm_up_time: Duration::from_millis(50),
        measurement_time: Duration::from_millis(100),
        sample_size: 10,
        quick: false,
    };
    // The default time cap: about 20 rounds of 150 ms a side.
    let mut s = sampling(500);
    s.time_cap = Duration::from_secs(3);
    let mut results = run_bench_gate(
        vec![gate],
        &settings,
        &s,
        runner,
        &mut Progress::new(ProgressMode::Silent),
    )
    .unwrap();
    apply_verdicts(&mut results);
    results.iter().map(|r| r.verdict).collect()
}

#[test]
fn the_criterion_gate_sees_through_drift_that_both_sides_of_a_pair_share() {
    // The machine's speed wanders by about 15 % (the log-speed walk's spread), two runs in a row
    // differ by about 2 %, and each process adds 1 % of its own: 10 checks of 20 benchmarks,
    // A/A, then 2 of 20 made 10 % slower. Ratios of the sides' medians would see the 15 %.
    let runner = |seed, shift, shifted: &[usize]| SyntheticCriterion {
        rng: fastrand::Rng::with_seed(seed),
        log_speed: 0.0,
        drift: 0.02,
        noise: 0.01,
        shift,
        shifted: shifted.iter().map(|i| format!("g/b{i}")).collect(),
    };
    let mut false_alarms = 0;
    let mut unchanged = 0;
    for c in 0..10 {
        let verdicts = criterion_check(&mut runner(4_000_000 + c as u64, 0.0, &[]), c, 20);
        false_alarms += verdicts
            .iter()
            .filter(|v| matches!(v, GateVerdict::Regressed | GateVerdict::Improved))
            .count();
        unchanged += verdicts
            .iter()
            .filter(|v| **v == GateVerdict::Unchanged)
            .count();
    }
    eprintln!("criterion A/A: {false_alarms} false alarms, {unchanged} unchanged of 200");
    assert!(false_alarms <= 2, "{false_alarms} false alarms in 200");
    assert!(unchanged >= 160, "{unchanged} of 200 unchanged");
    let (mut found, mut wrong) = (0, 0);
    for c in 0..10 {
        let verdicts = criterion_check(
            &mut runner(5_000_000 + c as u64, 0.10, &[3, 14]),
            100 + c,
            20,
        );
        for (i, v) in verdicts.iter().enumerate() {
            match ([3, 14].contains(&i), v) {
                (true, GateVerdict::Regressed) => found += 1,
                (false, GateVerdict::Regressed | GateVerdict::Improved) => wrong += 1,
                _ => {}
            }
        }
    }
    eprintln!("criterion +10 %: found {found} of 20, {wrong} others flagged");
    assert!(found >= 19, "found {found} of 20");
    assert!(wrong <= 2, "{wrong} of 180 unchanged benchmarks flagged");
}
