//! Tables of stored records: `history` and `show`.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::JSON_SCHEMA_VERSION;
use crate::config::units::{format_bytes, format_ns};
use crate::pipeline::Status;
use crate::store::{Point, Record, short};

/// One workload at one commit, for `history`.
#[derive(Debug, Clone)]
pub struct HistoryPoint {
    pub commit: String,
    pub subject: String,
    pub point: Point,
    /// Median wall time relative to the previous point of the same workload and machine.
    pub change: Option<f64>,
}

fn ns(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| format_ns(v as f64))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::OverBudget => "OVER",
        Status::Failed => "FAILED",
    }
}

/// `history` for people, newest first.
pub fn history_table(points: &[HistoryPoint], with_machine: bool) -> String {
    let mut b = Builder::default();
    let mut header = vec![
        "commit", "subject", "workload", "n", "median", "p95", "CPU", "peak RSS", "change",
    ];
    if with_machine {
        header.push("machine");
    }
    b.push_record(header);
    for p in points {
        let x = &p.point;
        let mut subject: String = p.subject.chars().take(32).collect();
        if x.dirty {
            subject.push_str(" (dirty)");
        }
        let mut row = vec![
            short(&p.commit).to_owned(),
            subject,
            x.workload.clone(),
            x.n.to_string(),
            ns(x.median_ns),
            ns(x.p95_ns),
            ns(x.cpu_median_ns),
            x.max_rss_bytes.map_or("-".into(), format_bytes),
            match (p.change, x.status) {
                (_, Status::Failed) => "failed".into(),
                (Some(c), _) => format!("{:+.1}%", c * 100.0),
                (None, _) => "-".into(),
            },
        ];
        if with_machine {
            row.push(x.machine.clone());
        }
        b.push_record(row);
    }
    let mut table = b.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(3..9), Alignment::right());
    table.to_string()
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
    median_ns: Option<u64>,
    p95_ns: Option<u64>,
    cpu_median_ns: Option<u64>,
    max_rss_bytes: Option<u64>,
    change: Option<f64>,
}

/// `history --message-format json`: a `history-point` object per line, newest first.
pub fn history_json(points: &[HistoryPoint], out: &mut dyn Write) -> io::Result<()> {
    for p in points {
        let x = &p.point;
        let line = PointJson {
            reason: "history-point",
            schema: JSON_SCHEMA_VERSION,
            commit: &p.commit,
            subject: &p.subject,
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
            max_rss_bytes: x.max_rss_bytes,
            change: p.change,
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    Ok(())
}

/// One stored record for people: where and when it was measured, then its workloads.
pub fn record_text(r: &Record, subject: &str) -> String {
    let mut b = Builder::default();
    b.push_record([
        "workload", "status", "n", "p50", "p95", "p99", "CPU", "peak RSS",
    ]);
    for w in &r.workloads {
        let s = &w.summary;
        let wall = s.wall_ns.as_ref();
        b.push_record([
            w.name.clone(),
            match &w.failure {
                Some(f) => format!("FAILED: {f}"),
                None => status_word(w.status).into(),
            },
            s.n.to_string(),
            ns(wall.map(|w| w.median)),
            ns(wall.map(|w| w.p95)),
            ns(wall.map(|w| w.p99)),
            ns(s.cpu_ns.as_ref().map(|c| c.median)),
            s.max_rss_bytes.map_or("-".into(), format_bytes),
        ]);
    }
    let mut table = b.build();
    table
        .with(Style::sharp())
        .modify(Columns::new(2..8), Alignment::right());
    format!(
        "record {} of commit {} {subject}{}\n  measured {} by cargo-perf {} with {}\n  machine {}: {}, {} cores, {}, {}\n{table}",
        r.run_id,
        short(&r.commit),
        if r.dirty { " (dirty working tree)" } else { "" },
        r.time,
        r.tool_version,
        r.rustc,
        r.machine.key,
        r.machine.cpu,
        r.machine.cores,
        format_bytes(r.machine.memory_bytes),
        r.machine.os,
    )
}
