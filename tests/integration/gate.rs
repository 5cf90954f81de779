//! `check` and `compare`: exact verdicts and every output format with the fake runner, in real
//! temporary git repositories.

use std::path::{Path, PathBuf};

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, git, init_and_commit};

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 40\n\
                         [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n\
                         [[workload]]\nname = \"v\"\ncommand = [\"true\"]\n";

struct Repo {
    dir: tempfile::TempDir,
    script: PathBuf,
    _script_dir: tempfile::TempDir,
}

impl Repo {
    /// A repository with two commits of PERF_TOML (or `toml`) and a fake-runner script.
    fn new(toml: &str, script: &str) -> Self {
        let Scratch { dir } = Scratch::new(toml);
        init_and_commit(dir.path(), "first");
        std::fs::write(dir.path().join("README"), "second\n").unwrap();
        commit_all(dir.path(), "second");
        let script_dir = tempfile::tempdir().unwrap();
        let path = script_dir.path().join("fake.json");
        std::fs::write(&path, script).unwrap();
        Repo {
            dir,
            script: path,
            _script_dir: script_dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = cargo_perf();
        cmd.args(args)
            .arg("--fake-runner")
            .arg(&self.script)
            .arg("--manifest-path")
            .arg(self.path().join("Cargo.toml"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY");
        cmd
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn json(a: &assert_cmd::assert::Assert) -> Vec<serde_json::Value> {
    stdout(a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verdict<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["reason"] == "check-workload" && l["workload"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// `w` is 20 % slower on the candidate; `v` is the same on both sides.
const W_SLOWER: &str =
    r#"{"w@base": [{"wall_ms": 10}], "w@new": [{"wall_ms": 12}], "v": [{"wall_ms": 5}]}"#;

#[test]
fn a_regression_fails_the_gate_and_only_that_workload() {
    let r = Repo::new(PERF_TOML, W_SLOWER);
    let a = r
        .cmd(&["check", "--message-format", "json"])
        .assert()
        .code(1);
    let lines = json(&a);
    let w = verdict(&lines, "w");
    assert_eq!(w["verdict"], "regressed");
    assert_eq!(w["comparison"]["ratio"], 1.2);
    assert_eq!(w["comparison"]["ci"]["lower"], 1.2);
    assert!(w["comparison"]["p_adjusted"].as_f64().unwrap() < 0.05);
    assert_eq!(w["fails"], true);
    let v = verdict(&lines, "v");
    assert_eq!(v["verdict"], "unchanged");
    assert_eq!(v["fails"], false);
    // Constant samples are decisive at the first look.
    assert_eq!(v["rounds"], 20);
    let done = lines.last().unwrap();
    assert_eq!(done["reason"], "check-finished");
    assert_eq!(done["exit_code"], 1);
    let head_parent = git(r.path(), &["rev-parse", "--short=10", "HEAD~1"]);
    assert!(
        done["base"].as_str().unwrap().starts_with(&head_parent),
        "{done}"
    );
}

#[test]
fn no_regression_passes() {
    let r = Repo::new(
        PERF_TOML,
        r#"{"w": [{"wall_ms": 10}], "v": [{"wall_ms": 5}]}"#,
    );
    let a = r.cmd(&["check"]).assert().success();
    let out = stdout(&a);
    assert!(out.contains("2 workloads: 2 unchanged. Passed."), "{out}");
}

#[test]
fn markdown_junit_annotations_and_step_summary() {
    let r = Repo::new(PERF_TOML, W_SLOWER);
    let out_dir = tempfile::tempdir().unwrap();
    let junit = out_dir.path().join("perf.xml");
    let summary = out_dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let a = r
        .cmd(&[
            "check",
            "--format",
            "markdown",
            "--junit",
            junit.to_str().unwrap(),
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1);
    let md = stdout(&a);
    assert!(md.starts_with("## cargo perf check: ❌ failed"), "{md}");
    assert!(
        md.contains("| w | wall | 10.0 ms | 12.0 ms | +20.0% [+20.0%, +20.0%] |"),
        "{md}"
    );
    assert!(md.contains("| **regressed** |"), "{md}");
    // Workflow commands go to standard error, never into the Markdown on standard output.
    assert!(!md.contains("::error"), "{md}");
    assert!(
        stderr(&a).contains(
            "::error title=cargo perf::w regressed: +20.0%25 [+20.0%25, +20.0%25] (wall time)"
        ),
        "{}",
        stderr(&a)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"cargo-perf\" tests=\"2\" failures=\"1\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"cargo-perf\" name=\"w\"")
            && xml.contains("<failure type=\"regressed\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"cargo-perf\" name=\"v\" time=\"0.100\"/>"),
        "{xml}"
    );
    let steps = std::fs::read_to_string(&summary).unwrap();
    assert!(
        steps.starts_with("earlier step\n## cargo perf check: ❌ failed"),
        "{steps}"
    );
}

#[test]
fn inconclusive_fails_only_with_strict() {
    // The candidate cycles through 0 % to +4 %: the rounds' ratios centre on +2 %, and with a
    // 2 % threshold their interval straddles it.
    let script = r#"{"w@base": [{"wall_ms": 10}], "w@new": [{"wall_ms": 10}, {"wall_ms": 10.1}, {"wall_ms": 10.2}, {"wall_ms": 10.3}, {"wall_ms": 10.4}], "v": [{"wall_ms": 5}]}"#;
    let r = Repo::new(PERF_TOML, script);
    let a = r
        .cmd(&["check", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(verdict(&json(&a), "w")["verdict"], "inconclusive");
    // It kept sampling to max_runs, looking for a decision.
    assert_eq!(verdict(&json(&a), "w")["rounds"], 40);
    let hidden = verdict(&json(&a), "w")["hidden_change"].as_f64().unwrap();
    assert!((0.02..0.06).contains(&hidden), "{hidden}");
    // The pass says what it could not see, in every format.
    let human = stdout(&r.cmd(&["check"]).assert().success());
    assert!(
        human.contains("Not decided:\n  w could hide a change of up to"),
        "{human}"
    );
    assert!(
        human.contains("2 workloads: 1 unchanged, 1 inconclusive. Passed, but 1 of 2 not decided: they could hide a change of up to"),
        "{human}"
    );
    assert!(!human.contains(". Passed.\n"), "{human}");
    let md = stdout(&r.cmd(&["check", "--format", "markdown"]).assert().success());
    assert!(md.contains("⚠️ passed, 1 not decided"), "{md}");
    assert!(md.contains("**Not decided**"), "{md}");
    let done = json(&a).last().unwrap().clone();
    assert_eq!(done["undecided"], 1);
    assert!(
        done["conclusion"]
            .as_str()
            .unwrap()
            .starts_with("Passed, but")
    );
    r.cmd(&["check", "--strict"]).assert().code(1);
}

#[test]
fn a_budget_breach_fails_the_gate_without_a_regression() {
    let toml = format!("[budgets]\nsmall = \"8ms\"\n{PERF_TOML}");
    let r = Repo::new(&toml, r#"{"w": [{"wall_ms": 10}], "v": [{"wall_ms": 5}]}"#);
    let a = r
        .cmd(&["check", "--message-format", "json"])
        .assert()
        .code(1);
    let w = verdict(&json(&a), "w").clone();
    assert_eq!(w["verdict"], "unchanged");
    assert_eq!(w["budget"]["breaches"][0]["limit"], "budget");
    assert_eq!(w["fails"], true);
}

#[test]
fn the_base_is_head_when_dirty_and_the_merge_base_of_a_branch() {
    let r = Repo::new(PERF_TOML, W_SLOWER);
    let head = git(r.path(), &["rev-parse", "--short=10", "HEAD"]);
    std::fs::write(r.path().join("README"), "changed\n").unwrap();
    let a = r
        .cmd(&["check", "--message-format", "json"])
        .assert()
        .code(1);
    let done = json(&a).last().unwrap().clone();
    assert_eq!(done["base"], format!("{head} (HEAD)"));
    assert!(
        done["candidate"]
            .as_str()
            .unwrap()
            .starts_with("working tree")
    );
    git(r.path(), &["checkout", "-q", "--", "README"]);

    // main: first - second - third; feature branches from second.
    let second = git(r.path(), &["rev-parse", "HEAD"]);
    git(r.path(), &["checkout", "-q", "-b", "feature"]);
    std::fs::write(r.path().join("feature.txt"), "x\n").unwrap();
    commit_all(r.path(), "feature work");
    git(r.path(), &["checkout", "-q", "main"]);
    std::fs::write(r.path().join("main.txt"), "y\n").unwrap();
    commit_all(r.path(), "third on main");
    git(r.path(), &["checkout", "-q", "feature"]);
    let a = r
        .cmd(&["check", "--base", "main", "--message-format", "json"])
        .assert()
        .code(1);
    let done = json(&a).last().unwrap().clone();
    assert_eq!(
        done["base"],
        format!("{} (merge-base with main)", &second[..10])
    );
    // A revision that is not a branch is taken as it is.
    let a = r
        .cmd(&["check", "--base", "HEAD~1", "--message-format", "json"])
        .assert()
        .code(1);
    assert_eq!(
        json(&a).last().unwrap()["base"],
        format!("{} (HEAD~1)", &second[..10])
    );
    let a = r.cmd(&["check", "--base", "nope"]).assert().code(2);
    assert!(stderr(&a).contains("no commit `nope`"), "{}", stderr(&a));
}

#[test]
fn compare_reads_stored_records_and_says_they_are_indicative() {
    let r = Repo::new(
        PERF_TOML,
        r#"{"w": [{"wall_ms": 10}], "v": [{"wall_ms": 5}]}"#,
    );
    git(r.path(), &["checkout", "-q", "HEAD~1"]);
    r.cmd(&["record", "-q"]).assert().success();
    git(r.path(), &["checkout", "-q", "main"]);
    std::fs::write(
        &r.script,
        r#"{"w": [{"wall_ms": 12}], "v": [{"wall_ms": 5}]}"#,
    )
    .unwrap();
    r.cmd(&["record", "-q"]).assert().success();
    let a = r.cmd(&["compare", "HEAD~1"]).assert().code(1);
    let out = stdout(&a);
    assert!(out.contains("indicative only"), "{out}");
    assert!(
        out.contains("+20.0% [+20.0%, +20.0%]") && out.contains("regressed"),
        "{out}"
    );
    // Each workload's threshold comes from perf.toml: at 25 %, +20 % is unchanged.
    let toml = PERF_TOML.replace(
        "name = \"w\"\ncommand = [\"true\"]\n",
        "name = \"w\"\ncommand = [\"true\"]\nthreshold = \"25%\"\n",
    );
    assert_ne!(toml, PERF_TOML);
    std::fs::write(r.path().join("perf.toml"), toml).unwrap();
    let a = r
        .cmd(&["compare", "HEAD~1", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(verdict(&json(&a), "w")["verdict"], "unchanged");
    assert_eq!(verdict(&json(&a), "w")["threshold"], 0.25);
    git(r.path(), &["checkout", "-q", "--", "perf.toml"]);
    // A revision without records says what to do.
    let a = r.cmd(&["compare", "HEAD~1", "HEAD~1"]).assert();
    assert_eq!(a.get_output().status.code(), Some(0));
    std::fs::write(r.path().join("x"), "").unwrap();
    commit_all(r.path(), "unrecorded");
    let a = r.cmd(&["compare", "HEAD~1", "HEAD"]).assert().code(2);
    assert!(
        stderr(&a).contains("no record of HEAD") && stderr(&a).contains("--measure"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_comparison_with_nothing_on_both_sides_does_not_say_plainly_passed() {
    let r = Repo::new(
        PERF_TOML,
        r#"{"w": [{"wall_ms": 10}], "v": [{"wall_ms": 5}]}"#,
    );
    git(r.path(), &["checkout", "-q", "HEAD~1"]);
    r.cmd(&["record", "-q"]).assert().success();
    git(r.path(), &["checkout", "-q", "main"]);
    // The candidate renames both workloads: the base has none of its names.
    std::fs::write(
        r.path().join("perf.toml"),
        PERF_TOML.replace("name = \"", "name = \"new-"),
    )
    .unwrap();
    commit_all(r.path(), "rename the workloads");
    std::fs::write(
        &r.script,
        r#"{"new-w": [{"wall_ms": 10}], "new-v": [{"wall_ms": 5}]}"#,
    )
    .unwrap();
    r.cmd(&["record", "-q"]).assert().success();
    let a = r.cmd(&["compare", "HEAD~2", "HEAD"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains("2 added, 2 removed. Passed, but nothing was compared"),
        "{out}"
    );
    let a = r
        .cmd(&["compare", "HEAD~2", "HEAD", "--format", "markdown"])
        .assert()
        .success();
    assert!(
        stdout(&a).contains(": ⚠️ passed, nothing compared"),
        "{}",
        stdout(&a)
    );
    let a = r
        .cmd(&["compare", "HEAD~2", "HEAD", "--message-format", "json"])
        .assert()
        .success();
    let lines = json(&a);
    let last = lines.last().unwrap();
    assert_eq!(last["reason"], "check-finished");
    assert!(
        last["conclusion"]
            .as_str()
            .unwrap()
            .starts_with("Passed, but nothing was compared"),
        "{last}"
    );
}

#[test]
fn init_writes_a_manifest_and_a_workflow_and_never_overwrites() {
    let Scratch { dir } = Scratch::new("");
    std::fs::remove_file(dir.path().join("perf.toml")).unwrap();
    let mut cmd = cargo_perf();
    cmd.args(["init", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"));
    cmd.assert().success();
    let toml = std::fs::read_to_string(dir.path().join("perf.toml")).unwrap();
    assert!(
        toml.contains("command = [\"{bin:scratch}\", \"--help\"]"),
        "{toml}"
    );
    let workflow = std::fs::read_to_string(dir.path().join(".github/workflows/perf.yml")).unwrap();
    check_workflow(&workflow);
    // The manifest it writes is valid: list works on it.
    let mut list = cargo_perf();
    list.args(["list", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"));
    list.assert().success();
    let mut again = cargo_perf();
    again
        .args(["init", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"));
    let a = again.assert().code(2);
    assert!(stderr(&a).contains("already exists"), "{}", stderr(&a));
}

/// The jobs of a workflow: name to its lines (indented under `jobs:` by two spaces).
fn jobs(workflow: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    let mut in_jobs = false;
    for line in workflow.lines() {
        if line.starts_with("jobs:") {
            in_jobs = true;
        } else if in_jobs
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && line.trim_end().ends_with(':')
        {
            out.push((line.trim().trim_end_matches(':').to_owned(), Vec::new()));
        } else if in_jobs && !line.starts_with(' ') && !line.trim().is_empty() {
            in_jobs = false;
        } else if let Some((_, lines)) = out.last_mut().filter(|_| in_jobs) {
            lines.push(line);
        }
    }
    out
}

/// The text of every `run:` step (inline or a `|` block).
fn run_scripts(workflow: &str) -> Vec<String> {
    let lines: Vec<&str> = workflow.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some(rest) = trimmed.strip_prefix("run:") else {
            continue;
        };
        if rest.trim() == "|" {
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || indent(l) > indent(line))
                .copied()
                .collect();
            out.push(block.join("\n"));
        } else {
            out.push(rest.to_owned());
        }
    }
    out
}

/// What a security reviewer checks in the workflow `init` writes.
fn check_workflow(workflow: &str) {
    let scripts = run_scripts(workflow);
    assert!(
        scripts
            .iter()
            .any(|s| s.contains("cargo perf check --base \"origin/$BASE_REF\""))
    );
    for script in &scripts {
        assert!(
            !script.contains("${{"),
            "an expression is pasted into a shell line: {script}"
        );
    }
    let jobs = jobs(workflow);
    let job = |name: &str| {
        jobs.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no job {name} in {jobs:?}"))
            .1
            .join("\n")
    };
    let gate = job("gate");
    assert!(
        gate.contains("if: github.event_name == 'pull_request'"),
        "{gate}"
    );
    assert!(
        gate.contains("contents: read") && !gate.contains(": write"),
        "{gate}"
    );
    assert!(gate.contains("persist-credentials: false"), "{gate}");
    assert!(!gate.contains("cargo perf record") && !gate.contains("cargo perf sync"));
    let record = job("record");
    assert!(record.contains("contents: write"), "{record}");
    assert!(
        record.contains("github.ref_name == github.event.repository.default_branch"),
        "{record}"
    );
    assert!(record.contains("cargo perf record") && record.contains("cargo perf sync"));
    // The top level grants nothing more than reading; the default branch is not hard-coded.
    let top: String = workflow
        .split("\njobs:")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        top.contains("permissions:\n  contents: read") && !top.contains(": write"),
        "{top}"
    );
    assert!(!workflow.contains("[main]") && !workflow.contains("@VERSION@"));
    // The tool's version is pinned and cached.
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        workflow.contains(&format!("CARGO_PERF_VERSION: \"{version}\"")),
        "{workflow}"
    );
    assert!(workflow.contains("--version \"=$CARGO_PERF_VERSION\" --locked"));
    assert!(workflow.contains("actions/cache@") && workflow.contains("~/.cargo/bin/cargo-perf"));
}

#[test]
fn the_workflow_template_passes_the_reviewers_checks() {
    let template = include_str!("../../templates/github-workflow.yml")
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    check_workflow(&template);
    // The checks can fail: the old pasted expression and a pull-request job that can write.
    let pasted = template.replace("\"origin/$BASE_REF\"", "origin/${{ github.base_ref }}");
    assert!(std::panic::catch_unwind(|| check_workflow(&pasted)).is_err());
    let writable = template.replacen("      contents: read\n", "      contents: write\n", 1);
    assert!(std::panic::catch_unwind(|| check_workflow(&writable)).is_err());
}

#[test]
fn check_on_the_first_commit_asks_for_a_base() {
    let Scratch { dir } = Scratch::new(PERF_TOML);
    init_and_commit(dir.path(), "only commit");
    let script = dir.path().join("fake.json");
    std::fs::write(&script, W_SLOWER).unwrap();
    let mut cmd = cargo_perf();
    cmd.args(["check", "--fake-runner"])
        .arg(&script)
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    let a = cmd.assert().code(2);
    let err = stderr(&a);
    assert!(
        err.contains("has no parent to compare with; pass --base REV"),
        "{err}"
    );
}

#[test]
fn each_shard_of_a_check_gates_its_own_workloads() {
    let r = Repo::new(PERF_TOML, W_SLOWER);
    // Sorted by name, count deals `v` to shard 1 and `w` (20 % slower) to shard 2.
    let first = r
        .cmd(&[
            "check",
            "--partition",
            "count:1/2",
            "--message-format",
            "json",
        ])
        .assert()
        .code(0);
    let names: Vec<String> = json(&first)
        .iter()
        .filter(|l| l["reason"] == "check-workload")
        .map(|l| l["workload"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["v"]);
    let second = r
        .cmd(&["check", "--partition", "count:2/2", "--format", "markdown"])
        .assert()
        .code(1);
    let md = stdout(&second);
    assert!(md.contains("cargo perf check (shard count:2/2)"), "{md}");
    assert!(md.contains("regressed") && !md.contains("| `v`"), "{md}");
    // An empty shard passes with whole outputs: a JUnit report of no test, and a summary.
    let junit = r.path().join("empty.xml");
    let empty = r
        .cmd(&[
            "check",
            "--partition",
            "count:3/3",
            "--format",
            "markdown",
            "--junit",
            junit.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    assert!(stderr(&empty).contains("has none of the 2 selected workloads"));
    assert!(
        stdout(&empty).contains("cargo perf check (shard count:3/3)"),
        "{}",
        stdout(&empty)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("tests"), Some("0"), "{xml}");
}

#[test]
fn init_with_shards_writes_a_matrix_workflow_that_merges_the_summaries() {
    let Scratch { dir } = Scratch::new("");
    std::fs::remove_file(dir.path().join("perf.toml")).unwrap();
    let mut cmd = cargo_perf();
    cmd.args(["init", "--shards", "3", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"));
    cmd.assert().success();
    let workflow = std::fs::read_to_string(dir.path().join(".github/workflows/perf.yml")).unwrap();
    // Everything the one-job workflow promises still holds.
    check_workflow(&workflow);
    assert!(
        !workflow.contains("@SHARD"),
        "a placeholder is left: {workflow}"
    );
    assert!(workflow.contains("PERF_SHARDS: \"3\""), "{workflow}");
    let jobs = jobs(&workflow);
    let job = |name: &str| {
        jobs.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no job {name}"))
            .1
            .join("\n")
    };
    for name in ["gate", "record"] {
        let text = job(name);
        assert!(text.contains("shard: [1, 2, 3]"), "{name}: {text}");
    }
    assert!(job("gate").contains("--partition \"hash:$SHARD/$PERF_SHARDS\""));
    assert!(job("record").contains("cargo perf record --partition \"hash:$SHARD/$PERF_SHARDS\""));
    // The summary job merges what the shards uploaded, and runs none of the PR's code.
    let summary = job("summary");
    assert!(
        summary.contains("needs: gate") && summary.contains("always()"),
        "{summary}"
    );
    assert!(summary.contains("pull-requests: write") && !summary.contains("contents: write"));
    for runs_code in [
        "actions/checkout",
        "cargo install",
        "cargo perf check",
        "cargo build",
    ] {
        assert!(!summary.contains(runs_code), "{runs_code}: {summary}");
    }
    assert!(summary.contains("perf-summary-$shard.md"), "{summary}");
    // One shard is no matrix.
    let mut one = cargo_perf();
    one.args(["init", "--shards", "1", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"));
    let a = one.assert().code(2);
    assert!(stderr(&a).contains("--shards"), "{}", stderr(&a));
}
