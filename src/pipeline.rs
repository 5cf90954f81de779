//! From discovered workloads to results: measure each, summarise, check budgets.

use serde::{Deserialize, Serialize};

use crate::discover::Workload;
use crate::errors::MeasureError;
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
}

impl WorkloadResult {
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
    }
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
