//! Records keyed by commit: the schema, the git-notes store (default) and the directory store.

mod dir;
mod index;
mod index_rows;
mod last_check;
mod machine;
mod notes;
mod record;
mod repo;
mod sync;
mod sync_accepted;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub use dir::DirStore;
pub use index::{Found, Point, Shared, points, points_in, refresh};
pub use last_check::{
    CheckedWorkload, LAST_CHECK_SCHEMA, LastCheck, LastChecks, load_last_checks, save_last_check,
};
pub use machine::Machine;
pub use notes::{ACCEPTED_REF, NOTES_REF, NotesStore};
pub use record::{
    CriterionRecord, RECORD_SCHEMA, Record, RecordLite, StoredFit, StoredGrowth, StoredSamples,
    StoredStats, StoredSummary, WorkloadLite, WorkloadRecord, merge_set, parse_lines, rfc3339,
    stored_exponent,
};
pub use repo::{CommitInfo, Repo, short};
pub use sync::{DEFAULT_ATTEMPTS as SYNC_ATTEMPTS, sync};
pub use sync_accepted::sync_acceptances;

use crate::errors::StoreError;
use crate::vocab::Acceptance;

/// Opens (creating it if need be) and exclusively locks the file at `path`; the lock lasts as
/// long as the returned file and is released by the kernel if the process dies.
pub(crate) fn lock_file(path: &std::path::Path) -> Result<std::fs::File, StoreError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    file.lock().map_err(|e| StoreError::io(path, e))?;
    Ok(file)
}

/// Called with a commit, its content key and its stored lines.
pub type EachNote<'a> = dyn FnMut(&str, &str, Option<String>) -> Result<(), StoreError> + 'a;

/// Where records are kept.
pub trait Store {
    /// Adds a record to those of its commit; nothing stored before is changed or lost.
    fn append(&self, record: &Record) -> Result<(), StoreError>;
    /// The commits that have records.
    fn commits(&self) -> Result<HashSet<String>, StoreError>;
    /// The stored lines of one commit (JSON Lines), or `None`.
    fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError>;
    /// Stores an accepted change with those of its commit; nothing stored before is changed.
    fn add_acceptance(&self, acceptance: &Acceptance) -> Result<(), StoreError>;
    /// The stored acceptances of the given commits, in no particular order. Lines that are not
    /// acceptances are skipped, with a warning for `take_warnings`.
    fn acceptances(&self, commits: &HashSet<String>) -> Result<Vec<Acceptance>, StoreError>;
    /// Where acceptances go, for messages: `refs/notes/perf-accepted` or `dir:PATH/accepted`.
    fn describe_acceptances(&self) -> String;
    /// Where, for messages: `refs/notes/perf` or `dir:PATH`.
    fn describe(&self) -> String;
    /// Checks that a record could be written, before anything is measured.
    fn check_writable(&self) -> Result<(), StoreError>;
    /// Each commit with records, mapped to a key that changes whenever its records do.
    fn content_keys(&self) -> Result<HashMap<String, String>, StoreError>;
    /// The stored lines of each `(commit, key)` as they were under that key, in the order given,
    /// passed to `each`. One call reads many, so that a store can keep what it opened.
    fn read_keys(
        &self,
        items: &[(String, String)],
        each: &mut EachNote<'_>,
    ) -> Result<(), StoreError> {
        for (commit, key) in items {
            each(commit, key, self.read_text(commit)?)?;
        }
        Ok(())
    }
    /// Where the history index of this store may be kept, if anywhere.
    fn index_dir(&self) -> Option<PathBuf> {
        None
    }
    /// What the store skipped since the last call (files it could not read), for the caller to
    /// show: the store prints nothing itself.
    fn take_warnings(&self) -> Vec<String> {
        Vec::new()
    }
}
