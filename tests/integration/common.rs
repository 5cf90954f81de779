//! Shared set-up: the binary under test, the helper program, scratch workspaces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::assert::Assert;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One target dir for every fixture crate the tests build, kept warm between runs.
pub fn fixture_target_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    base.join("fixture-builds")
}

/// Tests that build a fixture crate into the shared target dir and measure it take turns:
/// copies of one crate in one target dir get the same executable names (a parallel build would
/// replace the executable another test is measuring), and the gate's tests need a machine that
/// is not also running another test's benchmarks.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn measuring() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|e| e.into_inner())
}

/// `perf-helper` (fixtures/helpers), built once per test run.
pub fn helper() -> &'static Path {
    static HELPER: OnceLock<PathBuf> = OnceLock::new();
    HELPER.get_or_init(|| {
        let target = fixture_target_dir();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(repo().join("fixtures/helpers/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building fixtures/helpers failed");
        target.join("release/perf-helper")
    })
}

/// Where the tests' checks keep worktrees of other revisions (instead of the user's cache dir):
/// a folder of this test process in the temporary dir, outside every repository and workspace
/// a test makes. Folders of earlier test processes that are gone are removed.
pub fn perf_cache_dir() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let tmp = std::env::temp_dir();
        let prefix = "cargo-perf-test-cache-";
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(prefix)
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = tmp.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the tests' perf cache");
        dir
    })
}

/// `cargo-perf perf ARGS` with a clean environment for colours.
pub fn cargo_perf() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_cargo-perf"));
    cmd.arg("perf")
        .env("NO_COLOR", "1")
        .env("CARGO_PERF_CACHE_DIR", perf_cache_dir())
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// `cargo perf ARGS --manifest-path <dir>/Cargo.toml` for a copied fixture crate in a git
/// repository of its own: the shared fixture target dir, git without the user's configuration,
/// and no GitHub Actions variables.
pub fn in_fixture_repo(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_perf();
    cmd.args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", fixture_target_dir())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// A throwaway cargo workspace (one package with a `scratch` binary) holding `perf_toml`.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(perf_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        std::fs::write(
            p.join("Cargo.toml"),
            "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir_all(p.join("src")).unwrap();
        std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(p.join("perf.toml"), perf_toml).unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `cargo perf ARGS --manifest-path <scratch>/Cargo.toml`.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = cargo_perf();
        cmd.args(args)
            .arg("--manifest-path")
            .arg(self.path().join("Cargo.toml"));
        cmd
    }
}

/// The `workload-finished` objects of a JSON run, and its `run-finished` object.
pub fn json_results(assert: &Assert) -> (Vec<serde_json::Value>, serde_json::Value) {
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    let last = lines.pop().expect("a run-finished line");
    assert_eq!(last["reason"], "run-finished");
    (lines, last)
}

/// The result object of the workload called `name`.
pub fn result<'a>(results: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    results
        .iter()
        .find(|r| r["workload"]["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name}"))
}

/// Copies a fixture folder, leaving out its `target`.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// A TOML string literal for a path.
pub fn toml_str(p: &Path) -> String {
    format!("{:?}", p.to_string_lossy())
}

/// Skips a test that needs something this machine lacks, saying so where people look: on
/// standard error (shown with `--nocapture`) and in `target/test-skips.txt`, which `.ci/run`
/// prints after the tests. When `CARGO_PERF_REQUIRE` names `what` (`.ci/run` sets it for what
/// it installed), skipping is a failure instead.
pub fn skip(test: &str, what: &str, reason: &str) {
    let required = std::env::var("CARGO_PERF_REQUIRE")
        .unwrap_or_default()
        .split(',')
        .any(|r| r.trim() == what);
    assert!(
        !required,
        "{test} cannot run: {reason}, but CARGO_PERF_REQUIRE says {what} is installed"
    );
    let line = format!("skipped {test}: {reason}\n");
    eprint!("{line}");
    let log = repo().join("target").join("test-skips.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = f.write_all(line.as_bytes());
    }
}
