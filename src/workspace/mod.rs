//! The cargo workspace of each side of a comparison: its members, binaries and criterion bench
//! targets (through `cargo_metadata`), the members the command line selects, release builds, and
//! worktrees of other revisions.
//!
//! Cargo finds `.cargo/config.toml` by walking up from the folder it is started in, so every
//! cargo this module starts runs in the workspace root of its own side: a revision checked out
//! elsewhere is built with its own configuration, never the working tree's.

mod build;
mod members;
mod selection;
mod worktree;

pub use build::{BenchExes, BuildOptions};
pub use members::{BenchTarget, Member, Workspace};
pub use selection::PackageSelection;
pub use worktree::{CACHE_DIR_VAR, checkout_worktree, remove_legacy_worktree, repo_cache_dir};
