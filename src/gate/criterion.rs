//! The gate for criterion benchmarks: the base's and the candidate's bench executables run in
//! alternating rounds, each one process per side measuring every benchmark still undecided.
//!
//! A round takes each benchmark the same way on both sides: in criterion's `--quick` mode where
//! both executables have it (criterion 0.4 and later). Quick mode is chosen on the command line
//! only, so the times a suite sets in code (`measurement_time(3 s)`) cannot stretch a round
//! beyond their use as an upper bound; its figure is the time of one iteration over its two
//! samples of n and 2n iterations. Without quick mode, a round is a short normal measurement
//! and its figure the median time of one iteration over its samples.
//!
//! In a round, the base and the candidate of one benchmark run back to back, each in a process
//! of its own. On a shared VM the machine's speed drifts by tens of percent within a second, and
//! processes of one executable differ as much: the two figures of a pair share most of that, so
//! the verdict comes from the ratios of the pairs (`stats::compare_paired_ratios`: the Wilcoxon
//! signed-rank test and the Hodges-Lehmann interval of the log ratios), then Benjamini-Hochberg
//! across every workload of the check, with the same thresholds as commands.
//!
//! Each benchmark stops once its verdict is decisive at a look, or once it has spent the time
//! cap per side after the first look, and in any case at three times the time cap, so a check
//! costs what the tool's settings allow whatever the suite sets. One that stops before the
//! first look cannot be decided: its rounds are too few for the interval to be trusted.

use std::path::{Path, PathBuf};

use super::{ALPHA, CI_LEVEL, GateResult, GateVerdict};
use crate::config::Sampling;
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::fnv::fnv1a;
use crate::measure::criterion::{
    BenchSample, CriterionSettings, Observed, Suite, run_suite, supports_quick,
};
use crate::measure::criterion_output::BenchEvent;
use crate::measure::{MIN_LOOK_ROUNDS, Measured, Runner};
use crate::pipeline::{Observer, Unit};
use crate::pipeline::{evaluate_criterion, no_samples};
use crate::stats::{Verdict, compare_paired_ratios, decide, summarize};
use crate::vocab::{Failure, Metric, Sample, Throughput};

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
    /// What criterion reported using per side (normal mode), first seen.
    observed: [Option<Observed>; 2],
    /// The throughput each side declares.
    throughput: [Option<Throughput>; 2],
}

/// Runs the rounds of every target and returns a result per benchmark, including `added` and
/// `removed` ones. Verdicts are preliminary until `apply_verdicts` has seen every workload.
pub fn run_bench_gate(
    targets: Vec<BenchGate>,
    settings: &CriterionSettings,
    sampling: &Sampling,
    runner: &mut dyn Runner,
    progress: &mut dyn Observer,
) -> Result<Vec<GateResult>, MeasureError> {
    let mut out = Vec::new();
    let total = targets.len();
    for (index, t) in targets.into_iter().enumerate() {
        let mut tracks: Vec<Track> = t
            .workloads
            .into_iter()
            .map(|w| {
                let id = w.criterion().map(|c| c.full_id.clone()).unwrap_or_default();
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
                    observed: [None, None],
                    throughput: [None, None],
                }
            })
            .collect();
        let Some(new_exe) = tracks
            .first()
            .and_then(|k| k.workload.criterion())
            .map(|c| (c.exe.clone(), tracks[0].workload.cwd.clone()))
        else {
            // Only the base has this target: every benchmark of it was removed.
            out.extend(t.base_ids.iter().map(|id| removed(&t.target, id)));
            continue;
        };
        // The same way on both sides: quick only where both executables have it.
        let quick = settings.quick
            && supports_quick(&new_exe.0, &new_exe.1)
            && t.base
                .as_ref()
                .is_none_or(|(exe, cwd)| supports_quick(exe, cwd));
        let settings = CriterionSettings { quick, ..*settings };
        let gate = TargetGate {
            target: &t.target,
            base: t.base.as_ref(),
            new: &new_exe,
            settings: &settings,
            sampling,
            seed: fnv1a(t.target.as_bytes()),
        };
        progress.started(
            &format!(
                "criterion bench `{}` ({} benchmarks, base and candidate in rounds{})",
                t.target,
                tracks.len(),
                if quick { ", --quick" } else { "" }
            ),
            index,
            total,
            sampling.min_runs.max(MIN_LOOK_ROUNDS as u32) as usize,
            Unit::Rounds,
        );
        let rounds = gate.run(&mut tracks, runner, progress)?;
        let decided = tracks.iter().filter(|k| k.common && k.decided()).count();
        progress.step_finished(&format!(
            "{rounds} rounds, {decided} of {} benchmarks decided",
            tracks.len()
        ));
        let candidate_ids: Vec<String> = tracks.iter().map(|k| k.id.clone()).collect();
        out.extend(tracks.into_iter().map(|k| result_of(k, quick)));
        out.extend(
            t.base_ids
                .iter()
                .filter(|id| !candidate_ids.contains(id))
                .map(|id| removed(&t.target, id)),
        );
    }
    Ok(out)
}

impl Track {
    /// Its verdict would be decisive now.
    fn decided(&self) -> bool {
        self.base.len() >= MIN_LOOK_ROUNDS
            && compare_paired_ratios(&self.base, &self.new, CI_LEVEL).is_some_and(|c| {
                decide(&c.ci, c.p, self.workload.threshold, ALPHA) != Verdict::Inconclusive
            })
    }
}

/// One target's rounds.
struct TargetGate<'a> {
    target: &'a str,
    base: Option<&'a (PathBuf, PathBuf)>,
    new: &'a (PathBuf, PathBuf),
    settings: &'a CriterionSettings,
    sampling: &'a Sampling,
    seed: u64,
}

impl TargetGate<'_> {
    /// Runs rounds until every benchmark has stopped; returns how many.
    fn run(
        &self,
        tracks: &mut [Track],
        runner: &mut dyn Runner,
        progress: &mut dyn Observer,
    ) -> Result<usize, MeasureError> {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let first_look = (self.sampling.min_runs as usize).max(MIN_LOOK_ROUNDS);
        let mut next_look = first_look;
        let cap = self.sampling.time_cap.as_nanos() as u64;
        let mut rounds = 0;
        for round in 1..=self.sampling.max_runs as usize {
            if !tracks.iter().any(|k| k.active) {
                break;
            }
            rounds = round;
            let mut figures: [Vec<Option<f64>>; 2] =
                [vec![None; tracks.len()], vec![None; tracks.len()]];
            // Base and candidate of a benchmark run back to back, in random order, each in a
            // process of its own (a few milliseconds each), so that the machine's speed, which
            // drifts by tens of percent within a second on a shared VM, is much the same for
            // both figures of a pair.
            let active: Vec<usize> = (0..tracks.len()).filter(|&i| tracks[i].active).collect();
            for chunk in active.chunks(1) {
                let base_first = rng.bool();
                for side in if base_first { [0, 1] } else { [1, 0] } {
                    let (exe, cwd) = match (side, self.base) {
                        (0, Some(b)) => (&b.0, &b.1),
                        (0, None) => continue,
                        _ => (&self.new.0, &self.new.1),
                    };
                    let running: Vec<usize> = chunk
                        .iter()
                        .copied()
                        .filter(|&i| tracks[i].active && (side == 1 || tracks[i].common))
                        .collect();
                    self.one_side(
                        tracks,
                        &running,
                        side,
                        round,
                        exe,
                        cwd,
                        &mut figures,
                        runner,
                    )?;
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
            let looking = round >= next_look;
            if looking {
                next_look = (round * 6).div_ceil(5).max(round + 1);
            }
            for k in tracks.iter_mut().filter(|k| k.active) {
                let enough = k.new.len() >= first_look;
                let stop = (looking && k.common && k.decided())
                    // An added benchmark has nothing to compare with: its figures are done.
                    || (!k.common && enough)
                    || (enough && k.spent.iter().all(|&s| s >= cap))
                    // The hard bound, whatever the rounds cost.
                    || k.spent.iter().any(|&s| s >= cap.saturating_mul(3));
                if stop {
                    k.active = false;
                }
            }
            progress.progressed(round, round.max(first_look));
            if looking {
                let active = tracks.iter().filter(|k| k.active).count();
                progress.note(&format!(
                    "round {round}: {} of {} benchmarks done, {active} still measuring",
                    tracks.len() - active,
                    tracks.len()
                ));
            }
        }
        Ok(rounds)
    }

    /// One side's run of a chunk: the benchmarks `running`, in one process.
    #[allow(clippy::too_many_arguments)]
    fn one_side(
        &self,
        tracks: &mut [Track],
        running: &[usize],
        side: usize,
        round: usize,
        exe: &Path,
        cwd: &Path,
        figures: &mut [Vec<Option<f64>>; 2],
        runner: &mut dyn Runner,
    ) -> Result<(), MeasureError> {
        if running.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = running.iter().map(|&i| tracks[i].id.clone()).collect();
        let label = if side == 0 { "base" } else { "new" };
        let suite = Suite {
            name: &format!("criterion:{}@{label}", self.target),
            exe,
            cwd,
            ids: &ids,
            settings: self.settings,
            run_id: &format!("cargo-perf-round-{round}"),
        };
        let run = run_suite(runner, &suite, &mut |_: &BenchEvent| {})?;
        let share = run.wall_ns / running.len() as u64;
        let mut blamed = false;
        for &i in running {
            let k = &mut tracks[i];
            k.spent[side] += share;
            if k.observed[side].is_none() {
                k.observed[side] = run.observed.get(&k.id).copied();
            }
            match run.results.get(&k.id) {
                Some(b) => {
                    figures[side][i] = if self.settings.quick {
                        b.pooled_per_iteration()
                    } else {
                        b.median_per_iteration()
                    };
                    k.throughput[side] = b.throughput;
                    if side == 1 {
                        k.last = Some(b.clone());
                    }
                }
                None => {
                    if let Some(f) = run.failure.as_ref().filter(|_| !blamed) {
                        // Criterion runs benchmarks in order: the first without results is
                        // the one the process died in.
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
        Ok(())
    }
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

/// What the reader should know about a benchmark's two sides: a throughput that changed (its
/// input did), and settings of the suite's own that differ between the sides.
fn notes_of(k: &Track, quick: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if k.common && k.throughput[0] != k.throughput[1] {
        let show = |t: &Option<Throughput>| {
            t.map_or("none".to_owned(), |t| {
                format!("{} {:?} per iteration", t.per_iteration, t.unit).to_lowercase()
            })
        };
        notes.push(format!(
            "its throughput differs between the sides ({} on the base, {} on the candidate): \
             its input changed, so its times measure different work",
            show(&k.throughput[0]),
            show(&k.throughput[1])
        ));
    }
    if let (Some(b), Some(n)) = (&k.observed[0], &k.observed[1])
        && b != n
        && !quick
    {
        let mut parts = Vec::new();
        let time = |d: Option<std::time::Duration>| {
            d.map_or("-".into(), |d| {
                crate::vocab::units::format_ns(d.as_nanos() as f64)
            })
        };
        if b.warm_up != n.warm_up {
            parts.push(format!(
                "warm-up {} (base) and {} (candidate)",
                time(b.warm_up),
                time(n.warm_up)
            ));
        }
        if b.samples != n.samples {
            parts.push(format!(
                "{} and {} samples",
                b.samples.unwrap_or_default(),
                n.samples.unwrap_or_default()
            ));
        }
        if b.estimated.zip(n.estimated).is_some_and(|(x, y)| {
            let (x, y) = (x.as_secs_f64(), y.as_secs_f64());
            x.max(y) > 1.5 * x.min(y)
        }) {
            parts.push(format!(
                "about {} and {} of measuring",
                time(b.estimated),
                time(n.estimated)
            ));
        }
        if !parts.is_empty() {
            notes.push(format!(
                "the suite's own settings differ between the sides ({}): the rounds measured \
                 each side as its suite asks, so part of the change may come from how it was \
                 measured",
                parts.join("; ")
            ));
        }
    }
    notes
}

fn result_of(k: Track, quick: bool) -> GateResult {
    let seed = fnv1a(k.workload.name.as_bytes());
    let notes = notes_of(&k, quick);
    // Too few rounds for the interval to be trusted: it stays inconclusive.
    let comparison = (k.common && k.failure.is_none())
        .then(|| compare_paired_ratios(&k.base, &k.new, CI_LEVEL))
        .flatten();
    let verdict = if k.failure.is_some() {
        GateVerdict::Failed
    } else if !k.common {
        GateVerdict::Added
    } else {
        GateVerdict::Inconclusive
    };
    let threshold = k.workload.threshold;
    let spent_ns = k.spent[1];
    let too_few = k.common && k.base.len() < MIN_LOOK_ROUNDS;
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
            ..Measured::default()
        },
        metric: Metric::Wall,
        threshold,
        comparison,
        verdict,
        spent_ns,
        notes,
        undecidable: too_few,
        accepted: None,
        figure: None,
        explanation: None,
    }
}

/// A benchmark only the base has.
fn removed(target: &str, id: &str) -> GateResult {
    let w = Workload::stored_benchmark(
        &format!("{}{target}/{id}", crate::discover::CRITERION_PREFIX),
        target,
        id,
        crate::measure::criterion::group_of(id),
    );
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
        undecidable: false,
        accepted: None,
        figure: None,
        explanation: None,
    }
}
