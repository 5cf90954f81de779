//! Load workloads for people: a table of stages, the requests when there are several, what the
//! profile found, and the thresholds.

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::pipeline::{LoadResult, problems};
use crate::vocab::Status;
use crate::vocab::load::{Figures, LoadReport, Recovery};
use crate::vocab::service_metrics::ServiceMetrics;
use crate::vocab::units::{format_bytes, format_ns};

use super::escape::terminal as t;

fn errors_cell(f: &Figures) -> String {
    if f.errors.total() == 0 {
        return "0".into();
    }
    let mut kinds = Vec::new();
    for (code, n) in &f.errors.status {
        kinds.push(format!("{n}×{code}"));
    }
    for (what, n) in [
        ("connect", f.errors.connect),
        ("timeout", f.errors.timeout),
        ("other", f.errors.other),
    ] {
        if n > 0 {
            kinds.push(format!("{n} {what}"));
        }
    }
    format!("{:.2}% ({})", 100.0 * f.error_rate(), kinds.join(", "))
}

fn row(name: &str, f: &Figures) -> Vec<String> {
    let ns = |v: u64| {
        if f.requests == 0 {
            "-".into()
        } else {
            format_ns(v as f64)
        }
    };
    vec![
        t(name).into_owned(),
        f.requests.to_string(),
        format!("{:.1}", f.offered_rps),
        format!("{:.1}", f.achieved_rps),
        ns(f.latency.p50),
        ns(f.latency.p90),
        ns(f.latency.p95),
        ns(f.latency.p99),
        ns(f.latency.p999),
        ns(f.latency.max),
        errors_cell(f),
        f.dropped.to_string(),
        f.cpu_mean.map_or("-".into(), |c| format!("{c:.0}%")),
        f.rss_max.map_or("-".into(), format_bytes),
    ]
}

fn recovery_text(r: &Recovery) -> String {
    match r.seconds {
        Some(s) if r.recovered && s == 0.0 => format!(
            "recovered at once (no error, and p95 within {:.1}x of {} from the first second)",
            r.factor,
            format_ns(r.baseline_p95 as f64)
        ),
        Some(s) if r.recovered => format!(
            "recovered after {s:.0} s (errors stopped and p95 back within {:.1}x of {})",
            r.factor,
            format_ns(r.baseline_p95 as f64)
        ),
        _ => format!(
            "did NOT recover: errors went on or p95 stayed above {:.1}x of {}",
            r.factor,
            format_ns(r.baseline_p95 as f64)
        ),
    }
}

/// One load workload's section.
pub fn render(result: &LoadResult, out: &mut dyn Write) -> io::Result<()> {
    let name = t(&result.workload.name);
    let Some(report) = &result.report else {
        writeln!(out, "\n{name} (load) FAILED:")?;
        for line in result.failure.as_deref().unwrap_or("").lines() {
            writeln!(out, "  {}", t(line))?;
        }
        return Ok(());
    };
    section(&result.workload.name, report, out)
}

/// What a load workload measured, as `run` shows it and `show` shows it from a record.
pub fn section(name: &str, report: &LoadReport, out: &mut dyn Write) -> io::Result<()> {
    let name = t(name);
    writeln!(
        out,
        "\n{name}: {} profile, {} model",
        t(&report.profile),
        t(&report.model)
    )?;
    table(report, out)?;
    for line in findings(report) {
        writeln!(out, "  {}", t(&line))?;
    }
    if let Some(service) = &report.service {
        for line in service_lines(service) {
            writeln!(out, "  {}", t(&line))?;
        }
    }
    for th in &report.thresholds {
        writeln!(
            out,
            "  {} {} {}{}: {}",
            if th.held { "ok  " } else { "FAIL" },
            t(&th.level),
            t(&th.expr),
            th.stage
                .as_ref()
                .map_or(String::new(), |s| format!(" (stage {})", t(s))),
            t(&th.actual)
        )?;
    }
    for w in &report.warnings {
        writeln!(out, "  warning: {}", t(w))?;
    }
    for p in problems(report) {
        writeln!(out, "  FAILED: {}", t(&p))?;
    }
    Ok(())
}

/// Lines shown of each type of the service's series; the JSON and the record have them all.
const SHOWN_SERIES: usize = 8;

/// The service's own figures: each histogram's quantiles (as durations when it is in seconds),
/// each counter's rate, each gauge's last value.
pub fn service_lines(m: &ServiceMetrics) -> Vec<String> {
    let mut lines = vec![format!(
        "service's own metrics ({}, over {:.1} s):",
        m.url, m.seconds
    )];
    let series = |name: &str, labels: &str| {
        if labels.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{labels}}}")
        }
    };
    for h in m.histograms.iter().take(SHOWN_SERIES) {
        let seconds = h.name.ends_with("_seconds");
        let v = |x: Option<f64>| match x {
            Some(x) if seconds => format_ns(x * 1e9),
            Some(x) => format!("{x}"),
            None => "-".into(),
        };
        lines.push(format!(
            "  {}: {} observed, p50 {}, p90 {}, p95 {}, p99 {}",
            series(&h.name, &h.labels),
            h.count,
            v(h.p50),
            v(h.p90),
            v(h.p95),
            v(h.p99)
        ));
    }
    for c in m.counters.iter().take(SHOWN_SERIES) {
        lines.push(format!(
            "  {}: +{} ({:.1}/s)",
            series(&c.name, &c.labels),
            c.increase,
            c.per_second
        ));
    }
    for g in m.gauges.iter().take(SHOWN_SERIES) {
        lines.push(format!("  {}: {}", series(&g.name, &g.labels), g.value));
    }
    let more = [m.histograms.len(), m.counters.len(), m.gauges.len()]
        .iter()
        .map(|n| n.saturating_sub(SHOWN_SERIES))
        .sum::<usize>();
    if more > 0 {
        lines.push(format!(
            "  and {more} more series (--message-format json shows them)"
        ));
    }
    for w in &m.warnings {
        lines.push(format!("  warning: {w}"));
    }
    lines
}

/// What the profile found, one line each: the breaking point and recovery of a stress, the
/// recovery of a spike, the drift of a soak. Text from the record is not escaped here.
pub fn findings(report: &LoadReport) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &report.stress {
        out.push(match (s.breaking_point_rps, s.broke_at_rps) {
            (Some(p), Some(b)) => format!(
                "breaking point: {p:.0}/s (at {b:.0}/s broke: {})",
                s.broke.join(", ")
            ),
            (Some(p), None) => {
                format!("breaking point: not reached; every threshold held up to {p:.0}/s")
            }
            (None, _) => format!(
                "breaking point: none; the first step already broke {}",
                s.broke.join(", ")
            ),
        });
        if let Some(r) = &s.recovery {
            out.push(format!("recovery: {}", recovery_text(r)));
        }
    }
    if let Some(r) = &report.spike {
        out.push(format!("recovery: {}", recovery_text(r)));
    }
    if let Some(d) = &report.soak {
        out.push(format!(
            "drift per hour: p95 {}, RSS {}, open files {}",
            if d.p95_per_hour.abs() < 1.0 {
                "±0".to_string()
            } else {
                format!(
                    "{}{}",
                    if d.p95_per_hour < 0.0 { "-" } else { "+" },
                    format_ns(d.p95_per_hour.abs())
                )
            },
            d.rss_per_hour.map_or("-".into(), |r| format!(
                "{}{}",
                if r < 0.0 { "-" } else { "+" },
                format_bytes(r.abs() as u64)
            )),
            d.fds_per_hour.map_or("-".into(), |f| format!("{f:+.1}"))
        ));
        if d.memory_grows {
            out.push(format!(
                "memory grows without bound: RSS went from {} to {} at a steady pace",
                d.rss_start.map_or("-".into(), format_bytes),
                d.rss_end.map_or("-".into(), format_bytes)
            ));
        }
    }
    out
}

fn table(report: &LoadReport, out: &mut dyn Write) -> io::Result<()> {
    let mut b = Builder::default();
    b.push_record([
        "stage",
        "requests",
        "offered/s",
        "achieved/s",
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "max",
        "errors",
        "dropped",
        "CPU",
        "peak RSS",
    ]);
    for s in &report.stages {
        b.push_record(row(&s.name, &s.figures));
        if s.requests.len() > 1 {
            for (name, f) in &s.requests {
                b.push_record(row(&format!("  {name}"), f));
            }
        }
    }
    if report.stages.len() > 1 {
        b.push_record(row("all", &report.overall));
    }
    let mut table = b.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(1..10), Alignment::right());
    for line in table.to_string().lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// How many load workloads passed and failed.
pub fn counts(results: &[LoadResult]) -> (usize, usize) {
    let passed = results
        .iter()
        .filter(|r| r.status() == Status::Passed)
        .count();
    (passed, results.len() - passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::load::{Breaking, Drift};

    fn report() -> LoadReport {
        LoadReport {
            profile: "stress".into(),
            model: "open".into(),
            overall: Figures::default(),
            stages: vec![],
            series: vec![],
            thresholds: vec![],
            stress: None,
            spike: None,
            soak: None,
            warnings: vec![],
            aborted: None,
            service: None,
        }
    }

    #[test]
    fn findings_of_each_profile() {
        let recovery = Recovery {
            recovered: true,
            seconds: Some(3.0),
            baseline_p95: 4_600_000,
            factor: 1.5,
        };
        let mut r = report();
        r.stress = Some(Breaking {
            breaking_point_rps: Some(500.0),
            broke_at_rps: Some(700.0),
            broke: vec!["p(95) < 50ms".into()],
            recovery: Some(recovery.clone()),
        });
        assert_eq!(
            findings(&r),
            [
                "breaking point: 500/s (at 700/s broke: p(95) < 50ms)",
                "recovery: recovered after 3 s (errors stopped and p95 back within 1.5x of 4.6 ms)"
            ]
        );
        r.stress = Some(Breaking {
            breaking_point_rps: None,
            broke_at_rps: Some(100.0),
            broke: vec!["rate < 1%".into()],
            recovery: Some(Recovery {
                recovered: false,
                seconds: None,
                ..recovery
            }),
        });
        assert_eq!(
            findings(&r),
            [
                "breaking point: none; the first step already broke rate < 1%",
                "recovery: did NOT recover: errors went on or p95 stayed above 1.5x of 4.6 ms"
            ]
        );
        let mut r = report();
        r.soak = Some(Drift {
            p95_per_hour: -2_000_000.0,
            rss_per_hour: Some(3.0 * 1024.0 * 1024.0),
            fds_per_hour: Some(0.0),
            rss_fit: Some(0.95),
            memory_grows: true,
            rss_start: Some(10 << 20),
            rss_end: Some(13 << 20),
        });
        assert_eq!(
            findings(&r),
            [
                "drift per hour: p95 -2.0 ms, RSS +3.0 MiB, open files +0.0",
                "memory grows without bound: RSS went from 10.0 MiB to 13.0 MiB at a steady pace"
            ]
        );
    }
}
