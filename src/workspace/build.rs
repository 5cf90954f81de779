//! Release builds of a side's binaries and criterion bench targets.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};

use super::members::{BenchTarget, Workspace};
use crate::errors::WorkspaceError;

/// How cargo is run for a build.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions<'a> {
    /// Pass `--quiet` to cargo.
    pub quiet: bool,
    /// Called with the cargo command line and its folder before cargo runs (`-v`): the caller
    /// shows it; this layer prints nothing.
    pub show_command: Option<fn(&str, &Path)>,
    /// Build into this target dir instead of the workspace's own.
    pub target_dir: Option<&'a Path>,
    /// The folder the side's sources are in (its repository's root), to build as if it were
    /// at a fixed path (`--remap-path-prefix`, added to the side's own `build.rustflags`).
    /// Paths end up in a binary's panic messages and debug information, so two builds of the
    /// same sources in different folders differ in layout, and so in speed; remapped, they are
    /// identical.
    pub remap_root: Option<&'a Path>,
}

/// The fixed paths a side's sources and target dir are remapped to.
pub const REMAPPED_SOURCE: &str = "/cargo-perf/src";
pub const REMAPPED_TARGET: &str = "/cargo-perf/target";

/// Executables by target name; bench executables by (package id, target name).
pub type BenchExes = BTreeMap<(String, String), PathBuf>;

impl Workspace {
    /// Builds the named binaries in release mode with one cargo invocation and returns their
    /// executables. Cargo's diagnostics go to standard error as cargo renders them.
    pub fn build_bins(
        &self,
        names: &BTreeSet<String>,
        opts: BuildOptions,
    ) -> Result<BTreeMap<String, PathBuf>, WorkspaceError> {
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut args: Vec<String> = vec!["build".into(), "--release".into()];
        let packages: BTreeSet<&str> = names
            .iter()
            .filter_map(|n| self.bin_package(n))
            .map(|m| m.id.as_str())
            .collect();
        for package in packages {
            args.extend(["--package".into(), package.to_owned()]);
        }
        for name in names {
            args.extend(["--bin".into(), name.clone()]);
        }
        let wanted: BTreeSet<(Option<String>, String)> =
            names.iter().map(|n| (None, n.clone())).collect();
        let built = self.cargo_build(&args, &wanted, TargetKind::Bin, opts)?;
        Ok(built
            .into_iter()
            .map(|((_, name), exe)| (name, exe))
            .collect())
    }

    /// Builds the bench targets `targets` (`cargo bench --no-run`, the bench profile) with one
    /// cargo invocation and returns each target's executable by package id and target name.
    pub fn build_benches(
        &self,
        targets: &[BenchTarget],
        opts: BuildOptions,
    ) -> Result<BenchExes, WorkspaceError> {
        if targets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut args: Vec<String> = vec!["bench".into(), "--no-run".into()];
        let packages: BTreeSet<&str> = targets.iter().map(|t| t.package_id.as_str()).collect();
        for package in packages {
            args.extend(["--package".into(), package.to_owned()]);
        }
        let names: BTreeSet<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        for name in names {
            args.extend(["--bench".into(), name.to_owned()]);
        }
        let wanted = targets
            .iter()
            .map(|t| (Some(t.package_id.clone()), t.name.clone()))
            .collect();
        let built = self.cargo_build(&args, &wanted, TargetKind::Bench, opts)?;
        Ok(built
            .into_iter()
            .filter_map(|((id, name), exe)| Some(((id?, name), exe)))
            .collect())
    }

    /// Runs cargo with `args` (a build command) and JSON messages, started in the workspace
    /// root so that this side's `.cargo/config.toml` is the one cargo reads, and returns the
    /// executables of the targets of `kind` in `wanted` (package id, or any package; target).
    fn cargo_build(
        &self,
        args: &[String],
        wanted: &BTreeSet<(Option<String>, String)>,
        kind: TargetKind,
        opts: BuildOptions,
    ) -> Result<BTreeMap<(Option<String>, String), PathBuf>, WorkspaceError> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.args(args)
            .arg("--message-format=json-render-diagnostics")
            .arg("--manifest-path")
            .arg(&self.manifest_path)
            .current_dir(&self.root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if opts.quiet {
            cmd.arg("--quiet");
        }
        if let Some(dir) = super::members::absolute_target_dir_var() {
            cmd.env("CARGO_TARGET_DIR", dir);
        }
        if let Some(dir) = opts.target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        if let Some(config) = remap_config(opts) {
            cmd.arg("--config").arg(config);
        }
        if let Some(show) = opts.show_command {
            show(&shown(&cmd), &self.root);
        }
        let mut child = cmd.spawn().map_err(|source| WorkspaceError::Spawn {
            program: cargo.clone(),
            source,
        })?;
        crate::interrupt::watch_child(child.id() as i32);
        let mut built = BTreeMap::new();
        if let Some(stdout) = child.stdout.take() {
            for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
                if let Message::CompilerArtifact(artifact) = message
                    && artifact.target.kind.contains(&kind)
                    && let Some(exe) = artifact.executable
                {
                    let name = artifact.target.name.clone();
                    let by_id = (Some(artifact.package_id.repr.clone()), name.clone());
                    let key = if wanted.contains(&by_id) {
                        by_id
                    } else {
                        (None, name)
                    };
                    if wanted.contains(&key) {
                        built.insert(key, exe.into());
                    }
                }
            }
        }
        let status = child.wait().map_err(|source| WorkspaceError::Spawn {
            program: cargo,
            source,
        });
        crate::interrupt::unwatch_child();
        if let Some(signal) = crate::interrupt::interrupted() {
            return Err(WorkspaceError::Interrupted(signal));
        }
        let status = status?;
        if !status.success() {
            return Err(WorkspaceError::BuildFailed {
                command: format!("cargo {}", args[..2.min(args.len())].join(" ")),
                status: status.to_string(),
            });
        }
        match wanted.iter().find(|w| !built.contains_key(*w)) {
            Some((_, missing)) => Err(WorkspaceError::NoExecutable {
                name: missing.clone(),
            }),
            None => Ok(built),
        }
    }
}

/// `build.rustflags=[...]` remapping the side's sources and target dir to fixed paths. Cargo
/// joins arrays from `--config` with those of the config files, so the side's own rustflags
/// stay. (`RUSTFLAGS` in the environment, or `target.<triple>.rustflags`, replace
/// `build.rustflags`: then there is nothing to add to, and builds are not remapped.)
fn remap_config(opts: BuildOptions) -> Option<String> {
    let root = opts.remap_root?;
    let mut flags = Vec::new();
    for (from, to) in [
        (Some(root), REMAPPED_SOURCE),
        (opts.target_dir, REMAPPED_TARGET),
    ] {
        let Some(from) = from.and_then(Path::to_str) else {
            continue;
        };
        // rustc splits FROM=TO at an `=`: a path holding one cannot be remapped.
        if from.contains('=') {
            continue;
        }
        flags.push(toml::Value::String(format!(
            "--remap-path-prefix={from}={to}"
        )));
    }
    (!flags.is_empty()).then(|| format!("build.rustflags={}", toml::Value::Array(flags)))
}

/// A command line as a person would type it.
fn shown(cmd: &Command) -> String {
    let args: Vec<std::borrow::Cow<str>> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect();
    crate::vocab::command_line(args.iter().map(|a| a.as_ref()))
}
