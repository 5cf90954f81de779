//! Records keyed by commit: the schema, the git-notes store (default) and the directory store.

mod dir;
mod machine;
mod notes;
mod record;
mod repo;
mod sync;

use std::collections::HashSet;

pub use dir::DirStore;
pub use machine::Machine;
pub use notes::{NOTES_REF, NotesStore};
pub use record::{
    RECORD_SCHEMA, Record, RecordLite, StoredSamples, StoredStats, StoredSummary, WorkloadLite,
    WorkloadRecord, parse_lines, rfc3339,
};
pub use repo::{Repo, short};
pub use sync::sync;

use crate::errors::StoreError;

/// Where records are kept.
pub trait Store {
    /// Adds a record to those of its commit; nothing stored before is changed or lost.
    fn append(&self, record: &Record) -> Result<(), StoreError>;
    /// The commits that have records.
    fn commits(&self) -> Result<HashSet<String>, StoreError>;
    /// The stored lines of one commit (JSON Lines), or `None`.
    fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError>;
    /// Where, for messages: `refs/notes/perf` or `dir:PATH`.
    fn describe(&self) -> String;
    /// Checks that a record could be written, before anything is measured.
    fn check_writable(&self) -> Result<(), StoreError>;
}
