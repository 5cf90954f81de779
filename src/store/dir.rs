//! `--store dir:PATH`: one JSON file per record, for CI caches and artifacts.
//!
//! A record is written to a temporary file in the same folder, synced and renamed into place, so
//! a reader never sees half a record and a crash leaves at worst a stray temporary file (named
//! `.tmp*`, ignored by readers). File names are `<commit>-<run id>.json`; accepted changes are
//! in the folder `accepted/`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::Record;
use super::{EachNote, Store};
use crate::errors::StoreError;
use crate::vocab::{Acceptance, parse_acceptances};

/// The folder, inside the store's, of accepted changes: `<commit>-<id>.json`, one acceptance a
/// file. Readers of records look only at the store's own folder, so they never see these.
const ACCEPTED_DIR: &str = "accepted";

/// Records as files in a folder.
pub struct DirStore {
    pub path: PathBuf,
    /// Files skipped since the caller last took the warnings (unreadable, not UTF-8, a folder
    /// named like a record): one bad file never makes the whole store unreadable.
    warnings: RefCell<Vec<String>>,
}

impl DirStore {
    pub fn new(path: PathBuf) -> Self {
        DirStore {
            path,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The text of one record file, or `None` (with a warning) when it cannot be read as text.
    fn read_file(&self, path: &Path) -> Option<String> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.warn(format!(
                        "{}: not UTF-8 text, so not a record; skipped",
                        path.display()
                    ));
                    None
                }
            },
            Err(e) => {
                self.warn(format!("{}: cannot be read ({e}); skipped", path.display()));
                None
            }
        }
    }

    /// The lines of the record files `paths`, each ending in a newline; `None` when none reads.
    fn join(&self, paths: &[PathBuf]) -> Option<String> {
        let mut text = String::new();
        for path in paths {
            if let Some(t) = self.read_file(path) {
                text.push_str(&t);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
        (!text.is_empty()).then_some(text)
    }

    fn warn(&self, warning: String) {
        self.warnings.borrow_mut().push(warning);
    }

    fn files(&self) -> Result<Vec<(String, PathBuf)>, StoreError> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&self.path, e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&self.path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((commit, _)) = name.strip_suffix(".json").and_then(|n| n.split_once('-'))
                && commit.len() == 40
                && commit.bytes().all(|b| b.is_ascii_hexdigit())
            {
                if !entry.file_type().is_ok_and(|t| t.is_file()) {
                    self.warn(format!(
                        "{}: named like a record but not a file; skipped",
                        entry.path().display()
                    ));
                    continue;
                }
                files.push((commit.to_owned(), entry.path()));
            }
        }
        files.sort();
        Ok(files)
    }
}

/// Writes `line` as the file `name` in `folder` (created if need be): to a temporary file first,
/// synced and renamed, then the folder synced so that the rename is durable.
fn write_file(folder: &Path, name: &str, line: &str) -> Result<(), StoreError> {
    let io = |e| StoreError::io(folder, e);
    std::fs::create_dir_all(folder).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp")
        .tempfile_in(folder)
        .map_err(io)?;
    writeln!(tmp, "{line}").map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let path = folder.join(name);
    tmp.persist(&path)
        .map_err(|e| StoreError::io(&path, e.error))?;
    std::fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

impl Store for DirStore {
    fn append(&self, record: &Record) -> Result<(), StoreError> {
        write_file(
            &self.path,
            &format!("{}-{}.json", record.commit, record.run_id),
            &record.to_line(),
        )
    }

    fn add_acceptance(&self, acceptance: &Acceptance) -> Result<(), StoreError> {
        let line = serde_json::to_string(acceptance)
            .map_err(|e| StoreError::Invalid(format!("writing an acceptance: {e}")))?;
        write_file(
            &self.path.join(ACCEPTED_DIR),
            &format!("{}-{}.json", acceptance.commit, acceptance.id),
            &line,
        )
    }

    fn acceptances(&self, commits: &HashSet<String>) -> Result<Vec<Acceptance>, StoreError> {
        let folder = self.path.join(ACCEPTED_DIR);
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&folder, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((commit, _)) = name.strip_suffix(".json").and_then(|n| n.split_once('-'))
            else {
                continue;
            };
            if !commits.contains(commit) {
                continue;
            }
            let path = entry.path();
            if let Some(text) = self.read_file(&path) {
                let mut warnings = self.warnings.borrow_mut();
                out.extend(
                    parse_acceptances(&text, &path.display().to_string(), &mut warnings)
                        .into_iter()
                        .filter(|a| a.commit == commit),
                );
            }
        }
        Ok(out)
    }

    fn commits(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self.files()?.into_iter().map(|(c, _)| c).collect())
    }

    fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError> {
        let paths: Vec<PathBuf> = self
            .files()?
            .into_iter()
            .filter(|(c, _)| c == commit)
            .map(|(_, p)| p)
            .collect();
        Ok(self.join(&paths))
    }

    /// One listing of the folder for all the commits asked for: reading a history is linear in
    /// the number of records, not quadratic.
    fn read_keys(
        &self,
        items: &[(String, String)],
        each: &mut EachNote<'_>,
    ) -> Result<(), StoreError> {
        let mut by_commit: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for (commit, path) in self.files()? {
            by_commit.entry(commit).or_default().push(path);
        }
        for (commit, key) in items {
            let text = by_commit.get(commit).and_then(|paths| self.join(paths));
            each(commit, key, text)?;
        }
        Ok(())
    }

    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.borrow_mut())
    }

    fn describe_acceptances(&self) -> String {
        format!("dir:{}", self.path.join(ACCEPTED_DIR).display())
    }

    fn describe(&self) -> String {
        format!("dir:{}", self.path.display())
    }

    fn content_keys(&self) -> Result<HashMap<String, String>, StoreError> {
        // Record files never change once renamed into place, so the list of a commit's files
        // names its content.
        let mut keys: HashMap<String, String> = HashMap::new();
        for (commit, path) in self.files()? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            keys.entry(commit).or_default().push_str(&name);
        }
        Ok(keys
            .into_iter()
            .map(|(c, names)| (c, format!("{:016x}", crate::fnv::fnv1a(names.as_bytes()))))
            .collect())
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        std::fs::create_dir_all(&self.path).map_err(io)?;
        tempfile::Builder::new()
            .prefix(".tmp")
            .tempfile_in(&self.path)
            .map(drop)
            .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::AcceptanceSource;

    fn acceptance(commit: &str, id: &str) -> Acceptance {
        Acceptance {
            schema: 1,
            id: id.into(),
            commit: commit.into(),
            pattern: "parse/*".into(),
            reason: "new parser".into(),
            author: "A <a@example.com>".into(),
            time_unix: 1,
            source: AcceptanceSource::Command,
        }
    }

    #[test]
    fn acceptances_are_kept_apart_from_records_and_read_per_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_owned());
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        store.add_acceptance(&acceptance(&a, "01")).unwrap();
        store.add_acceptance(&acceptance(&a, "02")).unwrap();
        store.add_acceptance(&acceptance(&b, "03")).unwrap();
        std::fs::write(
            dir.path().join("accepted").join(format!("{a}-bad.json")),
            "{}",
        )
        .unwrap();
        // Readers of records do not see them.
        assert!(store.commits().unwrap().is_empty());
        let only_a: HashSet<String> = [a.clone()].into();
        let mut got = store.acceptances(&only_a).unwrap();
        got.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(got, vec![acceptance(&a, "01"), acceptance(&a, "02")]);
        let warnings = store.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("not a valid acceptance"),
            "{}",
            warnings[0]
        );
    }
}
