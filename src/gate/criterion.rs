//! The gate for criterion benchmarks: the base's and the candidate's bench executables run in
//! alternating rounds, each a short criterion measurement of every benchmark still undecided.
//!
//! A round gives one figure per benchmark and side, the median time of one iteration over that
//! round's samples; the rounds pair the sides as the rounds of command workloads do, and the
//! verdict comes from the same statistics (`stats::compare`, then Benjamini-Hochberg across
//! every workload of the check).

use std::path::PathBuf;

use super::{ALPHA, CI_LEVEL, GateResult, GateVerdict};
use crate::config::{Metric, Sampling};
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::fnv::fnv1a;
use crate::measure::criterion::{BenchSample, CriterionSettings, Suite, run_suite};
use crate::measure::{Failure, MIN_LOOK_ROUNDS, Measured, Runner, Sample};
use crate::pipeline::{evaluate_criterion, no_samples};
use crate::report::Progress;
use crate::stats::{Verdict, compare, decide, summarize};

/// One bench target on both sides.
pub struct BenchGate {
    pub target: String,
    /// The candidate's benchmarks (selected by `[criterion]` and the filter).
    pub workloads: Vec<Workload>,
    /// The base's executable and folder, if the base has this target.
    pub base: Option<(PathBuf, PathBuf)>,
    /// The base's benchmark ids (selected likewise).
    pub base_ids: Vec<String>,
}

/// Per benchmark: its round figures on each side, and how it ended.
struct Track {
    workload: Workload,
    id: String,
    /// The base has it.
    common: bool,
    base: Vec<f64>,
    new: Vec<f64>,
    /// The candidate's last criterion samples (for its group and throughput).
    last: Option<BenchSample>,
    failure: Option<Failure>,
    active: bool,
    /// Wall time spent on it per side, estimated as each run's time over its benchmarks.
    spent: [u64; 2],
}

/// Runs the rounds of every target and returns a result per benchmark, including `added` and
/// `removed` ones. Verdicts are preliminary until `apply_verdicts` has seen every workload.
pub fn run_bench_gate(
    targets: Vec<BenchGate>,
    settings: &CriterionSettings,
    sampling: &Sampling,
    runner: &mut dyn Runner,
    progress: &mut Progress,
) -> Result<Vec<GateResult>, MeasureError> {
    let mut out = Vec::new();
    let total: usize = targets.iter().map(|t| t.workloads.len()).sum();
    let mut index = 0;
    for t in targets {
        let seed = fnv1a(t.target.as_bytes());
        let mut tracks: Vec<Track> = t
            .workloads
            .into_iter()
            .map(|w| {
                let id = w
                    .criterion
                    .as_ref()
                    .map(|c| c.full_id.clone())
                    .unwrap_or_default();
                Track {
                    common: t.base.is_some() && t.base_ids.contains(&id),
                    id,
                    workload: w,
                    base: Vec::new(),
                    new: Vec::new(),
                    last: None,
                    failure: None,
                    active: true,
                    spent: [0, 0],
                }
            })
            .collect();
        let Some(new_exe) = tracks
            .first()
            .and_then(|k| k.workload.criterion.as_ref())
            .map(|c| (c.exe.clone(), tracks[0].workload.cwd.clone()))
        else {
            // Only the base has this target: every benchmark of it was removed.
            out.extend(t.base_ids.iter().map(|id| removed(&t.target, id)));
            continue;
        };
        progress.start(
            &format!(
                "criterion bench `{}` ({} benchmarks, base and candidate in rounds)",
                t.target,
                tracks.len()
            ),
            index,
            total,
            sampling.min_runs.max(MIN_LOOK_ROUNDS as u32) as usize,
        );
        let mut rng = fastrand::Rng::with_seed(seed);
        let first_look = (sampling.min_runs as usize).max(MIN_LOOK_ROUNDS);
        let mut next_look = first_look;
        let cap = sampling.time_cap.as_nanos() as u64;
        let mut rounds = 0;
        for round in 1..=sampling.max_runs as usize {
            if !tracks.iter().any(|k| k.active) {
                break;
            }
            rounds = round;
            let mut figures: [Vec<Option<f64>>; 2] =
                [vec![None; tracks.len()], vec![None; tracks.len()]];
            let base_first = rng.bool();
            for side in if base_first { [0, 1] } else { [1, 0] } {
                let (exe, cwd) = match (side, &t.base) {
                    (0, Some(b)) => b.clone(),
                    (0, None) => continue,
                    _ => new_exe.clone(),
                };
                let running: Vec<usize> = (0..tracks.len())
                    .filter(|&i| tracks[i].active && (side == 1 || tracks[i].common))
                    .collect();
                if running.is_empty() {
                    continue;
                }
                let ids: Vec<String> = running.iter().map(|&i| tracks[i].id.clone()).collect();
                let label = if side == 0 { "base" } else { "new" };
                let suite = Suite {
                    name: &format!("criterion:{}@{label}", t.target),
                    exe: &exe,
                    cwd: &cwd,
                    ids: &ids,
                    settings,
                    run_id: &format!("cargo-perf-round-{round}"),
                };
                let run = run_suite(runner, &suite, &mut |_| {})?;
                let share = run.wall_ns / running.len() as u64;
                let mut blamed = false;
                for &i in &running {
                    let k = &mut tracks[i];
                    k.spent[side] += share;
                    match run.results.get(&k.id) {
                        Some(b) => {
                            figures[side][i] = b.median_per_iteration();
                            if side == 1 {
                                k.last = Some(b.clone());
                            }
                        }
                        None => {
                            if let Some(f) = run.failure.as_ref().filter(|_| !blamed) {
                                // Criterion runs benchmarks in order: the first without
                                // results is the one the process died in.
                                blamed = true;
                                let mut f = f.clone();
                                if side == 0 {
                                    f.reason = format!("base revision: {}", f.reason);
                                }
                                k.failure = Some(f);
                                k.active = false;
                            }
                        }
                    }
                }
            }
            for (i, k) in tracks.iter_mut().enumerate() {
                match (figures[0][i], figures[1][i]) {
                    (Some(b), Some(n)) if k.common => {
                        k.base.push(b);
                        k.new.push(n);
                    }
                    (_, Some(n)) if !k.common => k.new.push(n),
                    _ => {}
                }
            }
            progress.sample(round, sampling.max_runs as usize);
            let looking = round >= first_look && round >= next_look;
            if looking {
                next_look = (round * 6).div_ceil(5).max(round + 1);
            }
            for k in tracks.iter_mut().filter(|k| k.active) {
                let seed = fnv1a(k.workload.name.as_bytes());
                if looking && k.common {
                    let decisive =
                        compare(&k.base, &k.new, true, CI_LEVEL, seed).is_some_and(|c| {
                            decide(&c.ci, c.p, k.workload.threshold, ALPHA) != Verdict::Inconclusive
                        });
                    if decisive {
                        k.active = false;
                    }
                }
                let enough = k.new.len() >= first_look;
                if !k.common && enough {
                    // An added benchmark has nothing to compare with: its figures are done.
                    k.active = false;
                }
                if enough && k.spent.iter().all(|&s| s >= cap) {
                    k.active = false;
                }
            }
        }
        progress.finish_line(&format!("{rounds} rounds"));
        let candidate_ids: Vec<String> = tracks.iter().map(|k| k.id.clone()).collect();
        for k in tracks {
            index += 1;
            out.push(result_of(k));
        }
        out.extend(
            t.base_ids
                .iter()
                .filter(|id| !candidate_ids.contains(id))
                .map(|id| removed(&t.target, id)),
        );
    }
    Ok(out)
}

/// Round figures as samples for reports (whole nanoseconds; the verdict uses the exact ones).
fn as_samples(values: &[f64]) -> Vec<Sample> {
    values
        .iter()
        .map(|&v| Sample {
            wall_ns: v.round() as u64,
            user_ns: 0,
            sys_ns: 0,
            max_rss_bytes: 0,
        })
        .collect()
}

fn result_of(k: Track) -> GateResult {
    let seed = fnv1a(k.workload.name.as_bytes());
    let comparison = (k.common && k.failure.is_none())
        .then(|| compare(&k.base, &k.new, true, CI_LEVEL, seed))
        .flatten();
    let verdict = if k.failure.is_some() {
        GateVerdict::Failed
    } else if !k.common {
        GateVerdict::Added
    } else {
        GateVerdict::Inconclusive
    };
    let threshold = k.workload.threshold;
    let outcome = match (k.failure, k.last) {
        (Some(f), _) => Err(f),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(no_samples("criterion saved no samples for it")),
    };
    let mut candidate = evaluate_criterion(k.workload, outcome);
    // The check's figures are the rounds', not the last round's criterion samples.
    candidate.wall_ns = summarize(&k.new, seed);
    candidate.samples = as_samples(&k.new);
    GateResult {
        candidate,
        base: Measured {
            samples: as_samples(&k.base),
            failure: None,
            rss_floor_bytes: 0,
        },
        metric: Metric::Wall,
        threshold,
        comparison,
        verdict,
        spent_ns: k.spent[1],
        notes: Vec::new(),
    }
}

/// A benchmark only the base has.
fn removed(target: &str, id: &str) -> GateResult {
    let mut w = Workload::named(&format!(
        "{}{target}/{id}",
        crate::discover::CRITERION_PREFIX
    ));
    w.criterion = Some(crate::discover::CriterionBench {
        package: String::new(),
        package_spec: String::new(),
        target: target.into(),
        full_id: id.into(),
        group: crate::measure::criterion::group_of(id).into(),
        exe: PathBuf::new(),
    });
    GateResult {
        // Nothing measured and nothing failed: empty samples.
        candidate: evaluate_criterion(
            w,
            Ok(BenchSample {
                full_id: id.into(),
                group: crate::measure::criterion::group_of(id).into(),
                throughput: None,
                iters: Vec::new(),
                times_ns: Vec::new(),
            }),
        ),
        base: Measured::default(),
        metric: Metric::Wall,
        threshold: 0.0,
        comparison: None,
        verdict: GateVerdict::Removed,
        spent_ns: 0,
        notes: Vec::new(),
    }
}
