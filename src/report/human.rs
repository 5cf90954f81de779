//! Tables for people.

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::discover::{Kind, Workload};
use crate::pipeline::WorkloadResult;
use crate::stats::Breach;
use crate::vocab::Status;
use crate::vocab::marks::{BudgetMark, PeakRss};
use crate::vocab::units::{format_bytes, format_count, format_duration, format_ns};

/// Terminal tables, then details of anything that failed or broke a limit.
pub struct Human;

impl super::GateOutput for Human {
    fn gate(&self, report: &super::CheckReport, out: &mut dyn Write) -> io::Result<()> {
        check_table(report, out)
    }
}

impl super::ListOutput for Human {
    fn list(&self, workloads: &[Workload], out: &mut dyn Write) -> io::Result<()> {
        let mut b = Builder::default();
        b.push_record([
            "workload", "kind", "class", "why", "budget", "timeout", "declared",
        ]);
        for w in workloads {
            b.push_record(match &w.kind {
                Kind::Command(c) => [
                    t(&w.name),
                    "command".into(),
                    c.class.as_str().into(),
                    t(&c.class_reason),
                    format_duration(c.budget),
                    format_duration(c.timeout),
                    format!("{}:{}", crate::config::MANIFEST_NAME, c.line),
                ],
                Kind::Criterion(c) => [
                    t(&w.name),
                    "criterion".into(),
                    "-".into(),
                    t(&format!("group `{}`", c.group)),
                    "-".into(),
                    "-".into(),
                    t(&format!("[[bench]] {} ({})", c.target, c.package)),
                ],
                Kind::Load(l) => [
                    t(&w.name),
                    "load".into(),
                    "-".into(),
                    t(&crate::config::describe_load(&l.spec)),
                    "-".into(),
                    "-".into(),
                    format!("{}:{}", crate::config::MANIFEST_NAME, l.spec.line),
                ],
            });
        }
        let mut table = b.build();
        table.with(Style::sharp());
        writeln!(out, "{table}")?;
        writeln!(
            out,
            "{}",
            crate::vocab::units::plural(workloads.len(), "workload")
        )
    }
}

impl super::RunOutput for Human {
    fn run(
        &self,
        results: &[WorkloadResult],
        loads: &[crate::pipeline::LoadResult],
        _: i32,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if !results.is_empty() {
            run_table(results, out)?;
        }
        growth_lines(&crate::pipeline::growth::fit_groups(results), out)?;
        for l in loads {
            super::load::render(l, out)?;
        }
        let (load_passed, load_failed) = super::load::counts(loads);
        let count = |s| results.iter().filter(|r| r.status() == s).count();
        writeln!(
            out,
            "{}{}: {} passed, {} over budget, {} failed",
            if loads.is_empty() { "" } else { "\n" },
            crate::vocab::units::plural(results.len() + loads.len(), "workload"),
            count(Status::Passed) + load_passed,
            count(Status::OverBudget),
            count(Status::Failed) + load_failed
        )
    }
}

/// The table of command and criterion workloads of a run, and the details of failures.
fn run_table(results: &[WorkloadResult], out: &mut dyn Write) -> io::Result<()> {
    {
        let mut b = Builder::default();
        let with_throughput = results
            .iter()
            .any(|r| r.criterion.as_ref().is_some_and(|c| c.throughput.is_some()));
        let with_counts = results.iter().any(|r| r.counts.is_some());
        let mut header = vec![
            "workload", "class", "n", "p50", "p90", "p95", "p99", "CPU", "peak RSS", "budget",
        ];
        if with_throughput {
            header.push("throughput");
        }
        if with_counts {
            header.push("instructions");
        }
        b.push_record(header);
        let ns = |v: Option<f64>| v.map_or("-".to_string(), format_ns);
        for r in results {
            let w = r.wall_ns.as_ref();
            let class = r.workload.command().map(|c| c.class);
            let mut row = vec![
                t(&r.workload.name),
                class.map_or("-".into(), |c| c.as_str().into()),
                r.n().to_string(),
                ns(w.map(|s| s.median)),
                ns(w.map(|s| s.p90)),
                ns(w.map(|s| s.p95)),
                ns(w.map(|s| s.p99)),
                ns(r.cpu_ns.as_ref().map(|s| s.median)),
                PeakRss {
                    bytes: r.max_rss_bytes,
                    floor_bytes: r.rss_floor_bytes,
                }
                .to_string(),
                budget_cell(r),
            ];
            if with_throughput {
                row.push(match (r.criterion.as_ref().and_then(|c| c.throughput), w) {
                    (Some(t), Some(s)) => t.format(s.median),
                    _ => "-".into(),
                });
            }
            if with_counts {
                row.push(
                    r.counts
                        .map_or("-".into(), |c| format_count(c.instructions as f64)),
                );
            }
            b.push_record(row);
        }
        let mut table = b.build();
        let last = 10 + usize::from(with_throughput) + usize::from(with_counts);
        table
            .with(Style::sharp())
            .modify(Columns::new(2..9), Alignment::right())
            .modify(Columns::new(10..last), Alignment::right());
        writeln!(out, "{table}")?;
        for r in results {
            details(r, out)?;
        }
        if with_counts {
            writeln!(out)?;
        }
        for r in results {
            if let Some(c) = &r.counts {
                writeln!(out, "{}: {}", t(&r.workload.name), counts_line(c))?;
            }
        }
        notes(results, out)
    }
}

/// How each workload run over several fixtures grows with their size.
fn growth_lines(
    groups: &[crate::pipeline::growth::GroupGrowth],
    out: &mut dyn Write,
) -> io::Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nGrowth with fixture size (time ~ n^k, 95% interval):"
    )?;
    for g in groups {
        let sizes: Vec<f64> = g.points.iter().map(|p| p.size).collect();
        let (lo, hi) = sizes
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        writeln!(
            out,
            "  {}: {} over {} fixtures, {} {} to {}",
            t(&g.group),
            crate::pipeline::growth::exponent_text(g.exponent, &g.ci),
            g.points.len(),
            g.size_unit.replace("declared", "size"),
            format_count(lo),
            format_count(hi),
        )?;
    }
    Ok(())
}

/// What cachegrind counted, for people.
pub(super) fn counts_line(c: &crate::vocab::Counts) -> String {
    let processes = if c.processes == 1 {
        "1 process".to_owned()
    } else {
        format!("{} processes", c.processes)
    };
    match c.estimated_cycles() {
        Some(cycles) => format!(
            "{} instructions, {} L1 and {} last-level cache misses, about {} cycles \
             (cachegrind, {processes})",
            format_count(c.instructions as f64),
            format_count(c.l1_misses as f64),
            format_count(c.ll_misses as f64),
            format_count(cycles as f64),
        ),
        None => format!(
            "{} instructions (cachegrind without its cache simulation, {processes})",
            format_count(c.instructions as f64),
        ),
    }
}

/// The notes of the results, each text once with the workloads it concerns.
fn notes(results: &[WorkloadResult], out: &mut dyn Write) -> io::Result<()> {
    let grouped = super::check::group_notes(
        results
            .iter()
            .map(|r| (r.workload.name.as_str(), r.notes.as_slice())),
    );
    for (names, text) in grouped {
        writeln!(out, "\nnote: {}: {}", t(&names), t(text))?;
    }
    Ok(())
}

/// Text from users (names, commands, criterion ids), with control characters shown escaped.
fn t(text: &str) -> String {
    super::escape::terminal(text).into_owned()
}

fn budget_cell(r: &WorkloadResult) -> String {
    BudgetMark {
        status: r.status(),
        // Criterion benchmarks have no duration budget.
        budget_ns: r
            .workload
            .command()
            .map_or(0, |c| c.budget.as_nanos() as u64),
        p95_ns: r.wall_ns.as_ref().map(|w| w.p95),
    }
    .to_string()
}

fn details(r: &WorkloadResult, out: &mut dyn Write) -> io::Result<()> {
    if let Some(f) = &r.failure {
        let when = if let Some(c) = r.workload.criterion() {
            format!("in criterion bench `{}`", c.target)
        } else if f.during_warmup {
            "in a warm-up run".to_string()
        } else {
            format!("in run {}", r.samples.len() + 1)
        };
        writeln!(
            out,
            "\n{} failed {}: {}",
            t(&r.workload.name),
            t(&when),
            t(&f.reason)
        )?;
        match &r.workload.kind {
            Kind::Criterion(c) => writeln!(
                out,
                "  reproduce: cargo bench -p {} --bench {} -- '{}'",
                t(&c.package_spec),
                t(&c.target),
                t(
                    &crate::measure::criterion::filter_regex(std::slice::from_ref(&c.full_id))
                        .replace('\'', r"'\''")
                )
            )?,
            Kind::Command(c) => writeln!(out, "  command: {}", t(&c.argv.join(" ")))?,
            Kind::Load(l) => writeln!(out, "  command: {}", t(&l.spec.target.argv().join(" ")))?,
        }
        if !f.stderr_tail.is_empty() {
            writeln!(out, "  last lines of stderr:")?;
            for line in f.stderr_tail.lines() {
                writeln!(out, "  | {}", t(line))?;
            }
        }
    }
    let breaches: Vec<&Breach> = r
        .budget
        .breaches
        .iter()
        .filter(|b| b.limit != "timeout")
        .collect();
    if !breaches.is_empty() {
        writeln!(out, "\n{} is over a limit:", t(&r.workload.name))?;
        for b in breaches {
            writeln!(out, "  {}", describe(b, r))?;
        }
    }
    Ok(())
}

fn describe(b: &Breach, r: &WorkloadResult) -> String {
    let actual = b.actual.unwrap_or(f64::NAN);
    match b.limit {
        "max_rss" => format!(
            "peak RSS {} > max_rss {}",
            format_bytes(actual as u64),
            format_bytes(b.allowed as u64)
        ),
        "budget" => format!(
            "p95 wall time {} > the {} class budget {}",
            format_ns(actual),
            r.workload.command().map_or("-", |c| c.class.as_str()),
            format_ns(b.allowed)
        ),
        limit => format!(
            "{limit} wall time {} > threshold {}",
            format_ns(actual),
            format_ns(b.allowed)
        ),
    }
}

/// The check's table, and the reasons it failed.
pub(super) fn check_table(report: &super::CheckReport, out: &mut dyn Write) -> io::Result<()> {
    use super::check::{
        accepted_line, budget_cell, change_cell, failure_line, median_cells, metric_word, p_cell,
        undecided_line,
    };
    writeln!(
        out,
        "{}: base {} → candidate {}",
        report.title,
        t(&report.base),
        t(&report.candidate)
    )?;
    if let Some(caveat) = report.stored_caveat() {
        writeln!(out, "stored comparison: {caveat}")?;
    }
    let mut b = Builder::default();
    b.push_record([
        "workload",
        "metric",
        "base",
        "new",
        "change [95% CI]",
        "p",
        "verdict",
        "budget",
    ]);
    for r in &report.results {
        let (base, new) = median_cells(r);
        b.push_record([
            t(&r.candidate.workload.name),
            metric_word(r).into(),
            base,
            new,
            change_cell(r),
            p_cell(r),
            super::explain::verdict_cell(r),
            budget_cell(r),
        ]);
    }
    let mut table = b.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(2..6), Alignment::right());
    writeln!(out, "{table}")?;
    for r in &report.results {
        if let Some(line) = failure_line(r, report.strict) {
            writeln!(out, "  {}", t(&line))?;
            if let Some(f) = &r.candidate.failure {
                for l in f.stderr_tail.lines() {
                    writeln!(out, "  | {}", t(l))?;
                }
            }
        }
    }
    let explained: Vec<String> = report
        .results
        .iter()
        .filter_map(super::explain::explanation_line)
        .collect();
    if !explained.is_empty() {
        writeln!(out, "Explained (each side's binary once under cachegrind):")?;
        for line in explained {
            writeln!(out, "  {}", t(&line))?;
        }
    }
    let accepted: Vec<String> = report.results.iter().filter_map(accepted_line).collect();
    if !accepted.is_empty() {
        writeln!(out, "Accepted (intended changes, not failing the gate):")?;
        for line in accepted {
            writeln!(out, "  {}", t(&line))?;
        }
    }
    if !report.growth.is_empty() {
        writeln!(out, "Growth with fixture size (time ~ n^k):")?;
        for g in &report.growth {
            writeln!(out, "  {}", t(&super::check::growth_line(g)))?;
        }
    }
    let undecided: Vec<String> = report.results.iter().filter_map(undecided_line).collect();
    if !undecided.is_empty() {
        writeln!(out, "Not decided:")?;
        for line in undecided {
            writeln!(out, "  {}", t(&line))?;
        }
    }
    for (names, text) in super::check::grouped_notes(&report.results) {
        writeln!(out, "  note: {}: {}", t(&names), t(text))?;
    }
    writeln!(
        out,
        "{}: {}. {}",
        report.size(),
        report.counts(),
        report.conclusion()
    )
}
