//! `-v` prints the same lines in every command that builds or measures: the cargo invocation,
//! each binary with its path, each workload's resolved command (per side where there are two).
//! Real builds of the scratch crate in temporary git repositories; the fake runner stands in
//! for the runs, so that each command takes a second or two.

use std::path::{Path, PathBuf};

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, init_and_commit};

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 40\n\n\
                         [[workload]]\nname = \"w\"\ncommand = [\"{bin:scratch}\", \"two words\"]\n";

/// A repository of two commits of the scratch crate, and a fake-runner script for `w`: twice
/// as slow on the second commit, so that `bisect` finds it and `check` fails.
struct Repo {
    dir: tempfile::TempDir,
    script: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let Scratch { dir } = Scratch::new(PERF_TOML);
        std::fs::write(dir.path().join(".gitignore"), "target/\n/fake.json\n").unwrap();
        init_and_commit(dir.path(), "first");
        std::fs::write(
            dir.path().join("src/main.rs"),
            "fn main() { println!(); }\n",
        )
        .unwrap();
        commit_all(dir.path(), "second");
        let script = dir.path().join("fake.json");
        std::fs::write(
            &script,
            r#"{"w": [{"wall_ms": 5}], "w@base": [{"wall_ms": 5}], "w@new": [{"wall_ms": 10}]}"#,
        )
        .unwrap();
        Repo { dir, script }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `cargo perf ARGS -v --message-format json` with the fake runner: its exit code, its
    /// standard output as JSON lines (every line must be one: `-v` writes to standard error),
    /// and its standard error.
    fn run(&self, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
        let out = cargo_perf()
            .args(args)
            .args(["-v", "--message-format", "json", "--fake-runner"])
            .arg(&self.script)
            .arg("--manifest-path")
            .arg(self.path().join("Cargo.toml"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout holds only JSON ({e}): {l}\n{stderr}"))
            })
            .collect();
        (out.status.code().unwrap_or(-1), json, stderr)
    }
}

/// The text after `prefix` on the one line of `err` that starts with it.
fn after<'a>(err: &'a str, prefix: &str) -> &'a str {
    let found: Vec<&str> = err.lines().filter_map(|l| l.strip_prefix(prefix)).collect();
    assert_eq!(found.len(), 1, "one line starts with `{prefix}`:\n{err}");
    found[0]
}

/// The cargo build line is there, in its shape, run in `dir`.
fn assert_cargo_line(err: &str, dir: &Path) {
    let suffix = format!(" (in {})", dir.display());
    assert!(
        err.lines().any(|l| l.starts_with("cargo: ")
            && l.contains(" build --release ")
            && l.ends_with(&suffix)),
        "a `cargo: ... build --release ... (in {})` line:\n{err}",
        dir.display()
    );
}

#[test]
fn check_v_shows_both_sides_commands_binaries_cargo_and_the_json_both_binaries() {
    let repo = Repo::new();
    let (code, json, err) = repo.run(&["check"]);
    assert_eq!(code, 1, "the scripted regression fails the gate: {err}");
    let base = PathBuf::from(
        after(&err, "scratch of the base revision ")
            .split_once(": ")
            .unwrap()
            .1,
    );
    let candidate = PathBuf::from(after(&err, "scratch of the candidate (working tree): "));
    assert!(base.is_file() && candidate.is_file(), "{err}");
    assert_ne!(base, candidate);
    let dir = repo.path().display();
    assert_eq!(
        after(&err, "w (candidate): "),
        format!("{} 'two words' (in {dir})", candidate.display())
    );
    assert_eq!(
        after(&err, "w (base): "),
        format!("{} 'two words' (in {dir})", base.display())
    );
    assert_eq!(
        after(&err, "the candidate (working tree) is checked out in "),
        dir.to_string()
    );
    let worktree = PathBuf::from(
        after(&err, "the base revision ")
            .split_once(" is checked out in ")
            .unwrap()
            .1,
    );
    // Each side's build is shown, run where that side's sources are.
    assert_cargo_line(&err, repo.path());
    assert_cargo_line(&err, &worktree);
    let finished = json
        .iter()
        .find(|l| l["reason"] == "check-finished")
        .unwrap_or_else(|| panic!("no check-finished: {json:?}"));
    assert_eq!(
        finished["binaries"]["base"]["scratch"],
        base.to_string_lossy().as_ref(),
        "{finished}"
    );
    assert_eq!(
        finished["binaries"]["candidate"]["scratch"],
        candidate.to_string_lossy().as_ref(),
        "{finished}"
    );
}

#[test]
fn every_command_that_measures_shows_its_cargo_binaries_and_commands_alike() {
    let repo = Repo::new();
    // (command, the sides it names in its lines).
    let table: [(&[&str], &[&str]); 4] = [
        (&["run"], &[""]),
        (&["record"], &[""]),
        (&["calibrate", "--time", "1s"], &[""]),
        (
            &["bisect", "w", "--good", "HEAD~1"],
            &[" (candidate)", " (base)"],
        ),
    ];
    for (args, sides) in table {
        let (code, _, err) = repo.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let dir = repo.path().display().to_string();
        for side in sides {
            // The binary's line, and the command run with that very binary.
            let exe = match *side {
                "" => after(&err, "scratch: ").to_owned(),
                " (candidate)" => after(&err, "scratch of the candidate revision ")
                    .split_once(": ")
                    .unwrap()
                    .1
                    .to_owned(),
                _ => after(&err, "scratch of the base revision ")
                    .split_once(": ")
                    .unwrap()
                    .1
                    .to_owned(),
            };
            assert!(Path::new(&exe).is_file(), "{args:?}: {exe}\n{err}");
            assert_eq!(
                after(&err, &format!("w{side}: ")),
                format!("{exe} 'two words' (in {dir})"),
                "{args:?}"
            );
        }
        assert!(
            err.lines().any(|l| l.starts_with("cargo: ")
                && l.contains(" build --release ")
                && l.contains(" --bin scratch ")),
            "{args:?} shows its cargo invocation:\n{err}"
        );
    }
}
