//! One workload's results: its samples summarised and its budget checked.

use crate::discover::Workload;
use crate::measure::Measured;
use crate::measure::criterion::BenchSample;
use crate::stats::{BudgetStatus, Summary, check_budget, summarize};
use crate::vocab::{Counts, Failure, Sample, Status};

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
    /// With the instructions metric: what cachegrind counted in one run.
    pub counts: Option<Counts>,
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
    // A peak the memory probe measured beats the samples', which were all at the tool's floor.
    let max_rss_bytes = measured
        .probed_rss_bytes
        .or_else(|| measured.samples.iter().map(|s| s.max_rss_bytes).max());
    let timed_out = measured.failure.as_ref().is_some_and(|f| f.timed_out);
    // A command has a class budget and thresholds; a criterion benchmark neither (it is gated
    // on change only, and `evaluate_criterion` is its path).
    let (budget_ns, thresholds) = match workload.command() {
        Some(c) => (c.budget.as_nanos() as f64, c.thresholds),
        None => (f64::INFINITY, crate::config::Thresholds::default()),
    };
    let budget = check_budget(
        wall_ns.as_ref(),
        max_rss_bytes,
        budget_ns,
        &thresholds,
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
        counts: measured.counts,
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
        counts: None,
    }
}
