//! The cargo workspace: its root and binaries (through `cargo_metadata`) and release builds.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand, TargetKind};

use crate::errors::WorkspaceError;

/// What the tool needs to know of the workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// The workspace's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Binary target name to the package that has it.
    pub bins: BTreeMap<String, String>,
    /// Cargo's target dir (honours `CARGO_TARGET_DIR`).
    pub target_dir: PathBuf,
}

impl Workspace {
    /// Reads the workspace that contains `manifest_path` (or the current directory).
    pub fn load(manifest_path: Option<&Path>) -> Result<Self, WorkspaceError> {
        let mut cmd = MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
        }
        let meta = cmd
            .exec()
            .map_err(|e| WorkspaceError::Metadata(e.to_string().trim().to_owned()))?;
        let mut bins = BTreeMap::new();
        for package in meta.workspace_packages() {
            for target in &package.targets {
                if target.kind.contains(&TargetKind::Bin) {
                    bins.entry(target.name.clone())
                        .or_insert_with(|| package.name.to_string());
                }
            }
        }
        Ok(Workspace {
            target_dir: meta.target_directory.clone().into(),
            manifest_path: meta.workspace_root.join("Cargo.toml").into(),
            root: meta.workspace_root.into(),
            bins,
        })
    }

    pub fn bin_names(&self) -> BTreeSet<String> {
        self.bins.keys().cloned().collect()
    }

    /// Builds the named binaries in release mode with one cargo invocation and returns their
    /// executables. Cargo's diagnostics go to standard error as cargo renders them.
    pub fn build_bins(
        &self,
        names: &BTreeSet<String>,
        quiet: bool,
        target_dir: Option<&Path>,
    ) -> Result<BTreeMap<String, PathBuf>, WorkspaceError> {
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&self.manifest_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if quiet {
            cmd.arg("--quiet");
        }
        if let Some(dir) = target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        let packages: BTreeSet<&String> = names.iter().filter_map(|n| self.bins.get(n)).collect();
        for package in packages {
            cmd.args(["--package", package]);
        }
        for name in names {
            cmd.args(["--bin", name]);
        }
        let mut child = cmd.spawn().map_err(|source| WorkspaceError::Spawn {
            program: cargo.clone(),
            source,
        })?;
        let mut built = BTreeMap::new();
        if let Some(stdout) = child.stdout.take() {
            for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
                if let Message::CompilerArtifact(artifact) = message
                    && let Some(exe) = artifact.executable
                    && names.contains(&artifact.target.name)
                {
                    built.insert(artifact.target.name.clone(), exe.into());
                }
            }
        }
        let status = child.wait().map_err(|source| WorkspaceError::Spawn {
            program: cargo,
            source,
        })?;
        if !status.success() {
            return Err(WorkspaceError::BuildFailed {
                status: status.to_string(),
            });
        }
        match names.iter().find(|n| !built.contains_key(*n)) {
            Some(missing) => Err(WorkspaceError::NoExecutable {
                name: missing.clone(),
            }),
            None => Ok(built),
        }
    }
}

/// Checks `commit` out (detached) in the worktree at `path` of the repository at `repo`, adding
/// the worktree if it is not there. The worktree stays between calls, so that its build (in a
/// target dir of its own) is incremental, and a second check against the same base rebuilds
/// nothing.
pub fn checkout_worktree(repo: &Path, path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let git = |dir: &Path, args: &[&str]| -> Result<(), WorkspaceError> {
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
    };
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
