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
    /// Bench targets of workspace members that depend on criterion.
    pub benches: Vec<BenchTarget>,
}

/// A bench target whose package depends on criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchTarget {
    pub package: String,
    pub name: String,
    /// The package's folder: `cargo bench` runs bench executables there.
    pub package_dir: PathBuf,
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
        let mut benches = Vec::new();
        for package in meta.workspace_packages() {
            // Renamed (`package = "criterion"`) dependencies count too.
            let uses_criterion = package.dependencies.iter().any(|d| d.name == "criterion");
            for target in &package.targets {
                if target.kind.contains(&TargetKind::Bin) {
                    bins.entry(target.name.clone())
                        .or_insert_with(|| package.name.to_string());
                }
                if uses_criterion && target.kind.contains(&TargetKind::Bench) {
                    benches.push(BenchTarget {
                        package: package.name.to_string(),
                        name: target.name.clone(),
                        package_dir: package
                            .manifest_path
                            .parent()
                            .map(|p| p.to_path_buf().into())
                            .unwrap_or_default(),
                    });
                }
            }
        }
        Ok(Workspace {
            target_dir: meta.target_directory.clone().into(),
            manifest_path: meta.workspace_root.join("Cargo.toml").into(),
            root: meta.workspace_root.into(),
            bins,
            benches,
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
        let mut args: Vec<String> = vec!["build".into(), "--release".into()];
        let packages: BTreeSet<&String> = names.iter().filter_map(|n| self.bins.get(n)).collect();
        for package in packages {
            args.extend(["--package".into(), package.clone()]);
        }
        for name in names {
            args.extend(["--bin".into(), name.clone()]);
        }
        self.cargo_build(&args, names, TargetKind::Bin, quiet, target_dir)
    }

    /// Runs cargo with `args` (a build command) and JSON messages, and returns the executables
    /// of the targets of `kind` called `names`.
    fn cargo_build(
        &self,
        args: &[String],
        names: &BTreeSet<String>,
        kind: TargetKind,
        quiet: bool,
        target_dir: Option<&Path>,
    ) -> Result<BTreeMap<String, PathBuf>, WorkspaceError> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.args(args)
            .arg("--message-format=json-render-diagnostics")
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
        let mut child = cmd.spawn().map_err(|source| WorkspaceError::Spawn {
            program: cargo.clone(),
            source,
        })?;
        let mut built = BTreeMap::new();
        if let Some(stdout) = child.stdout.take() {
            for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
                if let Message::CompilerArtifact(artifact) = message
                    && artifact.target.kind.contains(&kind)
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
                command: format!("cargo {}", args[..2.min(args.len())].join(" ")),
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

impl Workspace {
    /// Builds the bench targets `targets` (`cargo bench --no-run`, the bench profile) with one
    /// cargo invocation and returns each target's executable by target name.
    pub fn build_benches(
        &self,
        targets: &[BenchTarget],
        quiet: bool,
        target_dir: Option<&Path>,
    ) -> Result<BTreeMap<String, PathBuf>, WorkspaceError> {
        if targets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut args: Vec<String> = vec!["bench".into(), "--no-run".into()];
        let packages: BTreeSet<&String> = targets.iter().map(|t| &t.package).collect();
        for package in packages {
            args.extend(["--package".into(), package.clone()]);
        }
        for t in targets {
            args.extend(["--bench".into(), t.name.clone()]);
        }
        let names: BTreeSet<String> = targets.iter().map(|t| t.name.clone()).collect();
        self.cargo_build(&args, &names, TargetKind::Bench, quiet, target_dir)
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
