//! Hermetic git for tests: temporary repositories, fixed identities and dates, no user config.

use std::path::Path;
use std::process::Command;

/// `git ARGS` in `dir`, with no global or system configuration; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A `git` command in `dir` with a fixed environment.
pub fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir);
    hermetic(&mut cmd);
    cmd
}

/// Fixed author, committer and dates; no global or system config.
pub fn hermetic(cmd: &mut Command) {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
}

/// `git init` with a `main` branch and everything in `dir` committed.
pub fn init_and_commit(dir: &Path, message: &str) -> String {
    git(dir, &["init", "-q", "-b", "main"]);
    commit_all(dir, message)
}

/// Commits everything and returns the new commit id.
pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}
