//! `--message-format json`: one JSON object per line, each with a `reason` (as cargo does) and
//! the `schema` version. The fields are documented in `docs/json.md`; a change that removes or
//! renames a field raises `JSON_SCHEMA_VERSION`.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::config::{Sampling, Thresholds};
use crate::discover::{Kind, Workload};
use crate::pipeline::WorkloadResult;
use crate::stats::{BudgetStatus, Summary};
use crate::vocab::{Class, Failure, Sample, Status};

/// The version of the objects below.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// JSON Lines on standard output.
pub struct Json;

#[derive(Serialize)]
struct WorkloadInfo<'a> {
    name: &'a str,
    kind: &'static str,
    class: Class,
    class_reason: Cow<'a, str>,
    fixture: Option<&'a Path>,
    argv: &'a [String],
    cwd: &'a Path,
    budget_ns: u64,
    timeout_ns: u64,
    declared_line: usize,
    sampling: &'a Sampling,
    thresholds: ThresholdsNs,
    /// For criterion benchmarks: which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    criterion: Option<CriterionInfo<'a>>,
    /// For load workloads: the profile, its stages, requests and thresholds.
    #[serde(skip_serializing_if = "Option::is_none")]
    load: Option<LoadInfo<'a>>,
}

#[derive(Serialize)]
struct LoadInfo<'a> {
    profile: &'static str,
    model: &'static str,
    /// `service` or `command`.
    target: &'static str,
    planned_ns: u64,
    max_in_flight: usize,
    timeout_ns: u64,
    stages: Vec<StageInfo<'a>>,
    requests: Vec<RequestInfo<'a>>,
    thresholds: Vec<ThresholdInfo<'a>>,
    gate: GateInfo,
}

/// How `check` gates a load workload.
#[derive(Serialize)]
struct GateInfo {
    /// Arrivals per second (open model) or users (closed).
    level: f64,
    blocks: usize,
    block_ns: u64,
    threshold: f64,
    check: bool,
}

#[derive(Serialize)]
struct StageInfo<'a> {
    name: &'a str,
    duration_ns: u64,
    from: f64,
    to: f64,
}

#[derive(Serialize)]
struct RequestInfo<'a> {
    name: &'a str,
    method: &'a str,
    path: &'a str,
    weight: u32,
}

#[derive(Serialize)]
struct ThresholdInfo<'a> {
    expr: &'a str,
    level: &'static str,
    stage: Option<&'a str>,
    abort_on_fail: bool,
}

fn load_info(spec: &crate::config::LoadSpec) -> LoadInfo<'_> {
    LoadInfo {
        profile: spec.profile.as_str(),
        model: if spec.open { "open" } else { "closed" },
        target: match spec.target {
            crate::config::LoadTarget::Service { .. } => "service",
            crate::config::LoadTarget::Command { .. } => "command",
        },
        planned_ns: spec.planned().as_nanos() as u64,
        max_in_flight: spec.max_in_flight,
        timeout_ns: spec.timeout.as_nanos() as u64,
        stages: spec
            .stages
            .iter()
            .map(|s| StageInfo {
                name: &s.name,
                duration_ns: s.duration.as_nanos() as u64,
                from: s.from,
                to: s.to,
            })
            .collect(),
        requests: spec
            .requests
            .iter()
            .map(|r| RequestInfo {
                name: &r.name,
                method: &r.method,
                path: &r.path,
                weight: r.weight,
            })
            .collect(),
        thresholds: spec
            .thresholds
            .iter()
            .map(|t| ThresholdInfo {
                expr: &t.expr,
                level: t.level.as_str(),
                stage: t.stage.as_deref(),
                abort_on_fail: t.abort_on_fail,
            })
            .collect(),
        gate: GateInfo {
            level: spec.gate.level,
            blocks: spec.gate.blocks,
            block_ns: spec.gate.block.as_nanos() as u64,
            threshold: spec.gate.threshold,
            check: spec.gate.check,
        },
    }
}

#[derive(Serialize)]
struct CriterionInfo<'a> {
    package: &'a str,
    target: &'a str,
    full_id: &'a str,
    group: &'a str,
}

#[derive(Serialize)]
struct ThresholdsNs {
    p50_ns: Option<u64>,
    p90_ns: Option<u64>,
    p95_ns: Option<u64>,
    p99_ns: Option<u64>,
    max_rss_bytes: Option<u64>,
}

impl From<&Thresholds> for ThresholdsNs {
    fn from(t: &Thresholds) -> Self {
        let ns = |d: Option<std::time::Duration>| d.map(|d| d.as_nanos() as u64);
        ThresholdsNs {
            p50_ns: ns(t.p50),
            p90_ns: ns(t.p90),
            p95_ns: ns(t.p95),
            p99_ns: ns(t.p99),
            max_rss_bytes: t.max_rss_bytes,
        }
    }
}

fn info(w: &Workload) -> WorkloadInfo<'_> {
    match &w.kind {
        Kind::Command(c) => WorkloadInfo {
            name: &w.name,
            kind: "command",
            class: c.class,
            class_reason: Cow::Borrowed(&c.class_reason),
            fixture: c.fixture.as_deref(),
            argv: &c.argv,
            cwd: &w.cwd,
            budget_ns: c.budget.as_nanos() as u64,
            timeout_ns: c.timeout.as_nanos() as u64,
            declared_line: c.line,
            sampling: &w.sampling,
            thresholds: (&c.thresholds).into(),
            criterion: None,
            load: None,
        },
        // A criterion benchmark has no class, budget, timeout, argv or line of its own; the
        // fields stay, with the values documented in docs/json.md, so that every workload
        // object has the same shape.
        Kind::Criterion(c) => WorkloadInfo {
            name: &w.name,
            kind: "criterion",
            class: Class::Small,
            class_reason: Cow::Owned(format!("criterion bench `{}`", c.target)),
            fixture: None,
            argv: &[],
            cwd: &w.cwd,
            budget_ns: 0,
            timeout_ns: 0,
            declared_line: 0,
            sampling: &w.sampling,
            thresholds: (&Thresholds::default()).into(),
            criterion: Some(CriterionInfo {
                package: &c.package,
                target: &c.target,
                full_id: &c.full_id,
                group: &c.group,
            }),
            load: None,
        },
        Kind::Load(l) => WorkloadInfo {
            name: &w.name,
            kind: "load",
            class: Class::Small,
            class_reason: Cow::Borrowed("load workload"),
            fixture: None,
            argv: l.spec.target.argv(),
            cwd: &w.cwd,
            budget_ns: 0,
            timeout_ns: l.spec.timeout.as_nanos() as u64,
            declared_line: l.spec.line,
            sampling: &w.sampling,
            thresholds: (&Thresholds::default()).into(),
            criterion: None,
            load: Some(load_info(&l.spec)),
        },
    }
}

#[derive(Serialize)]
struct LoadFinished<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(rename = "workload")]
    info: WorkloadInfo<'a>,
    status: Status,
    failure: Option<&'a str>,
    /// What failed the profile beyond its thresholds (no recovery, memory growth, an abort).
    problems: Vec<String>,
    report: Option<&'a crate::vocab::load::LoadReport>,
}

#[derive(Serialize)]
struct Listed<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(rename = "workload")]
    info: WorkloadInfo<'a>,
}

#[derive(Serialize)]
struct Finished<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(rename = "workload")]
    info: WorkloadInfo<'a>,
    status: Status,
    failure: Option<&'a Failure>,
    n: usize,
    wall_ns: Option<&'a Summary>,
    cpu_ns: Option<&'a Summary>,
    cpu_utilisation: Option<f64>,
    max_rss_bytes: Option<u64>,
    rss_floor_bytes: u64,
    budget: &'a BudgetStatus,
    samples: &'a [Sample],
    /// Units per second at the median, for criterion benchmarks that declare a throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    throughput: Option<super::store::ThroughputJson>,
    /// Criterion's own samples (`wall_ns` summarises the time of one iteration).
    #[serde(skip_serializing_if = "Option::is_none")]
    criterion_samples: Option<CriterionSamples<'a>>,
    /// Things to know about how it was measured (a criterion suite's own settings).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    /// With the instructions metric: what cachegrind counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<CountsJson<'a>>,
}

/// Counted events with the cycles they stand for.
#[derive(Serialize)]
struct CountsJson<'a> {
    #[serde(flatten)]
    counts: &'a crate::vocab::Counts,
    /// `null` without the cache simulation.
    estimated_cycles: Option<u64>,
}

impl<'a> CountsJson<'a> {
    fn new(counts: Option<&'a crate::vocab::Counts>) -> Option<Self> {
        counts.map(|counts| CountsJson {
            counts,
            estimated_cycles: counts.estimated_cycles(),
        })
    }
}

/// Both sides' counts of an instructions verdict.
#[derive(Serialize)]
struct SideCounts<'a> {
    base: Option<CountsJson<'a>>,
    new: Option<CountsJson<'a>>,
}

/// How a check found the growth of a workload over its fixtures.
#[derive(Serialize)]
struct CheckGrowth<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(flatten)]
    finding: &'a crate::gate::GrowthFinding,
}

/// How a workload run over several fixtures grows with their size.
#[derive(Serialize)]
struct GrowthFitted<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(flatten)]
    growth: &'a crate::pipeline::growth::GroupGrowth,
}

#[derive(Serialize)]
struct CriterionSamples<'a> {
    group: &'a str,
    iters: &'a [f64],
    times_ns: &'a [f64],
}

#[derive(Serialize)]
struct RunFinished {
    reason: &'static str,
    schema: u32,
    workloads: usize,
    passed: usize,
    over_budget: usize,
    failed: usize,
    exit_code: i32,
}

fn line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

#[derive(Serialize)]
struct CheckWorkload<'a> {
    reason: &'static str,
    schema: u32,
    #[serde(rename = "workload")]
    info: WorkloadInfo<'a>,
    metric: crate::vocab::Metric,
    /// Load workloads: the figure judged (`p50`, `p95`, `time-per-request`), one object each.
    #[serde(skip_serializing_if = "Option::is_none")]
    figure: Option<crate::gate::LoadFigure>,
    threshold: f64,
    verdict: crate::gate::GateVerdict,
    /// Whether this workload fails the gate.
    fails: bool,
    comparison: Option<&'a crate::stats::Comparison>,
    rounds: usize,
    failure: Option<&'a Failure>,
    budget: &'a BudgetStatus,
    base_samples: &'a [Sample],
    new_samples: &'a [Sample],
    /// For an inconclusive verdict, the largest change its interval still allows (0.081 = 8.1 %).
    hidden_change: Option<f64>,
    /// What an inconclusive verdict could hide and what would decide it, for people.
    undecided: Option<String>,
    notes: &'a [String],
    /// The acceptance that made a regression or a budget breach `accepted`, or `null`.
    accepted: Option<&'a crate::vocab::Acceptance>,
    /// With the instructions metric: each side's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<SideCounts<'a>>,
    /// Why the time changed, when the workload was explained under cachegrind.
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a crate::vocab::Explanation>,
    /// The explanation in words, as the other formats show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    explained: Option<String>,
}

#[derive(Serialize)]
struct CheckFinished<'a> {
    reason: &'static str,
    schema: u32,
    base: &'a str,
    candidate: &'a str,
    stored: bool,
    passed: bool,
    /// How many workloads were compared but not decided (inconclusive).
    undecided: usize,
    /// The summary line: `Passed.`, `FAILED.`, or a pass that says what it could not see.
    conclusion: String,
    exit_code: i32,
    /// `elapsed_ns` (first run to last verdict) and `runs_ns` (every run's wall time).
    timing: Option<crate::gate::GateTiming>,
    /// The check's own cost beyond the workloads' run time, as a share of it.
    overhead: Option<f64>,
    /// Each side's executables by binary name (measured checks only).
    binaries: Option<&'a crate::gate::SideBinaries>,
}

impl super::GateOutput for Json {
    fn gate(&self, report: &super::CheckReport, out: &mut dyn Write) -> io::Result<()> {
        for r in &report.results {
            line(
                out,
                &CheckWorkload {
                    reason: "check-workload",
                    schema: JSON_SCHEMA_VERSION,
                    info: info(&r.candidate.workload),
                    metric: r.metric,
                    figure: r.figure,
                    threshold: r.threshold,
                    verdict: r.verdict,
                    fails: r.fails(report.strict),
                    comparison: r.comparison.as_ref(),
                    rounds: r.candidate.samples.len(),
                    failure: r.candidate.failure.as_ref(),
                    budget: &r.candidate.budget,
                    base_samples: &r.base.samples,
                    new_samples: &r.candidate.samples,
                    hidden_change: super::check::hidden_change(r),
                    undecided: super::check::undecided_line(r),
                    notes: &r.notes,
                    accepted: r.accepted.as_ref(),
                    counts: r.metric.is_exact().then(|| SideCounts {
                        base: CountsJson::new(r.base.counts.as_ref()),
                        new: CountsJson::new(r.candidate.counts.as_ref()),
                    }),
                    explanation: r.explanation.as_ref(),
                    explained: r
                        .explanation
                        .as_ref()
                        .map(|e| super::explain::explanation_text(e, super::explain::decided(r))),
                },
            )?;
        }
        for g in &report.growth {
            line(
                out,
                &CheckGrowth {
                    reason: "check-growth",
                    schema: JSON_SCHEMA_VERSION,
                    finding: g,
                },
            )?;
        }
        line(
            out,
            &CheckFinished {
                reason: "check-finished",
                schema: JSON_SCHEMA_VERSION,
                base: &report.base,
                candidate: &report.candidate,
                stored: report.stored,
                passed: report.passed(),
                undecided: report.undecided().len(),
                conclusion: report.conclusion(),
                exit_code: report.exit_code,
                timing: report.timing,
                overhead: report.timing.and_then(|t| t.overhead()),
                binaries: report.binaries.as_ref(),
            },
        )
    }
}

impl super::ListOutput for Json {
    fn list(&self, workloads: &[Workload], out: &mut dyn Write) -> io::Result<()> {
        for w in workloads {
            line(
                out,
                &Listed {
                    reason: "workload-listed",
                    schema: JSON_SCHEMA_VERSION,
                    info: info(w),
                },
            )?;
        }
        Ok(())
    }
}

impl super::RunOutput for Json {
    fn result(&self, r: &WorkloadResult, out: &mut dyn Write) -> io::Result<()> {
        line(
            out,
            &Finished {
                reason: "workload-finished",
                schema: JSON_SCHEMA_VERSION,
                info: info(&r.workload),
                status: r.status(),
                failure: r.failure.as_ref(),
                n: r.n(),
                wall_ns: r.wall_ns.as_ref(),
                cpu_ns: r.cpu_ns.as_ref(),
                cpu_utilisation: r.cpu_utilisation,
                max_rss_bytes: r.max_rss_bytes,
                rss_floor_bytes: r.rss_floor_bytes,
                budget: &r.budget,
                samples: &r.samples,
                throughput: super::store::ThroughputJson::new(
                    r.criterion.as_ref().and_then(|c| c.throughput.as_ref()),
                    r.wall_ns.as_ref().map(|s| s.median),
                ),
                criterion_samples: r.criterion.as_ref().map(|c| CriterionSamples {
                    group: &c.group,
                    iters: &c.iters,
                    times_ns: &c.times_ns,
                }),
                notes: &r.notes,
                counts: CountsJson::new(r.counts.as_ref()),
            },
        )?;
        // Each object reaches a reader of the pipe as soon as its workload is done.
        out.flush()
    }

    fn load(&self, r: &crate::pipeline::LoadResult, out: &mut dyn Write) -> io::Result<()> {
        line(
            out,
            &LoadFinished {
                reason: "load-finished",
                schema: JSON_SCHEMA_VERSION,
                info: info(&r.workload),
                status: r.status(),
                failure: r.failure.as_deref(),
                problems: r
                    .report
                    .as_ref()
                    .map(crate::pipeline::problems)
                    .unwrap_or_default(),
                report: r.report.as_ref(),
            },
        )?;
        out.flush()
    }

    fn run(
        &self,
        results: &[WorkloadResult],
        loads: &[crate::pipeline::LoadResult],
        exit_code: i32,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        for g in crate::pipeline::growth::fit_groups(results) {
            line(
                out,
                &GrowthFitted {
                    reason: "growth-fitted",
                    schema: JSON_SCHEMA_VERSION,
                    growth: &g,
                },
            )?;
        }
        let count = |s| {
            results.iter().filter(|r| r.status() == s).count()
                + loads.iter().filter(|r| r.status() == s).count()
        };
        line(
            out,
            &RunFinished {
                reason: "run-finished",
                schema: JSON_SCHEMA_VERSION,
                workloads: results.len() + loads.len(),
                passed: count(Status::Passed),
                over_budget: count(Status::OverBudget),
                failed: count(Status::Failed),
                exit_code,
            },
        )
    }
}
