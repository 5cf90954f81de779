//! Tables of stored records: `history` and `show`.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::JSON_SCHEMA_VERSION;
use crate::store::{Point, Record, short};
use crate::vocab::marks::{BudgetMark, PeakRss};
use crate::vocab::units::{Ns, Signed, format_bytes, format_ns};
use crate::vocab::{Status, Throughput};

/// One workload at one commit, for `history`. It borrows: 500,000 of them (50 workloads over
/// 10,000 commits) would otherwise copy half a gigabyte of points.
#[derive(Debug, Clone)]
pub struct HistoryPoint<'a> {
    pub commit: &'a str,
    pub subject: &'a str,
    pub point: &'a Point,
    /// Median wall time relative to the previous point of the same workload and machine.
    pub change: Option<f64>,
    /// The reason of an acceptance of this commit that covers the workload: its change is
    /// intended.
    pub accepted: Option<String>,
}

fn ns(v: Option<f64>) -> String {
    v.map_or("-".into(), format_ns)
}

/// The throughput at the median time of one iteration, `-` when the bench declares none; for a
/// load workload, the requests per second that completed.
fn throughput(t: Option<&Throughput>, median_ns: Option<f64>, rps: Option<f64>) -> String {
    match (t, median_ns, rps) {
        (Some(t), Some(m), _) => t.format(m),
        (_, _, Some(rps)) => format!("{rps:.1} req/s"),
        _ => "-".into(),
    }
}

/// Text from a record or a commit, with control characters shown escaped.
fn t(text: &str) -> String {
    super::escape::terminal(text).into_owned()
}

/// `history` for people, newest first.
fn history_table(
    points: &[HistoryPoint<'_>],
    with_machine: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut header = vec![
        "commit", "subject", "workload", "n", "median", "p95", "CPU", "peak RSS", "change",
    ];
    let with_throughput = points
        .iter()
        .any(|p| p.point.throughput.is_some() || p.point.rps.is_some());
    if with_throughput {
        header.push("throughput");
    }
    if with_machine {
        header.push("machine");
    }
    let mut table = super::table::Table::new(&header);
    table.extend(points, |p, cells| {
        let x = &p.point;
        // The 50 rows of a commit share its id and subject.
        cells.push_shared(p.commit.as_ptr() as usize, |cell| {
            cell.push_str(&super::escape::terminal(short(p.commit)));
        });
        cells.push_shared(p.subject.as_ptr() as usize, |cell| {
            cell.extend(super::escape::terminal(p.subject).chars().take(32));
        });
        if x.dirty {
            cells.append(" (dirty)");
        }
        cells.push(&super::escape::terminal(&x.workload));
        cells.push_fmt(format_args!("{}", x.n));
        for v in [x.median_ns, x.p95_ns, x.cpu_median_ns] {
            match v {
                Some(v) => cells.push_fmt(format_args!("{}", Ns(v))),
                None => cells.push("-"),
            }
        }
        cells.push_fmt(format_args!(
            "{}",
            PeakRss {
                bytes: x.max_rss_bytes,
                floor_bytes: x.rss_floor_bytes,
            }
        ));
        match (p.change, x.status, &p.accepted) {
            (_, Status::Failed, _) => cells.push("FAILED"),
            (Some(c), _, Some(_)) => {
                cells.push_fmt(format_args!("{}% accepted", Signed(c * 100.0, 1)))
            }
            (None, _, Some(_)) => cells.push("accepted"),
            (Some(c), _, None) => cells.push_fmt(format_args!("{}%", Signed(c * 100.0, 1))),
            (None, Status::OverBudget, None) => cells.push("OVER"),
            (None, _, None) => cells.push("-"),
        }
        if x.status == Status::OverBudget && (p.change.is_some() || p.accepted.is_some()) {
            cells.append(" OVER");
        }
        if with_throughput {
            cells.push(&throughput(x.throughput.as_ref(), x.median_ns, x.rps));
        }
        if with_machine {
            cells.push(&super::escape::terminal(&x.machine));
        }
    });
    table.write(3..9, out)?;
    writeln!(out)
}

#[derive(Serialize)]
struct PointJson<'a> {
    reason: &'static str,
    schema: u32,
    commit: &'a str,
    subject: &'a str,
    time: &'a str,
    machine: &'a str,
    dirty: bool,
    run_id: &'a str,
    workload: &'a str,
    status: Status,
    n: usize,
    median_ns: Option<f64>,
    p95_ns: Option<f64>,
    cpu_median_ns: Option<f64>,
    max_rss_bytes: Option<u64>,
    /// A peak at or below this is only an upper bound (`≤` in the table); 0: none.
    rss_floor_bytes: u64,
    change: Option<f64>,
    /// Why the commit's change of this workload is intended, when it was accepted.
    accepted: Option<&'a str>,
    /// Units per second at the median, for criterion benchmarks that declare a throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    throughput: Option<ThroughputJson>,
    /// Load workloads: requests per second that completed (`median_ns` is the p50 latency).
    #[serde(skip_serializing_if = "Option::is_none")]
    requests_per_second: Option<f64>,
}

/// A throughput in JSON output.
#[derive(Serialize)]
pub struct ThroughputJson {
    /// `elements`, `bytes` or `bits`.
    pub unit: crate::vocab::ThroughputUnit,
    pub per_iteration: u64,
    pub per_second: Option<f64>,
}

impl ThroughputJson {
    pub fn new(t: Option<&Throughput>, median_ns: Option<f64>) -> Option<Self> {
        let t = t?;
        Some(ThroughputJson {
            unit: t.unit,
            per_iteration: t.per_iteration,
            per_second: median_ns.and_then(|m| t.per_second(m)),
        })
    }
}

/// `history --message-format json`: a `history-point` object per line, newest first.
fn history_json(points: &[HistoryPoint<'_>], out: &mut dyn Write) -> io::Result<()> {
    let lines = |chunk: &[HistoryPoint<'_>]| -> Vec<u8> {
        let mut buf = Vec::new();
        for p in chunk {
            let x = &p.point;
            let line = PointJson {
                reason: "history-point",
                schema: JSON_SCHEMA_VERSION,
                commit: p.commit,
                subject: p.subject,
                time: &x.time,
                machine: &x.machine,
                dirty: x.dirty,
                run_id: &x.run_id,
                workload: &x.workload,
                status: x.status,
                n: x.n,
                median_ns: x.median_ns,
                p95_ns: x.p95_ns,
                cpu_median_ns: x.cpu_median_ns,
                throughput: ThroughputJson::new(x.throughput.as_ref(), x.median_ns),
                requests_per_second: x.rps,
                max_rss_bytes: x.max_rss_bytes,
                rss_floor_bytes: x.rss_floor_bytes,
                change: p.change,
                accepted: p.accepted.as_deref(),
            };
            // Writing to a Vec cannot fail, nor serializing strings and numbers.
            let _ = serde_json::to_writer(&mut buf, &line);
            buf.push(b'\n');
        }
        buf
    };
    for buf in crate::parallel::in_runs(points, lines) {
        out.write_all(&buf)?;
    }
    Ok(())
}

/// One stored record for people: where and when it was measured, then its workloads.
fn record_text(r: &Record, subject: &str) -> String {
    let mut b = Builder::default();
    let with_throughput = r
        .workloads
        .iter()
        .any(|w| w.summary.throughput.is_some() || w.summary.rps.is_some());
    let with_counts = r.workloads.iter().any(|w| w.counts.is_some());
    let mut header = vec![
        "workload", "n", "p50", "p90", "p95", "p99", "CPU", "peak RSS", "budget",
    ];
    if with_throughput {
        header.push("throughput");
    }
    if with_counts {
        header.push("instructions");
    }
    b.push_record(header);
    for w in &r.workloads {
        let s = &w.summary;
        let wall = s.wall_ns.as_ref();
        let mut row = vec![
            t(&w.name),
            s.n.to_string(),
            ns(wall.map(|w| w.median)),
            ns(wall.map(|w| w.p90)),
            ns(wall.map(|w| w.p95)),
            ns(wall.map(|w| w.p99)),
            ns(s.cpu_ns.as_ref().map(|c| c.median)),
            PeakRss {
                bytes: s.max_rss_bytes,
                floor_bytes: s.rss_floor_bytes,
            }
            .to_string(),
            BudgetMark {
                status: w.status,
                budget_ns: w.budget_ns,
                p95_ns: wall.map(|w| w.p95),
            }
            .to_string(),
        ];
        if with_throughput {
            row.push(throughput(
                s.throughput.as_ref(),
                wall.map(|w| w.median),
                s.rps,
            ));
        }
        if with_counts {
            row.push(w.counts.map_or("-".into(), |c| {
                crate::vocab::units::format_count(c.instructions as f64)
            }));
        }
        b.push_record(row);
    }
    let mut table = b.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(1..9), Alignment::right());
    // Why each failed workload failed, below the table as `run` gives it.
    let failures: String = r
        .workloads
        .iter()
        .filter_map(|w| {
            Some(format!(
                "\n{} failed: {}",
                t(&w.name),
                t(w.failure.as_ref()?)
            ))
        })
        .collect();
    let mut loads = Vec::new();
    for w in &r.workloads {
        if let Some(l) = &w.load {
            // Writing to a Vec cannot fail.
            let _ = super::load::section(&w.name, l, &mut loads);
        }
    }
    // A blank line between the table and each load workload's section.
    let loads = String::from_utf8_lossy(&loads).into_owned();
    let loads = if loads.is_empty() {
        loads
    } else {
        format!("\n{loads}")
    };
    // Everything but the figures comes from a note that may have been fetched from anywhere.
    format!(
        "record {} of commit {} {}{}\n  measured {} by cargo-perf {} with {}\n  machine {}: {}, {}, {}, {}\n{}{table}{failures}{}",
        t(&r.run_id),
        t(short(&r.commit)),
        t(subject),
        if r.dirty { " (dirty working tree)" } else { "" },
        t(&r.time),
        t(&r.tool_version),
        t(&r.rustc),
        t(&r.machine.key),
        t(&r.machine.cpu),
        crate::vocab::units::plural(r.machine.cores as usize, "core"),
        format_bytes(r.machine.memory_bytes),
        t(&r.machine.os),
        match &r.partition {
            Some(p) => format!("  shards {}\n", t(p)),
            None => String::new(),
        },
        loads.trim_end(),
    )
}

impl super::HistoryOutput for super::Human {
    fn history(
        &self,
        points: &[HistoryPoint<'_>],
        with_machine: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        history_table(points, with_machine, out)
    }
}

impl super::HistoryOutput for super::Json {
    fn history(&self, points: &[HistoryPoint<'_>], _: bool, out: &mut dyn Write) -> io::Result<()> {
        history_json(points, out)
    }
}

impl super::RecordOutput for super::Human {
    fn record(&self, record: &Record, subject: &str, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", record_text(record, subject))
    }
}

impl super::RecordOutput for super::Json {
    /// The stored line itself (docs/records.md).
    fn record(&self, record: &Record, _: &str, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", record.to_line())
    }
}
