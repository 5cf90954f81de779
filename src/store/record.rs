//! The record schema (version 1) and reading it back.
//!
//! A record is one line of JSON. What is written to disk never uses `flatten` or `untagged`, so
//! the format is exactly the fields below. A reader refuses a record of a newer schema (it might
//! mean something else) and skips a line that is not a record with a warning.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::machine::Machine;
use crate::errors::StoreError;
use crate::pipeline::{LoadResult, WorkloadResult};
use crate::stats::Summary;
use crate::vocab::load::{LoadReport, STORED_SECONDS};
use crate::vocab::{Class, Counts, Metric, Status, Throughput};

/// The version of the record format this build writes and reads.
pub const RECORD_SCHEMA: u32 = 1;

/// One stored run: every workload measured at one commit on one machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The format version, `RECORD_SCHEMA` when written by this build.
    pub schema: u32,
    /// Unique per record (random), so that the same record is recognised after a sync.
    pub run_id: String,
    /// The full commit id that was measured.
    pub commit: String,
    /// Whether the working tree had uncommitted changes (`--allow-dirty`).
    pub dirty: bool,
    /// When the run finished, seconds since the Unix epoch.
    pub time_unix: i64,
    /// The same time in RFC 3339, UTC.
    pub time: String,
    /// The cargo-perf version that measured.
    pub tool_version: String,
    /// `rustc -V` of the toolchain that built the workloads.
    pub rustc: String,
    pub machine: Machine,
    /// FNV-1a (16 hex digits) of the `perf.toml` bytes, to tell whether the workloads changed.
    pub manifest_hash: String,
    /// `valgrind --version` (`valgrind-3.19.0`) when a workload's instructions were counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valgrind: Option<String>,
    /// `--partition` of the run (`hash:2/4`): the record holds that shard's workloads, and the
    /// other shards' records of the commit hold the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    pub workloads: Vec<WorkloadRecord>,
}

/// One workload of a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadRecord {
    pub name: String,
    /// `command`, `criterion` or `load`.
    pub kind: String,
    pub class: Class,
    pub status: Status,
    pub metric: Metric,
    pub budget_ns: u64,
    pub summary: StoredSummary,
    /// Every sample, as parallel arrays (sample `i` is index `i` of each).
    pub samples: StoredSamples,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// For `kind = "criterion"`: the benchmark and criterion's own samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<CriterionRecord>,
    /// For `kind = "load"`: everything the load workload measured, its second-by-second series
    /// thinned to at most `STORED_SECONDS` points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
    /// With the instructions metric: what cachegrind counted in one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// One of several fixtures of a declared workload: its group and size, for growth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<StoredGrowth>,
}

/// A fixture's place in its declared workload's growth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredGrowth {
    pub group: String,
    pub size: f64,
    /// Declared in `sizes` (else the fixture's lines).
    pub declared: bool,
    /// The group's exponent as the run that recorded it fitted it from every sample (the same
    /// on each of the group's workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<StoredFit>,
}

/// The exponent of a group's stored fixtures, each `(size, median, fit)`, and the fit it comes
/// from: the one its run stored (with its interval), or, for records without one, none and a
/// fit through the medians.
pub fn stored_exponent(
    fixtures: &[(f64, f64, Option<StoredFit>)],
) -> Option<(f64, Option<StoredFit>)> {
    if let Some(fit) = fixtures.iter().find_map(|(_, _, f)| *f) {
        return Some((fit.exponent, Some(fit)));
    }
    let medians: Vec<(f64, f64)> = fixtures.iter().map(|(s, m, _)| (*s, *m)).collect();
    Some((crate::pipeline::growth::exponent_of(&medians)?, None))
}

/// A growth exponent with its 95 % bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredFit {
    pub exponent: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A criterion benchmark as stored. `summary.wall_ns` is the time of one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionRecord {
    /// The bench target (`[[bench]] name`).
    pub target: String,
    /// Criterion's `full_id`, which identifies the benchmark (not its sanitised folder).
    pub full_id: String,
    pub group: String,
    /// Iterations of each sample.
    pub iters: Vec<f64>,
    /// Total nanoseconds of each sample.
    pub times_ns: Vec<f64>,
}

/// The figures `history` and reports need, so that they do not recompute them from samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSummary {
    pub n: usize,
    pub wall_ns: Option<StoredStats>,
    /// User plus system CPU time.
    pub cpu_ns: Option<StoredStats>,
    pub max_rss_bytes: Option<u64>,
    /// See `WorkloadResult::rss_floor_bytes`.
    pub rss_floor_bytes: u64,
    /// What one iteration processes, for criterion benchmarks that declare it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// Load workloads: requests per second that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
}

/// Summary statistics in nanoseconds, to the picosecond (criterion benchmarks are often a few
/// nanoseconds per iteration; command workloads are whole nanoseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredStats {
    pub mean: f64,
    /// `None` for fewer than two samples.
    pub stddev: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub mad: f64,
}

/// Raw samples as parallel arrays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredSamples {
    pub wall_ns: Vec<u64>,
    pub user_ns: Vec<u64>,
    pub sys_ns: Vec<u64>,
    pub max_rss_bytes: Vec<u64>,
}

/// The parts of a record that `history` reads; the samples are skipped, not parsed.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordLite {
    pub schema: u32,
    pub run_id: String,
    pub commit: String,
    pub dirty: bool,
    pub time: String,
    pub machine: MachineKey,
    pub workloads: Vec<WorkloadLite>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MachineKey {
    pub key: String,
    #[serde(default)]
    pub cpu: String,
    #[serde(default)]
    pub cores: u32,
    #[serde(default)]
    pub memory_bytes: u64,
    #[serde(default)]
    pub os: String,
}

impl MachineKey {
    /// As [`super::Machine::describe`].
    pub fn describe(&self) -> String {
        super::Machine {
            key: self.key.clone(),
            cpu: self.cpu.clone(),
            cores: self.cores,
            memory_bytes: self.memory_bytes,
            os: self.os.clone(),
        }
        .describe()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkloadLite {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub budget_ns: u64,
    pub status: Status,
    pub summary: StoredSummary,
    #[serde(default)]
    pub growth: Option<StoredGrowth>,
}

impl From<&Summary> for StoredStats {
    fn from(s: &Summary) -> Self {
        let ns = |v: f64| (v * 1000.0).round() / 1000.0;
        StoredStats {
            mean: ns(s.mean),
            stddev: s.stddev.map(ns),
            min: ns(s.min),
            max: ns(s.max),
            median: ns(s.median),
            p90: ns(s.p90),
            p95: ns(s.p95),
            p99: ns(s.p99),
            mad: ns(s.mad),
        }
    }
}

impl From<&WorkloadResult> for WorkloadRecord {
    fn from(r: &WorkloadResult) -> Self {
        let column = |f: fn(&crate::measure::Sample) -> u64| r.samples.iter().map(f).collect();
        let criterion = r.workload.criterion().map(|c| CriterionRecord {
            target: c.target.clone(),
            full_id: c.full_id.clone(),
            group: r
                .criterion
                .as_ref()
                .map_or_else(|| c.group.clone(), |b| b.group.clone()),
            iters: r.criterion.as_ref().map_or(Vec::new(), |b| b.iters.clone()),
            times_ns: r
                .criterion
                .as_ref()
                .map_or(Vec::new(), |b| b.times_ns.clone()),
        });
        WorkloadRecord {
            name: r.workload.name.clone(),
            kind: if criterion.is_some() {
                "criterion"
            } else {
                "command"
            }
            .into(),
            // A criterion benchmark has no class or budget; records keep the shape (small, 0).
            class: r.workload.command().map_or(Class::Small, |c| c.class),
            status: r.status(),
            metric: r.workload.sampling.metric,
            budget_ns: r
                .workload
                .command()
                .map_or(0, |c| c.budget.as_nanos() as u64),
            summary: StoredSummary {
                wall_ns: r.wall_ns.as_ref().map(Into::into),
                cpu_ns: r.cpu_ns.as_ref().map(Into::into),
                max_rss_bytes: r.max_rss_bytes,
                rss_floor_bytes: r.rss_floor_bytes,
                n: if criterion.is_some() {
                    r.criterion.as_ref().map_or(0, |b| b.iters.len())
                } else {
                    r.samples.len()
                },
                throughput: r.criterion.as_ref().and_then(|b| b.throughput),
                rps: None,
            },
            samples: StoredSamples {
                wall_ns: column(|s| s.wall_ns),
                user_ns: column(|s| s.user_ns),
                sys_ns: column(|s| s.sys_ns),
                max_rss_bytes: column(|s| s.max_rss_bytes),
            },
            failure: r.failure.as_ref().map(|f| f.reason.clone()),
            criterion,
            load: None,
            counts: r.counts,
            growth: r
                .workload
                .command()
                .and_then(|c| c.growth.as_ref())
                .map(|g| StoredGrowth {
                    group: g.group.clone(),
                    size: g.size,
                    declared: g.declared,
                    fit: None,
                }),
        }
    }
}

impl From<&LoadResult> for WorkloadRecord {
    /// The summary of a load workload is its latency over the whole run (`n` requests, the
    /// median its p50) and the service's peak RSS; the rest is in `load`.
    fn from(r: &LoadResult) -> Self {
        let overall = r.report.as_ref().map(|l| &l.overall);
        let latency = overall.filter(|o| o.requests > 0).map(|o| {
            let l = &o.latency;
            StoredStats {
                mean: (l.mean * 1000.0).round() / 1000.0,
                stddev: None,
                min: l.min as f64,
                max: l.max as f64,
                median: l.p50 as f64,
                p90: l.p90 as f64,
                p95: l.p95 as f64,
                p99: l.p99 as f64,
                mad: 0.0,
            }
        });
        let failure = match (&r.failure, &r.report) {
            (Some(f), _) => Some(f.clone()),
            (None, Some(report)) if r.status() == Status::Failed => {
                let mut why: Vec<String> = report
                    .thresholds
                    .iter()
                    .filter(|t| !t.held && t.level == "critical")
                    .map(|t| format!("{} ({})", t.expr, t.actual))
                    .collect();
                why.extend(crate::pipeline::problems(report));
                Some(why.join("; "))
            }
            _ => None,
        };
        WorkloadRecord {
            name: r.workload.name.clone(),
            kind: "load".into(),
            class: Class::Small,
            status: r.status(),
            metric: Metric::Wall,
            budget_ns: 0,
            summary: StoredSummary {
                n: overall.map_or(0, |o| o.requests as usize),
                wall_ns: latency,
                cpu_ns: None,
                max_rss_bytes: overall.and_then(|o| o.rss_max),
                rss_floor_bytes: 0,
                throughput: None,
                rps: overall.map(|o| (o.achieved_rps * 1000.0).round() / 1000.0),
            },
            samples: StoredSamples::default(),
            failure,
            criterion: None,
            load: r.report.as_ref().map(|l| l.thinned(STORED_SECONDS)),
            counts: None,
            growth: None,
        }
    }
}

/// The records of one commit and machine as one set: each workload from the newest record that
/// has it. The shards of a CI matrix (`--partition`) each store a record of their share, and a
/// workload measured again replaces its older figures. `records` are in stored order (oldest
/// first); the set has the newest one's time and versions, the run ids of the records it drew
/// on joined by `+`, and their partitions.
pub fn merge_set(records: &[Record]) -> Option<Record> {
    let newest = records.last()?;
    if records.len() == 1 {
        return Some(newest.clone());
    }
    let mut seen = std::collections::HashSet::new();
    let mut used: Vec<&Record> = Vec::new();
    let mut workloads = Vec::new();
    for r in records.iter().rev() {
        let before = workloads.len();
        for w in &r.workloads {
            if seen.insert(w.name.as_str()) {
                workloads.push(w.clone());
            }
        }
        if workloads.len() > before {
            used.push(r);
        }
    }
    used.reverse();
    let mut set = newest.clone();
    set.run_id = used
        .iter()
        .map(|r| r.run_id.as_str())
        .collect::<Vec<_>>()
        .join("+");
    set.dirty = used.iter().any(|r| r.dirty);
    // A record of every workload among shards' shows as `all`.
    set.partition = used.iter().any(|r| r.partition.is_some()).then(|| {
        used.iter()
            .map(|r| r.partition.as_deref().unwrap_or("all"))
            .collect::<Vec<_>>()
            .join(" + ")
    });
    set.workloads = workloads;
    Some(set)
}

impl Record {
    /// The one line this record is stored as (no newline).
    pub fn to_line(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

/// Parses the JSON Lines of `location` (such as "note of commit abc1234") into `T`. Blank lines
/// are ignored; a line that is not a record is skipped with a warning pushed to `warnings`; a
/// record of a newer schema is an error.
pub fn parse_lines<T: DeserializeOwned + OfCommit>(
    text: &str,
    commit: &str,
    location: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(record) => {
                // Only a successfully parsed record needs its schema checked here; it is cheap
                // compared with the parse, and a newer schema must never be read as ours.
                if let Ok(SchemaOnly { schema }) = serde_json::from_str(line)
                    && schema > RECORD_SCHEMA
                {
                    return Err(newer(location, i + 1, schema));
                }
                // A note copied to another commit (`git notes copy`, a rebase with
                // `notes.rewriteRef`) holds records of the commit it was copied from.
                if record.commit() != commit {
                    warnings.push(format!(
                        "{location}, line {}: the record is of commit {}, not of the commit it is \
                         stored with (a copied or rewritten note?); skipped",
                        i + 1,
                        super::repo::short(record.commit())
                    ));
                    continue;
                }
                out.push(record);
            }
            Err(e) => match serde_json::from_str::<SchemaOnly>(line) {
                Ok(SchemaOnly { schema }) if schema > RECORD_SCHEMA => {
                    return Err(newer(location, i + 1, schema));
                }
                _ => warnings.push(format!(
                    "{location}, line {}: not a valid record ({e}); skipped",
                    i + 1
                )),
            },
        }
    }
    Ok(out)
}

/// A stored record, which names the commit it was measured at.
pub trait OfCommit {
    fn commit(&self) -> &str;
}

impl OfCommit for Record {
    fn commit(&self) -> &str {
        &self.commit
    }
}

impl OfCommit for RecordLite {
    fn commit(&self) -> &str {
        &self.commit
    }
}

fn newer(location: &str, line: usize, found: u32) -> StoreError {
    StoreError::NewerSchema {
        location: location.to_owned(),
        line,
        found,
        supported: RECORD_SCHEMA,
    }
}

/// RFC 3339 in UTC for seconds since the epoch (Howard Hinnant's civil-from-days).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_record(commit: &str, run_id: &str) -> Record {
        Record {
            partition: None,
            schema: RECORD_SCHEMA,
            run_id: run_id.into(),
            commit: commit.into(),
            dirty: false,
            time_unix: 0,
            time: rfc3339(0),
            tool_version: "0.1.0".into(),
            rustc: "rustc 1.95.0".into(),
            machine: Machine::new("cpu".into(), 2, 1 << 30, "os".into()),
            manifest_hash: "0".repeat(16),
            valgrind: None,
            workloads: vec![],
        }
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // date -u -d @1795000000 +%FT%TZ
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn lines_round_trip_and_bad_lines_are_skipped_with_a_warning() {
        let a = sample_record("c1", "r1").to_line();
        let b = sample_record("c1", "r2").to_line();
        let text = format!("{a}\n{{not json\n\n{b}\n");
        let mut warnings = Vec::new();
        let records: Vec<Record> =
            parse_lines(&text, "c1", "note of commit c1", &mut warnings).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].run_id, "r2");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("note of commit c1, line 2: not a valid record"));
    }

    #[test]
    fn a_record_of_another_commit_is_skipped_with_a_warning() {
        // A note copied from c0 to c1 (`git notes copy`, a rebase with notes.rewriteRef).
        let text = format!(
            "{}\n{}\n",
            sample_record("c0", "r1").to_line(),
            sample_record("c1", "r2").to_line()
        );
        let mut warnings = Vec::new();
        let records: Vec<Record> = parse_lines(&text, "c1", "note", &mut warnings).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].run_id, "r2");
        assert!(
            warnings[0].contains("line 1: the record is of commit c0, not of the commit"),
            "{warnings:?}"
        );
        // A commit field with multi-byte characters is shown, not sliced apart.
        let odd = sample_record("ééééééééé-é", "r3").to_line();
        let mut warnings = Vec::new();
        let _: Vec<Record> = parse_lines(&odd, "c1", "note", &mut warnings).unwrap();
        assert!(warnings[0].contains("ééééééééé-"), "{warnings:?}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let line = sample_record("c1", "r1")
            .to_line()
            .replace("\"schema\":1", "\"schema\":2");
        let err =
            parse_lines::<Record>(&line, "c1", "note of commit c1", &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string()
                .contains("schema 2, newer than this cargo-perf reads (1)")
        );
        // Even when the rest of the line no longer fits today's types.
        let err =
            parse_lines::<Record>("{\"schema\": 3, \"new\": true}", "c1", "x", &mut Vec::new())
                .unwrap_err();
        assert!(err.to_string().contains("schema 3"));
    }

    #[test]
    fn the_lite_form_reads_a_full_record() {
        let line = sample_record("c1", "r1").to_line();
        let lite: Vec<RecordLite> = parse_lines(&line, "c1", "x", &mut Vec::new()).unwrap();
        assert_eq!(lite[0].machine.key, sample_record("c", "r").machine.key);
    }
}
