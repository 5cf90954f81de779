//! The instructions metric: counts of real processes under valgrind's cachegrind, one run per
//! side, compared exactly; stored records that stand for a run of the base.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{copy_dir, measuring, repo, skip};
use crate::git::{commit_all, init_and_commit};

/// Whether valgrind runs here; a test without it skips and says so.
fn valgrind(test: &str) -> bool {
    let found = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(test, "valgrind", "valgrind is not installed");
    }
    found
}

/// A git repository holding a copy of fixtures/counted, with `perf_toml` as its perf.toml when
/// given.
fn counted_repo(perf_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/counted"), dir.path());
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    if let Some(toml) = perf_toml {
        std::fs::write(dir.path().join("perf.toml"), toml).unwrap();
    }
    init_and_commit(dir.path(), "counted");
    dir
}

fn perf(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    crate::common::in_fixture_repo(dir, args)
}

fn lines(a: &assert_cmd::assert::Assert) -> Vec<Value> {
    String::from_utf8_lossy(&a.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// The one `check-workload` object of a check of the fixture.
fn verdict(a: &assert_cmd::assert::Assert) -> Value {
    let all = lines(a);
    let found: Vec<&Value> = all
        .iter()
        .filter(|l| l["reason"] == "check-workload")
        .collect();
    assert_eq!(found.len(), 1, "{all:?}");
    found[0].clone()
}

fn raise_passes(dir: &Path) {
    let main = dir.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains("const PASSES: u64 = 100;"));
    std::fs::write(
        &main,
        text.replace("const PASSES: u64 = 100;", "const PASSES: u64 = 101;"),
    )
    .unwrap();
}

#[test]
fn ten_counted_runs_of_one_binary_agree_within_a_hundredth_of_a_percent() {
    if !valgrind("ten_counted_runs_of_one_binary_agree_within_a_hundredth_of_a_percent") {
        return;
    }
    let _turn = measuring();
    // The metric from the command line, not perf.toml.
    let dir = counted_repo(Some(
        "[[workload]]\nname = \"passes\"\ncommand = [\"{bin:counted}\", \"100000\"]\n",
    ));
    let mut counts = Vec::new();
    for _ in 0..10 {
        let a = perf(
            dir.path(),
            &[
                "run",
                "--metric",
                "instructions",
                "--warmup",
                "0",
                "--min-runs",
                "1",
                "--max-runs",
                "1",
                "--message-format",
                "json",
            ],
        )
        .assert()
        .success();
        let all = lines(&a);
        let w = all
            .iter()
            .find(|l| l["reason"] == "workload-finished")
            .unwrap_or_else(|| panic!("{all:?}"));
        let c = &w["counts"];
        // 100 passes of 100,000 iterations, some instructions each, and the program's start.
        let instructions = c["instructions"].as_u64().unwrap_or_else(|| panic!("{w}"));
        assert!(instructions > 20_000_000, "{w}");
        assert!(
            c["estimated_cycles"].as_u64().unwrap() >= instructions,
            "{w}"
        );
        assert_eq!(c["processes"], 1, "{w}");
        counts.push(instructions as f64);
    }
    // Without the cache simulation: the same instructions, and no cycles to estimate.
    let a = perf(
        dir.path(),
        &[
            "run",
            "--metric",
            "instructions",
            "--warmup",
            "0",
            "--min-runs",
            "1",
            "--max-runs",
            "1",
            "--message-format",
            "json",
        ],
    )
    .env("CARGO_PERF_CACHE_SIM", "no")
    .assert()
    .success();
    let all = lines(&a);
    let w = all
        .iter()
        .find(|l| l["reason"] == "workload-finished")
        .unwrap_or_else(|| panic!("{all:?}"));
    // (Within a few hundred: the variable that turns it off is in the workload's environment
    // too, and its start-up reads it.)
    let off = w["counts"]["instructions"].as_f64().unwrap();
    assert!((off - counts[0]).abs() / counts[0] <= 1e-4, "{w}");
    assert!(w["counts"]["estimated_cycles"].is_null(), "{w}");
    assert_eq!(w["counts"]["cache_simulated"], false, "{w}");
    let (min, max) = counts
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    assert!(
        (max - min) / min <= 1e-4,
        "A/A spread {:.5}% over {counts:?}",
        (max - min) / min * 100.0
    );
}

#[test]
fn one_percent_more_work_is_regressed_every_time_and_a_stored_base_is_not_built() {
    let test = "one_percent_more_work_is_regressed_every_time_and_a_stored_base_is_not_built";
    if !valgrind(test) {
        return;
    }
    let _turn = measuring();
    let dir = counted_repo(None);
    let path = dir.path();
    perf(path, &["record", "--message-format", "json"])
        .assert()
        .success();
    raise_passes(path);
    commit_all(path, "one pass more");

    // Measured now, both sides built and counted.
    let a = perf(
        path,
        &["compare", "HEAD~1", "--measure", "--message-format", "json"],
    )
    .assert()
    .code(1);
    let measured = verdict(&a);
    assert_eq!(measured["verdict"], "regressed", "{measured}");
    assert_eq!(measured["metric"], "instructions", "{measured}");
    let ratio = measured["comparison"]["ratio"].as_f64().unwrap();
    // One pass in 100 more, less the program's start-up, which did not grow.
    assert!(ratio > 1.009 && ratio < 1.0101, "{measured}");
    assert!(
        measured["counts"]["base"]["instructions"].as_u64().unwrap() > 20_000_000,
        "{measured}"
    );

    // The candidate's record, in a separate invocation: the stored comparison of the two
    // records is exact, and gives the measured verdict and ratio.
    perf(path, &["record", "--message-format", "json"])
        .assert()
        .success();
    let a = perf(path, &["compare", "HEAD~1", "--message-format", "json"])
        .assert()
        .code(1);
    let stored = verdict(&a);
    assert_eq!(stored["verdict"], "regressed", "{stored}");
    let stored_ratio = stored["comparison"]["ratio"].as_f64().unwrap();
    assert!(
        (stored_ratio - ratio).abs() < 1e-4,
        "{stored} against {measured}"
    );
    let a = perf(path, &["compare", "HEAD~1"]).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("instruction counts are exact"), "{out}");

    // check: the base (HEAD~1) has a record that counted it, so it is not built; every check
    // finds the 1 % regression.
    for _ in 0..3 {
        let a = perf(path, &["check", "--message-format", "json"])
            .assert()
            .code(1);
        let v = verdict(&a);
        assert_eq!(v["verdict"], "regressed", "{v}");
        assert!(
            (v["comparison"]["ratio"].as_f64().unwrap() - ratio).abs() < 1e-4,
            "{v}"
        );
        let err = stderr(&a);
        assert!(err.contains("the base is not built"), "{err}");
        assert!(!err.contains("of the base revision"), "{err}");
    }

    // A change that leaves the code alone: unchanged, exactly.
    std::fs::write(path.join("NOTES.md"), "docs\n").unwrap();
    commit_all(path, "docs");
    let a = perf(path, &["check", "--message-format", "json"])
        .assert()
        .success();
    let v = verdict(&a);
    assert_eq!(v["verdict"], "unchanged", "{v}");
    // Not exactly 1: `record` built the base in the usual target dir and `check` the candidate
    // in its own, and the executable's longer path costs a few hundred instructions to copy
    // (219 of 71 million, seen here).
    let ratio = v["comparison"]["ratio"].as_f64().unwrap();
    assert!((ratio - 1.0).abs() <= 1e-4, "{v}");
    assert!(
        stderr(&a).contains("the base is not built"),
        "{}",
        stderr(&a)
    );

    // show lists the counts beside the times.
    let a = perf(path, &["show", "HEAD~1"]).assert().success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("instructions") && out.contains(" M"), "{out}");

    // A record that does not fit is not used, and the check says why.
    perf(path, &["record"]).assert().success();
    let toml = std::fs::read_to_string(path.join("perf.toml")).unwrap();
    std::fs::write(path.join("perf.toml"), format!("{toml}# a comment\n")).unwrap();
    let a = perf(path, &["check", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(verdict(&a)["verdict"], "unchanged");
    let err = stderr(&a);
    assert!(
        err.contains("is built and counted: its record was taken with another perf.toml"),
        "{err}"
    );
}

#[test]
fn a_missing_valgrind_is_an_error_that_says_how_to_install_it() {
    let _turn = measuring();
    let dir = counted_repo(None);
    let a = perf(dir.path(), &["run"])
        .env("CARGO_PERF_VALGRIND", "/nonexistent/valgrind")
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(err.contains("/nonexistent/valgrind"), "{err}");
    assert!(err.contains("apt-get install valgrind"), "{err}");
    let a = perf(dir.path(), &["run", "--metric", "cycles"])
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(err.contains("`cycles` is not a metric"), "{err}");
}
