//! The gate: base and candidate measured now, interleaved, and judged with the statistics of
//! `stats::compare`, with false discovery control across every workload of the check.

mod accepted;
mod criterion;
mod explain;
mod load;

pub mod bisect;
pub mod calibrate;
mod growth;
pub use accepted::apply_acceptances;
pub use criterion::{BenchGate, run_bench_gate};
pub use explain::{ExplainPlan, ExplainSpecs, explain_results};
pub use growth::{GROWTH_TOLERANCE, GrowthFigure, GrowthFinding, GrowthVerdict, growth_findings};
pub use load::{LoadFigure, LoadGate, run_load_gate};

use serde::Serialize;

use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::fnv::fnv1a;
use crate::measure::criterion::CriterionSettings;
use crate::measure::{Look, Measured, RunSpec, Runner, measure, measure_counted, measure_paired};
use crate::pipeline::{Observer, Unit};
use crate::pipeline::{WorkloadResult, evaluate};
use crate::stats::{
    Comparison, Verdict, benjamini_hochberg, compare_exact, compare_paired_ratios, decide,
};
use crate::vocab::{Counts, Metric, Sample};

/// The significance level of `check`.
pub const ALPHA: f64 = 0.05;
/// The confidence level of the interval of the ratio.
pub const CI_LEVEL: f64 = 0.95;

/// A workload to gate: the candidate's, and the base's command if the base has it.
pub struct GateWorkload {
    pub workload: Workload,
    /// The base revision's argv, or `None` when the base cannot run it (a binary it lacks).
    pub base_argv: Option<Vec<String>>,
    /// The base revision's environment (`{bin:NAME}` in values resolves per side, too).
    pub base_env: Vec<(String, String)>,
    /// With the instructions metric: the base's counts from a stored record (its commit), which
    /// stand for a run of the base.
    pub stored_base: Option<(String, Counts)>,
}

/// A workload's verdict, including the cases with nothing to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateVerdict {
    Regressed,
    Improved,
    Unchanged,
    Inconclusive,
    /// A run of either side failed.
    Failed,
    /// Only the candidate has it.
    Added,
    /// Only the base has it (stored comparisons).
    Removed,
    /// It regressed or broke its budget, and an acceptance on the path to the candidate says
    /// the change is intended (`GateResult::accepted`).
    Accepted,
}

impl From<Verdict> for GateVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Regressed => GateVerdict::Regressed,
            Verdict::Improved => GateVerdict::Improved,
            Verdict::Unchanged => GateVerdict::Unchanged,
            Verdict::Inconclusive => GateVerdict::Inconclusive,
        }
    }
}

impl GateVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            GateVerdict::Regressed => "regressed",
            GateVerdict::Improved => "improved",
            GateVerdict::Unchanged => "unchanged",
            GateVerdict::Inconclusive => "inconclusive",
            GateVerdict::Failed => "failed",
            GateVerdict::Added => "added",
            GateVerdict::Removed => "removed",
            GateVerdict::Accepted => "accepted",
        }
    }
}

/// Everything the check concluded about one workload.
#[derive(Debug, Clone)]
pub struct GateResult {
    /// The candidate's results: its summaries and budget status.
    pub candidate: WorkloadResult,
    /// The base's samples (empty for `added`).
    pub base: Measured,
    pub metric: Metric,
    pub threshold: f64,
    pub comparison: Option<Comparison>,
    pub verdict: GateVerdict,
    /// Time spent measuring the candidate side (about the same went to the base): what an
    /// estimate of the time that would decide an inconclusive verdict starts from.
    pub spent_ns: u64,
    /// Things the reader should know about this verdict (the suite's settings differ between
    /// the sides, its throughput changed).
    pub notes: Vec<String>,
    /// It stopped at its time bound before the first look: too few rounds for an interval to
    /// be trusted, so it stays inconclusive whatever the interval says.
    pub undecidable: bool,
    /// For a load workload, the figure judged (its blocks are the samples).
    pub figure: Option<LoadFigure>,
    /// The acceptance that made a regression or a budget breach `accepted`.
    pub accepted: Option<crate::vocab::Acceptance>,
    /// Why the time changed, when the workload was explained (`explain::explain_results`).
    pub explanation: Option<crate::vocab::Explanation>,
}

impl GateResult {
    /// A regression explained as code layout that `[gate] layout = "warn"` lets pass.
    pub fn excused(&self) -> bool {
        self.verdict == GateVerdict::Regressed
            && self.explanation.as_ref().is_some_and(|e| e.excused)
    }

    /// Whether this workload fails the gate.
    pub fn fails(&self, strict: bool) -> bool {
        (self.verdict == GateVerdict::Regressed && !self.excused())
            || self.verdict == GateVerdict::Failed
            || (self.candidate.budget.is_over() && self.accepted.is_none())
            || (strict && self.verdict == GateVerdict::Inconclusive)
    }
}

/// The comparison of a command's rounds: the ratio of each round's two figures, which share
/// whatever the machine was doing then, judged by the Wilcoxon signed-rank test with the
/// Hodges-Lehmann interval (`stats::compare_paired_ratios`). On seeded simulations of the gate's
/// looks (`examples/gate_power.rs`) it finds +5 % in 76-99 % of checks of 40 rounds where the
/// bootstrap of the median ratio found 45-63 %, with A/A false alarms at or under 1 % for both.
fn paired(base: &[Sample], new: &[Sample], metric: Metric) -> Option<Comparison> {
    compare_paired_ratios(&series(base, metric), &series(new, metric), CI_LEVEL)
}

/// The values of `metric` of each sample.
pub fn series(samples: &[Sample], metric: Metric) -> Vec<f64> {
    samples.iter().map(|s| s.figure(metric)).collect()
}

/// The executables each side of a measured comparison built for `{bin:NAME}`, by binary name:
/// what `-v` shows, and what JSON output carries, so that a reader can tell which builds ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideBinaries {
    /// The candidate's executables.
    pub candidate: std::collections::BTreeMap<String, String>,
    /// The base's executables; `None` when the base was not built (a stored record's counted
    /// instructions stand for it).
    pub base: Option<std::collections::BTreeMap<String, String>>,
}

/// Where the time of a check went, build excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GateTiming {
    /// From the first run to the last verdict.
    pub elapsed_ns: u64,
    /// The wall time of every run of every workload, warm-ups included.
    pub runs_ns: u64,
    /// Building both sides (binaries and bench targets) and listing their benchmarks.
    pub build_ns: u64,
    /// The whole command, from start to the last verdict.
    pub total_ns: u64,
    /// Explaining verdicts: both sides' runs under cachegrind, after the last verdict.
    pub explain_ns: u64,
}

impl GateTiming {
    /// The check's own cost beyond the workloads' run time, as a share of that run time.
    pub fn overhead(&self) -> Option<f64> {
        (self.runs_ns > 0)
            .then(|| self.elapsed_ns.saturating_sub(self.runs_ns) as f64 / self.runs_ns as f64)
    }
}

/// A runner that adds up the wall time of what it runs.
struct Counting<'a> {
    inner: &'a mut dyn Runner,
    runs_ns: u64,
}

impl Runner for Counting<'_> {
    fn probes_memory(&self) -> bool {
        self.inner.probes_memory()
    }

    fn run(&mut self, spec: &RunSpec) -> Result<crate::measure::RunResult, MeasureError> {
        let result = self.inner.run(spec)?;
        self.runs_ns += result.sample.wall_ns;
        Ok(result)
    }

    fn run_watched(
        &mut self,
        spec: &RunSpec,
        on_line: &mut dyn FnMut(crate::measure::Stream, &str),
    ) -> Result<crate::measure::RunResult, MeasureError> {
        let result = self.inner.run_watched(spec, on_line)?;
        self.runs_ns += result.sample.wall_ns;
        Ok(result)
    }
}

/// Measures every workload, base and candidate interleaved, and gives each its verdict.
pub fn run_gate(
    workloads: Vec<GateWorkload>,
    runner: &mut dyn Runner,
    progress: &mut dyn Observer,
) -> Result<(Vec<GateResult>, GateTiming), MeasureError> {
    run_gate_with_benches(
        workloads,
        Vec::new(),
        None,
        Vec::new(),
        None,
        runner,
        progress,
    )
}

/// What the criterion part of a check measures, and how.
pub struct BenchPlan<'a> {
    pub settings: CriterionSettings,
    pub sampling: &'a crate::config::Sampling,
}

/// `run_gate` with criterion bench targets and load workloads as well: commands first, then
/// benchmarks, then loads, and the false discovery control over all of them together. With an
/// `explain` plan, the command workloads it asks for are explained after their verdicts (not
/// counted in the timing's `runs_ns`: they are not measurements of the gate).
pub fn run_gate_with_benches(
    workloads: Vec<GateWorkload>,
    benches: Vec<BenchGate>,
    plan: Option<BenchPlan>,
    loads: Vec<LoadGate>,
    explain: Option<ExplainPlan>,
    runner: &mut dyn Runner,
    progress: &mut dyn Observer,
) -> Result<(Vec<GateResult>, GateTiming), MeasureError> {
    let started = std::time::Instant::now();
    let mut counting = Counting {
        inner: runner,
        runs_ns: 0,
    };
    let runner: &mut dyn Runner = &mut counting;
    let commands = workloads.len();
    let total = commands + loads.len();
    let mut results = Vec::with_capacity(total);
    let mut explain_specs: ExplainSpecs = Vec::new();
    for (i, gw) in workloads.into_iter().enumerate() {
        let w = gw.workload;
        // Criterion benchmarks are gated in rounds of their own (`run_bench_gate`).
        let Some(command) = w.command() else {
            continue;
        };
        let seed = fnv1a(w.name.as_bytes());
        let timeout = command.timeout;
        let spec = |argv: Vec<String>, env: Vec<(String, String)>, side: &str| RunSpec {
            name: format!("{}@{side}", w.name),
            argv,
            env,
            cwd: w.cwd.clone(),
            timeout,
        };
        let new_spec = spec(command.argv.clone(), command.env.clone(), "new");
        explain_specs.push((
            results.len(),
            new_spec.clone(),
            gw.base_argv
                .clone()
                .map(|argv| spec(argv, gw.base_env.clone(), "base")),
        ));
        let (metric, threshold) = (w.sampling.metric, w.threshold);
        let has_base = gw.base_argv.is_some() || gw.stored_base.is_some();
        let mut notes = Vec::new();
        let (base, new) = if metric.is_exact() {
            progress.started(&w.name, i, total, 2, Unit::Runs);
            let new = measure_counted(runner, &new_spec)?;
            progress.progressed(1, 2);
            let base = match (gw.stored_base, gw.base_argv) {
                (Some((commit, counts)), _) => {
                    notes.push(format!(
                        "base: the instructions stored for {commit} (same toolchain and valgrind)"
                    ));
                    Measured {
                        counts: Some(counts),
                        ..Measured::default()
                    }
                }
                (None, Some(argv)) => measure_counted(runner, &spec(argv, gw.base_env, "base"))?,
                (None, None) => Measured::default(),
            };
            progress.progressed(2, 2);
            notes.push(
                "instructions are exact: one run under cachegrind per side, compared with the \
                 threshold as they are"
                    .to_owned(),
            );
            (base, new)
        } else {
            progress.started(&w.name, i, total, w.sampling.min_runs as usize, Unit::Runs);
            match gw.base_argv {
                None => {
                    let new = measure(runner, &new_spec, &w.sampling, &mut |d, e| {
                        progress.progressed(d, e)
                    })?;
                    (Measured::default(), new)
                }
                Some(base_argv) => {
                    let base_spec = spec(base_argv, gw.base_env, "base");
                    let mut look = |a: &[Sample], b: &[Sample]| {
                        let decisive = paired(a, b, metric).is_some_and(|c| {
                            decide(&c.ci, c.p, threshold, ALPHA) != Verdict::Inconclusive
                        });
                        if decisive { Look::Stop } else { Look::Continue }
                    };
                    let paired = measure_paired(
                        runner,
                        &base_spec,
                        &new_spec,
                        &w.sampling,
                        seed,
                        &mut look,
                        &mut |d, e| progress.progressed(d, e),
                    )?;
                    (paired.base, paired.new)
                }
            }
        };
        // The same computation as the look that stopped sampling (same samples), so the verdict
        // is the one that look saw, before the adjustment across workloads.
        let comparison = if metric.is_exact() {
            match (base.counts, new.counts) {
                (Some(b), Some(n)) => {
                    Some(compare_exact(b.instructions as f64, n.instructions as f64))
                }
                _ => None,
            }
        } else if base.samples.is_empty() {
            None
        } else {
            paired(&base.samples, &new.samples, metric)
        };
        let verdict = if base.failure.is_some() || new.failure.is_some() {
            GateVerdict::Failed
        } else if !has_base {
            GateVerdict::Added
        } else {
            GateVerdict::Inconclusive
        };
        // A base that failed is reported as the candidate's failure, marked as the base's.
        let mut candidate_measured = new;
        if candidate_measured.failure.is_none()
            && let Some(f) = &base.failure
        {
            let mut f = f.clone();
            f.reason = format!("base revision: {}", f.reason);
            candidate_measured.failure = Some(f);
        }
        let candidate = evaluate(w, candidate_measured);
        progress.step_finished(&format!(
            "{}, {}",
            if metric.is_exact() {
                "counted".to_owned()
            } else {
                format!("{} rounds", candidate.samples.len())
            },
            match &comparison {
                Some(c) => format!("{:+.1}%", (c.ratio - 1.0) * 100.0),
                None => verdict.as_str().to_owned(),
            }
        ));
        let spent_ns = candidate.samples.iter().map(|s| s.wall_ns).sum();
        results.push(GateResult {
            candidate,
            base,
            metric,
            threshold,
            comparison,
            verdict,
            spent_ns,
            notes,
            undecidable: false,
            accepted: None,
            figure: None,
            explanation: None,
        });
    }
    if let Some(plan) = plan {
        results.extend(run_bench_gate(
            benches,
            &plan.settings,
            plan.sampling,
            runner,
            progress,
        )?);
    }
    let (load_results, load_ns) = run_load_gate(loads, commands, total, progress)?;
    results.extend(load_results);
    apply_verdicts(&mut results);
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let explaining = std::time::Instant::now();
    if let Some(mut plan) = explain {
        explain_results(&mut results, explain_specs, &mut plan, progress)?;
    }
    let timing = GateTiming {
        explain_ns: explaining.elapsed().as_nanos() as u64,
        elapsed_ns,
        // The blocks of load workloads are their runs.
        runs_ns: counting.runs_ns + load_ns,
        ..GateTiming::default()
    };
    Ok((results, timing))
}

/// Adjusts the p-values of every compared workload together (Benjamini-Hochberg) and decides.
pub fn apply_verdicts(results: &mut [GateResult]) {
    let open = |r: &GateResult| {
        !matches!(
            r.verdict,
            GateVerdict::Failed | GateVerdict::Added | GateVerdict::Removed
        )
    };
    // An exact figure (instructions) is not a test: its verdict is the ratio against the
    // threshold, and it takes no share of the false discovery control.
    for r in results.iter_mut().filter(|r| r.metric.is_exact()) {
        if open(r)
            && let Some(c) = r.comparison.as_ref()
        {
            r.verdict = decide(&c.ci, c.p, r.threshold, ALPHA).into();
        }
    }
    let compared: Vec<usize> = (0..results.len())
        .filter(|&i| {
            results[i].comparison.is_some()
                && !results[i].metric.is_exact()
                && !results[i].undecidable
                && !matches!(
                    results[i].verdict,
                    GateVerdict::Failed | GateVerdict::Added | GateVerdict::Removed
                )
        })
        .collect();
    let ps: Vec<f64> = compared
        .iter()
        .filter_map(|&i| results[i].comparison.as_ref().map(|c| c.p))
        .collect();
    for (&i, p_adjusted) in compared.iter().zip(benjamini_hochberg(&ps)) {
        let r = &mut results[i];
        if let Some(c) = r.comparison.as_mut() {
            c.p_adjusted = p_adjusted;
            r.verdict = decide(&c.ci, p_adjusted, r.threshold, ALPHA).into();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Sampling;
    use crate::stats::Interval;
    use crate::vocab::Class;

    pub(super) fn result(name: &str, metric: Metric, comparison: Comparison) -> GateResult {
        let w = Workload::stored(
            name,
            Class::Small,
            Duration::from_secs(30),
            Sampling {
                metric,
                ..Sampling::default()
            },
        );
        GateResult {
            candidate: evaluate(w, Measured::default()),
            base: Measured::default(),
            metric,
            threshold: 0.01,
            comparison: Some(comparison),
            verdict: GateVerdict::Inconclusive,
            spent_ns: 0,
            notes: Vec::new(),
            undecidable: false,
            accepted: None,
            figure: None,
            explanation: None,
        }
    }

    /// A sampled comparison: +3 % within [+2 %, +4 %] at `p`.
    fn sampled(p: f64) -> Comparison {
        Comparison {
            base_median: 100.0,
            new_median: 103.0,
            ratio: 1.03,
            ci: Interval {
                lower: 1.02,
                upper: 1.04,
                level: 0.95,
            },
            p,
            p_adjusted: p,
        }
    }

    #[test]
    fn exact_figures_are_decided_by_the_threshold_and_take_no_share_of_the_adjustment() {
        // Two sampled workloads at p 0.04 and 0.03: alone, Benjamini-Hochberg leaves both
        // below 0.05. Ten exact results beside them must not dilute that.
        let mut results = vec![
            result("a", Metric::Wall, sampled(0.04)),
            result("b", Metric::Cpu, sampled(0.03)),
        ];
        for i in 0..10 {
            let n = if i == 0 { 1_020_000.0 } else { 1_000_000.0 };
            results.push(result(
                &format!("counted{i}"),
                Metric::Instructions,
                compare_exact(1_000_000.0, n),
            ));
        }
        apply_verdicts(&mut results);
        assert_eq!(results[0].verdict, GateVerdict::Regressed);
        assert_eq!(results[1].verdict, GateVerdict::Regressed);
        let a = results[0].comparison.as_ref().unwrap();
        assert!((a.p_adjusted - 0.04).abs() < 1e-12, "{}", a.p_adjusted);
        assert_eq!(results[2].verdict, GateVerdict::Regressed);
        assert!(
            results[3..]
                .iter()
                .all(|r| r.verdict == GateVerdict::Unchanged)
        );
        // An exact change under the threshold is unchanged, over it regressed, whatever p.
        let mut under = vec![result(
            "c",
            Metric::Instructions,
            compare_exact(1_000_000.0, 1_009_000.0),
        )];
        apply_verdicts(&mut under);
        assert_eq!(under[0].verdict, GateVerdict::Unchanged);
    }
}
