//! Each side of a check is built as itself: its own `.cargo/config.toml`, workspace and lock
//! file. Real builds of a small CPU-bound crate in temporary repositories.

use std::path::Path;

use crate::common::cargo_perf;
use crate::git::{commit_all, init_and_commit};

/// A CPU-bound binary that appends, to the file its first argument names, which executable ran
/// and the `PERF_SIDE_TAG` it was compiled with (`[env]` in a `.cargo/config.toml`).
const SPIN_MAIN: &str = r#"use std::io::Write;

fn main() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..4_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    std::hint::black_box(x);
    if let Some(log) = std::env::args().nth(1) {
        let exe = std::env::current_exe().unwrap();
        let tag = option_env!("PERF_SIDE_TAG").unwrap_or("none");
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        writeln!(f, "{}\t{tag}", exe.display()).unwrap();
    }
}
"#;

/// A repository (in `root/repo`) holding the `spin` package, with no `[workspace]` of its own,
/// and a perf.toml that runs it with `log` as its argument.
fn spin_repo(root: &Path, log: &Path) -> std::path::PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"spin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(repo.join("src/main.rs"), SPIN_MAIN).unwrap();
    std::fs::write(
        repo.join("perf.toml"),
        format!(
            "[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 40\nmetric = \"cpu\"\n\n\
             [[workload]]\nname = \"spin\"\ncommand = [\"{{bin:spin}}\", {:?}]\n",
            log.to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    repo
}

fn check(repo: &Path) -> (i32, Vec<serde_json::Value>, String) {
    let out = cargo_perf()
        .args(["check", "--message-format", "json", "-v", "--manifest-path"])
        .arg(repo.join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn spin_result(lines: &[serde_json::Value]) -> &serde_json::Value {
    lines
        .iter()
        .find(|l| l["reason"] == "check-workload" && l["workload"]["name"] == "spin")
        .unwrap_or_else(|| panic!("no result for spin in {lines:?}"))
}

#[test]
fn a_candidate_that_only_adds_opt_level_zero_to_its_cargo_config_is_regressed() {
    let _turn = crate::common::measuring();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("runs.log");
    let repo = spin_repo(root.path(), &log);
    init_and_commit(&repo, "spin");
    std::fs::create_dir_all(repo.join(".cargo")).unwrap();
    std::fs::write(
        repo.join(".cargo/config.toml"),
        "[profile.release]\nopt-level = 0\n",
    )
    .unwrap();
    commit_all(&repo, "unoptimised release builds");
    let (code, lines, err) = check(&repo);
    let spin = spin_result(&lines);
    assert_eq!(spin["verdict"], "regressed", "{spin}\n{err}");
    assert!(
        spin["comparison"]["ratio"].as_f64().unwrap() > 1.5,
        "{spin}"
    );
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_candidate_that_becomes_a_workspace_is_gated_and_each_side_reads_its_own_env() {
    let _turn = crate::common::measuring();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("runs.log");
    let repo = spin_repo(root.path(), &log);
    // The base's own configuration sets a tag that the binary is compiled with.
    std::fs::create_dir_all(repo.join(".cargo")).unwrap();
    std::fs::write(
        repo.join(".cargo/config.toml"),
        "[env]\nPERF_SIDE_TAG = \"from-base-config\"\n",
    )
    .unwrap();
    init_and_commit(&repo, "spin with a tag");
    // The candidate drops that configuration and turns the package into a workspace with a
    // second member.
    std::fs::remove_dir_all(repo.join(".cargo")).unwrap();
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        format!("{manifest}\n[workspace]\nmembers = [\"tools/gen\"]\n"),
    )
    .unwrap();
    std::fs::create_dir_all(repo.join("tools/gen/src")).unwrap();
    std::fs::write(
        repo.join("tools/gen/Cargo.toml"),
        "[package]\nname = \"gen\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(repo.join("tools/gen/src/main.rs"), "fn main() {}\n").unwrap();
    commit_all(&repo, "a workspace");

    let (code, lines, err) = check(&repo);
    let spin = spin_result(&lines);
    assert_ne!(spin["verdict"], "failed", "{spin}\n{err}");
    assert!(
        !spin["base_samples"].as_array().unwrap().is_empty(),
        "{spin}"
    );
    assert_eq!(code, 0, "{err}");
    // The worktree of the base is in the cache folder, not under the candidate's target dir.
    let cache = crate::common::perf_cache_dir();
    let checked_out = err
        .lines()
        .find(|l| l.starts_with("the base revision ") && l.contains(" is checked out in "))
        .unwrap_or_else(|| panic!("-v names the worktree: {err}"));
    assert!(
        checked_out.contains(&cache.to_string_lossy().into_owned()),
        "{checked_out}"
    );
    // Every run of the base's binary carries the base's tag; no run of the candidate's does.
    let runs = std::fs::read_to_string(&log).unwrap();
    let (mut base, mut candidate) = (0, 0);
    for line in runs.lines() {
        let (exe, tag) = line.split_once('\t').unwrap();
        if exe.contains("cargo-perf/base-target") {
            base += 1;
            assert_eq!(tag, "from-base-config", "{line}");
        } else {
            assert!(
                exe.starts_with(&repo.to_string_lossy().into_owned()),
                "{line}"
            );
            candidate += 1;
            assert_eq!(tag, "none", "{line}");
        }
    }
    assert!(
        base >= 20 && candidate >= 20,
        "{base} base and {candidate} candidate runs"
    );
}

#[test]
fn both_sides_of_a_change_that_leaves_the_code_alone_are_the_same_binary() {
    let _turn = crate::common::measuring();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("runs.log");
    let repo = spin_repo(root.path(), &log);
    // Debug information holds the folder the sources were built in, as base64's benches do.
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        format!("{manifest}\n[profile.release]\ndebug = true\n"),
    )
    .unwrap();
    init_and_commit(&repo, "spin");
    std::fs::write(repo.join("NOTES.md"), "docs only\n").unwrap();
    commit_all(&repo, "docs");
    let (code, _, err) = check(&repo);
    assert_eq!(code, 0, "{err}");
    // `-v` names each side's binary. The sources are in different folders (the working tree,
    // and the base's worktree in the cache), which would end up in the binaries (panic
    // messages, debug information) and move their code: built remapped, they are one binary.
    let path_of = |side: &str| -> std::path::PathBuf {
        let line = err
            .lines()
            .find(|l| l.starts_with("spin of the ") && l.contains(side))
            .unwrap_or_else(|| panic!("no binary of {side} in {err}"));
        line.rsplit_once(": ").unwrap().1.into()
    };
    let (base, candidate) = (path_of("base"), path_of("candidate"));
    assert_ne!(base, candidate);
    // Run from paths of one length, so that their stacks start alike.
    assert_eq!(
        base.as_os_str().len(),
        candidate.as_os_str().len(),
        "{} and {}",
        base.display(),
        candidate.display()
    );
    assert!(
        std::fs::read(&base).unwrap() == std::fs::read(&candidate).unwrap(),
        "{} and {} differ",
        base.display(),
        candidate.display()
    );
}
