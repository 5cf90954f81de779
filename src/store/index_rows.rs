//! The files of the history index: a workload's points as JSON arrays, one a line, and the
//! JSON Lines lists beside them; appending, reading and rewriting them atomically.
//!
//! A point is an array, not an object, and leaves out its workload's name (the file is that
//! workload's), so that 10,000 commits of 50 workloads are ~110 MB instead of ~200 MB and a line
//! parses without allocating: the strings are borrowed from the file's text until a point is
//! wanted.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{Point, Shared};
use super::record::StoredGrowth;
use crate::errors::StoreError;
use crate::vocab::{Status, Throughput};

/// One line of a workload's file: a [`Point`] without its workload's name, in this order.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Row<'a>(
    /// The content key of the note.
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// The record's run id, time and machine key, and whether its tree was dirty.
    #[serde(borrow)]
    pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    pub bool,
    pub Status,
    /// Samples.
    pub usize,
    /// Wall time: median, p90, p95, p99 (ns); then the median CPU time (ns).
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<f64>,
    pub Option<u64>,
    /// The class budget in ns (0: none).
    pub u64,
    /// `command`, `criterion` or `load`.
    #[serde(borrow)]
    pub Cow<'a, str>,
    /// Requests per second (load workloads).
    pub Option<f64>,
    pub Option<Throughput>,
    pub Option<Box<StoredGrowth>>,
);

impl<'a> Row<'a> {
    pub(super) fn of(p: &'a Point) -> Self {
        Row(
            Cow::Borrowed(&p.key),
            Cow::Borrowed(&p.run_id),
            Cow::Borrowed(&p.time),
            Cow::Borrowed(&p.machine),
            p.dirty,
            p.status,
            p.n,
            p.median_ns,
            p.p90_ns,
            p.p95_ns,
            p.p99_ns,
            p.cpu_median_ns,
            p.max_rss_bytes,
            p.budget_ns,
            Cow::Borrowed(&p.kind),
            p.rps,
            p.throughput,
            p.growth.clone(),
        )
    }

    /// The point this row holds, of `workload`, with the shared fields of its note and record.
    pub(super) fn into_point(
        self,
        workload: &Shared,
        record: &RecordFields,
        kind: &Shared,
    ) -> Point {
        Point {
            key: record.key.clone(),
            run_id: record.run_id.clone(),
            time: record.time.clone(),
            machine: record.machine.clone(),
            host: record.host.clone(),
            dirty: self.4,
            workload: workload.clone(),
            status: self.5,
            n: self.6,
            median_ns: self.7,
            p90_ns: self.8,
            p95_ns: self.9,
            p99_ns: self.10,
            cpu_median_ns: self.11,
            max_rss_bytes: self.12,
            budget_ns: self.13,
            kind: kind.clone(),
            rps: self.15,
            throughput: self.16,
            growth: self.17,
        }
    }
}

/// What the points of one record share: its note's key, run id, time and machine.
#[derive(Debug, Clone)]
pub(super) struct RecordFields {
    pub key: Shared,
    pub run_id: Shared,
    pub time: Shared,
    pub machine: Shared,
    pub host: Shared,
}

/// The text of a file; empty if it does not exist.
pub(super) fn read_text(path: &Path) -> Result<String, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Parses one line of `path`; `Invalid` if it does not parse (a line cut short by a crash is
/// the only way that happens; the index is then rebuilt).
pub(super) fn parse<'a, T: Deserialize<'a>>(path: &Path, line: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(line).map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))
}

/// The lines of a JSON Lines file, parsed; none if it does not exist.
pub(super) fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Vec<T>, StoreError> {
    read_text(path)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| parse(path, l))
        .collect()
}

fn lines<T: Serialize>(items: &[T]) -> String {
    let mut text = String::new();
    for item in items {
        // Serialising these plain structs to a string cannot fail.
        text.push_str(&serde_json::to_string(item).unwrap_or_default());
        text.push('\n');
    }
    text
}

pub(super) fn append_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(lines(items).as_bytes()))
        .map_err(|e| StoreError::io(path, e))
}

/// Replaces the file at `path` with `text`: written beside it, synced, then renamed over it, so
/// that a process killed at any moment leaves the old file or the new one, whole.
pub(super) fn replace(path: &Path, text: &str) -> Result<(), StoreError> {
    let mut temp = PathBuf::from(path);
    temp.as_mut_os_string().push(".new");
    File::create(&temp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| StoreError::io(&temp, e))?;
    std::fs::rename(&temp, path).map_err(|e| StoreError::io(path, e))
}

/// `items` as the whole content of `path`, atomically (see [`replace`]).
pub(super) fn replace_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), StoreError> {
    replace(path, &lines(items))
}
