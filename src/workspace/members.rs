//! The workspace's members, binaries and criterion bench targets, from `cargo metadata`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_metadata::{MetadataCommand, TargetKind};

use super::selection::PackageSelection;
use crate::errors::WorkspaceError;

/// What the tool needs to know of the workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// The workspace's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Cargo's target dir (honours `CARGO_TARGET_DIR` and `build.target-dir`).
    pub target_dir: PathBuf,
    /// Every member, in cargo's order, with whether the command line selected it.
    pub members: Vec<Member>,
    /// Binary target name to the index in `members` of the member that has it (the first
    /// member, in cargo's order, when several have a binary of that name).
    pub bins: BTreeMap<String, usize>,
    /// The selection came from `-p`, `--workspace` or `--exclude` rather than cargo's default.
    pub explicit_selection: bool,
    /// The member whose manifest cargo would use from the folder the tool was started in, when
    /// that is not the workspace root's: cargo selects only that package by default.
    current: Option<usize>,
    /// Cargo's default members (the root package, `default-members`, or every member of a
    /// virtual workspace).
    default_members: Vec<usize>,
}

/// A member package of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Cargo's package id, which is a package id spec (`path+file:///src/foo#1.2.0`). Every cargo
    /// invocation names packages by it: a name alone is ambiguous when the lock file holds
    /// another version of the same crate (a dev-dependency on an older release of itself).
    pub id: String,
    pub name: String,
    pub version: String,
    /// The package's folder: `cargo bench` runs bench executables there.
    pub dir: PathBuf,
    pub manifest_path: PathBuf,
    /// Its bench targets, when it depends on criterion.
    pub criterion_benches: Vec<String>,
    /// Chosen by the command line, or by cargo's defaults without one.
    pub selected: bool,
}

impl Member {
    /// `name@version`: the short spec people type, shown in hints.
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A bench target whose package depends on criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchTarget {
    /// The package's name, for people.
    pub package: String,
    /// The package's id spec, for cargo.
    pub package_id: String,
    /// `name@version`, for commands people may copy.
    pub package_spec: String,
    pub name: String,
    /// The package's folder: `cargo bench` runs bench executables there.
    pub package_dir: PathBuf,
}

impl Workspace {
    /// Reads the workspace that contains `manifest_path` (or the current directory), with cargo
    /// started in the manifest's folder so that the configuration it reads is that side's. The
    /// members are selected as cargo would without selection flags.
    pub fn load(manifest_path: Option<&Path>) -> Result<Self, WorkspaceError> {
        let mut cmd = MetadataCommand::new();
        cmd.no_deps();
        let found = match manifest_path {
            Some(path) => {
                // Absolute: cargo starts in another folder.
                let path = &std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
                cmd.manifest_path(path);
                if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
                    cmd.current_dir(dir);
                }
                std::fs::canonicalize(path).ok()
            }
            None => std::env::current_dir()
                .ok()
                .and_then(|d| nearest_manifest(&d)),
        };
        if let Some(dir) = absolute_target_dir_var() {
            cmd.env("CARGO_TARGET_DIR", dir);
        }
        let meta = cmd
            .exec()
            .map_err(|e| WorkspaceError::Metadata(e.to_string().trim().to_owned()))?;
        let mut members = Vec::new();
        let mut bins = BTreeMap::new();
        for package in meta.workspace_packages() {
            // Renamed (`package = "criterion"`) dependencies count too.
            let uses_criterion = package.dependencies.iter().any(|d| d.name == "criterion");
            let index = members.len();
            let mut criterion_benches = Vec::new();
            for target in &package.targets {
                if target.kind.contains(&TargetKind::Bin) {
                    bins.entry(target.name.clone()).or_insert(index);
                }
                if uses_criterion && target.kind.contains(&TargetKind::Bench) {
                    criterion_benches.push(target.name.clone());
                }
            }
            let manifest: PathBuf = package.manifest_path.clone().into();
            members.push(Member {
                id: package.id.repr.clone(),
                name: package.name.to_string(),
                version: package.version.to_string(),
                dir: manifest.parent().map(Path::to_owned).unwrap_or_default(),
                manifest_path: manifest,
                criterion_benches,
                selected: false,
            });
        }
        let root: PathBuf = meta.workspace_root.clone().into();
        let root_manifest = root.join("Cargo.toml");
        let index_of = |id: &str| members.iter().position(|m| m.id == id);
        let default_members: Vec<usize> = if meta.workspace_default_members.is_available() {
            meta.workspace_default_members
                .iter()
                .filter_map(|id| index_of(&id.repr))
                .collect()
        } else {
            // Cargo before 1.71: the root package, or every member of a virtual workspace.
            match members
                .iter()
                .position(|m| m.manifest_path == root_manifest)
            {
                Some(i) => vec![i],
                None => (0..members.len()).collect(),
            }
        };
        let canonical_root = std::fs::canonicalize(&root_manifest).ok();
        let current = found
            .filter(|f| Some(f) != canonical_root.as_ref())
            .and_then(|f| {
                members
                    .iter()
                    .position(|m| std::fs::canonicalize(&m.manifest_path).ok().as_ref() == Some(&f))
            });
        let mut ws = Workspace {
            target_dir: meta.target_directory.clone().into(),
            manifest_path: root_manifest,
            root,
            members,
            bins,
            explicit_selection: false,
            current,
            default_members,
        };
        ws.select_default();
        Ok(ws)
    }

    /// Selects the members as cargo does without selection flags: the package of the manifest
    /// found from the current folder, else the default members.
    fn select_default(&mut self) {
        let chosen: Vec<usize> = match self.current {
            Some(i) => vec![i],
            None => self.default_members.clone(),
        };
        for (i, m) in self.members.iter_mut().enumerate() {
            m.selected = chosen.contains(&i);
        }
        self.explicit_selection = false;
    }

    /// Applies `-p`, `--workspace` and `--exclude`. With `lenient`, a spec that names no member
    /// is not an error (the base revision may not have a package the candidate added). Returns
    /// warnings for the caller to show.
    pub fn select(
        &mut self,
        selection: &PackageSelection,
        lenient: bool,
    ) -> Result<Vec<String>, WorkspaceError> {
        if selection.is_default() {
            self.select_default();
            return Ok(Vec::new());
        }
        let (chosen, warnings) = selection.choose(&self.members, lenient)?;
        for (i, m) in self.members.iter_mut().enumerate() {
            m.selected = chosen.contains(&i);
        }
        self.explicit_selection = true;
        Ok(warnings)
    }

    /// The names of every binary target of the workspace, which `{bin:NAME}` may name.
    pub fn bin_names(&self) -> std::collections::BTreeSet<String> {
        self.bins.keys().cloned().collect()
    }

    /// The member that has the binary `name`.
    pub fn bin_package(&self, name: &str) -> Option<&Member> {
        self.bins.get(name).map(|&i| &self.members[i])
    }

    /// The bench targets of selected members that depend on criterion, in cargo's order.
    pub fn benches(&self) -> Vec<BenchTarget> {
        self.members
            .iter()
            .filter(|m| m.selected)
            .flat_map(|m| {
                m.criterion_benches.iter().map(|name| BenchTarget {
                    package: m.name.clone(),
                    package_id: m.id.clone(),
                    package_spec: m.spec(),
                    name: name.clone(),
                    package_dir: m.dir.clone(),
                })
            })
            .collect()
    }
}

/// `CARGO_TARGET_DIR` made absolute against the folder the tool was started in, when it is
/// relative: cargo resolves it against the folder cargo starts in, and the tool starts cargo in
/// the workspace root.
pub(super) fn absolute_target_dir_var() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty())?);
    if dir.is_absolute() {
        return None;
    }
    std::path::absolute(dir).ok()
}

/// The `Cargo.toml` cargo would use when started in `dir`: the nearest one in it or above it.
fn nearest_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}
