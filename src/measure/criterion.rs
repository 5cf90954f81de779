//! Criterion benchmarks: listing a bench executable's ids, running them with a private
//! `CRITERION_HOME`, and reading back the files criterion saved.
//!
//! Criterion 0.8 has no machine-readable output on stdout; its JSON files are the interface.
//! Under `$CRITERION_HOME/<folder>/<baseline>/` it writes `benchmark.json` (the id, `full_id`
//! and throughput) and `sample.json` (per sample: `iters` iterations took `times` ns in all).
//! Folders are sanitised and cut, so a benchmark is identified by its `full_id` only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::criterion_output::{BenchEvent, OutputParser};
use super::runner::{RunSpec, Runner};
use super::sampler::failure_of;
use crate::errors::MeasureError;
use crate::vocab::Failure;

/// How criterion is asked to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriterionSettings {
    pub warm_up_time: Duration,
    pub measurement_time: Duration,
    pub sample_size: u32,
    /// Criterion's `--quick` mode: no warm-up, and a benchmark stops once a measurement of n
    /// and one of 2n iterations agree (after at least 100 ms); the measurement time is only an
    /// upper bound. It is set from the command line alone, so settings a suite makes in code
    /// (a 3 s measurement time, say) cannot stretch it, except as that upper bound.
    pub quick: bool,
}

pub use crate::vocab::{Throughput, ThroughputUnit};

/// One benchmark's samples, read from criterion's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSample {
    pub full_id: String,
    /// The benchmark group (for `bench_function` outside a group, the id itself).
    pub group: String,
    pub throughput: Option<Throughput>,
    /// Iterations of each sample.
    pub iters: Vec<f64>,
    /// Total time of each sample, in nanoseconds.
    pub times_ns: Vec<f64>,
}

impl BenchSample {
    /// The time of one iteration in each sample.
    pub fn per_iteration(&self) -> Vec<f64> {
        self.iters
            .iter()
            .zip(&self.times_ns)
            .filter(|(i, _)| **i > 0.0)
            .map(|(i, t)| t / i)
            .collect()
    }

    /// The median time of one iteration over the samples: unlike the mean, one sample that
    /// the scheduler interrupted does not move it.
    pub fn median_per_iteration(&self) -> Option<f64> {
        crate::stats::median(&self.per_iteration())
    }

    /// The time of one iteration over all samples together (total time over total
    /// iterations): for `--quick` runs, whose two samples of n and 2n iterations are one
    /// measurement of 3n.
    pub fn pooled_per_iteration(&self) -> Option<f64> {
        let iters: f64 = self.iters.iter().sum();
        let times: f64 = self.times_ns.iter().sum();
        (iters > 0.0 && times.is_finite()).then(|| times / iters)
    }
}

/// The group of a benchmark listed by `--list`, where only the `full_id` is known: the part
/// before the first `/` (criterion's `group/function/value`).
pub fn group_of(full_id: &str) -> &str {
    full_id.split('/').next().unwrap_or(full_id)
}

/// The benchmark ids of the bench executable `exe`, in the order it runs them, from
/// `<exe> --bench --list` run in `cwd` (as `cargo bench` does).
pub fn list_ids(exe: &Path, cwd: &Path) -> Result<Vec<String>, MeasureError> {
    let out = Command::new(exe)
        .args(["--bench", "--list"])
        .current_dir(cwd)
        .env_remove("CRITERION_HOME")
        .output()
        .map_err(|source| MeasureError::Spawn {
            program: exe.display().to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(MeasureError::Criterion(format!(
            "`{} --bench --list` failed ({}): {}",
            exe.display(),
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    Ok(parse_list(&String::from_utf8_lossy(&out.stdout)))
}

/// Whether the bench executable `exe` takes `--quick` (criterion 0.4 and later), from its
/// `--help`; asked once per executable. Criterion 0.3 has no quick mode, and takes whole
/// seconds only for `--warm-up-time` and `--measurement-time`.
pub fn supports_quick(exe: &Path, cwd: &Path) -> bool {
    static SEEN: std::sync::Mutex<BTreeMap<PathBuf, bool>> = std::sync::Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    *seen.entry(exe.to_owned()).or_insert_with(|| {
        Command::new(exe)
            .args(["--bench", "--help"])
            .current_dir(cwd)
            .env_remove("CRITERION_HOME")
            .stdin(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--quick"))
    })
}

/// The ids of `--list` output: lines `<full_id>: benchmark` (criterion 0.5 and later) or
/// `<full_id>: bench` (0.3 and 0.4), with blank lines between groups.
pub fn parse_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_suffix(": benchmark")
                .or_else(|| l.strip_suffix(": bench"))
        })
        .map(str::to_owned)
        .collect()
}

/// What one run of a bench executable gave: the samples of every benchmark that finished, and
/// the failure of the process if it failed (the benchmark it was in has no samples).
#[derive(Debug, Default)]
pub struct SuiteRun {
    pub results: BTreeMap<String, BenchSample>,
    pub failure: Option<Failure>,
    /// Wall time of the whole process.
    pub wall_ns: u64,
    /// What criterion said it did for each benchmark, by id as printed.
    pub observed: BTreeMap<String, Observed>,
}

/// The settings criterion reported using for one benchmark: where they differ from what the
/// tool asked for, the suite set them in code (criterion gives those precedence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    pub warm_up: Option<Duration>,
    pub samples: Option<u64>,
    /// Criterion's estimate of the measuring time, from the measurement time it uses.
    pub estimated: Option<Duration>,
}

/// One run of a bench executable: which benchmarks, how, and under which baseline name.
#[derive(Debug, Clone, Copy)]
pub struct Suite<'a> {
    /// The name the runner knows the run by (the fake runner looks it up).
    pub name: &'a str,
    pub exe: &'a Path,
    /// The package's folder, where `cargo bench` would run it.
    pub cwd: &'a Path,
    pub ids: &'a [String],
    pub settings: &'a CriterionSettings,
    pub run_id: &'a str,
}

/// Runs the benchmarks `ids` of `exe` once, in a private `CRITERION_HOME` that is deleted
/// afterwards, saving them as the baseline `run_id`.
pub fn run_suite(
    runner: &mut dyn Runner,
    suite: &Suite,
    on_event: &mut dyn FnMut(&BenchEvent),
) -> Result<SuiteRun, MeasureError> {
    let Suite {
        name,
        cwd,
        ids,
        settings,
        run_id,
        ..
    } = *suite;
    let home = tempfile::Builder::new()
        .prefix("cargo-perf-criterion-")
        .tempdir()
        .map_err(|e| MeasureError::Criterion(format!("creating a CRITERION_HOME: {e}")))?;
    let argv = suite_argv(suite);
    // Generous: criterion overruns its measurement time when one iteration is slow.
    let per_bench = settings.warm_up_time + settings.measurement_time * 5 + Duration::from_secs(20);
    let spec = RunSpec {
        name: name.into(),
        argv,
        env: vec![(
            "CRITERION_HOME".into(),
            home.path().to_string_lossy().into_owned(),
        )],
        cwd: cwd.to_owned(),
        timeout: per_bench * ids.len().max(1) as u32 + Duration::from_secs(30),
    };
    let mut parser = OutputParser::default();
    let mut observed: BTreeMap<String, Observed> = BTreeMap::new();
    let run = runner.run_watched(&spec, &mut |stream, line| {
        if let Some(event) = parser.line(stream, line) {
            match &event {
                BenchEvent::WarmingUp { id, time } => {
                    observed.entry(id.clone()).or_default().warm_up = Some(*time);
                }
                BenchEvent::Collecting {
                    id,
                    samples,
                    estimated,
                } => {
                    let o = observed.entry(id.clone()).or_default();
                    o.samples = Some(*samples);
                    o.estimated = Some(*estimated);
                }
                BenchEvent::Started(_) | BenchEvent::Finished { .. } => {}
            }
            on_event(&event);
        }
    })?;
    let mut out = SuiteRun {
        results: read_baseline(home.path(), run_id)?,
        failure: None,
        wall_ns: run.sample.wall_ns,
        observed,
    };
    if !run.succeeded() {
        out.failure = Some(failure_of(&run, &spec, false));
    }
    Ok(out)
}

/// The command line a run of `suite` is: the executable, criterion's options and a filter of
/// exactly its ids (what `run_suite` runs, and what `-v` shows). Asks the executable whether it
/// takes `--quick` (criterion 0.3 does not).
pub fn suite_argv(suite: &Suite) -> Vec<String> {
    let Suite {
        exe,
        cwd,
        ids,
        settings,
        run_id,
        ..
    } = *suite;
    // Criterion 0.3 parses these times as whole seconds.
    let whole = !supports_quick(exe, cwd);
    let secs = |d: Duration| secs(d, whole);
    let mut argv: Vec<String> = vec![
        exe.display().to_string(),
        "--bench".into(),
        "--noplot".into(),
        "--color".into(),
        "never".into(),
        "--save-baseline".into(),
        run_id.into(),
        "--warm-up-time".into(),
        secs(settings.warm_up_time),
        "--measurement-time".into(),
        secs(settings.measurement_time),
    ];
    if !settings.quick {
        // Quick mode takes two samples and refuses a sample size.
        argv.extend(["--sample-size".into(), settings.sample_size.to_string()]);
    } else {
        // Quick mode stops once n and 2n iterations agree within the significance level (5 %
        // by default), after 100 ms; on a noisy machine a benchmark may then run to its
        // measurement time (3 s or more where the suite sets it in code). Rounds get their
        // precision from their number, not from each round, so any agreement will do; and the
        // analysis of two samples needs no 100,000 resamples.
        argv.extend(
            [
                "--quick",
                "--significance-level",
                "0.5",
                "--nresamples",
                "1000",
            ]
            .map(String::from),
        );
    }
    // An anchored regex of the escaped ids: criterion 0.3 and 0.4 have no `--exact`.
    argv.push(filter_regex(ids));
    argv
}

/// A duration for criterion's command line: seconds, rounded up to whole ones for `whole`.
fn secs(d: Duration, whole: bool) -> String {
    if whole {
        format!("{}", d.as_secs_f64().ceil().max(1.0))
    } else {
        format!("{}", d.as_secs_f64())
    }
}

/// A regex (criterion's filter syntax) that matches exactly the ids given.
pub fn filter_regex(ids: &[String]) -> String {
    let escaped: Vec<String> = ids
        .iter()
        .map(|id| {
            let mut e = String::with_capacity(id.len());
            for c in id.chars() {
                // The characters the regex crate treats as meta characters.
                if "\\.+*?()|[]{}^$#&-~".contains(c) {
                    e.push('\\');
                }
                e.push(c);
            }
            e
        })
        .collect();
    format!("^(?:{})$", escaped.join("|"))
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    full_id: String,
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct SampleJson {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Every benchmark saved under the baseline `baseline` in `home`, by `full_id`.
pub fn read_baseline(
    home: &Path,
    baseline: &str,
) -> Result<BTreeMap<String, BenchSample>, MeasureError> {
    let mut dirs = Vec::new();
    find_baseline_dirs(home, baseline, &mut dirs, 0);
    let mut out = BTreeMap::new();
    for dir in dirs {
        let read = |file: &str| -> Result<String, MeasureError> {
            std::fs::read_to_string(dir.join(file)).map_err(|e| {
                MeasureError::Criterion(format!("reading {}: {e}", dir.join(file).display()))
            })
        };
        let bad = |file: &str, e: serde_json::Error| {
            MeasureError::Criterion(format!(
                "{} is not what criterion 0.8 writes: {e}",
                dir.join(file).display()
            ))
        };
        let bench: BenchmarkJson =
            serde_json::from_str(&read("benchmark.json")?).map_err(|e| bad("benchmark.json", e))?;
        let sample: SampleJson =
            serde_json::from_str(&read("sample.json")?).map_err(|e| bad("sample.json", e))?;
        if sample.iters.len() != sample.times.len() {
            return Err(MeasureError::Criterion(format!(
                "{}: `iters` and `times` differ in length",
                dir.join("sample.json").display()
            )));
        }
        out.insert(
            bench.full_id.clone(),
            BenchSample {
                full_id: bench.full_id,
                group: bench.group_id,
                throughput: bench.throughput.as_ref().and_then(throughput_of),
                iters: sample.iters,
                times_ns: sample.times,
            },
        );
    }
    Ok(out)
}

/// The names of the baselines saved under `home` (criterion's `new` included), sorted.
pub fn baselines_in(home: &Path) -> Vec<String> {
    let mut dirs = Vec::new();
    find_result_dirs(home, &mut dirs, 0);
    let mut names: Vec<String> = dirs
        .iter()
        .filter_map(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn find_result_dirs(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if depth > 8 || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if path.join("benchmark.json").is_file() {
            out.push(path);
        } else {
            find_result_dirs(&path, out, depth + 1);
        }
    }
}

/// The folders called `baseline` that hold a `benchmark.json`. Criterion's tree is at most
/// `group/function/value/baseline`; the depth limit only guards against symlink loops.
fn find_baseline_dirs(dir: &Path, baseline: &str, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == baseline && path.join("benchmark.json").is_file() {
            out.push(path);
        } else if entry.file_name() != "report" {
            find_baseline_dirs(&path, baseline, out, depth + 1);
        }
    }
}

/// Criterion's `Throughput` as serde writes it: `{"Bytes": 4096}`, `{"Elements": 10}`,
/// `{"ElementsAndBytes": {"elements": 1, "bytes": 2}}`.
fn throughput_of(v: &serde_json::Value) -> Option<Throughput> {
    let (kind, value) = v.as_object()?.iter().next()?;
    let (unit, n) = match kind.as_str() {
        "Bytes" | "BytesDecimal" => (ThroughputUnit::Bytes, value.as_u64()?),
        "Elements" => (ThroughputUnit::Elements, value.as_u64()?),
        "Bits" => (ThroughputUnit::Bits, value.as_u64()?),
        "ElementsAndBytes" => (ThroughputUnit::Elements, value.get("elements")?.as_u64()?),
        _ => return None,
    };
    Some(Throughput {
        unit,
        per_iteration: n,
    })
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.trim_end().lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_output_gives_the_ids_in_order() {
        let out = "parse?/words/ws split: benchmark\n\nexplode: benchmark\n\nlines: benchmark\n";
        assert_eq!(
            parse_list(out),
            ["parse?/words/ws split", "explode", "lines"]
        );
        // Criterion 0.4 (base64 0.22's suite) and 0.3 end the lines with `: bench`.
        let old = "encode_small_input/encode/3: bench\nencode_small_input/encode/50: bench\n\n";
        assert_eq!(
            parse_list(old),
            [
                "encode_small_input/encode/3",
                "encode_small_input/encode/50"
            ]
        );
    }

    #[test]
    fn group_is_the_first_part() {
        assert_eq!(group_of("sort/unstable/1000"), "sort");
        assert_eq!(group_of("fib 15"), "fib 15");
    }

    #[test]
    fn the_filter_escapes_meta_characters() {
        let r = filter_regex(&["parse?/words (x)".into(), "a.b".into()]);
        assert_eq!(r, r"^(?:parse\?/words \(x\)|a\.b)$");
    }

    #[test]
    fn throughput_forms_are_read() {
        let t = |s: &str| throughput_of(&serde_json::from_str(s).unwrap());
        assert_eq!(
            t(r#"{"Bytes":4096}"#),
            Some(Throughput {
                unit: ThroughputUnit::Bytes,
                per_iteration: 4096
            })
        );
        assert_eq!(
            t(r#"{"ElementsAndBytes":{"elements":3,"bytes":9}}"#).map(|t| t.per_iteration),
            Some(3)
        );
        assert_eq!(t(r#"{"Nonsense":1}"#), None);
        // 1000 elements in 2 µs: 500 M elements per second.
        let e = Throughput {
            unit: ThroughputUnit::Elements,
            per_iteration: 1000,
        };
        assert_eq!(e.format(2000.0), "500.00 Melem/s");
    }

    #[test]
    fn a_baseline_is_read_by_full_id_not_folder() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("parse_/words_ws split/r1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("benchmark.json"),
            r#"{"group_id":"parse?","function_id":"words/ws split","value_str":null,"throughput":null,"full_id":"parse?/words/ws split","directory_name":"parse_/words_ws split","title":"parse?/words/ws split"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("sample.json"),
            r#"{"sampling_mode":"Linear","iters":[2.0,4.0],"times":[10.0,30.0]}"#,
        )
        .unwrap();
        // Another baseline of the same benchmark is not read.
        let other = home.path().join("parse_/words_ws split/base");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::copy(dir.join("benchmark.json"), other.join("benchmark.json")).unwrap();
        let read = read_baseline(home.path(), "r1").unwrap();
        let b = &read["parse?/words/ws split"];
        assert_eq!(b.group, "parse?");
        assert_eq!(b.per_iteration(), [5.0, 7.5]);
        assert_eq!(b.median_per_iteration(), Some(6.25));
        assert_eq!(read.len(), 1);
    }
}
