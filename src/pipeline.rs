//! From discovered workloads to results: measure each, summarise, check budgets.

use serde::{Deserialize, Serialize};

use crate::config::units::format_ns;
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::measure::criterion::{BenchSample, CriterionSettings, Observed, Suite, run_suite};
use crate::measure::criterion_output::BenchEvent;
use crate::measure::{Failure, Measured, RunSpec, Runner, Sample, measure};
use crate::report::Progress;
use crate::stats::{BudgetStatus, Summary, check_budget, summarize};

/// How a workload came out of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    OverBudget,
    Failed,
}

/// Everything measured and concluded about one workload.
#[derive(Debug, Clone)]
pub struct WorkloadResult {
    pub workload: Workload,
    pub samples: Vec<Sample>,
    pub failure: Option<Failure>,
    pub wall_ns: Option<Summary>,
    /// User plus system CPU time.
    pub cpu_ns: Option<Summary>,
    /// Total CPU time over total wall time: about 1 for a single-threaded CPU-bound command.
    pub cpu_utilisation: Option<f64>,
    /// The largest peak RSS of any sample.
    pub max_rss_bytes: Option<u64>,
    /// A peak RSS at or below this is the tool's own attributed to the child: the child used no
    /// more than this (see `RunResult::rss_floor_bytes`).
    pub rss_floor_bytes: u64,
    pub budget: BudgetStatus,
    /// A criterion benchmark's samples as criterion saved them; `wall_ns` then summarises the
    /// time of one iteration, and `samples` is empty.
    pub criterion: Option<BenchSample>,
    /// Things to know about how it was measured (settings a criterion suite made in code that
    /// override the tool's).
    pub notes: Vec<String>,
}

impl WorkloadResult {
    /// How many samples it has (for criterion, criterion's samples).
    pub fn n(&self) -> usize {
        match &self.criterion {
            Some(b) => b.iters.len(),
            None => self.samples.len(),
        }
    }

    pub fn status(&self) -> Status {
        if self.failure.is_some() {
            Status::Failed
        } else if self.budget.is_over() {
            Status::OverBudget
        } else {
            Status::Passed
        }
    }
}

/// Summarises one workload's samples and checks its budget. Pure.
pub fn evaluate(workload: Workload, measured: Measured) -> WorkloadResult {
    // Seeded by the name, so that the same samples always give the same intervals.
    let seed = crate::fnv::fnv1a(workload.name.as_bytes());
    let series = |f: fn(&Sample) -> u64| -> Vec<f64> {
        measured.samples.iter().map(|s| f(s) as f64).collect()
    };
    let wall = series(|s| s.wall_ns);
    let cpu = series(Sample::cpu_ns);
    let wall_ns = summarize(&wall, seed);
    let cpu_ns = summarize(&cpu, seed);
    let total_wall: f64 = wall.iter().sum();
    let cpu_utilisation = (total_wall > 0.0).then(|| cpu.iter().sum::<f64>() / total_wall);
    let max_rss_bytes = measured.samples.iter().map(|s| s.max_rss_bytes).max();
    let timed_out = measured.failure.as_ref().is_some_and(|f| f.timed_out);
    let budget = check_budget(
        wall_ns.as_ref(),
        max_rss_bytes,
        workload.budget.as_nanos() as f64,
        &workload.thresholds,
        timed_out,
    );
    WorkloadResult {
        workload,
        samples: measured.samples,
        failure: measured.failure,
        wall_ns,
        cpu_ns,
        cpu_utilisation,
        max_rss_bytes,
        rss_floor_bytes: measured.rss_floor_bytes,
        budget,
        criterion: None,
        notes: Vec::new(),
    }
}

/// A criterion benchmark's result: its samples, or why it has none.
pub fn evaluate_criterion(
    workload: Workload,
    outcome: Result<BenchSample, Failure>,
) -> WorkloadResult {
    let seed = crate::fnv::fnv1a(workload.name.as_bytes());
    let (bench, failure) = match outcome {
        Ok(b) => (Some(b), None),
        Err(f) => (None, Some(f)),
    };
    WorkloadResult {
        wall_ns: bench
            .as_ref()
            .and_then(|b| summarize(&b.per_iteration(), seed)),
        workload,
        samples: Vec::new(),
        failure,
        cpu_ns: None,
        cpu_utilisation: None,
        max_rss_bytes: None,
        rss_floor_bytes: 0,
        // No duration budget: criterion benchmarks are gated on change.
        budget: BudgetStatus::default(),
        criterion: bench,
        notes: Vec::new(),
    }
}

/// Runs the criterion workloads, one bench executable at a time: all of an executable's
/// selected benchmarks in one process, as `cargo bench` would. A benchmark that crashes the
/// process is `failed`; the ones after it run in a new process.
pub fn run_criterion(
    workloads: Vec<Workload>,
    settings: &CriterionSettings,
    run_id: &str,
    runner: &mut dyn Runner,
    progress: &mut Progress,
    on_result: &mut dyn FnMut(&WorkloadResult),
) -> Result<Vec<WorkloadResult>, MeasureError> {
    let total = workloads.len();
    let mut done = 0;
    let mut out = Vec::with_capacity(total);
    for group in by_executable(workloads) {
        let Some(bench) = group[0].criterion.clone() else {
            continue;
        };
        let mut outcomes: Vec<Option<Result<BenchSample, Failure>>> = vec![None; group.len()];
        let mut notes: Vec<Vec<String>> = vec![Vec::new(); group.len()];
        let mut pending: Vec<usize> = (0..group.len()).collect();
        let mut finished = 0;
        while !pending.is_empty() {
            let ids: Vec<String> = pending.iter().map(|&i| full_id(&group[i])).collect();
            progress.start_counting(
                &format!(
                    "criterion bench `{}` ({} benchmarks)",
                    bench.target,
                    ids.len()
                ),
                done + finished,
                total,
                group.len(),
                "benchmarks",
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
                    progress.item(
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
            progress.finish_quietly();
            pending = rest;
        }
        for ((w, outcome), notes) in group.into_iter().zip(outcomes).zip(notes) {
            let outcome = outcome.unwrap_or_else(|| Err(no_samples("it was not run")));
            let mut result = evaluate_criterion(w, outcome);
            result.notes = notes;
            if result.failure.is_some() {
                progress.start(&result.workload.name, done, total, 0);
                progress.finish(&result);
            }
            done += 1;
            on_result(&result);
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
pub(crate) fn no_samples(reason: &str) -> Failure {
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
    w.criterion
        .as_ref()
        .map(|c| c.full_id.clone())
        .unwrap_or_default()
}

/// Criterion workloads grouped by executable, in order of first appearance.
fn by_executable(workloads: Vec<Workload>) -> Vec<Vec<Workload>> {
    let mut groups: Vec<Vec<Workload>> = Vec::new();
    for w in workloads {
        let exe = w.criterion.as_ref().map(|c| c.exe.clone());
        match groups
            .iter_mut()
            .find(|g| g[0].criterion.as_ref().map(|c| c.exe.clone()) == exe)
        {
            Some(g) => g.push(w),
            None => groups.push(vec![w]),
        }
    }
    groups
}

/// Measures every workload in turn. A failing workload does not stop the others; only an error
/// of the tool itself (it cannot start processes at all) does.
/// `on_result` sees each result as soon as its workload is done (for streaming output).
pub fn run_all(
    workloads: Vec<Workload>,
    runner: &mut dyn Runner,
    progress: &mut Progress,
    on_result: &mut dyn FnMut(&WorkloadResult),
) -> Result<Vec<WorkloadResult>, MeasureError> {
    let total = workloads.len();
    let mut results = Vec::with_capacity(total);
    for (i, workload) in workloads.into_iter().enumerate() {
        let spec = RunSpec {
            name: workload.name.clone(),
            argv: workload.argv.clone(),
            env: workload.env.clone(),
            cwd: workload.cwd.clone(),
            timeout: workload.timeout,
        };
        progress.start(
            &workload.name,
            i,
            total,
            workload.sampling.min_runs as usize,
        );
        let measured = measure(runner, &spec, &workload.sampling, &mut |done, expected| {
            progress.sample(done, expected)
        })?;
        let result = evaluate(workload, measured);
        progress.finish(&result);
        on_result(&result);
        results.push(result);
    }
    Ok(results)
}
