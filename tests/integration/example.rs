//! The bundled example workspace, copied to a temporary folder and built for real.

use std::path::Path;

use crate::common::{
    cargo_perf, copy_dir, fixture_target_dir, json_results, measuring, repo, result,
};

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/example"), dir.path());
    dir
}

fn in_example(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_perf();
    cmd.args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        // Keep the example's build warm across tests and runs.
        .env("CARGO_TARGET_DIR", fixture_target_dir());
    cmd
}

#[test]
fn list_classifies_the_three_projects() {
    let _turn = measuring();
    let dir = example();
    let a = in_example(dir.path(), &["list", "--message-format", "json"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let listed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let class = |name: &str| {
        listed
            .iter()
            .find(|l| l["workload"]["name"] == name)
            .map(|l| l["workload"]["class"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    assert_eq!(class("analyse/small"), "small");
    assert_eq!(class("analyse/medium"), "medium");
    assert_eq!(class("analyse/large"), "large");
    assert_eq!(class("analyse-json/large"), "large");
    assert_eq!(listed.len(), 11);
    assert_eq!(
        listed
            .iter()
            .filter(|l| l["workload"]["kind"] == "load")
            .count(),
        4
    );
}

#[test]
fn run_builds_the_bin_and_measures_every_fixture() {
    let _turn = measuring();
    let dir = example();
    let a = in_example(
        dir.path(),
        &[
            "run",
            "analyse",
            "--warmup",
            "0",
            "--min-runs",
            "3",
            "--max-runs",
            "3",
            "--message-format",
            "json",
        ],
    )
    .assert()
    .success();
    let (results, summary) = json_results(&a);
    assert_eq!(summary["workloads"], 4);
    assert_eq!(summary["passed"], 4);
    let large = result(&results, "analyse/large");
    assert_eq!(large["n"], 3);
    assert!(
        large["workload"]["argv"][0]
            .as_str()
            .unwrap()
            .ends_with("release/analyse")
    );
    // The analyser does more work on the large project than on the small one.
    let median = |name| result(&results, name)["cpu_ns"]["median"].as_f64().unwrap();
    assert!(median("analyse/large") > median("analyse/small"));
}

#[test]
fn a_bin_that_does_not_build_is_a_tool_error() {
    let _turn = measuring();
    let dir = example();
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() { this is not rust }\n",
    )
    .unwrap();
    let a = in_example(dir.path(), &["run", "analyse/small"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("error: building the workspace binaries"),
        "{err}"
    );
    assert!(err.contains("`cargo build --release` failed"), "{err}");
}

/// The example in a temporary git repository, with a perf.toml for gating: the analyser on the
/// large project, plain (10 % threshold) and JSON (5 %), judged on CPU time.
fn example_repo(extra_toml: &str) -> tempfile::TempDir {
    example_repo_with(extra_toml, "")
}

/// `example_repo` with `more_workloads` appended to its perf.toml.
///
/// `analyse` (without `--json`) is the path the slowdown tests leave alone. Editing the binary
/// moves its code all the same, and a clean-clone CI saw that path come out +6.7 % [+5.3 %,
/// +10.1 %] slower after 472 rounds: a real change of this binary, from where code landed
/// (issue 17's "layout"). Its threshold is 10 %, the remedy a user has today.
fn example_repo_with(extra_toml: &str, more_workloads: &str) -> tempfile::TempDir {
    let dir = example();
    let toml = format!(
        "{extra_toml}[defaults]\nwarmup = 1\nmin_runs = 20\nmax_runs = 600\ntime_cap = \"6s\"\n\
         metric = \"cpu\"\nthreshold = \"5%\"\n\
         [[workload]]\nname = \"analyse\"\ncommand = [\"{{bin:analyse}}\", \"{{fixture}}\"]\nfixtures = \"projects/large\"\ntimeout = \"30s\"\nthreshold = \"10%\"\n\
         [[workload]]\nname = \"analyse-json\"\ncommand = [\"{{bin:analyse}}\", \"--json\", \"{{fixture}}\"]\nfixtures = \"projects/large\"\ntimeout = \"30s\"\n{more_workloads}"
    );
    std::fs::write(dir.path().join("perf.toml"), toml).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    crate::git::init_and_commit(dir.path(), "example");
    dir
}

/// `cargo perf ARGS` in `dir` with its own target dir (checks there hold a lock on it).
fn gate_cmd(dir: &Path, args: &[&str]) -> assert_cmd::Command {
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

fn check_lines(a: &assert_cmd::assert::Assert) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&a.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verdict_of(lines: &[serde_json::Value], name: &str) -> String {
    lines
        .iter()
        .find(|l| l["workload"]["name"] == name)
        .map(|l| l["verdict"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Makes `analyse --json` spend 15 % more time than it would, by spinning at the end.
fn slow_down_json(dir: &Path) {
    let main = dir.join("src/main.rs");
    let src = std::fs::read_to_string(&main).unwrap();
    let src = src
        .replacen("fn main() {\n", "fn main() {\n    let started = std::time::Instant::now();\n", 1)
        .replacen(
            "    print(&report, json);\n}",
            "    print(&report, json);\n    if json {\n        let spent = started.elapsed();\n        \
             let factor = std::env::var(\"SLOWER_BY\").ok().and_then(|f| f.parse().ok()).unwrap_or(1.15);\n        \
             while started.elapsed() < spent.mul_f64(factor) {\n            std::hint::spin_loop();\n        }\n    }\n}",
            1,
        );
    assert!(src.contains("spin_loop"), "the patch did not apply");
    std::fs::write(main, src).unwrap();
}

#[test]
fn run_fits_growth_and_check_flags_a_quadratic_path_on_the_large_fixture() {
    let _turn = measuring();
    let dir = example();
    std::fs::write(
        dir.path().join("perf.toml"),
        "[defaults]\nwarmup = 1\nmin_runs = 20\nmax_runs = 300\ntime_cap = \"3s\"\nmetric = \"cpu\"\n\
         [[workload]]\nname = \"analyse\"\ncommand = [\"{bin:analyse}\", \"{fixture}\"]\n\
         fixtures = \"projects/*\"\ntimeout = \"30s\"\nthreshold = \"10%\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    crate::git::init_and_commit(dir.path(), "example");
    // run: the exponent over the three projects' lines (468 to 18,110), below 1 because the
    // process's start-up does not grow.
    let a = in_example(dir.path(), &["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let lines = check_lines(&a);
    let g = lines
        .iter()
        .find(|l| l["reason"] == "growth-fitted")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(g["group"], "analyse", "{g}");
    assert_eq!(g["size_unit"], "lines", "{g}");
    assert_eq!(g["points"].as_array().unwrap().len(), 3, "{g}");
    let k = g["exponent"].as_f64().unwrap();
    assert!(k > 0.2 && k < 1.2, "{g}");
    in_example(dir.path(), &["record", "-q"]).assert().success();

    // A path quadratic in the lines: 27,000 steps on the small project (nothing), 41 million
    // on the large one.
    let main = dir.path().join("src/main.rs");
    let src = std::fs::read_to_string(&main).unwrap().replacen(
        "    print(&report, json);\n}",
        "    let n = report.lines;\n    let mut x = 0u64;\n    for i in 0..n {\n        \
         for j in 0..n / 8 {\n            x = std::hint::black_box(x ^ (i * j));\n        }\n    }\n    \
         std::hint::black_box(x);\n    print(&report, json);\n}",
        1,
    );
    assert!(src.contains("n / 8"), "the patch did not apply");
    std::fs::write(main, src).unwrap();
    let a = gate_cmd(dir.path(), &["check", "--message-format", "json"])
        .assert()
        .code(1);
    let lines = check_lines(&a);
    let g = lines
        .iter()
        .find(|l| l["reason"] == "check-growth")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(g["group"], "analyse", "{g}");
    assert_eq!(g["verdict"], "raised", "{g}");
    assert!(g["change"]["lower"].as_f64().unwrap() > 0.1, "{g}");
    assert!(
        g["new"]["exponent"].as_f64().unwrap() > g["base"]["exponent"].as_f64().unwrap(),
        "{g}"
    );
    // The small project barely moved.
    assert_ne!(
        verdict_of(&lines, "analyse/small"),
        "regressed",
        "{lines:?}"
    );
    let out = gate_cmd(dir.path(), &["check", "--format", "markdown", "analyse/"])
        .assert()
        .code(1);
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        md.contains("Growth with fixture size") && md.contains("grows faster"),
        "{md}"
    );

    // Recorded at both commits: history and the release report follow the exponent.
    crate::git::commit_all(dir.path(), "a quadratic path");
    in_example(dir.path(), &["record", "-q"]).assert().success();
    let a = in_example(dir.path(), &["history", "--message-format", "json"])
        .assert()
        .success();
    let exps: Vec<f64> = check_lines(&a)
        .iter()
        .filter(|l| l["reason"] == "history-growth" && l["group"] == "analyse")
        .map(|l| {
            // The interval each record's run fitted from its samples.
            let (lo, hi) = (l["lower"].as_f64().unwrap(), l["upper"].as_f64().unwrap());
            let k = l["exponent"].as_f64().unwrap();
            assert!(lo <= k && k <= hi, "{l}");
            k
        })
        .collect();
    // Newest first: the quadratic path's commit grows faster.
    assert_eq!(exps.len(), 2, "{exps:?}");
    assert!(exps[0] > exps[1] + 0.1, "{exps:?}");
    let a = in_example(
        dir.path(),
        &["report", "--from", "HEAD~1", "--format", "json"],
    )
    .assert()
    .success();
    let report: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let g = &report["growth"][0];
    assert_eq!(g["group"], "analyse", "{report}");
    assert!(g["change"].as_f64().unwrap() > 0.1, "{g}");
    assert!(g["last"]["lower"].as_f64().unwrap() <= g["last"]["exponent"].as_f64().unwrap());
}

#[test]
fn check_a_a_is_unchanged_and_passes() {
    let _turn = measuring();
    let dir = example_repo("");
    std::fs::write(
        dir.path().join("NOTES.md"),
        "a change that does not touch the code\n",
    )
    .unwrap();
    crate::git::commit_all(dir.path(), "docs only");
    let a = gate_cmd(dir.path(), &["check", "--message-format", "json"])
        .assert()
        .success();
    let lines = check_lines(&a);
    assert_eq!(
        verdict_of(&lines, "analyse/large"),
        "unchanged",
        "{lines:?}"
    );
    assert_eq!(
        verdict_of(&lines, "analyse-json/large"),
        "unchanged",
        "{lines:?}"
    );
    // The second check against the same base builds nothing again.
    let again = gate_cmd(dir.path(), &["check", "-q"]).assert().success();
    let err = String::from_utf8_lossy(&again.get_output().stderr).into_owned();
    assert!(!err.contains("Compiling"), "{err}");
}

#[test]
fn check_finds_a_fifteen_percent_slowdown_in_that_workload_only() {
    let _turn = measuring();
    // A third workload reaches the binary through the environment: `{bin:NAME}` in `env` must
    // resolve per side too, or both sides would run the candidate. The shell it starts through
    // dilutes the slowdown, so this one is slowed down more (SLOWER_BY): what it checks is that
    // the sides differ at all, and a 15 % change under a shell's start-up was seen inconclusive
    // on a loaded CI machine.
    let via_env = "[[workload]]\nname = \"via-env\"\ncommand = [\"sh\", \"-c\", \"exec \\\"$ANALYSE\\\" --json \\\"$0\\\"\", \"{fixture}\"]\n\
                   env = { ANALYSE = \"{bin:analyse}\", SLOWER_BY = \"1.5\" }\nfixtures = \"projects/large\"\ntimeout = \"30s\"\n";
    let dir = example_repo_with("", via_env);
    slow_down_json(dir.path());
    // Dirty: the working tree against HEAD.
    let a = gate_cmd(dir.path(), &["check", "--message-format", "json"])
        .assert()
        .code(1);
    let lines = check_lines(&a);
    assert_eq!(
        verdict_of(&lines, "analyse-json/large"),
        "regressed",
        "{lines:?}"
    );
    assert_eq!(
        verdict_of(&lines, "via-env/large"),
        "regressed",
        "{lines:?}"
    );
    assert_ne!(
        verdict_of(&lines, "analyse/large"),
        "regressed",
        "{lines:?}"
    );
    // Committed, compare --measure finds it between the two commits.
    crate::git::commit_all(dir.path(), "slower JSON");
    let a = gate_cmd(
        dir.path(),
        &["compare", "HEAD~1", "--measure", "--message-format", "json"],
    )
    .assert()
    .code(1);
    let lines = check_lines(&a);
    assert_eq!(
        verdict_of(&lines, "analyse-json/large"),
        "regressed",
        "{lines:?}"
    );
}

#[test]
fn check_fails_on_a_budget_breach() {
    let _turn = measuring();
    let dir = example_repo("[budgets]\nlarge = \"1ms\"\n");
    std::fs::write(dir.path().join("NOTES.md"), "x\n").unwrap();
    crate::git::commit_all(dir.path(), "docs only");
    let a = gate_cmd(dir.path(), &["check"]).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("is over budget: OVER ("), "{out}");
}

#[test]
fn check_against_a_base_that_does_not_build_exits_2_with_cargos_error() {
    let _turn = measuring();
    let dir = example_repo("");
    let main = dir.path().join("src/main.rs");
    let good = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, "fn main() { this is not rust }\n").unwrap();
    crate::git::commit_all(dir.path(), "broken");
    std::fs::write(&main, good).unwrap();
    crate::git::commit_all(dir.path(), "fixed");
    let a = gate_cmd(dir.path(), &["check"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("error: building the base revision"), "{err}");
    assert!(
        err.contains("error: expected one of"),
        "cargo's own error is shown: {err}"
    );
}

#[test]
fn the_example_service_is_driven_by_its_load_workload() {
    let _turn = measuring();
    let dir = example();
    let a = in_example(
        dir.path(),
        &["run", "serve/load", "--message-format", "json"],
    )
    .assert()
    .success();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let f: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["reason"] == "load-finished")
        .unwrap_or_else(|| panic!("no load-finished line in {stdout}"));
    let overall = &f["report"]["overall"];
    // The ramp (0.5 s to 100/s) and the hold (5 s at 100/s): about 525 requests, each answered
    // with the analysis of the project it named.
    let requests = overall["requests"].as_u64().unwrap();
    assert!((500..=550).contains(&requests), "{overall}");
    assert_eq!(
        overall["errors"]["status"],
        serde_json::json!({}),
        "{overall}"
    );
    let hold = &f["report"]["stages"][1];
    let by_request = hold["requests"].as_object().unwrap();
    let small = by_request["GET /analyse/small"]["requests"]
        .as_u64()
        .unwrap();
    let medium = by_request["GET /analyse/medium"]["requests"]
        .as_u64()
        .unwrap();
    // Weights 9 and 1.
    assert!(small > 5 * medium, "{small} and {medium}");
    // The medium project takes longer to analyse than the small one.
    let p50 = |r: &str| by_request[r]["latency"]["p50"].as_u64().unwrap();
    assert!(p50("GET /analyse/medium") > p50("GET /analyse/small"));
    assert_eq!(f["status"], "passed", "{}", f["report"]["thresholds"]);
}

#[test]
fn check_gates_the_example_service_in_alternating_blocks() {
    let _turn = measuring();
    // The service of the example, gated at 100 requests a second in 8 blocks of 0.8 s a side:
    // the fewest blocks that keep a real slowdown significant after the adjustment over the
    // three figures, each with 80 requests, so that its p95 is not one stray answer.
    let gate = "[[load]]\nname = \"serve/gate\"\nservice = { command = [\"{bin:serve}\", \"--port\", \"{port}\", \"--root\", \"{workspace}\"], ready = \"/health\" }\n\
                rate = 100\nduration = \"1s\"\n[[load.request]]\npath = \"/analyse/medium\"\n\
                [load.gate]\nblocks = 8\nblock = \"800ms\"\n";
    let dir = example_repo_with("", gate);
    // A/A: a change that leaves the code alone is not a regression of any figure.
    std::fs::write(dir.path().join("NOTES.md"), "docs only\n").unwrap();
    crate::git::commit_all(dir.path(), "docs only");
    let a = gate_cmd(
        dir.path(),
        &["check", "serve/gate", "--message-format", "json"],
    )
    .assert()
    .success();
    let lines = check_lines(&a);
    for figure in ["p50", "p95", "time per request"] {
        let name = format!("serve/gate: {figure}");
        assert_ne!(verdict_of(&lines, &name), "regressed", "{lines:?}");
        let line = lines
            .iter()
            .find(|l| l["workload"]["name"] == name.as_str())
            .unwrap();
        assert_eq!(line["rounds"], 8, "{line}");
        assert_eq!(line["base_samples"].as_array().unwrap().len(), 8, "{line}");
    }
    // The candidate's service sleeps 3 ms more for every analysis: p50 and p95 regress, and the
    // offered rate, which it still keeps up with, is the same on both sides.
    let serve = dir.path().join("src/bin/serve.rs");
    let src = std::fs::read_to_string(&serve).unwrap();
    let slower = src.replacen(
        "    match analyse(&dir) {",
        "    std::thread::sleep(std::time::Duration::from_millis(3));\n    match analyse(&dir) {",
        1,
    );
    assert_ne!(slower, src, "the patch did not apply");
    std::fs::write(&serve, slower).unwrap();
    // The job summary gets the Markdown of the same check.
    let summary = dir.path().join("summary.md");
    let a = gate_cmd(
        dir.path(),
        &["check", "serve/gate", "--message-format", "json"],
    )
    .env("GITHUB_STEP_SUMMARY", &summary)
    .assert()
    .code(1);
    let lines = check_lines(&a);
    assert_eq!(
        verdict_of(&lines, "serve/gate: p50"),
        "regressed",
        "{lines:?}"
    );
    // p95 moves as much, but a shared CI machine can throw a block's p95 off by 15 ms (seen:
    // two base blocks of 8 at 15 and 21 ms, and the signed-rank test then cannot call it):
    // its median ratio must show the slowdown, and it must not be called unchanged.
    let p95 = lines.iter().find(|l| l["figure"] == "p95").unwrap();
    assert!(p95["comparison"]["ratio"].as_f64().unwrap() > 1.2, "{p95}");
    assert!(
        ["regressed", "inconclusive"].contains(&p95["verdict"].as_str().unwrap()),
        "{p95}"
    );
    assert_ne!(
        verdict_of(&lines, "serve/gate: time per request"),
        "regressed",
        "{lines:?}"
    );
    let p50 = lines.iter().find(|l| l["figure"] == "p50").unwrap();
    let c = &p50["comparison"];
    // About 3 ms on top of the base's p50.
    let added = c["new_median"].as_f64().unwrap() - c["base_median"].as_f64().unwrap();
    assert!((2.0e6..4.5e6).contains(&added), "{p50}");
    // The Markdown summary for a pull request names the figure.
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| serve/gate: p50 | p50 |") && md.contains("**regressed**"),
        "{md}"
    );
}
