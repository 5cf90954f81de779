//! Counting instructions: a run under valgrind's cachegrind, following every child process,
//! with its cache simulation on a fixed cache geometry so that figures taken on different
//! machines compare. Each process writes `cg.<pid>` into a private folder; the run's counts are
//! the sum of their `summary:` lines.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use super::runner::{RunResult, RunSpec, Runner};
use crate::errors::MeasureError;
use crate::vocab::Counts;

/// A counted run is this many times slower than a native one at most (cachegrind with its cache
/// simulation is 20 to 100 times slower on CPU-bound code); the workload's timeout is stretched
/// by as much.
pub const TIMEOUT_FACTOR: u32 = 100;

/// The cache geometry simulated, whatever the machine has: 32 KiB 8-way L1 caches and an 8 MiB
/// 16-way last level, 64-byte lines.
const CACHES: [&str; 3] = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64"];

/// How to install valgrind.
macro_rules! install {
    () => {
        "install valgrind: `sudo apt-get install valgrind` (Debian, Ubuntu), `sudo dnf install \
         valgrind` (Fedora), `brew install valgrind` (Linux Homebrew)"
    };
}

/// How to install valgrind, for explanations that need it.
pub const INSTALL: &str = install!();

/// How to install valgrind or do without it, for the message when the instructions metric
/// finds it missing.
pub const INSTALL_HINT: &str = concat!(install!(), "; or use `--metric wall`");

/// The valgrind to run: `CARGO_PERF_VALGRIND` when set (a path or a name), else `valgrind` on
/// the `PATH`.
pub fn program() -> String {
    std::env::var("CARGO_PERF_VALGRIND")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "valgrind".into())
}

/// Whether to simulate the cache (for misses and estimated cycles): yes unless
/// `CARGO_PERF_CACHE_SIM` is `no`, `0` or `false`, which counts instructions only and costs
/// about a third less.
pub fn cache_sim() -> bool {
    !matches!(
        std::env::var("CARGO_PERF_CACHE_SIM").as_deref(),
        Ok("no" | "0" | "false")
    )
}

/// `valgrind --version` (`valgrind-3.19.0`), looked up once.
pub fn version() -> Result<String, MeasureError> {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let program = program();
            // Where the program came from, for the messages.
            let named = if std::env::var_os("CARGO_PERF_VALGRIND").is_some_and(|v| !v.is_empty()) {
                format!("`{program}` (from CARGO_PERF_VALGRIND)")
            } else {
                format!("`{program}`")
            };
            let out = std::process::Command::new(&program)
                .arg("--version")
                .output()
                .map_err(|e| {
                    format!(
                        "the instructions metric runs workloads under valgrind, and {named} \
                         cannot be started ({e}); {INSTALL_HINT}"
                    )
                })?;
            let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if !out.status.success() || !text.starts_with("valgrind") {
                let first = text.lines().next().unwrap_or("");
                return Err(format!(
                    "{named} is not valgrind: `--version` answered `{first}`; {INSTALL_HINT}"
                ));
            }
            Ok(text)
        })
        .clone()
        .map_err(MeasureError::Valgrind)
}

/// The spec of `spec` run under cachegrind, writing into `out_dir`.
pub fn counted_spec(spec: &RunSpec, out_dir: &Path) -> RunSpec {
    cachegrind_spec(spec, out_dir, cache_sim(), false)
}

/// `spec` under cachegrind, with its cache simulation if `cache`, and its branch simulation
/// (events `Bc Bcm Bi Bim`) if `branches`.
pub(super) fn cachegrind_spec(
    spec: &RunSpec,
    out_dir: &Path,
    cache: bool,
    branches: bool,
) -> RunSpec {
    let mut argv: Vec<String> = vec![program()];
    argv.extend(["--tool=cachegrind", "--trace-children=yes", "-q"].map(String::from));
    if cache {
        argv.push("--cache-sim=yes".into());
        argv.extend(CACHES.map(String::from));
    } else {
        argv.push("--cache-sim=no".into());
    }
    if branches {
        argv.push("--branch-sim=yes".into());
    }
    // Valgrind's own messages stay out of the workload's standard error (a command it cannot
    // start is still reported there).
    argv.push(format!("--log-file={}/log.%p", out_dir.display()));
    argv.push(format!("--cachegrind-out-file={}/cg.%p", out_dir.display()));
    argv.extend(spec.argv.iter().cloned());
    RunSpec {
        argv,
        timeout: spec
            .timeout
            .saturating_mul(TIMEOUT_FACTOR)
            .min(Duration::from_secs(24 * 3600)),
        ..spec.clone()
    }
}

/// Runs `spec` once under cachegrind. The counts are `None` when the run failed (its result says
/// how); a run that succeeded without leaving counts is an error.
pub fn run_counted(
    runner: &mut dyn Runner,
    spec: &RunSpec,
) -> Result<(RunResult, Option<Counts>), MeasureError> {
    version()?;
    let dir = tempfile::Builder::new()
        .prefix("cargo-perf-cachegrind-")
        .tempdir()
        .map_err(|source| MeasureError::Sys {
            what: "creating a folder for cachegrind's output",
            source,
        })?;
    let run = runner.run(&counted_spec(spec, dir.path()))?;
    if !run.succeeded() {
        return Ok((run, None));
    }
    let counts = read_counts(dir.path())?;
    Ok((run, Some(counts)))
}

/// Sums the `cg.*` files of `dir`.
pub fn read_counts(dir: &Path) -> Result<Counts, MeasureError> {
    let entries = std::fs::read_dir(dir).map_err(|source| MeasureError::Sys {
        what: "reading cachegrind's output folder",
        source,
    })?;
    let mut total = Counts {
        cache_simulated: true,
        ..Counts::default()
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with("cg.") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| MeasureError::Sys {
            what: "reading cachegrind's output",
            source,
        })?;
        let counts = parse(&text).ok_or_else(|| {
            MeasureError::Valgrind(format!(
                "cachegrind's output {} has no `events:` and `summary:` lines to read",
                path.display()
            ))
        })?;
        total.add(&counts);
        total.cache_simulated &= counts.cache_simulated;
    }
    if total.processes == 0 {
        return Err(MeasureError::Valgrind(
            "the workload ran under valgrind but cachegrind wrote no counts; is the command a \
             static or setuid executable valgrind cannot follow?"
                .into(),
        ));
    }
    Ok(total)
}

/// One cachegrind output file's totals: `events: Ir I1mr ...` names the columns of
/// `summary: 232905 1647 ...`.
fn parse(text: &str) -> Option<Counts> {
    let mut events: Option<Vec<&str>> = None;
    let mut summary: Option<Vec<u64>> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("events:") {
            events = Some(rest.split_whitespace().collect());
        } else if let Some(rest) = line.strip_prefix("summary:") {
            summary = rest
                .split_whitespace()
                .map(|v| v.parse().ok())
                .collect::<Option<Vec<u64>>>();
        }
    }
    let (events, summary) = (events?, summary?);
    let get = |name: &str| {
        events
            .iter()
            .position(|e| *e == name)
            .and_then(|i| summary.get(i).copied())
            .unwrap_or(0)
    };
    if !events.contains(&"Ir") {
        return None;
    }
    Some(Counts {
        instructions: get("Ir"),
        data_accesses: get("Dr") + get("Dw"),
        l1_misses: get("I1mr") + get("D1mr") + get("D1mw"),
        ll_misses: get("ILmr") + get("DLmr") + get("DLmw"),
        processes: 1,
        cache_simulated: events.contains(&"D1mr"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head and tail of a file cachegrind 3.19 wrote for `sh -c 'ls / > /dev/null'`.
    const SAMPLE: &str = "desc: I1 cache:         32768 B, 64 B, 8-way associative
desc: D1 cache:         32768 B, 64 B, 8-way associative
desc: LL cache:         8388608 B, 64 B, 16-way associative
cmd: sh -c ls / > /dev/null; echo hi
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw 
fl=./csu/../csu/libc-start.c
fn=__libc_start_main@@GLIBC_2.34
128 2 1 1 2 0 0 0 0 0
fn=???
0 27332 412 389 6840 97 41 3370 18 17
summary: 232905 1647 1604 57873 1981 1515 21908 512 477
";

    #[test]
    fn reads_the_summary_by_the_names_of_its_events() {
        let c = parse(SAMPLE).unwrap();
        assert_eq!(c.instructions, 232905);
        assert_eq!(c.data_accesses, 57873 + 21908);
        assert_eq!(c.l1_misses, 1647 + 1981 + 512);
        assert_eq!(c.ll_misses, 1604 + 1515 + 477);
        assert_eq!(c.processes, 1);
    }

    #[test]
    fn without_the_cache_simulation_only_instructions_are_counted() {
        let c = parse("events: Ir\nsummary: 12345\n").unwrap();
        assert_eq!(
            (c.instructions, c.l1_misses, c.data_accesses),
            (12345, 0, 0)
        );
        assert!(!c.cache_simulated);
        assert!(parse(SAMPLE).unwrap().cache_simulated);
        assert!(parse("events: Dr\nsummary: 1\n").is_none());
        assert!(parse("events: Ir\nsummary: x\n").is_none());
        assert!(parse("events: Ir\n").is_none());
    }

    #[test]
    fn every_process_of_the_tree_is_summed_and_an_empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cg.1"), SAMPLE).unwrap();
        std::fs::write(dir.path().join("cg.2"), "events: Ir\nsummary: 5\n").unwrap();
        std::fs::write(dir.path().join("log.2"), "--2-- warning: L3 cache found\n").unwrap();
        let c = read_counts(dir.path()).unwrap();
        assert_eq!((c.instructions, c.processes), (232910, 2));
        // One process counted without the simulation: the sum has no cache figures.
        assert!(!c.cache_simulated);
        let empty = tempfile::tempdir().unwrap();
        let err = read_counts(empty.path()).unwrap_err().to_string();
        assert!(err.contains("wrote no counts"), "{err}");
        std::fs::write(empty.path().join("cg.3"), "garbage").unwrap();
        let err = read_counts(empty.path()).unwrap_err().to_string();
        assert!(err.contains("cg.3") && err.contains("summary"), "{err}");
    }

    #[test]
    fn the_counted_spec_follows_children_and_stretches_the_timeout() {
        let spec = RunSpec {
            name: "w".into(),
            argv: vec!["sh".into(), "-c".into(), "true".into()],
            env: vec![],
            cwd: "/".into(),
            timeout: Duration::from_secs(2),
        };
        let c = counted_spec(&spec, Path::new("/out"));
        assert!(c.argv[0].ends_with("valgrind"), "{:?}", c.argv);
        assert!(c.argv.contains(&"--trace-children=yes".to_owned()));
        assert!(
            c.argv
                .contains(&"--cachegrind-out-file=/out/cg.%p".to_owned())
        );
        assert_eq!(c.argv[c.argv.len() - 3..], spec.argv[..]);
        assert_eq!(c.timeout, Duration::from_secs(200));
    }
}
