//! Explaining verdicts: after the timing, both sides' binaries of a regressed or improved command
//! workload (or of every compared one, with `--explain`) run once under cachegrind, and
//! `stats::explain` says whether more work, code layout or memory fits the change of time.

use super::{GateResult, GateVerdict};
use crate::errors::MeasureError;
use crate::measure::profile::run_profiled;
use crate::measure::{RunSpec, Runner, valgrind};
use crate::pipeline::{Observer, Unit};
use crate::vocab::{ExplanationKind, LayoutPolicy, Profile};

/// What to explain, and how.
pub struct ExplainPlan<'a> {
    /// Every compared command workload, not only regressions and improvements (`--explain`).
    pub all: bool,
    /// What a regression explained as layout does to the gate (`[gate] layout`).
    pub layout: LayoutPolicy,
    /// What runs the profiles: real processes, also when a test scripts the timings.
    pub runner: &'a mut dyn Runner,
}

/// A command workload's two runs, by the index of its result: the candidate's spec and the
/// base's (`None` when the base was not run: a stored count or a binary it lacks).
pub type ExplainSpecs = Vec<(usize, RunSpec, Option<RunSpec>)>;

/// Whether `r` is one the plan explains.
fn wanted(r: &GateResult, all: bool) -> bool {
    r.comparison.is_some()
        && match r.verdict {
            GateVerdict::Regressed | GateVerdict::Improved => true,
            GateVerdict::Unchanged | GateVerdict::Inconclusive => all,
            _ => false,
        }
}

/// Explains the results the plan asks for. What keeps a workload from being explained (valgrind
/// missing, a run that fails under it) becomes a note on it: the verdicts stand either way. Only
/// an interruption (Ctrl-C) is an error, so that the check stops as it would while measuring.
pub fn explain_results(
    results: &mut [GateResult],
    specs: ExplainSpecs,
    plan: &mut ExplainPlan,
    progress: &mut dyn Observer,
) -> Result<(), MeasureError> {
    let chosen: Vec<(usize, RunSpec, Option<RunSpec>)> = specs
        .into_iter()
        .filter(|(i, _, _)| results.get(*i).is_some_and(|r| wanted(r, plan.all)))
        .collect();
    if chosen.is_empty() {
        return Ok(());
    }
    if valgrind::version().is_err() {
        let note = format!(
            "not explained: valgrind (`{}`) is not installed or cannot be run; {}",
            valgrind::program(),
            valgrind::INSTALL
        );
        for (i, _, _) in &chosen {
            results[*i].notes.push(note.clone());
        }
        return Ok(());
    }
    let total = chosen.len();
    for (n, (i, new_spec, base_spec)) in chosen.into_iter().enumerate() {
        let r = &mut results[i];
        let name = r.candidate.workload.name.clone();
        let Some(base_spec) = base_spec else {
            r.notes.push(
                "not explained: the base was not run here (its instructions came from a stored \
                 record), so there is no binary of it to profile"
                    .into(),
            );
            continue;
        };
        progress.started(&format!("{name} (explaining)"), n, total, 2, Unit::Runs);
        let base = profile(plan.runner, &base_spec, "base")?;
        progress.progressed(1, 2);
        let new = profile(plan.runner, &new_spec, "candidate")?;
        progress.progressed(2, 2);
        let (base, new) = match (base, new) {
            (Ok(base), Ok(new)) => (base, new),
            (Err(why), _) | (_, Err(why)) => {
                progress.step_finished("not explained");
                r.notes.push(format!("not explained: {why}"));
                continue;
            }
        };
        let time_change = r.comparison.as_ref().map_or(0.0, |c| c.ratio - 1.0);
        let mut e = crate::stats::explain::explain(time_change, &base, &new);
        e.excused = e.kind == ExplanationKind::Layout
            && plan.layout == LayoutPolicy::Warn
            && r.verdict == GateVerdict::Regressed;
        progress.step_finished(e.kind.as_str());
        r.explanation = Some(e);
    }
    Ok(())
}

/// One side's profile, or why there is none; an interruption is the caller's to pass on.
fn profile(
    runner: &mut dyn Runner,
    spec: &RunSpec,
    side: &str,
) -> Result<Result<Profile, String>, MeasureError> {
    Ok(match run_profiled(runner, spec) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(failure)) => Err(format!(
            "the {side}'s run under cachegrind failed ({})",
            failure.reason
        )),
        Err(e @ MeasureError::Interrupted(_)) => return Err(e),
        Err(e) => Err(format!("the {side}'s run under cachegrind: {e}")),
    })
}
