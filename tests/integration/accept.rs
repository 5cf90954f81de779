//! Accepted changes end to end: a real slowdown (the candidate's binary sleeps 30 ms more) fails
//! `check`, and a `Perf-Accepted:` line in the commit's message or `cargo perf accept` makes the
//! same check pass, showing `accepted` and the reason.

use std::path::Path;

use crate::common::{Scratch, cargo_perf, measuring};
use crate::git::{commit_all, git, init_and_commit};

/// Twenty interleaved rounds decide a slowdown of this size at the first look.
const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 30\n\
                         [[workload]]\nname = \"nap\"\ncommand = [\"{bin:scratch}\"]\n";

const SLOWER: &str = "fn main() { std::thread::sleep(std::time::Duration::from_millis(30)); }\n";

fn perf(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_perf();
    cmd.args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// `check --message-format json`: its exit code and the `nap` object.
fn check(dir: &Path) -> (i32, serde_json::Value, String) {
    let out = perf(dir, &["check", "--message-format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let nap = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["reason"] == "check-workload")
        .unwrap_or_else(|| panic!("no check-workload in {stdout}"));
    (
        out.status.code().unwrap_or(-1),
        nap,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_trailer_or_cargo_perf_accept_turns_a_real_regression_into_accepted() {
    let _lock = measuring();
    let Scratch { dir } = Scratch::new(PERF_TOML);
    let d = dir.path();
    std::fs::write(d.join(".gitignore"), "target\n").unwrap();
    init_and_commit(d, "first");
    std::fs::write(d.join("src/main.rs"), SLOWER).unwrap();
    commit_all(d, "Sleep before exiting");

    let (code, nap, _) = check(d);
    assert_eq!(code, 1, "{nap}");
    assert_eq!(nap["verdict"], "regressed");
    assert!(nap["accepted"].is_null());

    // The same commit, saying in its message that the change is intended.
    git(
        d,
        &[
            "commit",
            "-q",
            "--amend",
            "-m",
            "Sleep before exiting",
            "-m",
            "Perf-Accepted: n*: the nap is the point\nPerf-Accepted: gone: names nothing\n\
             Perf-Accepted: no reason here",
        ],
    );
    let (code, nap, err) = check(d);
    assert_eq!(code, 0, "{nap}\n{err}");
    assert_eq!(nap["verdict"], "accepted");
    assert_eq!(nap["fails"], false);
    assert_eq!(nap["accepted"]["reason"], "the nap is the point");
    assert_eq!(nap["accepted"]["source"], "trailer");
    assert!(nap["comparison"]["ratio"].as_f64().unwrap() > 1.5, "{nap}");
    assert!(err.contains("`gone` of"), "{err}");
    assert!(
        err.contains("`Perf-Accepted: no reason here` has no reason"),
        "{err}"
    );

    // Without the line, the commit fails again; `accept` refuses bad input, then accepts.
    git(
        d,
        &[
            "commit",
            "-q",
            "--amend",
            "-m",
            "Sleep before exiting, again",
        ],
    );
    perf(d, &["accept", "nap", "--reason", " "])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--reason is empty"));
    perf(d, &["accept", "parse/*", "--reason", "x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("`parse/*` matches no workload"));
    let (code, _, _) = check(d);
    assert_eq!(code, 1);
    perf(d, &["accept", "nap", "--reason", "sleeping is intended"])
        .assert()
        .success()
        .stdout(predicates::str::contains("accepted `nap` (nap)"));
    let out = perf(d, &["check"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains("│ accepted │"), "{table}");
    assert!(table.contains(": sleeping is intended"), "{table}");
    assert!(table.contains("1 accepted. Passed."), "{table}");
    // Kept apart from the records: the records' notes are untouched.
    let notes = git(d, &["notes", "--ref=perf-accepted", "show", "HEAD"]);
    assert!(
        notes.contains("\"reason\":\"sleeping is intended\""),
        "{notes}"
    );
    assert_eq!(git(d, &["notes", "--ref=perf", "list"]), "");

    // A record of the commit: history marks it, the release report lists the acceptance.
    perf(d, &["record", "--min-runs", "1", "--max-runs", "1"])
        .assert()
        .success();
    let out = perf(d, &["history", "--message-format", "json"])
        .assert()
        .success();
    let point: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(point["accepted"], "sleeping is intended", "{point}");
    let out = perf(d, &["report", "--format", "json"]).assert().success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        report["accepted"][0]["reason"], "sleeping is intended",
        "{report}"
    );
    assert_eq!(report["accepted"][0]["workloads"][0], "nap", "{report}");
}

#[test]
fn sync_keeps_the_acceptances_of_both_clones_apart_from_the_records() {
    let Scratch { dir } = Scratch::new(PERF_TOML);
    let commit = init_and_commit(dir.path(), "first");
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    let source = dir.path().to_str().unwrap();
    git(tmp.path(), &["clone", "-q", "--bare", source, "remote.git"]);
    for name in ["a", "b"] {
        git(tmp.path(), &["clone", "-q", remote.to_str().unwrap(), name]);
    }
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (clone, reason) in [(&a, "from a"), (&b, "from b")] {
        perf(clone, &["accept", "nap", "--reason", reason])
            .assert()
            .success();
    }
    perf(&a, &["sync"]).assert().success();
    let out = perf(&b, &["sync", "--message-format", "json"])
        .assert()
        .success();
    let line: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("one JSON line");
    assert_eq!(line["acceptances_received"], 1, "{line}");
    assert_eq!(line["acceptances_pushed"], true, "{line}");
    perf(&a, &["sync"]).assert().success();
    for clone in [&a, &b, &remote] {
        let note = git(clone, &["notes", "--ref=perf-accepted", "show", &commit]);
        assert_eq!(note.lines().count(), 2, "{note}");
        assert!(note.contains("from a") && note.contains("from b"), "{note}");
    }
    // Nothing went into the records, and reading them says nothing about acceptances.
    let show = perf(&a, &["history"]).assert().success();
    let err = String::from_utf8_lossy(&show.get_output().stderr).into_owned();
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(git(&a, &["notes", "--ref=perf", "list"]), "");
}

/// With the fake runner (`w` 20 % slower on the candidate), a working tree with changes on top
/// of a commit that accepted them: every output of the check says `accepted` and why.
#[test]
fn every_output_of_a_dirty_check_shows_an_acceptance_of_head() {
    let s = Scratch::new(
        "[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 40\n\
         [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n",
    );
    let d = s.path();
    init_and_commit(d, "first");
    std::fs::write(d.join("README"), "changed\n").unwrap();
    git(d, &["add", "README"]);
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("fake.json");
    std::fs::write(
        &fake,
        r#"{"w@base": [{"wall_ms": 10}], "w@new": [{"wall_ms": 12}]}"#,
    )
    .unwrap();
    let junit = tmp.path().join("perf.xml");
    let summary = tmp.path().join("summary.md");
    let check = || {
        let mut cmd = perf(d, &["check", "--format", "markdown"]);
        cmd.arg("--junit")
            .arg(&junit)
            .arg("--fake-runner")
            .arg(&fake)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary);
        cmd
    };
    check().assert().code(1);
    perf(d, &["accept", "w", "--reason", "a <b>reason</b>"])
        .assert()
        .success();
    let out = check().assert().success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(md.contains("| accepted |"), "{md}");
    assert!(md.contains("**Accepted**"), "{md}");
    assert!(md.contains("a &lt;b&gt;reason&lt;/b&gt;"), "{md}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("<system-out>w: +20.0%"), "{xml}");
    assert!(
        xml.contains("a &lt;b&gt;reason&lt;/b&gt;</system-out>"),
        "{xml}"
    );
    assert!(
        err.contains("::notice title=cargo perf (accepted)::w: +20.0%"),
        "{err}"
    );
    assert!(!err.contains("::error"), "{err}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("| accepted |")
    );
}
