//! Profiling a run for an explanation: the command under cachegrind with its cache and branch
//! simulations, read per function.
//!
//! The layout of a `cg.<pid>` file this relies on (cachegrind 3.x): `events: Ir I1mr ...` names
//! the columns; `fl=FILE` and `fn=NAME` lines open the costs of a function (the same function
//! may appear under several files, its code inlined from each); a cost line is a source line
//! number followed by one count per event (trailing zeros may be left out); `summary:` holds the
//! totals. Names are demangled by valgrind (Rust's hashes dropped); code without a symbol is
//! `???`.

use std::collections::BTreeMap;
use std::path::Path;

use super::runner::{RunSpec, Runner};
use super::valgrind;
use crate::errors::MeasureError;
use crate::vocab::{Failure, Profile};

/// Runs `spec` once under cachegrind, simulating caches and branches: its profile, or how the
/// run failed.
pub fn run_profiled(
    runner: &mut dyn Runner,
    spec: &RunSpec,
) -> Result<Result<Profile, Failure>, MeasureError> {
    valgrind::version()?;
    let dir = tempfile::Builder::new()
        .prefix("cargo-perf-explain-")
        .tempdir()
        .map_err(|source| MeasureError::Sys {
            what: "creating a folder for cachegrind's output",
            source,
        })?;
    let profiled = valgrind::cachegrind_spec(spec, dir.path(), true, true);
    let run = runner.run(&profiled)?;
    if !run.succeeded() {
        return Ok(Err(super::sampler::failure_of(&run, &profiled, false)));
    }
    Ok(Ok(read_profile(dir.path())?))
}

/// Sums the `cg.*` files of `dir`, function by function.
pub fn read_profile(dir: &Path) -> Result<Profile, MeasureError> {
    let counts = valgrind::read_counts(dir)?;
    let mut profile = Profile {
        counts,
        ..Profile::default()
    };
    let entries = std::fs::read_dir(dir).map_err(|source| MeasureError::Sys {
        what: "reading cachegrind's output folder",
        source,
    })?;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("cg.") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|source| MeasureError::Sys {
            what: "reading cachegrind's output",
            source,
        })?;
        add_functions(&text, &mut profile);
    }
    Ok(profile)
}

/// Adds one file's per-function instructions and its branch totals to `profile`.
fn add_functions(text: &str, profile: &mut Profile) {
    let mut events: Vec<&str> = Vec::new();
    let mut function: Option<&str> = None;
    let mut functions: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("events:") {
            events = rest.split_whitespace().collect();
        } else if let Some(name) = line.strip_prefix("fn=") {
            function = Some(name);
        } else if let Some(rest) = line.strip_prefix("summary:") {
            let summary: Vec<u64> = rest
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            let get = |name: &str| {
                events
                    .iter()
                    .position(|e| *e == name)
                    .and_then(|i| summary.get(i).copied())
                    .unwrap_or(0)
            };
            profile.branches += get("Bc") + get("Bi");
            profile.branch_misses += get("Bcm") + get("Bim");
        } else if line.starts_with(|c: char| c.is_ascii_digit())
            && let Some(name) = function
        {
            // The line number, then the events; `Ir` is the first event cachegrind writes.
            let ir_column = 1 + events.iter().position(|e| *e == "Ir").unwrap_or(0);
            let ir = line
                .split_whitespace()
                .nth(ir_column)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            *functions.entry(name).or_default() += ir;
        }
    }
    for (name, ir) in functions {
        *profile.functions.entry(name.to_owned()).or_default() += ir;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts of a file cachegrind 3.19 wrote with `--branch-sim=yes` for a small Rust program.
    const SAMPLE: &str = "desc: I1 cache:         32768 B, 64 B, 8-way associative
cmd: target/release/demo
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim
fl=./csu/../csu/libc-start.c
fn=__libc_start_main@@GLIBC_2.34
128 2 1 1 2 0 0 0 0 0 3 1 0 0
fl=???
fn=demo::checksum
0 900005 3 3 0 0 0 200000 0 0 100001 4
fn=demo::inner::hot
0 700006 2 2
fl=src/main.rs
fn=demo::checksum
5 10
summary: 1600149 7 6 1 2 0 200000 0 0 100004 5 0 0
";

    #[test]
    fn instructions_are_summed_per_function_name_across_files_and_processes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cg.1"), SAMPLE).unwrap();
        std::fs::write(dir.path().join("cg.2"), SAMPLE).unwrap();
        std::fs::write(dir.path().join("log.1"), "").unwrap();
        let p = read_profile(dir.path()).unwrap();
        assert_eq!(p.functions["demo::checksum"], 2 * 900_015);
        assert_eq!(p.functions["demo::inner::hot"], 2 * 700_006);
        // Line 128 of libc-start.c ran 2 instructions.
        assert_eq!(p.functions["__libc_start_main@@GLIBC_2.34"], 2 * 2);
        assert_eq!(p.counts.instructions, 2 * 1_600_149);
        assert_eq!(p.counts.processes, 2);
        assert_eq!((p.branches, p.branch_misses), (2 * 100_004, 2 * 5));
    }

    #[test]
    fn a_folder_without_counts_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_profile(dir.path()).unwrap_err().to_string();
        assert!(err.contains("wrote no counts"), "{err}");
    }
}
