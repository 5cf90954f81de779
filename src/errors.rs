//! Error types of each area, and the exit codes the tool documents.
//!
//! Every error that involves a file names it; every message says how to fix the problem where the
//! fix is known. `dispatch` is the one place that prints them.

use std::path::PathBuf;

/// Exit codes of `cargo perf`. They are part of the tool's interface and documented in the README.
pub mod exit_codes {
    /// Everything that was asked for was done, and every gate passed.
    pub const OK: i32 = 0;
    /// The tool did its job and a gate failed: a workload failed, was over its budget or over a
    /// threshold.
    pub const GATE_FAILED: i32 = 1;
    /// The tool could not do its job: bad arguments or configuration, a build that failed, a
    /// command that cannot be started.
    pub const TOOL_ERROR: i32 = 2;
    /// Interrupted by a signal: 128 plus its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), as
    /// shells report it. Nothing is stored by an interrupted command.
    pub const INTERRUPTED_BASE: i32 = crate::interrupt::EXIT_BASE;
}

/// Errors in reading or resolving `perf.toml`.
/// A shard of `--partition` that got none of the selected workloads (more shards than
/// workloads): nothing to do, which is not a failure, as with cargo-nextest.
#[derive(Debug, thiserror::Error)]
#[error("shard {partition} has none of the {units} selected workloads; nothing was measured")]
pub struct EmptyShard {
    pub partition: String,
    pub units: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, an unknown key or a bad value, with its position in the file.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A problem with one workload, found after parsing (a glob that matches nothing, say).
    #[error("{path}:{line}: workload `{workload}`: {message}")]
    Workload {
        path: PathBuf,
        line: usize,
        workload: String,
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// Errors of cargo itself: metadata and builds.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot read the cargo workspace: {0}")]
    Metadata(String),
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); cargo's output is above")]
    BuildFailed { command: String, status: String },
    #[error("cargo built `{name}` but reported no executable for it")]
    NoExecutable { name: String },
    #[error("{0}")]
    Git(String),
    /// `-p`, `--workspace` or `--exclude` that cannot be applied.
    #[error("{0}")]
    Selection(String),
    /// A signal stopped a build.
    #[error("{}", crate::interrupt::Interrupted(*.0))]
    Interrupted(i32),
    /// No folder to keep worktrees of other revisions in.
    #[error("{0}")]
    Cache(String),
}

/// Errors that stop measurement altogether (as opposed to a workload failing, which is a result).
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{what} failed: {source}")]
    Sys {
        what: &'static str,
        source: std::io::Error,
    },
    /// A criterion bench executable or the files it wrote.
    #[error("criterion: {0}")]
    Criterion(String),
    /// Valgrind, which counts instructions, is missing or wrote nothing readable.
    #[error("{0}")]
    Valgrind(String),
    /// A signal stopped the measurement (the workload's process group was killed).
    #[error("{}", crate::interrupt::Interrupted(*.0))]
    Interrupted(i32),
}

/// Errors of the record store and of git.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not in a git repository; cargo perf keys records by commit: run `git init` and commit, \
         or work in a clone"
    )]
    NotARepository { path: PathBuf },
    #[error("HEAD has no commit yet; commit first, then record")]
    UnbornHead,
    #[error("{0}")]
    Revision(String),
    #[error(
        "the working tree has uncommitted changes; commit them, or pass --allow-dirty to store a record \
         marked dirty"
    )]
    Dirty,
    #[error("git: {context}: {message}")]
    Git { context: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{location}, line {line}: the record has schema {found}, newer than this cargo-perf reads \
         ({supported}); upgrade cargo-perf (cargo install cargo-perf)"
    )]
    NewerSchema {
        location: String,
        line: usize,
        found: u32,
        supported: u32,
    },
    #[error("`git {args}` failed ({status}): {stderr}")]
    GitCommand {
        args: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    pub fn git(context: impl Into<String>, e: git2::Error) -> Self {
        StoreError::Git {
            context: context.into(),
            message: e.message().to_owned(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
