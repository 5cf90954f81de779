//! A crate shaped like a published library (fixtures/textkit): a lib, three criterion bench
//! targets (one sets its times in code), a dev-dependency on an older release of itself (so
//! `-p textkit` alone is ambiguous), a small binary, and a `.cargo/config.toml` its benches
//! need. `list`, `run`, `record` and `check` work on it end to end.

use std::path::Path;

use serde_json::Value;

use crate::common::{copy_dir, measuring, repo};
use crate::git::{commit_all, init_and_commit};

/// textkit in a temporary folder; with `perf_toml`, that file too.
fn textkit(perf_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/textkit"), dir.path());
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    if let Some(toml) = perf_toml {
        std::fs::write(dir.path().join("perf.toml"), toml).unwrap();
    }
    dir
}

fn in_textkit(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    crate::common::in_fixture_repo(dir, args)
}

fn json_lines(a: &assert_cmd::assert::Assert) -> Vec<Value> {
    String::from_utf8_lossy(&a.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn named<'a>(lines: &'a [Value], reason: &str, name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["reason"] == reason && l["workload"]["name"] == name)
        .unwrap_or_else(|| panic!("no {reason} for {name} in {lines:?}"))
}

const HEXDUMP: &str = "[defaults]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n\n\
                       [[workload]]\nname = \"hexdump\"\ncommand = [\"{bin:hexdump}\", \"Cargo.toml\"]\n";

#[test]
fn list_and_run_a_crate_whose_lock_file_holds_an_older_release_of_itself() {
    let _turn = measuring();
    let dir = textkit(Some(HEXDUMP));
    let lock = std::fs::read_to_string(dir.path().join("Cargo.lock")).unwrap();
    assert_eq!(lock.matches("name = \"textkit\"").count(), 2, "{lock}");

    let a = in_textkit(dir.path(), &["list", "--message-format", "json"])
        .assert()
        .success();
    let names: Vec<String> = json_lines(&a)
        .iter()
        .filter_map(|l| l["workload"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert_eq!(names[0], "hexdump");
    for bench in [
        "criterion:codec/hex/encode/64",
        "criterion:legacy/vs-0.2/encode/0.2",
        "criterion:text/text/words",
    ] {
        assert!(names.iter().any(|n| n == bench), "{bench} in {names:?}");
    }

    // The binary is built by package id; the benches compile only with the crate's own
    // .cargo/config.toml (their input size comes from its [env]).
    let a = in_textkit(
        dir.path(),
        &["run", "-v", "--message-format", "json", "hexdump"],
    )
    .assert()
    .success();
    let lines = json_lines(&a);
    assert_eq!(
        named(&lines, "workload-finished", "hexdump")["status"],
        "passed"
    );
    assert!(
        stderr(&a).contains("--package path+file://"),
        "{}",
        stderr(&a)
    );

    // A group that sets 3 s in code: run measures as cargo bench would, and says so.
    let a = in_textkit(
        dir.path(),
        &["run", "--message-format", "json", "codec/hex/encode/64"],
    )
    .assert()
    .success();
    let r = named(
        &json_lines(&a),
        "workload-finished",
        "criterion:codec/hex/encode/64",
    )
    .clone();
    assert_eq!(r["status"], "passed");
    let note = r["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("the suite sets in code about 3"), "{r}");
    // Progress: a line per benchmark as criterion reports it.
    assert!(
        stderr(&a).contains("[1/1] criterion:codec/hex/encode/64: "),
        "{}",
        stderr(&a)
    );
}

#[test]
fn record_and_check_a_published_style_crate() {
    let _turn = measuring();
    let dir = textkit(None);
    init_and_commit(dir.path(), "textkit");
    // record: criterion's samples stored for HEAD, shown by `show`.
    in_textkit(dir.path(), &["record", "-q", "text/", "--time-cap", "1s"])
        .assert()
        .success();
    let a = in_textkit(dir.path(), &["show", "HEAD", "--message-format", "json"])
        .assert()
        .success();
    let shown = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    for bench in ["text/text/words", "text/text/lines", "text/text/search"] {
        assert!(shown.contains(bench), "{bench} in {shown}");
    }

    // A/A: a commit that does not touch the code passes and flags nothing.
    std::fs::write(dir.path().join("NOTES.md"), "docs\n").unwrap();
    commit_all(dir.path(), "docs");
    let a = in_textkit(
        dir.path(),
        &["check", "-q", "text/", "--message-format", "json"],
    )
    .assert()
    .success();
    let lines = json_lines(&a);
    for name in [
        "criterion:text/text/words",
        "criterion:text/text/lines",
        "criterion:text/text/search",
    ] {
        let v = named(&lines, "check-workload", name)["verdict"].clone();
        assert!(
            ["unchanged", "inconclusive"].contains(&v.as_str().unwrap()),
            "{name}: {v}"
        );
    }

    // One function made 10 % slower: the benchmark that calls it regresses, its neighbours in
    // the group do not.
    let lib = dir.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replace("WORD_PASSES: u32 = 10", "WORD_PASSES: u32 = 11"),
    )
    .unwrap();
    let a = in_textkit(dir.path(), &["check", "text/", "--message-format", "json"])
        .assert()
        .code(1);
    let lines = json_lines(&a);
    let words = named(&lines, "check-workload", "criterion:text/text/words");
    assert_eq!(words["verdict"], "regressed", "{words}");
    for name in ["criterion:text/text/lines", "criterion:text/text/search"] {
        let v = &named(&lines, "check-workload", name)["verdict"];
        assert!(
            ["unchanged", "inconclusive"].contains(&v.as_str().unwrap()),
            "{name}: {v}"
        );
    }
    // The candidate's build output comes after the line that names it, then the base's.
    let err = stderr(&a);
    let candidate = err
        .find("of the candidate (working tree)")
        .unwrap_or_else(|| panic!("{err}"));
    let base = err
        .find("of the base revision")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(candidate < base, "{err}");
}

#[test]
fn a_group_that_sets_three_seconds_in_code_is_gated_within_the_tools_bound() {
    let _turn = measuring();
    let dir = textkit(None);
    init_and_commit(dir.path(), "textkit");
    std::fs::write(dir.path().join("NOTES.md"), "docs\n").unwrap();
    commit_all(dir.path(), "docs");
    // hex/encode/64 and hex/encode/4096: their group sets a 500 ms warm-up and a 3 s
    // measurement time. At the suite's settings 20 rounds would take 2 x 20 x 3.5 s each.
    // What is tested here is the bound, not the verdict: on identical code a 1-in-400 chance
    // per benchmark of a false alarm is what the statistics allow (a clean-clone CI saw one,
    // hex/encode/64 at +5.4 %, p 0.0012), and the A/A rate is checked by the simulations and by
    // `record_and_check_a_published_style_crate`. Exit 1 (a verdict) is accepted, 2 and up not.
    let a = in_textkit(
        dir.path(),
        &["check", "codec/hex/encode/", "--message-format", "json"],
    )
    .assert()
    .code(predicates::ord::le(1));
    let lines = json_lines(&a);
    let done = lines.last().unwrap();
    let elapsed_s = done["timing"]["elapsed_ns"].as_f64().unwrap() / 1e9;
    // The tool's bound: each benchmark stops at 3 times the 3 s time cap per side at most (and
    // one round over it), where the suite's own settings would need 280 s.
    let bound_s = 2.0 * 2.0 * 3.0 * 3.0 + 10.0;
    assert!(elapsed_s < bound_s, "{elapsed_s} s, bound {bound_s} s");
    for name in [
        "criterion:codec/hex/encode/64",
        "criterion:codec/hex/encode/4096",
    ] {
        let w = named(&lines, "check-workload", name);
        assert!(w["rounds"].as_u64().unwrap() >= 20, "{w}");
        assert_ne!(w["verdict"], "failed", "{w}");
    }
    assert!(stderr(&a).contains("--quick"), "{}", stderr(&a));
}
