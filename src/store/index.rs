//! The history index: what `history` needs of every record, one small file per workload, so
//! that showing one workload over 10,000 commits does not read 10,000 full records.
//!
//! Reading every note is slow (10,000 notes of 50 workloads are ~450 MB of JSON, most of it raw
//! samples, behind git's delta chains: 8 s through libgit2). The index is a cache beside the
//! notes, in `<git dir>/cargo-perf/index-v5/`:
//!
//! - `keys.jsonl`: the content keys already indexed (a note's blob id), each with its commit and
//!   the warnings its lines gave, so they are repeated on every read;
//! - `names.jsonl`: every workload name seen;
//! - `w-<hash of name>.jsonl`: the points of one workload, each tagged with its content key (see
//!   `index_rows`).
//!
//! A content key names immutable content, so an entry is never wrong: an edited or synced note
//! has a new blob id and is indexed anew. Points are appended before their key, so a process
//! killed in between leaves points that are indexed again and dropped as duplicates on read. A
//! cache that does not parse is deleted and rebuilt. Nothing in it is needed to read the store.
//!
//! The old key of a re-recorded commit (its note replaced) is stale: its points are never shown
//! again. When stale keys are more than a quarter of those indexed, the index is compacted: the
//! key list is rewritten without them, then each workload's file without their points, each
//! file written beside the old one and renamed over it. Rewriting only when a quarter is stale
//! keeps the cost of compaction, amortised, constant per note indexed. A process killed midway
//! leaves whole files: keys dropped from the list whose points remain are indexed again if they
//! come back (their points are then duplicates, dropped on read), and a stale key still listed
//! names points no one asks for.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Store;
use super::index_rows::{
    RecordFields, Row, append_jsonl, parse, read_jsonl, read_text, replace, replace_jsonl,
};
use super::record::{RecordLite, parse_lines};
use super::repo::short;
use crate::errors::StoreError;
use crate::vocab::Status;

/// One workload in one record, as `history` shows it.
/// Text that many points share (a record's key, run id, time and machine; a workload's name):
/// one allocation for all of them, since `history` of 50 workloads over 10,000 commits builds
/// 500,000 points.
pub type Shared = std::sync::Arc<str>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The content key of the note the record is in.
    pub key: Shared,
    pub run_id: Shared,
    pub time: Shared,
    pub machine: Shared,
    /// What the machine is (`CPU, N CPUs, M GiB, OS`): under a machine class, several.
    #[serde(default)]
    pub host: Shared,
    pub dirty: bool,
    pub workload: Shared,
    pub status: Status,
    pub n: usize,
    pub median_ns: Option<f64>,
    #[serde(default)]
    pub p90_ns: Option<f64>,
    pub p95_ns: Option<f64>,
    pub cpu_median_ns: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    /// The floor of the peak RSS (see `WorkloadResult::rss_floor_bytes`): a peak at or below
    /// it is shown as `≤`.
    #[serde(default)]
    pub rss_floor_bytes: u64,
    #[serde(default)]
    pub throughput: Option<crate::vocab::Throughput>,
    #[serde(default)]
    pub p99_ns: Option<f64>,
    /// The class budget (0: none, as for criterion benchmarks).
    #[serde(default)]
    pub budget_ns: u64,
    /// `command`, `criterion` or `load`.
    #[serde(default)]
    pub kind: Shared,
    /// Load workloads: requests per second that completed.
    #[serde(default)]
    pub rps: Option<f64>,
    /// One of several fixtures of a declared workload: its group and size.
    #[serde(default)]
    pub growth: Option<Box<crate::store::StoredGrowth>>,
}

/// A line of `keys.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KeyEntry {
    /// The content key (the note's blob id).
    key: String,
    /// The commit whose note it was.
    commit: String,
    /// What reading the note's lines warned of.
    warnings: Vec<String>,
    /// Each record's run id and what its machine is (`Machine::describe`): kept per note, not
    /// per point, where it would repeat for every workload.
    #[serde(default)]
    hosts: Vec<(String, String)>,
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
    points_in(store, keys, &|| Ok(order.to_vec()), filter)
}

/// The commits in the order their notes are best read in, asked for only when some note must
/// be read (a walk of 10,000 commits takes a tenth of a second: `history` walks beside the
/// reading of an index that is up to date).
pub type Order<'a> = &'a (dyn Fn() -> Result<Vec<String>, StoreError> + 'a);

/// [`points`], with the order asked for only if a note must be read.
pub fn points_in(
    store: &dyn Store,
    keys: &HashMap<String, String>,
    order: Order<'_>,
    filter: &str,
) -> Result<Found, StoreError> {
    let Some(dir) = store.index_dir() else {
        return in_memory(store, keys, &order()?, filter);
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
            let (found, mut warnings) = in_memory(store, keys, &order()?, filter)?;
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
                key: key.into(),
                run_id: r.run_id.as_str().into(),
                time: r.time.as_str().into(),
                machine: r.machine.key.as_str().into(),
                host: r.machine.describe().into(),
                dirty: r.dirty,
                workload: w.name.into(),
                status: w.status,
                n: s.n,
                median_ns: s.wall_ns.as_ref().map(|x| x.median),
                p90_ns: s.wall_ns.as_ref().map(|x| x.p90),
                p95_ns: s.wall_ns.as_ref().map(|x| x.p95),
                cpu_median_ns: s.cpu_ns.as_ref().map(|x| x.median),
                max_rss_bytes: s.max_rss_bytes,
                rss_floor_bytes: s.rss_floor_bytes,
                throughput: s.throughput,
                p99_ns: s.wall_ns.as_ref().map(|x| x.p99),
                budget_ns: w.budget_ns,
                kind: w.kind.into(),
                rps: s.rps,
                growth: w.growth.map(Box::new),
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
    let order = || Ok(order.to_vec());
    match Index::open(&dir).and_then(|mut i| i.update(store, &keys, &order)) {
        Err(StoreError::Invalid(_)) => {
            let _ = std::fs::remove_dir_all(&dir);
            Index::open(&dir)?.update(store, &keys, &order)
        }
        other => other,
    }
}

/// The on-disk index, locked while this is alive.
struct Index {
    dir: PathBuf,
    _lock: File,
    /// Content keys indexed, with their commits and warnings.
    known: HashMap<String, KeyEntry>,
    names: BTreeSet<String>,
}

/// Stale keys are compacted away when they are more than this share of the keys indexed.
const STALE_SHARE: f64 = 0.25;

impl Index {
    fn open(dir: &Path) -> Result<Self, StoreError> {
        if !dir.exists() {
            remove_older_versions(dir);
        }
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let lock = super::lock_file(&dir.join("lock"))?;
        Ok(Index {
            known: read_jsonl::<KeyEntry>(&dir.join("keys.jsonl"))?
                .into_iter()
                .map(|k| (k.key.clone(), k))
                .collect(),
            names: read_jsonl(&dir.join("names.jsonl"))?.into_iter().collect(),
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// Indexes the keys not yet indexed, a chunk at a time: points first, then names, then keys
    /// (see the module comment); then compacts if enough keys are stale.
    fn update(
        &mut self,
        store: &dyn Store,
        keys: &HashMap<String, String>,
        order: Order<'_>,
    ) -> Result<(), StoreError> {
        let todo = if keys.values().all(|k| self.known.contains_key(k)) {
            Vec::new()
        } else {
            in_order(keys, &order()?, |k| !self.known.contains_key(k))
        };
        for chunk in todo.chunks(CHUNK) {
            let mut new_points: HashMap<String, Vec<Point>> = HashMap::new();
            let mut new_keys = Vec::new();
            store.read_keys(chunk, &mut |commit, key, text| {
                let mut warnings = Vec::new();
                let mut hosts: Vec<(String, String)> = Vec::new();
                for p in extract(store, commit, key, text, &mut warnings)? {
                    if !hosts.iter().any(|(run, _)| **run == *p.run_id) {
                        hosts.push((p.run_id.to_string(), p.host.to_string()));
                    }
                    new_points
                        .entry(p.workload.to_string())
                        .or_default()
                        .push(p);
                }
                new_keys.push(KeyEntry {
                    key: key.to_owned(),
                    commit: commit.to_owned(),
                    warnings,
                    hosts,
                });
                Ok(())
            })?;
            for (name, points) in &new_points {
                let rows: Vec<Row> = points.iter().map(Row::of).collect();
                append_jsonl(&workload_file(&self.dir, name), &rows)?;
            }
            let fresh: Vec<&String> = new_points
                .keys()
                .filter(|n| !self.names.contains(*n))
                .collect();
            append_jsonl(&self.dir.join("names.jsonl"), &fresh)?;
            self.names.extend(new_points.into_keys());
            append_jsonl(&self.dir.join("keys.jsonl"), &new_keys)?;
            for k in new_keys {
                self.known.insert(k.key.clone(), k);
            }
        }
        let stale = stale_keys(&self.known, keys);
        if stale.len() as f64 > STALE_SHARE * self.known.len() as f64 {
            self.compact(&stale)?;
        }
        Ok(())
    }

    /// Rewrites the key list without `stale`, then each workload's file without their points
    /// (see the module comment for why in that order).
    fn compact(&mut self, stale: &HashSet<String>) -> Result<(), StoreError> {
        self.known.retain(|k, _| !stale.contains(k));
        let mut entries: Vec<&KeyEntry> = self.known.values().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        replace_jsonl(&self.dir.join("keys.jsonl"), &entries)?;
        for name in &self.names {
            let path = workload_file(&self.dir, name);
            let text = read_text(&path)?;
            let mut kept = String::with_capacity(text.len());
            let mut dropped = false;
            for line in text.lines().filter(|l| !l.is_empty()) {
                let row: Row = match super::index_rows::quick(line) {
                    Some(row) => row,
                    None => parse(&path, line)?,
                };
                if stale.contains(row.0.as_ref()) {
                    dropped = true;
                } else {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            if dropped {
                replace(&path, &kept)?;
            }
        }
        Ok(())
    }
}

/// The indexed keys whose commit now has another key among `keys` (which may list only some
/// commits: a key of a commit it does not list is not judged).
fn stale_keys(
    known: &HashMap<String, KeyEntry>,
    keys: &HashMap<String, String>,
) -> HashSet<String> {
    known
        .values()
        .filter(|e| keys.get(&e.commit).is_some_and(|current| *current != e.key))
        .map(|e| e.key.clone())
        .collect()
}

fn from_disk(
    store: &dyn Store,
    dir: &Path,
    keys: &HashMap<String, String>,
    order: Order<'_>,
    filter: &str,
) -> Result<Found, StoreError> {
    let mut index = Index::open(dir)?;
    index.update(store, keys, order)?;
    let Index { known, names, .. } = index;
    let names: Vec<&String> = names.iter().filter(|n| n.contains(filter)).collect();
    let (names, known) = (&names, &known);
    // The workloads' files are read by as many threads as there are CPUs, each a run of them in
    // name order, and their points joined in that order: the same result as one thread's.
    let threads = crate::parallel::threads();
    let per_thread = names.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Notes<'_>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .chunks(per_thread)
            .enumerate()
            .map(|(i, chunk)| {
                // The first run's points of a note are joined by the others' (without copying
                // them again): room for every workload's.
                let room = if i == 0 { names.len() } else { chunk.len() };
                scope.spawn(move || read_workloads(dir, chunk, room, keys, known))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Invalid(
                        "a thread reading the index panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut out: HashMap<String, Vec<Point>> = HashMap::with_capacity(keys.len());
    for part in parts {
        for (key, note) in part? {
            if note.points.is_empty() {
                continue;
            }
            match out.get_mut(key) {
                Some(points) => points.extend(note.points),
                None => {
                    out.insert(key.to_owned(), note.points);
                }
            }
        }
    }
    let warnings = keys
        .values()
        .filter_map(|k| known.get(k))
        .flat_map(|e| e.warnings.iter().cloned())
        .collect();
    Ok((out, warnings))
}

/// Removes the indexes of earlier versions beside `dir` (`index-v4` for `index-v5`): caches
/// that nothing reads any more, 200 MB for 10,000 commits of 50 workloads.
fn remove_older_versions(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let Some(version) = name
        .strip_prefix("index-v")
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return;
    };
    for old in 1..version {
        let _ = std::fs::remove_dir_all(parent.join(format!("index-v{old}")));
    }
}

/// A wanted note's points read so far, and the fields its records' points share (one
/// allocation for the 50 points of a record, rather than one each).
/// A workload's file of the index, being read a line at a time.
struct Source {
    path: PathBuf,
    /// `None` once read to its end (or when it does not exist).
    reader: Option<std::io::BufReader<File>>,
    workload: Shared,
    /// The kind of its last point: one shared text for all of them.
    kind: Shared,
    line: String,
}

struct Note {
    key: Shared,
    records: Vec<RecordFields>,
    points: Vec<Point>,
}

/// Notes by content key: looked up for each of 500,000 lines, with a hash quicker than SipHash
/// (the keys are git's object ids, not chosen to collide).
type Notes<'k> = HashMap<&'k str, Note, crate::fnv::Build>;

/// The points of the notes in `keys` (commit to content key) in the files of workloads `names`,
/// per content key, in the order of `names` and of each file's lines.
fn read_workloads<'k>(
    dir: &Path,
    names: &[&String],
    room: usize,
    keys: &'k HashMap<String, String>,
    known: &HashMap<String, KeyEntry>,
) -> Result<Notes<'k>, StoreError> {
    let host_of = |key: &str, run_id: &str| -> Shared {
        known
            .get(key)
            .and_then(|e| e.hosts.iter().find(|(r, _)| r == run_id))
            .map_or_else(|| "".into(), |(_, h)| h.as_str().into())
    };
    let mut notes: Notes<'_> = keys
        .values()
        .map(|k| {
            let note = Note {
                key: k.as_str().into(),
                records: Vec::new(),
                points: Vec::new(),
            };
            (k.as_str(), note)
        })
        .collect();
    // The files are read side by side, a line of each in turn: they list the notes in the same
    // order (the order they were indexed in), so one note's points are made one after the
    // other instead of each in a different one of 10,000 notes (a cache miss each), which was
    // most of the reading's time.
    let mut sources = names
        .iter()
        .map(|name| {
            let path = workload_file(dir, name);
            let reader = match File::open(&path) {
                Ok(f) => Some(std::io::BufReader::with_capacity(1 << 16, f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            Ok(Source {
                path,
                reader,
                workload: name.as_str().into(),
                kind: "".into(),
                line: String::new(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut open = true;
    while open {
        open = false;
        for source in sources.iter_mut() {
            let Some(reader) = source.reader.as_mut() else {
                continue;
            };
            source.line.clear();
            let read = std::io::BufRead::read_line(reader, &mut source.line)
                .map_err(|e| StoreError::io(&source.path, e))?;
            if read == 0 {
                source.reader = None;
                continue;
            }
            open = true;
            let line = source.line.strip_suffix('\n').unwrap_or(&source.line);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let row: Row = match super::index_rows::quick(line) {
                Some(row) => row,
                None => parse(&source.path, line)?,
            };
            let Some(note) = notes.get_mut(row.0.as_ref()) else {
                continue;
            };
            // A point indexed twice (a process killed before it listed the key) is the same
            // record of the same note: keep the first.
            let workload = &source.workload;
            let duplicate = note
                .points
                .iter()
                .any(|p| std::sync::Arc::ptr_eq(&p.workload, workload) && *p.run_id == *row.1);
            if duplicate {
                continue;
            }
            let record = match note.records.iter().position(|r| *r.run_id == *row.1) {
                Some(i) => i,
                None => {
                    note.records.push(RecordFields {
                        key: note.key.clone(),
                        run_id: row.1.as_ref().into(),
                        time: row.2.as_ref().into(),
                        machine: row.3.as_ref().into(),
                        host: host_of(&note.key, &row.1),
                    });
                    note.records.len() - 1
                }
            };
            if *source.kind != *row.14 {
                source.kind = row.14.as_ref().into();
            }
            let point = row.into_point(workload, &note.records[record], &source.kind);
            if note.points.is_empty() {
                // About one point per workload: grown once, not doubled five times.
                note.points.reserve_exact(room);
            }
            note.points.push(point);
        }
    }
    // A note's points in the order of the files, then of their lines, as if the files had been
    // read one after the other (they are, unless a file lists the notes in another order).
    let file_of: HashMap<usize, usize, crate::fnv::Build> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (std::sync::Arc::as_ptr(&s.workload) as *const u8 as usize, i))
        .collect();
    let file = |p: &Point| {
        file_of
            .get(&(std::sync::Arc::as_ptr(&p.workload) as *const u8 as usize))
            .copied()
            .unwrap_or(usize::MAX)
    };
    for note in notes.values_mut() {
        if !note.points.is_sorted_by_key(file) {
            note.points.sort_by_key(file);
        }
    }
    Ok(notes)
}

fn workload_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(
        "w-{:016x}.jsonl",
        crate::fnv::fnv1a(name.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::store::{Record, StoredSamples, StoredSummary, WorkloadRecord};
    use crate::vocab::{Class, Metric};

    /// Notes in memory; a note's key is a hash of its text, as a blob id is.
    struct Notes {
        notes: RefCell<HashMap<String, String>>,
        dir: PathBuf,
    }

    impl Store for Notes {
        fn add_acceptance(&self, _: &crate::vocab::Acceptance) -> Result<(), StoreError> {
            Ok(())
        }
        fn acceptances(
            &self,
            _: &HashSet<String>,
        ) -> Result<Vec<crate::vocab::Acceptance>, StoreError> {
            Ok(Vec::new())
        }
        fn describe_acceptances(&self) -> String {
            "memory".into()
        }
        fn append(&self, record: &Record) -> Result<(), StoreError> {
            let mut notes = self.notes.borrow_mut();
            let text = notes.entry(record.commit.clone()).or_default();
            text.push_str(&record.to_line());
            text.push('\n');
            Ok(())
        }
        fn commits(&self) -> Result<HashSet<String>, StoreError> {
            Ok(self.notes.borrow().keys().cloned().collect())
        }
        fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError> {
            Ok(self.notes.borrow().get(commit).cloned())
        }
        fn describe(&self) -> String {
            "notes in memory".into()
        }
        fn check_writable(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn content_keys(&self) -> Result<HashMap<String, String>, StoreError> {
            Ok(self
                .notes
                .borrow()
                .iter()
                .map(|(c, t)| {
                    (
                        c.clone(),
                        format!("{:016x}", crate::fnv::fnv1a(t.as_bytes())),
                    )
                })
                .collect())
        }
        fn index_dir(&self) -> Option<PathBuf> {
            Some(self.dir.clone())
        }
    }

    fn record(commit: &str, run_id: &str, median_ns: u64) -> Record {
        let workloads = ["alpha", "beta"]
            .iter()
            .map(|name| {
                let wall = vec![median_ns; 3];
                let as_f64: Vec<f64> = wall.iter().map(|&x| x as f64).collect();
                WorkloadRecord {
                    name: (*name).into(),
                    kind: "command".into(),
                    class: Class::Small,
                    status: Status::Passed,
                    metric: Metric::Wall,
                    budget_ns: 1_000_000_000,
                    summary: StoredSummary {
                        n: wall.len(),
                        wall_ns: crate::stats::summarize(&as_f64, 1).as_ref().map(Into::into),
                        cpu_ns: None,
                        max_rss_bytes: Some(1 << 20),
                        rss_floor_bytes: 0,
                        throughput: None,
                        rps: None,
                    },
                    samples: StoredSamples {
                        wall_ns: wall.clone(),
                        user_ns: wall.clone(),
                        sys_ns: vec![0; 3],
                        max_rss_bytes: vec![1 << 20; 3],
                    },
                    failure: None,
                    criterion: None,
                    load: None,
                    counts: None,
                    growth: None,
                }
            })
            .collect();
        Record {
            workloads,
            ..crate::store::record::tests::sample_record(commit, run_id)
        }
    }

    /// Per commit, its points as (workload, run id, median), in a stable order.
    type Shown = Vec<(String, Vec<(String, String, Option<f64>)>)>;

    fn by_commit(keys: &HashMap<String, String>, mut found: HashMap<String, Vec<Point>>) -> Shown {
        let mut out: Shown = keys
            .iter()
            .map(|(commit, key)| {
                let mut ps: Vec<_> = found
                    .remove(key)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| (p.workload.to_string(), p.run_id.to_string(), p.median_ns))
                    .collect();
                ps.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
                (commit.clone(), ps)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The points `history` gets for every workload, through the index.
    fn shown(store: &Notes) -> Shown {
        let keys = store.content_keys().unwrap();
        let (found, warnings) = points(store, &keys, &[], "").unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        by_commit(&keys, found)
    }

    /// What the notes themselves say, read without the index.
    fn truth(store: &Notes) -> Shown {
        let keys = store.content_keys().unwrap();
        by_commit(&keys, in_memory(store, &keys, &[], "").unwrap().0)
    }

    /// Every row of every workload file, as (key, run id).
    fn rows_on_disk(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("w-") && name.ends_with(".jsonl") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let row: Row = parse(&path, line).unwrap();
                    out.push((row.0.into_owned(), row.1.into_owned()));
                }
            }
        }
        out.sort();
        out
    }

    fn store_of(tmp: &tempfile::TempDir, commits: usize) -> Notes {
        let store = Notes {
            notes: RefCell::new(HashMap::new()),
            dir: tmp.path().join("index-v5"),
        };
        for c in 0..commits {
            store
                .append(&record(&format!("c{c}"), &format!("r{c}"), 1000 + c as u64))
                .unwrap();
        }
        store
    }

    #[test]
    fn re_recording_a_commit_compacts_the_index_to_its_current_points() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_of(&tmp, 4);
        assert_eq!(shown(&store), truth(&store));
        assert_eq!(rows_on_disk(&store.dir).len(), 8);
        // Commit c1 recorded again four times, `history` run after each: the first leaves one
        // stale key of five, the second two of six, which is compacted; and so on.
        for n in 0..4 {
            store
                .append(&record("c1", &format!("again{n}"), 5000 + n))
                .unwrap();
            assert_eq!(shown(&store), truth(&store), "after re-record {n}");
            let keys: HashSet<String> = store.content_keys().unwrap().into_values().collect();
            let stale = rows_on_disk(&store.dir)
                .iter()
                .filter(|(k, _)| !keys.contains(k))
                .count();
            // The stale key holds c1's records before this one, two workloads each.
            assert_eq!(stale, if n % 2 == 0 { 2 * (n as usize + 1) } else { 0 });
        }
        // Only current keys remain: 3 commits with one record of 2 workloads, and c1 with 5.
        let keys: HashSet<String> = store.content_keys().unwrap().into_values().collect();
        let rows = rows_on_disk(&store.dir);
        assert!(rows.iter().all(|(k, _)| keys.contains(k)), "{rows:?}");
        assert_eq!(rows.len(), 3 * 2 + 5 * 2);
        let listed: Vec<KeyEntry> = read_jsonl(&store.dir.join("keys.jsonl")).unwrap();
        assert_eq!(listed.len(), 4);
        assert!(listed.iter().all(|e| keys.contains(&e.key)));
    }

    #[test]
    fn a_few_stale_keys_are_left_until_they_are_a_quarter() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_of(&tmp, 8);
        shown(&store);
        store.append(&record("c0", "again", 7)).unwrap();
        shown(&store);
        // 1 stale key of 9 indexed: not yet worth a rewrite.
        assert_eq!(rows_on_disk(&store.dir).len(), 8 * 2 + 2 * 2);
        store.append(&record("c1", "again", 7)).unwrap();
        store.append(&record("c2", "again", 7)).unwrap();
        // 3 stale of 11: compacted.
        assert_eq!(shown(&store), truth(&store));
        assert_eq!(rows_on_disk(&store.dir).len(), 5 * 2 + 3 * 2 * 2);
    }

    #[test]
    fn a_compaction_killed_midway_loses_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_of(&tmp, 2);
        shown(&store);
        let before: HashMap<PathBuf, String> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
            .map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        store.append(&record("c0", "again", 9)).unwrap();
        shown(&store);
        // Before compacting, each file held its lines from before and the new key's lines
        // (compaction keeps the order of what it keeps).
        let uncompacted = |path: &Path| {
            let old = &before[path];
            let mut text = old.clone();
            for line in std::fs::read_to_string(path).unwrap().lines() {
                if !old.lines().any(|l| l == line) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            text
        };
        // Killed after the key list was rewritten (and one workload file), before the other:
        // the other file still holds the stale points, and its new version lies half written.
        let alpha = workload_file(&store.dir, "alpha");
        std::fs::write(&alpha, uncompacted(&alpha)).unwrap();
        let mut half = alpha.clone().into_os_string();
        half.push(".new");
        std::fs::write(&half, "[\"cut sho").unwrap();
        assert_eq!(shown(&store), truth(&store));
        // Killed before the key list was rewritten: every file as it was, stale keys listed.
        for path in before.keys() {
            std::fs::write(path, uncompacted(path)).unwrap();
        }
        assert_eq!(shown(&store), truth(&store));
        // And the commit re-recorded once more: compacted again, only current points left.
        store.append(&record("c0", "third", 9)).unwrap();
        assert_eq!(shown(&store), truth(&store));
        let keys: HashSet<String> = store.content_keys().unwrap().into_values().collect();
        assert!(
            rows_on_disk(&store.dir)
                .iter()
                .all(|(k, _)| keys.contains(k))
        );
    }
}
