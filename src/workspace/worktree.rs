//! Worktrees of other revisions, checked out outside the working tree.
//!
//! A revision checked out under the working tree (its `target/`, say) would be built with the
//! working tree's `.cargo/config.toml` (cargo walks up from where it starts) and would sit inside
//! the working tree's `[workspace]`, if it has one. So each repository gets a folder of its own
//! under the user's cache dir, where cargo's config discovery cannot reach the working tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::errors::WorkspaceError;

/// The variable that moves cargo-perf's cache (worktrees of other revisions) elsewhere.
pub const CACHE_DIR_VAR: &str = "CARGO_PERF_CACHE_DIR";

/// The folder for the repository whose common git dir is `git_dir` and whose working tree is
/// `workdir`: `<cache>/<working tree's folder name>-<16 hex digits of the git dir's path>`,
/// where `<cache>` is `$CARGO_PERF_CACHE_DIR`, else `$XDG_CACHE_HOME/cargo-perf`, else
/// `~/.cache/cargo-perf`. Two repositories never share it, even when they share a target dir.
pub fn repo_cache_dir(git_dir: &Path, workdir: &Path) -> Result<PathBuf, WorkspaceError> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = env(CACHE_DIR_VAR)
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("cargo-perf")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("cargo-perf")))
        .ok_or_else(|| {
            WorkspaceError::Cache(format!(
                "no folder for worktrees of other revisions: set {CACHE_DIR_VAR} (or HOME) to a \
                 folder outside the repository"
            ))
        })?;
    let cache = if cache.is_absolute() {
        cache
    } else {
        std::env::current_dir()
            .map_err(|e| WorkspaceError::Cache(format!("the current folder: {e}")))?
            .join(cache)
    };
    repo_dir_in(&cache, git_dir, workdir)
}

/// The repository's folder under `cache`, created if needed.
fn repo_dir_in(cache: &Path, git_dir: &Path, workdir: &Path) -> Result<PathBuf, WorkspaceError> {
    let canonical = std::fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_owned());
    let hash = crate::fnv::fnv1a(canonical.as_os_str().as_encoded_bytes());
    let name: String = workdir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let dir = cache.join(format!("{name}-{hash:016x}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| WorkspaceError::Cache(format!("creating {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Checks `commit` out (detached) in the worktree at `path` of the repository at `repo`, adding
/// the worktree if it is not there. The worktree stays between calls, so that its build (in a
/// target dir of its own) is incremental, and a second check against the same base rebuilds
/// nothing.
pub fn checkout_worktree(repo: &Path, path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    if path.join(".git").exists() {
        // Already a worktree: move it to the commit, discarding anything a build changed.
        if git(
            path,
            &["checkout", "--quiet", "--force", "--detach", commit],
        )
        .is_ok()
        {
            return Ok(());
        }
        // A worktree git no longer knows (pruned, or the repository moved): start it again.
        std::fs::remove_dir_all(path)
            .map_err(|e| WorkspaceError::Git(format!("removing {}: {e}", path.display())))?;
    }
    git(repo, &["worktree", "prune"])?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| WorkspaceError::Git(format!("creating {}: {e}", parent.display())))?;
    }
    let path_str = path.to_string_lossy();
    git(
        repo,
        &[
            "worktree", "add", "--quiet", "--force", "--detach", &path_str, commit,
        ],
    )
}

/// Removes a worktree that an earlier cargo-perf kept under the target dir, where the working
/// tree's configuration reached it. Returns whether there was one.
pub fn remove_legacy_worktree(repo: &Path, path: &Path) -> bool {
    if !path.join(".git").exists() {
        return false;
    }
    let path_str = path.to_string_lossy();
    if git(repo, &["worktree", "remove", "--force", &path_str]).is_err() {
        let _ = std::fs::remove_dir_all(path);
        let _ = git(repo, &["worktree", "prune"]);
    }
    true
}

/// `git ARGS` in `dir`.
fn git(dir: &Path, args: &[&str]) -> Result<(), WorkspaceError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|source| WorkspaceError::Spawn {
            program: "git".into(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(WorkspaceError::Git(format!(
            "`git {}` in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_repository_has_its_own_folder() {
        let cache = tempfile::tempdir().unwrap();
        let dir = |git: &str, work: &str| {
            repo_dir_in(cache.path(), Path::new(git), Path::new(work)).unwrap()
        };
        let a = dir("/src/a/.git", "/src/a");
        let b = dir("/other/a/.git", "/other/a");
        let a2 = dir("/src/a/.git", "/src/a");
        assert_ne!(a, b);
        assert_eq!(a, a2);
        assert!(a.starts_with(cache.path()) && a.is_dir());
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("a-") && name.len() == 18, "{name}");
    }
}
