//! Every kind of bad input: a clear message naming the place and the fix, exit code 2, no panic.

use crate::common::{Scratch, cargo_perf, helper, toml_str};

/// Runs `cargo perf <args>` on a scratch workspace with `perf_toml` and returns stderr after
/// checking the exit code is 2 and nothing panicked.
fn fails_with(perf_toml: &str, args: &[&str]) -> String {
    let s = Scratch::new(perf_toml);
    let a = s.cmd(args).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

const OK_WORKLOAD: &str = "[[workload]]\nname = \"w\"\ncommand = [\"true\"]\n";

#[test]
fn malformed_toml_names_file_line_and_column() {
    let err = fails_with("[defaults]\nwarmup = = 1\n", &["list"]);
    assert!(err.contains("perf.toml:2:"), "{err}");
}

#[test]
fn unknown_key_suggests_the_nearest_valid_one() {
    let err = fails_with(&format!("{OK_WORKLOAD}min_rusn = 3\n"), &["list"]);
    assert!(err.contains("perf.toml:4:1"), "{err}");
    assert!(err.contains("unknown field `min_rusn`"), "{err}");
    assert!(err.contains("did you mean `min_runs`?"), "{err}");
}

#[test]
fn bad_duration_says_the_accepted_forms() {
    let err = fails_with(&format!("{OK_WORKLOAD}timeout = \"10 sec\"\n"), &["list"]);
    assert!(err.contains("perf.toml:4:"), "{err}");
    assert!(err.contains("`10 sec`") && err.contains("250ms"), "{err}");
}

#[test]
fn bad_size_says_the_accepted_forms() {
    let err = fails_with(
        &format!("{OK_WORKLOAD}[workload.thresholds]\nmax_rss = \"lots\"\n"),
        &["list"],
    );
    assert!(err.contains("perf.toml:5:"), "{err}");
    assert!(err.contains("500MiB"), "{err}");
}

#[test]
fn unknown_class_lists_the_classes() {
    let err = fails_with(&format!("{OK_WORKLOAD}class = \"medum\"\n"), &["list"]);
    assert!(err.contains("did you mean `medium`?"), "{err}");
    assert!(err.contains("`small`, `medium`, `large`, `auto`"), "{err}");
}

#[test]
fn a_glob_that_matches_nothing() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = [\"cat\", \"{fixture}\"]\nfixtures = \"data/*.csv\"\n",
        &["list"],
    );
    assert!(err.contains("perf.toml:1: workload `w`"), "{err}");
    assert!(
        err.contains("`fixtures = \"data/*.csv\"` matches nothing"),
        "{err}"
    );
}

#[test]
fn an_unknown_bin_lists_the_binaries() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = [\"{bin:scratc}\"]\n",
        &["run"],
    );
    assert!(
        err.contains("`{bin:scratc}` is not a binary target"),
        "{err}"
    );
    assert!(err.contains("did you mean `{bin:scratch}`?"), "{err}");
    assert!(err.contains("they are: `scratch`"), "{err}");
}

#[test]
fn a_command_that_does_not_exist() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = [\"no-such-program-xyz\"]\n",
        &["run"],
    );
    assert!(
        err.contains("command `no-such-program-xyz` is not found in PATH"),
        "{err}"
    );
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = [\"./bin/nothing\"]\n",
        &["run"],
    );
    assert!(
        err.contains("command `./bin/nothing` does not exist"),
        "{err}"
    );
}

#[test]
fn a_missing_cwd() {
    let err = fails_with(&format!("{OK_WORKLOAD}cwd = \"nowhere\"\n"), &["run"]);
    assert!(
        err.contains("`cwd`") && err.contains("nowhere") && err.contains("is not a folder"),
        "{err}"
    );
}

#[test]
fn zero_runs() {
    let err = fails_with(&format!("{OK_WORKLOAD}max_runs = 0\n"), &["run"]);
    assert!(err.contains("runs must be at least 1"), "{err}");
    let err = fails_with(OK_WORKLOAD, &["run", "--min-runs", "0"]);
    assert!(
        err.contains("--min-runs and --max-runs must be at least 1"),
        "{err}"
    );
}

#[test]
fn a_string_command_without_shell() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = \"ls | wc\"\n",
        &["list"],
    );
    assert!(err.contains("add `shell = true`"), "{err}");
}

#[test]
fn fixture_placeholder_without_fixtures() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = [\"cat\", \"{fixture}\"]\n",
        &["list"],
    );
    assert!(
        err.contains("`{fixture}` is used but the workload has no `fixtures`"),
        "{err}"
    );
}

#[test]
fn duplicate_names() {
    let err = fails_with(&format!("{OK_WORKLOAD}{OK_WORKLOAD}"), &["list"]);
    assert!(
        err.contains(
            "perf.toml:4: workload `w`: the name `w` is also used by the workload on line 1"
        ),
        "{err}"
    );
}

#[test]
fn a_filter_that_matches_nothing() {
    let err = fails_with(OK_WORKLOAD, &["run", "zzz"]);
    assert!(
        err.contains("no workload matches `zzz`; the workloads are: w"),
        "{err}"
    );
}

#[test]
fn no_perf_toml() {
    let s = Scratch::new("");
    std::fs::remove_file(s.path().join("perf.toml")).unwrap();
    let a = s.cmd(&["list"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("no perf.toml at the workspace root"), "{err}");
}

#[test]
fn not_a_cargo_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let a = cargo_perf()
        .arg("list")
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("cannot read the cargo workspace"), "{err}");
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    cargo_perf().arg("--no-such-flag").assert().code(2);
    cargo_perf()
        .args(["run", "--time-cap", "3"])
        .assert()
        .code(2);
    let help = cargo_perf().arg("--help").assert().code(0);
    let out = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    assert!(
        out.contains("Exit codes: 0 passed") && out.contains("cargo perf run"),
        "{out}"
    );
    for sub in ["list", "run"] {
        let a = cargo_perf().args([sub, "--help"]).assert().code(0);
        let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
        assert!(out.contains("Examples:"), "{sub}: {out}");
    }
}

#[test]
fn a_perf_toml_with_nothing_wrong_is_accepted() {
    // The same helpers as the error cases, with a correct manifest, so that each error test above
    // fails for its own reason and not because every manifest is refused.
    let toml = format!(
        "[[workload]]\nname = \"w\"\ncommand = [{}, \"sleep\", \"1\"]\nmin_runs = 1\nmax_runs = 1\nwarmup = 0\n",
        toml_str(helper())
    );
    Scratch::new(&toml).cmd(&["run", "-q"]).assert().success();
}

#[test]
fn durations_too_long_to_represent_are_refused_where_they_are_written() {
    // 2.6e15 h overflowed a deadline (a panic, and the workload orphaned); 2^64 ns wrapped.
    let err = fails_with(
        &format!("{OK_WORKLOAD}timeout = \"2600000000000000h\"\n"),
        &["run"],
    );
    assert!(
        err.contains("perf.toml:4:") && err.contains("too long"),
        "{err}"
    );
    let err = fails_with(
        &format!("[budgets]\nsmall = \"5124096h\"\n{OK_WORKLOAD}"),
        &["list"],
    );
    assert!(
        err.contains("perf.toml:2:") && err.contains("too long"),
        "{err}"
    );
    let err = fails_with(OK_WORKLOAD, &["run", "--time-cap", "9999999999h"]);
    assert!(err.contains("too long"), "{err}");
}

#[test]
fn an_empty_shell_command_or_a_bad_env_key_is_refused() {
    let err = fails_with(
        "[[workload]]\nname = \"w\"\ncommand = \"  \"\nshell = true\n",
        &["list"],
    );
    assert!(
        err.contains("perf.toml:1: workload `w`: `command` is empty"),
        "{err}"
    );
    for key in ["\"\"", "\"A=B\""] {
        let err = fails_with(
            &format!("{OK_WORKLOAD}env = {{ {key} = \"x\" }}\n"),
            &["list"],
        );
        assert!(
            err.contains("perf.toml:1: workload `w`: `env` has the key")
                && err.contains("cannot be empty or contain `=`"),
            "{err}"
        );
    }
}

#[test]
fn unwritable_outputs_are_refused_before_anything_is_measured() {
    let s = Scratch::new(OK_WORKLOAD);
    crate::git::init_and_commit(s.path(), "one");
    std::fs::write(s.path().join("NOTES"), "two\n").unwrap();
    crate::git::commit_all(s.path(), "two");
    let script = s.path().join("target/fake.json");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, r#"{"w": [{"wall_ms": 10}]}"#).unwrap();
    let junit = s.path().join("no/such/folder/perf.xml");
    let a = s
        .cmd(&[
            "check",
            "--junit",
            junit.to_str().unwrap(),
            "--fake-runner",
            script.to_str().unwrap(),
        ])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("the JUnit report cannot be written to"),
        "{err}"
    );
    assert!(err.contains("no/such/folder/perf.xml"), "{err}");
    // Nothing was measured: no progress line.
    assert!(!err.contains("[1/1]"), "{err}");
    // A job summary that is a folder.
    let a = s
        .cmd(&["check", "--fake-runner", script.to_str().unwrap()])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GITHUB_STEP_SUMMARY", s.path())
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("$GITHUB_STEP_SUMMARY") && !err.contains("[1/1]"),
        "{err}"
    );
}

#[test]
fn a_missing_templates_folder_is_an_error() {
    let s = Scratch::new(OK_WORKLOAD);
    crate::git::init_and_commit(s.path(), "one");
    let a = s
        .cmd(&["report", "--templates", "no-such-dir", "--from", "HEAD"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("--templates no-such-dir: no such folder"),
        "{err}"
    );
}

#[test]
fn an_error_does_not_repeat_its_cause() {
    // A store path under a file: the operating system's reason appears once.
    let s = Scratch::new(OK_WORKLOAD);
    crate::git::init_and_commit(s.path(), "one");
    let blocker = s.path().join("blocker");
    std::fs::write(&blocker, "a file, not a folder\n").unwrap();
    let store = format!("dir:{}", blocker.join("records").display());
    let a = s
        .cmd(&["record", "--store", &store])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}
