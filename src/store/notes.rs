//! The default store: git notes under `refs/notes/perf`, one note per commit holding JSON Lines.
//!
//! git2's note writes read the notes ref, write a new notes commit and move the ref without
//! comparing it to what they read: concurrent writers lose records (measured: 4 processes
//! writing 50 notes each lost 53 of 200 writes that had returned Ok). So every
//! read-modify-write holds an exclusive lock on `cargo-perf.lock` in the repository's common
//! git dir, shared by all its worktrees. The lock is released by the kernel if the process dies.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use git2::{Oid, Repository, Signature};

use super::Store;
use super::record::Record;
use super::repo::Repo;
use crate::errors::StoreError;
use crate::vocab::{Acceptance, parse_acceptances};

/// The notes ref records are kept under.
pub const NOTES_REF: &str = "refs/notes/perf";

/// The notes ref accepted changes are kept under: apart from the records, so that versions of
/// cargo-perf that know no acceptances read the records as before, without warnings.
pub const ACCEPTED_REF: &str = "refs/notes/perf-accepted";

/// Records in git notes.
pub struct NotesStore {
    git_dir: PathBuf,
    common_dir: PathBuf,
    /// What happened that the caller should show (a stale lock removed).
    warnings: std::cell::RefCell<Vec<String>>,
}

impl NotesStore {
    pub fn new(repo: &Repo) -> Self {
        // libgit2 keeps up to 256 MiB of objects cached by default; reading thousands of notes
        // once gains nothing from that. SAFETY: a global setting, changed before any other
        // thread uses libgit2 (the tool uses it from one thread only).
        // Likewise the pack files it maps: reading every note would otherwise map (and count in
        // the RSS) the whole pack.
        unsafe {
            let _ = git2::opts::set_cache_max_size(16 << 20);
            let _ = git2::opts::set_mwindow_size(8 << 20);
            let _ = git2::opts::set_mwindow_mapped_limit(32 << 20);
        }
        NotesStore {
            git_dir: repo.git_dir(),
            common_dir: repo.repo.commondir().to_owned(),
            warnings: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// A fresh handle, so that what other processes wrote is seen.
    pub(super) fn open(&self) -> Result<Repository, StoreError> {
        Repository::open(&self.git_dir)
            .map_err(|e| StoreError::git(format!("opening {}", self.git_dir.display()), e))
    }

    /// Holds the store's exclusive lock until the returned file is dropped.
    pub(super) fn lock(&self) -> Result<File, StoreError> {
        super::lock_file(&self.common_dir.join("cargo-perf.lock"))
    }

    /// Writes `content` as the note of `commit` under `notes_ref`, replacing it. Call with the
    /// lock held.
    pub(super) fn write_note_in(
        &self,
        repo: &Repository,
        notes_ref: &str,
        commit: Oid,
        content: &str,
    ) -> Result<(), StoreError> {
        let sig = signature(repo);
        match repo.note(&sig, &sig, Some(notes_ref), commit, content, true) {
            Ok(_) => Ok(()),
            Err(e) if e.code() == git2::ErrorCode::Locked => {
                // With our lock held, no other cargo-perf is writing: a `perf.lock` beside the ref
                // was left by a writer that died between creating and renaming it.
                let stale = self.common_dir.join(format!("{notes_ref}.lock"));
                self.warnings.borrow_mut().push(format!(
                    "removed {}, left by a process that died while writing",
                    stale.display()
                ));
                std::fs::remove_file(&stale).map_err(|e| StoreError::io(&stale, e))?;
                repo.note(&sig, &sig, Some(notes_ref), commit, content, true)
                    .map(|_| ())
                    .map_err(|e| StoreError::git(format!("writing the note of {commit}"), e))
            }
            Err(e) => Err(StoreError::git(format!("writing the note of {commit}"), e)),
        }
    }
}

impl NotesStore {
    /// Appends `line` to the note of `commit` under `notes_ref`, holding the lock.
    fn append_line(&self, notes_ref: &str, commit: &str, line: &str) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let repo = self.open()?;
        let commit = oid(commit)?;
        let mut content = note_text_in(&repo, notes_ref, commit)?.unwrap_or_default();
        if !content.is_empty() && !content.ends_with('\n') {
            content.push('\n');
        }
        content.push_str(line);
        content.push('\n');
        self.write_note_in(&repo, notes_ref, commit, &content)
    }
}

/// Who writes the notes commits: the user's git identity, or cargo-perf's where none is set.
pub(super) fn signature(repo: &Repository) -> Signature<'static> {
    repo.signature()
        .or_else(|_| Signature::now("cargo-perf", "cargo-perf@localhost"))
        .map(|s| s.to_owned())
        .unwrap_or_else(|_| {
            // Only fails for names with angle brackets, which the literal above has none of.
            Signature::new("cargo-perf", "cargo-perf@localhost", &git2::Time::new(0, 0))
                .expect("a constant signature is valid")
        })
}

fn note_text(repo: &Repository, commit: Oid) -> Result<Option<String>, StoreError> {
    note_text_in(repo, NOTES_REF, commit)
}

fn note_text_in(
    repo: &Repository,
    notes_ref: &str,
    commit: Oid,
) -> Result<Option<String>, StoreError> {
    match repo.find_note(Some(notes_ref), commit) {
        Ok(note) => Ok(Some(
            String::from_utf8_lossy(note.message_bytes()).into_owned(),
        )),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(StoreError::git(format!("reading the note of {commit}"), e)),
    }
}

fn oid(commit: &str) -> Result<Oid, StoreError> {
    Oid::from_str(commit).map_err(|e| StoreError::git(format!("commit id `{commit}`"), e))
}

impl Store for NotesStore {
    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.borrow_mut())
    }

    fn append(&self, record: &Record) -> Result<(), StoreError> {
        self.append_line(NOTES_REF, &record.commit, &record.to_line())
    }

    fn add_acceptance(&self, acceptance: &Acceptance) -> Result<(), StoreError> {
        let line = serde_json::to_string(acceptance)
            .map_err(|e| StoreError::Invalid(format!("writing an acceptance: {e}")))?;
        self.append_line(ACCEPTED_REF, &acceptance.commit, &line)
    }

    fn acceptances(&self, commits: &HashSet<String>) -> Result<Vec<Acceptance>, StoreError> {
        let repo = self.open()?;
        let notes = match repo.notes(Some(ACCEPTED_REF)) {
            Ok(notes) => notes,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::git("listing accepted changes", e)),
        };
        let mut out = Vec::new();
        for note in notes {
            let (blob, commit) =
                note.map_err(|e| StoreError::git("listing accepted changes", e))?;
            let commit = commit.to_string();
            if !commits.contains(&commit) {
                continue;
            }
            let blob = repo
                .find_blob(blob)
                .map_err(|e| StoreError::git(format!("reading note blob {blob}"), e))?;
            let text = String::from_utf8_lossy(blob.content());
            let location = format!("{ACCEPTED_REF}, note of {}", super::repo::short(&commit));
            let mut warnings = self.warnings.borrow_mut();
            out.extend(
                parse_acceptances(&text, &location, &mut warnings)
                    .into_iter()
                    .filter(|a| a.commit == commit),
            );
        }
        Ok(out)
    }

    fn commits(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self.content_keys()?.into_keys().collect())
    }

    fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError> {
        note_text(&self.open()?, oid(commit)?)
    }

    fn describe_acceptances(&self) -> String {
        ACCEPTED_REF.to_owned()
    }

    fn describe(&self) -> String {
        NOTES_REF.to_owned()
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.lock().map(drop)
    }

    fn content_keys(&self) -> Result<HashMap<String, String>, StoreError> {
        let repo = self.open()?;
        let notes = match repo.notes(Some(NOTES_REF)) {
            Ok(notes) => notes,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(StoreError::git("listing notes", e)),
        };
        notes
            .map(|n| {
                n.map(|(blob, annotated)| (annotated.to_string(), blob.to_string()))
                    .map_err(|e| StoreError::git("listing notes", e))
            })
            .collect()
    }

    fn read_keys(
        &self,
        items: &[(String, String)],
        each: &mut super::EachNote<'_>,
    ) -> Result<(), StoreError> {
        // One repository for all of them: libgit2 then reuses the delta bases it has unpacked,
        // which is most of the cost of reading many notes in history order.
        let repo = self.open()?;
        for (commit, key) in items {
            let blob = repo
                .find_blob(oid(key)?)
                .map_err(|e| StoreError::git(format!("reading note blob {key}"), e))?;
            each(
                commit,
                key,
                Some(String::from_utf8_lossy(blob.content()).into_owned()),
            )?;
        }
        Ok(())
    }

    fn index_dir(&self) -> Option<PathBuf> {
        // v2: points carry p99, the budget and the kind (for `report`); v3: p90; v4: points as
        // arrays, keys with their commits (for compaction).
        Some(self.common_dir.join("cargo-perf").join("index-v5"))
    }
}
