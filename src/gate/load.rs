//! Load workloads in the gate: both sides' services started at once, driven in alternating
//! blocks at one offered level (`[load.gate]`), and each block's p50, p95 and time per request
//! (the inverse of the throughput) compared pairwise, block `i` of the base with block `i` of
//! the candidate, with the statistics of criterion rounds: the Wilcoxon signed-rank test and
//! the Hodges-Lehmann interval of the per-pair log ratios. Drift of the machine during the
//! check moves both blocks of a pair and cancels out.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{CI_LEVEL, GateResult, GateVerdict};
use crate::config::{LoadSpec, Profile, StagePlan};
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::measure::Measured;
use crate::measure::load::{LoadError, Session};
use crate::pipeline::{Observer, Unit, evaluate};
use crate::stats::compare_paired_ratios;
use crate::vocab::load::{Figures, LoadReport};
use crate::vocab::units::format_duration;
use crate::vocab::{Failure, Metric, Sample};

/// A load workload to gate: the candidate's (its `{bin:NAME}` resolved to the candidate's
/// binaries) and the base's spec, or `None` when the base lacks a binary it needs.
pub struct LoadGate {
    pub workload: Workload,
    pub base: Option<LoadSpec>,
}

/// Which figure of a load workload a gate result judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadFigure {
    P50,
    P95,
    /// Seconds per completed request: the inverse of the achieved throughput, so that, as for
    /// every other figure, more is worse.
    TimePerRequest,
}

impl LoadFigure {
    pub const ALL: [LoadFigure; 3] = [LoadFigure::P50, LoadFigure::P95, LoadFigure::TimePerRequest];

    pub fn as_str(self) -> &'static str {
        match self {
            LoadFigure::P50 => "p50",
            LoadFigure::P95 => "p95",
            LoadFigure::TimePerRequest => "time per request",
        }
    }

    /// The figure of one block, in nanoseconds; 0 when nothing was answered.
    fn of(self, f: &Figures) -> f64 {
        match self {
            LoadFigure::P50 => f.latency.p50 as f64,
            LoadFigure::P95 => f.latency.p95 as f64,
            LoadFigure::TimePerRequest if f.achieved_rps > 0.0 => 1e9 / f.achieved_rps,
            LoadFigure::TimePerRequest => 0.0,
        }
    }
}

/// The one-stage spec a block drives: the gate's level for `duration`, no thresholds (a block
/// never aborts), the rest of the workload as declared.
fn block_spec(spec: &LoadSpec, duration: Duration) -> LoadSpec {
    let mut block = spec.clone();
    block.profile = Profile::Load;
    block.thresholds.clear();
    block.stages = vec![StagePlan {
        name: "block".into(),
        duration,
        from: spec.gate.level,
        to: spec.gate.level,
        step: false,
    }];
    block
}

/// What one side's blocks came to.
#[derive(Default)]
struct Side {
    blocks: Vec<Figures>,
    warnings: Vec<String>,
}

impl Side {
    fn requests(&self) -> u64 {
        self.blocks.iter().map(|b| b.requests).sum()
    }

    fn error_rate(&self) -> f64 {
        let errors: u64 = self.blocks.iter().map(|b| b.errors.total()).sum();
        errors as f64 / self.requests().max(1) as f64
    }

    fn series(&self, figure: LoadFigure) -> Vec<f64> {
        self.blocks.iter().map(|b| figure.of(b)).collect()
    }

    fn measured(&self, figure: LoadFigure, failure: Option<Failure>) -> Measured {
        Measured {
            samples: self
                .blocks
                .iter()
                .map(|b| Sample {
                    wall_ns: figure.of(b).round() as u64,
                    user_ns: 0,
                    sys_ns: 0,
                    max_rss_bytes: b.rss_max.unwrap_or(0),
                })
                .collect(),
            failure,
            ..Measured::default()
        }
    }
}

/// A failure whose first line is the reason and the rest (a service's last output) its tail,
/// shown below it as a command's standard error is.
fn failure(text: String) -> Failure {
    let (reason, tail) = match text.split_once('\n') {
        Some((first, rest)) => (first.to_owned(), rest.to_owned()),
        None => (text, String::new()),
    };
    Failure {
        reason,
        exit_code: None,
        signal: None,
        timed_out: false,
        during_warmup: false,
        stderr_tail: tail,
    }
}

/// Gates every load workload in turn; `offset` and `total` place them among the check's steps.
pub fn run_load_gate(
    loads: Vec<LoadGate>,
    offset: usize,
    total: usize,
    progress: &mut dyn Observer,
) -> Result<(Vec<GateResult>, u64), MeasureError> {
    let mut results = Vec::new();
    let mut spent = 0u64;
    for (i, gate) in loads.into_iter().enumerate() {
        let started = Instant::now();
        results.extend(gate_one(gate, offset + i, total, progress)?);
        spent += started.elapsed().as_nanos() as u64;
    }
    Ok((results, spent))
}

fn gate_one(
    gate: LoadGate,
    index: usize,
    total: usize,
    progress: &mut dyn Observer,
) -> Result<Vec<GateResult>, MeasureError> {
    let w = gate.workload;
    let Some(load) = w.load() else {
        return Ok(Vec::new());
    };
    let new_spec = load.spec.clone();
    let plan = new_spec.gate.clone();
    let warmup = plan.block.min(Duration::from_secs(1));
    let planned = (plan.block * plan.blocks as u32 + warmup) * 2;
    progress.started(
        &w.name,
        index,
        total,
        planned.as_secs() as usize,
        Unit::Seconds,
    );
    let Some(base_spec) = gate.base else {
        // Only the candidate has it (a binary the base lacks): added, as for commands.
        progress.step_finished("added: the base revision cannot run it");
        return Ok(vec![whole(&w, &Side::default(), None, GateVerdict::Added)]);
    };
    let mut base = Side::default();
    let mut new = Side::default();
    let outcome = drive_blocks(
        &w,
        [&base_spec, &new_spec],
        [&mut base, &mut new],
        planned,
        progress,
    );
    let failed = match outcome {
        Err(LoadError::Interrupted(signal)) => return Err(MeasureError::Interrupted(signal)),
        Err(e) => Some(e.to_string()),
        Ok(()) => None,
    };
    if let Some(reason) = failed {
        progress.step_finished(&format!("FAILED: {}", reason.lines().next().unwrap_or("")));
        return Ok(vec![whole(
            &w,
            &new,
            Some(failure(reason)),
            GateVerdict::Failed,
        )]);
    }
    let level = if new_spec.open {
        format!("{:.0} arrivals/s", plan.level)
    } else {
        format!("{:.0} users", plan.level)
    };
    let mut notes = vec![format!(
        "{} blocks of {} a side at {level}, alternating; errors {:.2}% (base) and {:.2}% \
         (candidate)",
        plan.blocks,
        format_duration(plan.block),
        100.0 * base.error_rate(),
        100.0 * new.error_rate()
    )];
    notes.extend(base.warnings.iter().map(|w| format!("base: {w}")));
    notes.extend(new.warnings.iter().map(|w| format!("candidate: {w}")));
    // A candidate whose service fails where the base's did not fails the gate, whatever its
    // latency: failed requests are often the fastest.
    let errors =
        (new.error_rate() > 0.01 && new.error_rate() > 2.0 * base.error_rate()).then(|| {
            failure(format!(
                "its service failed {:.2}% of requests at {level}, the base's {:.2}%",
                100.0 * new.error_rate(),
                100.0 * base.error_rate()
            ))
        });
    let mut out = Vec::new();
    for figure in LoadFigure::ALL {
        let comparison = compare_paired_ratios(&base.series(figure), &new.series(figure), CI_LEVEL);
        let fails = (figure == LoadFigure::P50)
            .then(|| errors.clone())
            .flatten();
        let verdict = if fails.is_some() {
            GateVerdict::Failed
        } else {
            GateVerdict::Inconclusive
        };
        // The notes are the workload's, said once.
        let notes = if figure == LoadFigure::P50 {
            notes.clone()
        } else {
            Vec::new()
        };
        out.push(result(&w, figure, &base, &new, fails, verdict, notes));
        if let Some(last) = out.last_mut() {
            last.comparison = comparison;
        }
    }
    progress.step_finished(&format!(
        "{} blocks a side, {}",
        plan.blocks,
        out.iter()
            .map(|r| match &r.comparison {
                Some(c) => format!(
                    "{} {:+.1}%",
                    r.figure.map_or("", LoadFigure::as_str),
                    (c.ratio - 1.0) * 100.0
                ),
                None => format!("{} -", r.figure.map_or("", LoadFigure::as_str)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(out)
}

/// Starts both services, warms each up with a short block, then drives `blocks` blocks a side,
/// the order of the two sides alternating from pair to pair. Both services are stopped however
/// it ends.
fn drive_blocks(
    w: &Workload,
    specs: [&LoadSpec; 2],
    sides: [&mut Side; 2],
    planned: Duration,
    progress: &mut dyn Observer,
) -> Result<(), LoadError> {
    let plan = &specs[1].gate;
    let warmup = plan.block.min(Duration::from_secs(1));
    let started = Instant::now();
    let mut sessions = Vec::new();
    for (spec, label) in specs.iter().zip(["base", "candidate"]) {
        progress.note(&format!("starting the {label}'s service"));
        // Only the client's figures are judged; a scrape would load the service between blocks.
        sessions.push(
            Session::start(spec, &w.cwd)
                .map_err(|e| side_error(label, e))?
                .without_metrics(),
        );
    }
    let mut sides = sides;
    let mut run = || -> Result<(), LoadError> {
        for ((s, spec), label) in sessions.iter_mut().zip(specs).zip(["base", "candidate"]) {
            s.drive(&block_spec(spec, warmup), &mut |_| {})
                .map_err(|e| side_error(label, e))?;
        }
        for block in 0..plan.blocks {
            let order: [usize; 2] = if block % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                let spec = block_spec(specs[side], plan.block);
                let report: LoadReport = sessions[side]
                    .drive(&spec, &mut |_| {})
                    .map_err(|e| side_error(["base", "candidate"][side], e))?;
                sides[side].blocks.push(report.overall);
                sides[side].warnings.extend(report.warnings);
            }
            progress.progressed(
                started.elapsed().as_secs() as usize,
                planned.as_secs() as usize,
            );
            let p95 = |side: usize| {
                sides[side].blocks.last().map_or("-".into(), |b| {
                    crate::vocab::units::format_ns(b.latency.p95 as f64)
                })
            };
            progress.note(&format!(
                "block {}/{}: p95 {} (base), {} (candidate)",
                block + 1,
                plan.blocks,
                p95(0),
                p95(1)
            ));
        }
        Ok(())
    };
    let outcome = run();
    let died = matches!(outcome, Err(LoadError::ServiceDied { .. }));
    for (session, side) in sessions.into_iter().zip(sides.iter_mut()) {
        side.warnings.extend(session.stop(died));
    }
    outcome
}

/// Says which side an error came from.
fn side_error(label: &str, e: LoadError) -> LoadError {
    match e {
        LoadError::Interrupted(s) => LoadError::Interrupted(s),
        e => LoadError::Setup(format!("the {label} revision: {e}")),
    }
}

/// The result of a load workload as a whole, with no figure to judge: only the candidate has
/// it, or it could not be driven.
fn whole(w: &Workload, new: &Side, failure: Option<Failure>, verdict: GateVerdict) -> GateResult {
    let mut r = result(
        w,
        LoadFigure::P50,
        &Side::default(),
        new,
        failure,
        verdict,
        Vec::new(),
    );
    r.candidate.workload.name = w.name.clone();
    r.figure = None;
    r
}

/// One figure's result, its comparison and verdict left for the caller.
fn result(
    w: &Workload,
    figure: LoadFigure,
    base: &Side,
    new: &Side,
    failure: Option<Failure>,
    verdict: GateVerdict,
    notes: Vec<String>,
) -> GateResult {
    let mut workload = w.clone();
    workload.name = format!("{}: {}", w.name, figure.as_str());
    let candidate = evaluate(workload, new.measured(figure, failure));
    let spent_ns = candidate.samples.len() as u64
        * w.load().map_or(0, |l| l.spec.gate.block.as_nanos() as u64);
    GateResult {
        candidate,
        base: base.measured(figure, None),
        metric: Metric::Wall,
        threshold: w.threshold,
        comparison: None,
        verdict,
        spent_ns,
        notes,
        undecidable: false,
        accepted: None,
        figure: Some(figure),
        explanation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MIN_GATE_BLOCKS;
    use crate::stats::min_pairs;

    #[test]
    fn the_fewest_blocks_are_the_fewest_pairs_that_can_be_significant() {
        assert_eq!(MIN_GATE_BLOCKS, min_pairs(CI_LEVEL));
    }

    #[test]
    fn throughput_is_judged_as_time_per_request() {
        let f = Figures {
            achieved_rps: 250.0,
            ..Figures::default()
        };
        // 4 ms a request: a service that answers fewer requests a second is slower.
        assert_eq!(LoadFigure::TimePerRequest.of(&f), 4e6);
        assert_eq!(LoadFigure::TimePerRequest.of(&Figures::default()), 0.0);
    }

    #[test]
    fn a_block_is_one_stage_at_the_gate_level_without_thresholds() {
        let text = "[[load]]\nname = \"s\"\nprofile = \"stress\"\nrate = 30\nstep = 10\n\
                    max_rate = 60\ncommand = [\"true\"]\n[load.gate]\nrate = 45\n";
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::resolve_text(
            &dir.path().join("perf.toml"),
            dir.path(),
            text,
            &crate::config::SamplingOverrides::default(),
        )
        .unwrap();
        let spec = &config.loads[0];
        assert!(!spec.thresholds.is_empty());
        let block = block_spec(spec, Duration::from_millis(700));
        assert_eq!(block.profile, Profile::Load);
        assert!(block.thresholds.is_empty());
        assert_eq!(block.stages.len(), 1);
        let stage = &block.stages[0];
        assert_eq!((stage.from, stage.to, stage.step), (45.0, 45.0, false));
        assert_eq!(stage.duration, Duration::from_millis(700));
    }
}
