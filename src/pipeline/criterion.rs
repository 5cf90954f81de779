//! `run` and `record` of criterion benchmarks: each bench executable once for its selected
//! benchmarks, as `cargo bench` would.

use super::result::{WorkloadResult, evaluate_criterion};
use super::{Observer, Unit};
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::measure::Runner;
use crate::measure::criterion::{BenchSample, CriterionSettings, Observed, Suite, run_suite};
use crate::measure::criterion_output::BenchEvent;
use crate::vocab::Failure;
use crate::vocab::units::format_ns;

/// Runs the criterion workloads, one bench executable at a time: all of an executable's
/// selected benchmarks in one process, as `cargo bench` would. A benchmark that crashes the
/// process is `failed`; the ones after it run in a new process.
pub fn run_criterion(
    workloads: Vec<Workload>,
    settings: &CriterionSettings,
    run_id: &str,
    runner: &mut dyn Runner,
    observer: &mut dyn Observer,
) -> Result<Vec<WorkloadResult>, MeasureError> {
    let total = workloads.len();
    let mut done = 0;
    let mut out = Vec::with_capacity(total);
    for group in by_executable(workloads) {
        let Some(bench) = group[0].criterion().cloned() else {
            continue;
        };
        let mut outcomes: Vec<Option<Result<BenchSample, Failure>>> = vec![None; group.len()];
        let mut notes: Vec<Vec<String>> = vec![Vec::new(); group.len()];
        let mut pending: Vec<usize> = (0..group.len()).collect();
        let mut finished = 0;
        while !pending.is_empty() {
            let ids: Vec<String> = pending.iter().map(|&i| full_id(&group[i])).collect();
            observer.started(
                &format!(
                    "criterion bench `{}` ({} benchmarks)",
                    bench.target,
                    ids.len()
                ),
                done + finished,
                total,
                group.len(),
                Unit::Benchmarks,
            );
            let suite = Suite {
                name: &format!("criterion:{}", bench.target),
                exe: &bench.exe,
                cwd: &group[0].cwd,
                ids: &ids,
                settings,
                run_id,
            };
            // One step per benchmark as criterion reports it.
            let run = run_suite(runner, &suite, &mut |event| {
                if let BenchEvent::Finished { id, estimate } = event {
                    let name = group
                        .iter()
                        .find(|w| full_id(w) == *id)
                        .map_or(id.as_str(), |w| w.name.as_str());
                    finished += 1;
                    observer.item_done(
                        finished,
                        done + finished - 1,
                        total,
                        name,
                        &format!("{estimate} per iteration (criterion's estimate)"),
                    );
                }
            })?;
            let mut rest = Vec::new();
            let mut blamed = false;
            for &i in &pending {
                if let Some(o) = run.observed.get(&full_id(&group[i])) {
                    notes[i] = overridden(o, settings);
                }
                if let Some(sample) = run.results.get(&full_id(&group[i])) {
                    outcomes[i] = Some(Ok(sample.clone()));
                } else if let Some(f) = run.failure.as_ref().filter(|_| !blamed) {
                    // Criterion runs benchmarks in the listed order: the first without results
                    // is the one the process died in.
                    blamed = true;
                    outcomes[i] = Some(Err(f.clone()));
                    finished += 1;
                } else if run.failure.is_some() {
                    rest.push(i);
                } else {
                    outcomes[i] = Some(Err(no_samples(
                        "criterion saved no samples for it although the bench exited 0",
                    )));
                }
            }
            observer.step_ended();
            pending = rest;
        }
        for ((w, outcome), notes) in group.into_iter().zip(outcomes).zip(notes) {
            let outcome = outcome.unwrap_or_else(|| Err(no_samples("it was not run")));
            let mut result = evaluate_criterion(w, outcome);
            result.notes = notes;
            observer.workload_finished(&result, done, total, false);
            done += 1;
            out.push(result);
        }
    }
    Ok(out)
}

/// The settings criterion reported for a benchmark that differ from what the tool asked for:
/// the suite set them in code, and criterion gives those precedence over the command line.
fn overridden(o: &Observed, asked: &CriterionSettings) -> Vec<String> {
    let time = |d: std::time::Duration| format_ns(d.as_nanos() as f64);
    let mut parts = Vec::new();
    // Criterion prints times with four significant digits.
    let differs = |a: std::time::Duration, b: std::time::Duration| {
        (a.as_secs_f64() - b.as_secs_f64()).abs() > 0.001 * b.as_secs_f64().max(1e-9)
    };
    if let Some(w) = o.warm_up.filter(|w| differs(*w, asked.warm_up_time)) {
        parts.push(format!(
            "warm-up {} (asked {})",
            time(w),
            time(asked.warm_up_time)
        ));
    }
    if let Some(n) = o.samples.filter(|n| *n != u64::from(asked.sample_size)) {
        parts.push(format!("{n} samples (asked {})", asked.sample_size));
    }
    // Criterion overruns the measurement time when iterations are slow; only a far longer
    // estimate says the suite chose its own.
    if let Some(e) = o
        .estimated
        .filter(|e| e.as_secs_f64() > 1.5 * asked.measurement_time.as_secs_f64())
    {
        parts.push(format!(
            "about {} of measuring (asked {})",
            time(e),
            time(asked.measurement_time)
        ));
    }
    if parts.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "the suite sets in code {}; criterion gives settings made in code precedence over \
             the command line, so `[criterion]` in perf.toml cannot change them",
            parts.join(", ")
        )]
    }
}

/// A failure without a process behind it: a benchmark that has no samples.
pub fn no_samples(reason: &str) -> Failure {
    Failure {
        reason: reason.into(),
        exit_code: None,
        signal: None,
        timed_out: false,
        during_warmup: false,
        stderr_tail: String::new(),
    }
}

fn full_id(w: &Workload) -> String {
    w.criterion().map(|c| c.full_id.clone()).unwrap_or_default()
}

/// Criterion workloads grouped by executable, in order of first appearance.
fn by_executable(workloads: Vec<Workload>) -> Vec<Vec<Workload>> {
    let mut groups: Vec<Vec<Workload>> = Vec::new();
    for w in workloads {
        let exe = w.criterion().map(|c| c.exe.clone());
        match groups
            .iter_mut()
            .find(|g| g[0].criterion().map(|c| c.exe.clone()) == exe)
        {
            Some(g) => g.push(w),
            None => groups.push(vec![w]),
        }
    }
    groups
}
