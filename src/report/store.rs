//! Tables of stored records: `history` and `show`.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::JSON_SCHEMA_VERSION;
use crate::config::units::{format_bytes, format_ns};
use crate::pipeline::Status;
use crate::store::{Record, WorkloadLite, short};

/// One workload at one commit, for `history`.
#[derive(Debug, Clone)]
pub struct HistoryPoint {
    pub commit: String,
    pub subject: String,
    pub time: String,
    pub machine: String,
    pub dirty: bool,
    pub run_id: String,
    pub workload: WorkloadLite,
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
        let s = &p.workload.summary;
        let mut subject: String = p.subject.chars().take(32).collect();
        if p.dirty {
            subject.push_str(" (dirty)");
        }
        let mut row = vec![
            short(&p.commit).to_owned(),
            subject,
            p.workload.name.clone(),
            s.n.to_string(),
            ns(s.wall_ns.as_ref().map(|w| w.median)),
            ns(s.wall_ns.as_ref().map(|w| w.p95)),
            ns(s.cpu_ns.as_ref().map(|w| w.median)),
            s.max_rss_bytes.map_or("-".into(), format_bytes),
            match (p.change, p.workload.status) {
                (_, Status::Failed) => "failed".into(),
                (Some(c), _) => format!("{:+.1}%", c * 100.0),
                (None, _) => "-".into(),
            },
        ];
        if with_machine {
            row.push(p.machine.clone());
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
        let s = &p.workload.summary;
        let line = PointJson {
            reason: "history-point",
            schema: JSON_SCHEMA_VERSION,
            commit: &p.commit,
            subject: &p.subject,
            time: &p.time,
            machine: &p.machine,
            dirty: p.dirty,
            run_id: &p.run_id,
            workload: &p.workload.name,
            status: p.workload.status,
            n: s.n,
            median_ns: s.wall_ns.as_ref().map(|w| w.median),
            p95_ns: s.wall_ns.as_ref().map(|w| w.p95),
            cpu_median_ns: s.cpu_ns.as_ref().map(|w| w.median),
            max_rss_bytes: s.max_rss_bytes,
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
