//! The bundled example workspace, copied to a temporary folder and built for real.

use std::path::Path;

use crate::common::{cargo_perf, fixture_target_dir, json_results, repo, result};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

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
    assert_eq!(listed.len(), 7);
}

#[test]
fn run_builds_the_bin_and_measures_every_fixture() {
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
