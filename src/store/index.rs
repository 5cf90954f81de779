//! The history index: what `history` needs of every record, one small file per workload, so
//! that showing one workload over 10,000 commits does not read 10,000 full records.
//!
//! Reading every note is slow (10,000 notes of 50 workloads are ~450 MB of JSON, most of it raw
//! samples, behind git's delta chains: 8 s through libgit2). The index is a cache beside the
//! notes, in `<git dir>/cargo-perf/index-v4/`:
//!
//! - `keys.jsonl`: the content keys already indexed (a note's blob id), each with the warnings
//!   its lines gave, so they are repeated on every read;
//! - `names.jsonl`: every workload name seen;
//! - `w-<hash of name>.jsonl`: the points of one workload, each tagged with its content key.
//!
//! A content key names immutable content, so an entry never goes stale: an edited or synced note
//! has a new blob id and is indexed anew. Points are appended before their key, so a process
//! killed in between leaves points that are indexed again and dropped as duplicates on read. A
//! cache that does not parse is deleted and rebuilt. Nothing in it is needed to read the store.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Store;
use super::record::{RecordLite, parse_lines};
use super::repo::short;
use crate::errors::StoreError;
use crate::vocab::Status;

/// One workload in one record, as `history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The content key of the note the record is in.
    pub key: String,
    pub run_id: String,
    pub time: String,
    pub machine: String,
    /// What the machine is (`CPU, N CPUs, M GiB, OS`): under a machine class, several.
    #[serde(default)]
    pub host: String,
    pub dirty: bool,
    pub workload: String,
    pub status: Status,
    pub n: usize,
    pub median_ns: Option<f64>,
    #[serde(default)]
    pub p90_ns: Option<f64>,
    pub p95_ns: Option<f64>,
    pub cpu_median_ns: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    #[serde(default)]
    pub throughput: Option<crate::vocab::Throughput>,
    #[serde(default)]
    pub p99_ns: Option<f64>,
    /// The class budget (0: none, as for criterion benchmarks).
    #[serde(default)]
    pub budget_ns: u64,
    /// `command`, `criterion` or `load`.
    #[serde(default)]
    pub kind: String,
    /// Load workloads: requests per second that completed.
    #[serde(default)]
    pub rps: Option<f64>,
    /// One of several fixtures of a declared workload: its group and size.
    #[serde(default)]
    pub growth: Option<crate::store::StoredGrowth>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyEntry {
    key: String,
    warnings: Vec<String>,
}

/// Points grouped by content key, and the warnings of the notes they come from.
pub type Found = (HashMap<String, Vec<Point>>, Vec<String>);

/// How many notes are indexed between writes to disk, which bounds the memory used.
const CHUNK: usize = 256;

/// The points of the workloads whose names contain `filter`, for the commits in `keys`
/// (commit to content key), grouped by content key in the order of the note's lines, and the
/// warnings of those notes. `order` lists commits in the order they are best read in (history
/// order: git packs newer objects whole and older ones as deltas). Uses and extends the on-disk
/// index when the store has a place for it.
pub fn points(
    store: &dyn Store,
    keys: &HashMap<String, String>,
    order: &[String],
    filter: &str,
) -> Result<Found, StoreError> {
    let Some(dir) = store.index_dir() else {
        return in_memory(store, keys, order, filter);
    };
    let found = match from_disk(store, &dir, keys, order, filter) {
        Err(StoreError::Invalid(_)) => {
            // A damaged index is only a cache: start it again.
            let _ = std::fs::remove_dir_all(&dir);
            from_disk(store, &dir, keys, order, filter)
        }
        other => other,
    };
    match found {
        // An index that cannot be written (a read-only repository, a full disk) is only a
        // cache too: the notes are read directly.
        Err(StoreError::Io { path, source }) if path.starts_with(&dir) => {
            let (found, mut warnings) = in_memory(store, keys, order, filter)?;
            warnings.push(format!(
                "the history index in {} cannot be used ({source}); the notes were read \
                 directly, which is slower",
                dir.display()
            ));
            Ok((found, warnings))
        }
        other => other,
    }
}

fn in_memory(
    store: &dyn Store,
    keys: &HashMap<String, String>,
    order: &[String],
    filter: &str,
) -> Result<Found, StoreError> {
    let mut out: HashMap<String, Vec<Point>> = HashMap::new();
    let mut warnings = Vec::new();
    let items = in_order(keys, order, |_| true);
    store.read_keys(&items, &mut |commit, key, text| {
        for p in extract(store, commit, key, text, &mut warnings)? {
            if p.workload.contains(filter) {
                out.entry(key.to_owned()).or_default().push(p);
            }
        }
        Ok(())
    })?;
    Ok((out, warnings))
}

/// The `(commit, key)` pairs that `wanted` accepts: those of `order` first, in that order, then
/// the rest sorted.
fn in_order(
    keys: &HashMap<String, String>,
    order: &[String],
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut taken = HashSet::new();
    for commit in order {
        if let Some(key) = keys.get(commit)
            && wanted(key)
            && taken.insert(commit.as_str())
        {
            items.push((commit.clone(), key.clone()));
        }
    }
    let mut rest: Vec<(String, String)> = keys
        .iter()
        .filter(|(c, k)| !taken.contains(c.as_str()) && wanted(k))
        .map(|(c, k)| (c.clone(), k.clone()))
        .collect();
    rest.sort();
    items.extend(rest);
    items
}

/// The points of one note's text.
fn extract(
    store: &dyn Store,
    commit: &str,
    key: &str,
    text: Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Point>, StoreError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let location = format!("{} of commit {}", store.describe(), short(commit));
    let records: Vec<RecordLite> = parse_lines(&text, commit, &location, warnings)?;
    let mut points = Vec::new();
    for r in records {
        for w in r.workloads {
            let s = &w.summary;
            points.push(Point {
                key: key.to_owned(),
                run_id: r.run_id.clone(),
                time: r.time.clone(),
                machine: r.machine.key.clone(),
                host: r.machine.describe(),
                dirty: r.dirty,
                workload: w.name,
                status: w.status,
                n: s.n,
                median_ns: s.wall_ns.as_ref().map(|x| x.median),
                p90_ns: s.wall_ns.as_ref().map(|x| x.p90),
                p95_ns: s.wall_ns.as_ref().map(|x| x.p95),
                cpu_median_ns: s.cpu_ns.as_ref().map(|x| x.median),
                max_rss_bytes: s.max_rss_bytes,
                throughput: s.throughput,
                p99_ns: s.wall_ns.as_ref().map(|x| x.p99),
                budget_ns: w.budget_ns,
                kind: w.kind,
                rps: s.rps,
                growth: w.growth,
            });
        }
    }
    Ok(points)
}

/// Brings the on-disk index of `store` up to date with its notes, if it keeps one. `record` and
/// `sync` call this so that the next `history` finds everything indexed.
pub fn refresh(store: &dyn Store, order: &[String]) -> Result<(), StoreError> {
    let Some(dir) = store.index_dir() else {
        return Ok(());
    };
    let keys = store.content_keys()?;
    match Index::open(&dir).and_then(|mut i| i.update(store, &keys, order)) {
        Err(StoreError::Invalid(_)) => {
            let _ = std::fs::remove_dir_all(&dir);
            Index::open(&dir)?.update(store, &keys, order)
        }
        other => other,
    }
}

/// The on-disk index, locked while this is alive.
struct Index {
    dir: PathBuf,
    _lock: File,
    /// Content keys indexed, with their warnings.
    known: HashMap<String, Vec<String>>,
    names: BTreeSet<String>,
}

impl Index {
    fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let lock = super::lock_file(&dir.join("lock"))?;
        Ok(Index {
            known: read_jsonl::<KeyEntry>(&dir.join("keys.jsonl"))?
                .into_iter()
                .map(|k| (k.key, k.warnings))
                .collect(),
            names: read_jsonl(&dir.join("names.jsonl"))?.into_iter().collect(),
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// Indexes the keys not yet indexed, a chunk at a time: points first, then names, then keys
    /// (see the module comment).
    fn update(
        &mut self,
        store: &dyn Store,
        keys: &HashMap<String, String>,
        order: &[String],
    ) -> Result<(), StoreError> {
        let todo = in_order(keys, order, |k| !self.known.contains_key(k));
        for chunk in todo.chunks(CHUNK) {
            let mut new_points: HashMap<String, Vec<Point>> = HashMap::new();
            let mut new_keys = Vec::new();
            store.read_keys(chunk, &mut |commit, key, text| {
                let mut warnings = Vec::new();
                for p in extract(store, commit, key, text, &mut warnings)? {
                    new_points.entry(p.workload.clone()).or_default().push(p);
                }
                new_keys.push(KeyEntry {
                    key: key.to_owned(),
                    warnings,
                });
                Ok(())
            })?;
            for (name, points) in &new_points {
                append_jsonl(&workload_file(&self.dir, name), points)?;
            }
            let fresh: Vec<&String> = new_points
                .keys()
                .filter(|n| !self.names.contains(*n))
                .collect();
            append_jsonl(&self.dir.join("names.jsonl"), &fresh)?;
            self.names.extend(new_points.into_keys());
            append_jsonl(&self.dir.join("keys.jsonl"), &new_keys)?;
            for k in new_keys {
                self.known.insert(k.key, k.warnings);
            }
        }
        Ok(())
    }
}

fn from_disk(
    store: &dyn Store,
    dir: &Path,
    keys: &HashMap<String, String>,
    order: &[String],
    filter: &str,
) -> Result<Found, StoreError> {
    let mut index = Index::open(dir)?;
    index.update(store, keys, order)?;
    let Index { known, names, .. } = index;
    let wanted: HashSet<&String> = keys.values().collect();
    let mut out: HashMap<String, Vec<Point>> = HashMap::new();
    for name in names.iter().filter(|n| n.contains(filter)) {
        let mut seen = HashSet::new();
        for p in read_jsonl::<Point>(&workload_file(dir, name))? {
            if wanted.contains(&p.key) && seen.insert((p.key.clone(), p.run_id.clone())) {
                out.entry(p.key.clone()).or_default().push(p);
            }
        }
    }
    let warnings = keys
        .values()
        .filter_map(|k| known.get(k))
        .flatten()
        .cloned()
        .collect();
    Ok((out, warnings))
}

fn workload_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(
        "w-{:016x}.jsonl",
        crate::fnv::fnv1a(name.as_bytes())
    ))
}

/// The lines of a JSON Lines file; none if it does not exist; `Invalid` if one does not parse.
fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| StoreError::io(path, e))?;
        if line.is_empty() {
            continue;
        }
        // A line cut short by a crash is the only way this fails; the index is rebuilt.
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))?,
        );
    }
    Ok(out)
}

fn append_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item).unwrap_or_default());
        text.push('\n');
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| StoreError::io(path, e))
}
