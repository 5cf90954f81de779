//! Explanations: both sides' real binaries of fixtures/explained under cachegrind after a
//! check's verdicts; more work in one named function, and padding that only moves code.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{Scratch, copy_dir, in_fixture_repo, measuring, repo, skip};
use crate::git::init_and_commit;

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

/// A git repository holding a copy of fixtures/explained, committed.
fn explained_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/explained"), dir.path());
    std::fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
    init_and_commit(dir.path(), "explained");
    dir
}

/// Replaces `from` by `to` in the fixture's main.rs (which must hold it).
fn edit(dir: &Path, from: &str, to: &str) {
    let main = dir.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&main, text.replace(from, to)).unwrap();
}

fn workload(a: &assert_cmd::assert::Assert) -> Value {
    let all: Vec<Value> = String::from_utf8_lossy(&a.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let found: Vec<&Value> = all
        .iter()
        .filter(|l| l["reason"] == "check-workload")
        .collect();
    assert_eq!(found.len(), 1, "{all:?}");
    found[0].clone()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn more_work_in_one_function_is_explained_and_the_function_named_in_every_format() {
    if !valgrind("more_work_in_one_function_is_explained_and_the_function_named_in_every_format") {
        return;
    }
    let _turn = measuring();
    let dir = explained_repo();
    // Six passes of the checksum instead of one: about twice the run's instructions.
    edit(
        dir.path(),
        "const CHECKSUM_PASSES: u64 = 1;",
        "const CHECKSUM_PASSES: u64 = 6;",
    );
    let out = tempfile::tempdir().unwrap();
    let (junit, summary) = (out.path().join("perf.xml"), out.path().join("summary.md"));
    let junit_arg = format!("--junit={}", junit.display());
    let a = in_fixture_repo(
        dir.path(),
        &["check", "--message-format", "json", &junit_arg],
    )
    .env("GITHUB_STEP_SUMMARY", &summary)
    .assert()
    .code(1);
    let w = workload(&a);
    assert_eq!(w["verdict"], "regressed", "{w}\n{}", stderr(&a));
    let e = &w["explanation"];
    assert_eq!(e["kind"], "more-work", "{w}");
    assert_eq!(e["excused"], false);
    let instructions = e["instructions_change"].as_f64().unwrap();
    assert!(instructions > 0.5, "{e}");
    // The function that does the work comes first, by the instructions it gained; the hot
    // loop before it did not change.
    let top = &e["functions"][0];
    assert_eq!(top["name"], "explained::checksum", "{e}");
    assert!(
        top["new"].as_u64().unwrap() >= 5 * top["base"].as_u64().unwrap(),
        "{top}"
    );
    let names: Vec<&str> = e["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(!names.contains(&"explained::mix"), "{names:?}");
    assert!(
        w["explained"]
            .as_str()
            .unwrap()
            .contains("more work: the instructions changed with the time"),
        "{w}"
    );
    // The same explanation in the JUnit report, the job summary's Markdown and the verdicts
    // kept for `export`.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("instructions by function: explained::checksum"),
        "{xml}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("**regressed (more work)**"), "{md}");
    assert!(
        md.contains("**Explained**") && md.contains("explained::checksum"),
        "{md}"
    );
    let kept = std::fs::read_to_string(dir.path().join(".git/cargo-perf/last-check.json")).unwrap();
    let kept: Value = serde_json::from_str(&kept).unwrap();
    let machine = kept["machines"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(
        machine["workloads"][0]["explanation"]["functions"][0]["name"],
        "explained::checksum"
    );
}

/// Scripted timings: the candidate 5 % slower than the base, in every round.
const FIVE_PERCENT_SLOWER: &str = r#"{"mix@base": [{"wall_ms": 10, "cpu_ms": 10}], "mix@new": [{"wall_ms": 10.5, "cpu_ms": 10.5}]}"#;

#[test]
fn padding_that_only_moves_code_is_layout_and_passes_unless_the_gate_says_fail() {
    if !valgrind("padding_that_only_moves_code_is_layout_and_passes_unless_the_gate_says_fail") {
        return;
    }
    let _turn = measuring();
    let dir = explained_repo();
    // `unused` grows by forty instructions no run executes: `checksum`, after it, moves.
    let pad: String = (0..40)
        .map(|i| {
            format!(
                "    let n = std::hint::black_box(n).wrapping_mul({});\n",
                2 * i + 3
            )
        })
        .collect();
    edit(
        dir.path(),
        "fn unused(n: u64) -> u64 {\n",
        &format!("fn unused(n: u64) -> u64 {{\n{pad}"),
    );
    // A real slowdown from layout cannot be made to order, so the timings are scripted (+5 %)
    // and the explanation runs the real binaries of both sides.
    let script = dir.path().join("target-fake.json");
    std::fs::write(&script, FIVE_PERCENT_SLOWER).unwrap();
    let script_arg = format!("--fake-runner={}", script.display());
    let check = |args: &[&str]| {
        let mut all = vec!["check", "--explain", script_arg.as_str()];
        all.extend(args);
        in_fixture_repo(dir.path(), &all)
    };
    let a = check(&["--message-format", "json"]).assert().code(0);
    let w = workload(&a);
    assert_eq!(w["verdict"], "regressed", "{w}");
    assert_eq!(w["fails"], false, "{w}");
    let e = &w["explanation"];
    assert_eq!(e["kind"], "layout", "{w}\n{}", stderr(&a));
    assert_eq!(e["excused"], true);
    // The code that runs is the same: instructions within 0.1 %, none in the hot path moved.
    let (base, new) = (
        e["base"]["instructions"].as_u64().unwrap(),
        e["new"]["instructions"].as_u64().unwrap(),
    );
    assert!(base > 1_000_000 && base.abs_diff(new) * 1000 <= base, "{e}");
    for f in e["functions"].as_array().unwrap() {
        assert!(
            !["explained::mix", "explained::checksum"].contains(&f["name"].as_str().unwrap()),
            "{e}"
        );
    }
    // The terminal says so and how to keep it from failing; GitHub gets a warning.
    let a = check(&[]).env("GITHUB_ACTIONS", "true").assert().code(0);
    assert!(
        stderr(&a).contains("::warning title=cargo perf (code layout)::mix: code layout: "),
        "{}",
        stderr(&a)
    );
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("regressed (layout)"), "{text}");
    assert!(
        text.contains("the change is real on this binary, but it comes from where its code landed"),
        "{text}"
    );
    assert!(
        text.contains("this one passes")
            && text.contains("1 regressed (1 code layout, not failing). Passed."),
        "{text}"
    );
    // A team that wants layout changes to fail says so in perf.toml.
    let toml = dir.path().join("perf.toml");
    let manifest = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("[gate]\nlayout = \"fail\"\n\n{manifest}")).unwrap();
    let a = check(&[]).assert().code(1);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("mix regressed: +5.0%"), "{text}");
    assert!(
        !text.contains("this one passes") && text.contains("FAILED."),
        "{text}"
    );
}

#[test]
fn without_valgrind_a_regression_is_reported_unexplained_with_how_to_install_it() {
    let s = Scratch::new(
        "[defaults]\nwarmup = 0\nmin_runs = 20\n[[workload]]\nname = \"w\"\ncommand = [\"true\"]\n",
    );
    init_and_commit(s.path(), "base");
    std::fs::write(s.path().join("src/main.rs"), "fn main() { }\n").unwrap();
    let script = s.path().join("fake.json");
    std::fs::write(
        &script,
        r#"{"w@base": [{"wall_ms": 10}], "w@new": [{"wall_ms": 12}]}"#,
    )
    .unwrap();
    let a = s
        .cmd(&[
            "check",
            "--explain",
            "--fake-runner",
            script.to_str().unwrap(),
        ])
        .env("CARGO_PERF_VALGRIND", "/nonexistent/valgrind")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("w regressed: +20.0%"), "{text}");
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("not explained"))
        .collect();
    assert_eq!(notes.len(), 1, "{text}");
    assert!(
        notes[0].contains("`/nonexistent/valgrind`) is not installed")
            && notes[0].contains("sudo apt-get install valgrind"),
        "{text}"
    );
    assert!(!text.contains("Explained"), "{text}");
}
