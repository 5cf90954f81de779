//! `bisect`: a real repository of six commits of a tiny crate whose binary sleeps, where the
//! fourth commit after the good one sleeps longer and the second does not build.

use std::path::Path;

use crate::common::cargo_perf;
use crate::git::{commit_all, init_and_commit};

fn sleeper(ms: u64) -> String {
    format!("fn main() {{\n    std::thread::sleep(std::time::Duration::from_millis({ms}));\n}}\n")
}

/// `cargo perf ARGS` on the repository at `repo`, hermetic git.
fn perf(repo: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cargo_perf()
        .args(args)
        .arg("--manifest-path")
        .arg(repo.join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bisect_finds_the_commit_that_made_the_workload_slower_and_skips_one_that_does_not_build() {
    let _turn = crate::common::measuring();
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"sleepy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    // 3 ms against 40 ms, at a threshold of 90 %: each comparison is decided at the first look
    // even on a loaded machine, where two runs of the same 3 ms sleep differed by up to 50 %.
    std::fs::write(
        repo.join("perf.toml"),
        "[defaults]\nwarmup = 1\nmin_runs = 8\nmax_runs = 30\ntime_cap = \"2s\"\n\
         threshold = \"90%\"\n\n[[workload]]\nname = \"sleepy\"\ncommand = [\"{bin:sleepy}\"]\n\n\
         [[workload]]\nname = \"sleepy-twice\"\ncommand = [\"{bin:sleepy}\"]\n",
    )
    .unwrap();
    std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(repo.join("src/main.rs"), sleeper(3)).unwrap();
    let good = init_and_commit(&repo, "sleep 3 ms");
    std::fs::write(repo.join("README"), "sleeps\n").unwrap();
    let docs = commit_all(&repo, "a README");
    std::fs::write(
        repo.join("src/main.rs"),
        "fn main() { this does not build }\n",
    )
    .unwrap();
    let broken = commit_all(&repo, "a change that does not build");
    std::fs::write(repo.join("src/main.rs"), sleeper(3)).unwrap();
    let fixed = commit_all(&repo, "fix the build");
    std::fs::write(repo.join("src/main.rs"), sleeper(40)).unwrap();
    let slower = commit_all(&repo, "sleep longer");
    std::fs::write(repo.join("README"), "sleeps, longer\n").unwrap();
    let bad = commit_all(&repo, "more README");

    let (code, stdout, stderr) = perf(
        &repo,
        &[
            "bisect",
            "sleepy",
            "--good",
            &good,
            "--bad",
            "HEAD",
            "--message-format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("one JSON object expected ({e}): {stdout}");
    });
    assert_eq!(report["reason"], "bisect-finished");
    assert_eq!(report["outcome"], "found", "{report}");
    assert_eq!(report["commits"], 5);
    assert_eq!(report["first_bad"]["commit"], slower.as_str(), "{report}");
    assert_eq!(report["first_bad"]["subject"], "sleep longer");
    let ratio = report["first_bad"]["comparison"]["ratio"].as_f64().unwrap();
    assert!(ratio > 3.0, "{report}");
    assert!(
        report["first_bad"]["comparison"]["ci"]["lower"]
            .as_f64()
            .unwrap()
            > 1.9
    );
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{report}");
    assert_eq!(skipped[0]["commit"], broken.as_str());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not build"),
        "{report}"
    );
    // The bad end first, then the middle (which does not build), its neighbour, the first bad
    // one; the README commit is never built.
    let visited: Vec<(&str, &str)> = report["visited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["commit"].as_str().unwrap(),
                v["judgement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        visited,
        vec![
            (bad.as_str(), "bad"),
            (broken.as_str(), "skip"),
            (fixed.as_str(), "good"),
            (slower.as_str(), "bad"),
        ],
        "{report}"
    );
    assert!(!stdout.contains(&docs));
    assert!(
        stderr.contains("[1/") && stderr.contains("against good"),
        "{stderr}"
    );

    // The terminal report names the commit, its subject and the skipped one.
    let (code, stdout, stderr) = perf(&repo, &["bisect", "sleepy", "--good", &fixed, "-q"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "First bad commit: {} (sleep longer)",
            &slower[..10]
        )),
        "{stdout}"
    );

    // Between the good commit and the fixed one nothing regressed.
    let (code, stdout, stderr) = perf(
        &repo,
        &["bisect", "sleepy", "--good", &good, "--bad", &fixed],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("No regression between"), "{stdout}");

    // Bad input, before anything is built: a good commit after the bad one, a name of two
    // workloads, a name of none.
    let (code, _, stderr) = perf(
        &repo,
        &["bisect", "sleepy", "--good", "HEAD", "--bad", &good],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not a first-parent ancestor of --bad"),
        "{stderr}"
    );
    let (code, _, stderr) = perf(&repo, &["bisect", "sleep", "--good", &good]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("matches 2 workloads: sleepy, sleepy-twice"),
        "{stderr}"
    );
    let (code, _, stderr) = perf(&repo, &["bisect", "nap", "--good", &good]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("the workloads are: sleepy, sleepy-twice"),
        "{stderr}"
    );
}

/// A binary whose instruction count grows with `n`.
fn spinner(n: u64) -> String {
    format!(
        "fn main() {{\n    let mut x = 0u64;\n    for i in 0..{n}u64 {{\n        \
         x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));\n    }}\n    \
         std::hint::black_box(x);\n}}\n"
    )
}

#[test]
fn bisect_decides_commits_from_stored_instruction_counts_without_building_them() {
    let test = "bisect_decides_commits_from_stored_instruction_counts_without_building_them";
    let found = std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        crate::common::skip(test, "valgrind", "valgrind is not installed");
        return;
    }
    let _turn = crate::common::measuring();
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"spin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("perf.toml"),
        "[defaults]\nwarmup = 0\nmin_runs = 2\nmax_runs = 2\nmetric = \"instructions\"\n\n\
         [[workload]]\nname = \"spin\"\ncommand = [\"{bin:spin}\"]\n",
    )
    .unwrap();
    std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(repo.join("src/main.rs"), spinner(100_000)).unwrap();
    let good = init_and_commit(&repo, "spin 100k");
    let record = |what: &str| {
        let (code, stdout, stderr) = perf(&repo, &["record", "-q"]);
        assert_eq!(code, 0, "record of {what}: {stdout}\n{stderr}");
    };
    record("the good commit");
    std::fs::write(repo.join("README"), "spins\n").unwrap();
    let docs = commit_all(&repo, "a README");
    record("the README");
    std::fs::write(repo.join("src/main.rs"), spinner(1_000_000)).unwrap();
    let slower = commit_all(&repo, "spin 1M");
    record("the slower commit");
    std::fs::write(repo.join("README"), "spins more\n").unwrap();
    let bad = commit_all(&repo, "more README");

    let (code, stdout, stderr) = perf(
        &repo,
        &[
            "bisect",
            "spin",
            "--good",
            &good,
            "--message-format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["outcome"], "found", "{report}");
    assert_eq!(report["first_bad"]["commit"], slower.as_str(), "{report}");
    assert_eq!(report["first_bad"]["source"], "record", "{report}");
    assert!(report["first_bad"]["run_id"].is_string(), "{report}");
    // The bad commit has no record: it is built and counted, against the good one's stored
    // counts (so the good one is not built either). The two others come from their records.
    let visited: Vec<(&str, &str, &str)> = report["visited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["commit"].as_str().unwrap(),
                v["source"].as_str().unwrap(),
                v["judgement"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        visited,
        vec![
            (bad.as_str(), "measured", "bad"),
            (docs.as_str(), "record", "good"),
            (slower.as_str(), "record", "bad"),
        ],
        "{report}"
    );
    let ratio = report["first_bad"]["comparison"]["ratio"].as_f64().unwrap();
    assert!(ratio > 5.0, "{report}");
    assert!(
        stderr.contains("the base is not built") && stderr.contains("from its stored record"),
        "{stderr}"
    );
}
