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
    /// The floor of the peak RSS (0: none).
    pub u64,
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
            p.rss_floor_bytes,
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
            rss_floor_bytes: self.18,
        }
    }
}

/// The row of `line` when it has the common shape (strings without escapes, numbers, `null`, no
/// throughput or growth object) read without serde: five times quicker over the 500,000 lines
/// of 10,000 commits of 50 workloads. `None` for any other line, which [`parse`] then reads (a
/// line this accepts, serde reads to the same row).
pub(super) fn quick(line: &str) -> Option<Row<'_>> {
    let mut f = Fields {
        rest: line.strip_prefix('[')?.strip_suffix(']')?,
        first: true,
    };
    let row = Row(
        Cow::Borrowed(f.string()?),
        Cow::Borrowed(f.string()?),
        Cow::Borrowed(f.string()?),
        Cow::Borrowed(f.string()?),
        match f.raw()? {
            "true" => true,
            "false" => false,
            _ => return None,
        },
        match f.string()? {
            "passed" => Status::Passed,
            "over-budget" => Status::OverBudget,
            "failed" => Status::Failed,
            _ => return None,
        },
        f.raw()?.parse().ok()?,
        f.float()?,
        f.float()?,
        f.float()?,
        f.float()?,
        f.float()?,
        match f.raw()? {
            "null" => None,
            n => Some(n.parse().ok()?),
        },
        f.raw()?.parse().ok()?,
        Cow::Borrowed(f.string()?),
        f.float()?,
        f.null()?,
        f.null()?,
        f.raw()?.parse().ok()?,
    );
    f.rest.is_empty().then_some(row)
}

/// The fields of a row's array, one after the other.
struct Fields<'a> {
    rest: &'a str,
    first: bool,
}

impl<'a> Fields<'a> {
    /// Steps over the comma before every field but the first.
    fn separator(&mut self) -> Option<()> {
        if self.first {
            self.first = false;
        } else {
            self.rest = self.rest.strip_prefix(',')?;
        }
        Some(())
    }

    /// A string without escapes.
    fn string(&mut self) -> Option<&'a str> {
        self.separator()?;
        let body = self.rest.strip_prefix('"')?;
        // Bytes, not chars: a quote or backslash is never part of another UTF-8 character.
        let end = body.bytes().position(|b| b == b'"' || b == b'\\')?;
        if body.as_bytes()[end] != b'"' {
            return None;
        }
        self.rest = &body[end + 1..];
        Some(&body[..end])
    }

    /// A number, `true`, `false` or `null`, as written.
    fn raw(&mut self) -> Option<&'a str> {
        self.separator()?;
        let end = self
            .rest
            .bytes()
            .position(|b| b == b',')
            .unwrap_or(self.rest.len());
        let (raw, rest) = self.rest.split_at(end);
        if raw.is_empty() || raw.starts_with(['"', '{', '[']) {
            return None;
        }
        self.rest = rest;
        Some(raw)
    }

    /// A number or `null`.
    fn float(&mut self) -> Option<Option<f64>> {
        match self.raw()? {
            "null" => Some(None),
            n => n.parse().ok().filter(|v: &f64| v.is_finite()).map(Some),
        }
    }

    /// `null`, as an absent value of any type.
    fn null<T>(&mut self) -> Option<Option<T>> {
        (self.raw()? == "null").then_some(None)
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

#[cfg(test)]
mod tests {
    use super::{Row, quick};

    /// Serde's reading of `line`, written back.
    fn by_serde(line: &str) -> String {
        let row: Row = serde_json::from_str(line).unwrap();
        serde_json::to_string(&row).unwrap()
    }

    #[test]
    fn the_quick_reading_is_serdes_on_the_lines_it_takes() {
        let common = [
            r#"["bc09b5524e9d4b46","a07066a4464b0c3c","2026-03-11T10:20:00Z","b1308551183594f3",false,"passed",10,68005875.0,68651360.5,68694004.75,68728120.15,64605580.5,9391564,30000000000,"command",null,null,null,4096]"#,
            r#"["k","r","t","ci-4core",true,"over-budget",1,null,null,null,null,null,null,0,"load",1234.5,null,null,4096]"#,
            r#"["k","r","t","m",false,"failed",0,1e-7,2.5e300,0.1,3.0,0.30000000000000004,18446744073709551615,1,"criterion",null,null,null,4096]"#,
            r#"["","","","",false,"passed",3,1.0,2.0,3.0,4.0,5.0,7,0,"",null,null,null,4096]"#,
        ];
        for line in common {
            let row = quick(line).unwrap_or_else(|| panic!("not taken: {line}"));
            assert_eq!(
                serde_json::to_string(&row).unwrap(),
                by_serde(line),
                "{line}"
            );
        }
        // Lines of other shapes are left to serde, which reads them.
        let other = [
            // An escaped quote in the machine key, a tab in the run id.
            r#"["k","r","t","m\"x",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,4096]"#,
            r#"["k","r\t","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,4096]"#,
            // A throughput, a growth.
            r#"["k","r","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"criterion",null,{"unit":"bytes","per_iteration":64},null,4096]"#,
            r#"["k","r","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,{"group":"g","size":10.0,"declared":true},4096]"#,
            // Spaces between fields.
            r#"["k", "r","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,4096]"#,
        ];
        for line in other {
            assert!(quick(line).is_none(), "taken: {line}");
            by_serde(line);
        }
        // Cut short, a field too many, a status unknown, a string where a number goes, a line of
        // the index before v5 (no RSS floor): neither.
        for bad in [
            r#"["k","r","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null]"#,
            r#"["k","r","t","m",false,"passed",1,1.0,1.0,1.0"#,
            r#"["k","r","t","m",false,"passed",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,0,1]"#,
            r#"["k","r","t","m",false,"slow",1,1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,4096]"#,
            r#"["k","r","t","m",false,"passed","1",1.0,1.0,1.0,1.0,1.0,1,0,"command",null,null,null,4096]"#,
        ] {
            assert!(quick(bad).is_none(), "taken: {bad}");
            assert!(
                serde_json::from_str::<Row>(bad).is_err(),
                "serde took: {bad}"
            );
        }
    }
}
