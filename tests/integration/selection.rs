//! `-p/--package`, `--workspace` and `--exclude` on a virtual workspace of two members.

use std::path::Path;

use crate::common::{cargo_perf, json_results};

/// A virtual workspace with members `alpha` and `beta`, each with a binary of its name, and a
/// perf.toml with a workload for each binary and one that needs none.
fn two_members() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("Cargo.toml"),
        "[workspace]\nmembers = [\"alpha\", \"beta\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for name in ["alpha", "beta"] {
        std::fs::create_dir_all(p.join(name).join("src")).unwrap();
        std::fs::write(
            p.join(name).join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
        .unwrap();
        std::fs::write(p.join(name).join("src/main.rs"), "fn main() {}\n").unwrap();
    }
    std::fs::write(
        p.join("perf.toml"),
        "[defaults]\nwarmup = 0\nmin_runs = 2\nmax_runs = 2\n\n\
         [[workload]]\nname = \"run-alpha\"\ncommand = [\"{bin:alpha}\"]\n\n\
         [[workload]]\nname = \"run-beta\"\ncommand = [\"{bin:beta}\"]\n\n\
         [[workload]]\nname = \"plain\"\ncommand = [\"true\"]\n",
    )
    .unwrap();
    dir
}

fn list(dir: &Path, args: &[&str]) -> (i32, Vec<String>, String) {
    let out = cargo_perf()
        .args(["list", "--message-format", "json"])
        .args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["workload"]["name"].as_str().map(str::to_owned))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        names,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_virtual_workspace_selects_every_member_by_default() {
    let dir = two_members();
    let (code, names, err) = list(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names, ["run-alpha", "run-beta", "plain"]);
}

#[test]
fn package_and_exclude_leave_out_the_workloads_of_other_members() {
    let dir = two_members();
    for args in [&["-p", "alpha"][..], &["--workspace", "--exclude", "beta"]] {
        let (code, names, err) = list(dir.path(), args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(names, ["run-alpha", "plain"], "{args:?}");
        assert!(
            err.contains("leaving out 1 workload whose {bin:NAME} belongs to a package not selected: run-beta"),
            "{args:?}: {err}"
        );
    }
    // By name and version, and twice.
    let (code, names, _) = list(dir.path(), &["-p", "beta@0.1", "--package", "beta"]);
    assert_eq!(code, 0);
    assert_eq!(names, ["run-beta", "plain"]);
}

#[test]
fn a_package_that_is_not_a_member_is_an_error_naming_the_members() {
    let dir = two_members();
    let (code, _, err) = list(dir.path(), &["-p", "gamma"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--package gamma` matches no member of the workspace; the members are: alpha@0.1.0, beta@0.1.0"),
        "{err}"
    );
    // --exclude without --workspace, as cargo has it.
    let (code, _, err) = list(dir.path(), &["--exclude", "beta"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--workspace"), "{err}");
}

#[test]
fn run_builds_only_the_selected_members_binaries_by_package_id() {
    let dir = two_members();
    let a = cargo_perf()
        .args(["run", "-p", "alpha", "-v", "--message-format", "json"])
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .assert()
        .success();
    let (results, _) = json_results(&a);
    let names: Vec<&str> = results
        .iter()
        .filter_map(|r| r["workload"]["name"].as_str())
        .collect();
    assert_eq!(names, ["run-alpha", "plain"]);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    let build = err
        .lines()
        .find(|l| l.starts_with("cargo: ") && l.contains(" build --release"))
        .unwrap_or_else(|| panic!("-v shows the cargo invocation: {err}"));
    // The package is named by its id (path+file://...#alpha@0.1.0 or ...alpha#0.1.0).
    assert!(
        build.contains("--package path+file://")
            && build.contains("alpha")
            && !build.contains("beta"),
        "{build}"
    );
    assert!(dir.path().join("target/release/alpha").is_file());
    assert!(!dir.path().join("target/release/beta").exists());
}
