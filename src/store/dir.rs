//! `--store dir:PATH`: one JSON file per record, for CI caches and artifacts.
//!
//! A record is written to a temporary file in the same folder, synced and renamed into place, so
//! a reader never sees half a record and a crash leaves at worst a stray temporary file (named
//! `.tmp*`, ignored by readers). File names are `<commit>-<run id>.json`.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use super::Store;
use super::record::Record;
use crate::errors::StoreError;

/// Records as files in a folder.
pub struct DirStore {
    pub path: PathBuf,
}

impl DirStore {
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
                files.push((commit.to_owned(), entry.path()));
            }
        }
        files.sort();
        Ok(files)
    }
}

impl Store for DirStore {
    fn append(&self, record: &Record) -> Result<(), StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        std::fs::create_dir_all(&self.path).map_err(io)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp")
            .tempfile_in(&self.path)
            .map_err(io)?;
        writeln!(tmp, "{}", record.to_line()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        let path = self
            .path
            .join(format!("{}-{}.json", record.commit, record.run_id));
        tmp.persist(&path)
            .map_err(|e| StoreError::io(&path, e.error))?;
        // The rename is durable once the folder is synced.
        std::fs::File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    fn commits(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self.files()?.into_iter().map(|(c, _)| c).collect())
    }

    fn read_text(&self, commit: &str) -> Result<Option<String>, StoreError> {
        let mut text = String::new();
        for (c, path) in self.files()? {
            if c == commit {
                text.push_str(
                    &std::fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?,
                );
                if !text.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
        Ok((!text.is_empty()).then_some(text))
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
