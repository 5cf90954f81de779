//! The verdicts of the last `cargo perf check` on each machine, in
//! `<git common dir>/cargo-perf/last-check.json`, so that `cargo perf export` can publish them.
//!
//! It is not a record: a later check replaces its machine's entry. The file is written to a
//! temporary file beside it and renamed, so a reader sees the old file or the new one whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::repo::Repo;
use crate::discover::Kind;
use crate::errors::StoreError;
use crate::gate::GateResult;
use crate::vocab::Class;

/// The version of the file this build writes; a newer one is ignored with a warning.
pub const LAST_CHECK_SCHEMA: u32 = 1;

/// Every machine's last check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastChecks {
    pub schema: u32,
    /// Machine key to that machine's last check.
    pub machines: BTreeMap<String, LastCheck>,
}

/// One check's verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastCheck {
    /// The candidate's commit (HEAD when the check ran; the working tree may have differed).
    pub commit: String,
    /// Whether the candidate was a working tree with uncommitted changes.
    pub dirty: bool,
    /// The full id of the base commit.
    pub base: String,
    /// When the check finished, seconds since the Unix epoch.
    pub time_unix: i64,
    /// The check's exit code: 0 passed, 1 the gate failed.
    pub exit_code: i32,
    pub workloads: Vec<CheckedWorkload>,
}

/// One workload's verdict in a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedWorkload {
    pub name: String,
    /// `command`, `criterion` or `load`.
    pub kind: String,
    pub class: Class,
    /// `regressed`, `improved`, `unchanged`, `inconclusive`, `failed`, `added` or `removed`.
    pub verdict: String,
    /// Candidate over base of the judged figure (1.05: 5 % slower), when compared.
    pub ratio: Option<f64>,
    /// Whether the candidate broke its budget or a threshold.
    pub over_budget: bool,
    /// Why its time changed, when the check explained it under cachegrind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::vocab::Explanation>,
}

impl LastCheck {
    /// The verdicts of a finished check.
    pub fn from_results(
        commit: &str,
        dirty: bool,
        base: &str,
        exit_code: i32,
        results: &[GateResult],
    ) -> Self {
        let workloads = results
            .iter()
            .map(|r| CheckedWorkload {
                name: r.candidate.workload.name.clone(),
                kind: match r.candidate.workload.kind {
                    Kind::Command(_) => "command",
                    Kind::Criterion(_) => "criterion",
                    Kind::Load(_) => "load",
                }
                .to_string(),
                // As records keep them: only commands have a class of their own.
                class: r
                    .candidate
                    .workload
                    .command()
                    .map_or(Class::Small, |c| c.class),
                verdict: r.verdict.as_str().to_string(),
                ratio: r.comparison.as_ref().map(|c| c.ratio),
                over_budget: r.candidate.budget.is_over(),
                explanation: r.explanation.clone(),
            })
            .collect();
        LastCheck {
            commit: commit.to_string(),
            dirty,
            base: base.to_string(),
            time_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            exit_code,
            workloads,
        }
    }
}

fn path(repo: &Repo) -> PathBuf {
    repo.repo
        .commondir()
        .join("cargo-perf")
        .join("last-check.json")
}

/// Every machine's last check; none when no check has run. A file that does not parse, or is of
/// a newer schema, is reported in the warning and treated as empty (the next check rewrites it).
pub fn load_last_checks(repo: &Repo) -> (LastChecks, Option<String>) {
    read(&path(repo))
}

fn read(path: &Path) -> (LastChecks, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (LastChecks::default(), None),
        Err(e) => {
            return (
                LastChecks::default(),
                Some(format!(
                    "{} cannot be read ({e}); no verdicts",
                    path.display()
                )),
            );
        }
    };
    match serde_json::from_str::<LastChecks>(&text) {
        Ok(c) if c.schema <= LAST_CHECK_SCHEMA => (c, None),
        Ok(c) => (
            LastChecks::default(),
            Some(format!(
                "{} is of schema {}, newer than this cargo-perf reads ({LAST_CHECK_SCHEMA}); \
                 upgrade cargo-perf to export its verdicts",
                path.display(),
                c.schema
            )),
        ),
        Err(e) => (
            LastChecks::default(),
            Some(format!(
                "{} is not a last-check file ({e}); its verdicts are left out until the next \
                 `cargo perf check` writes it again",
                path.display()
            )),
        ),
    }
}

/// Replaces `machine`'s last check with `check`, keeping the other machines'.
pub fn save_last_check(repo: &Repo, machine: &str, check: LastCheck) -> Result<(), StoreError> {
    write(&path(repo), machine, check)
}

fn write(path: &Path, machine: &str, check: LastCheck) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    // Two checks finishing at once: the lock makes one read the other's entry before writing.
    let _lock = super::lock_file(&dir.join("last-check.lock"))?;
    let (mut all, _) = read(path);
    all.schema = LAST_CHECK_SCHEMA;
    all.machines.insert(machine.to_string(), check);
    let text = serde_json::to_string_pretty(&all)
        .map_err(|e| StoreError::Invalid(format!("serialising the last check: {e}")))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| StoreError::io(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| StoreError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(commit: &str, verdict: &str) -> LastCheck {
        LastCheck {
            commit: commit.into(),
            dirty: false,
            base: "b".repeat(40),
            time_unix: 1_700_000_000,
            exit_code: 0,
            workloads: vec![CheckedWorkload {
                name: "parse/small".into(),
                kind: "command".into(),
                class: Class::Small,
                verdict: verdict.into(),
                ratio: Some(1.02),
                over_budget: false,
                explanation: None,
            }],
        }
    }

    #[test]
    fn a_check_replaces_its_machines_entry_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cargo-perf").join("last-check.json");
        write(&path, "aaaa", check("c1", "unchanged")).unwrap();
        write(&path, "bbbb", check("c2", "regressed")).unwrap();
        write(&path, "aaaa", check("c3", "improved")).unwrap();
        let (all, warning) = read(&path);
        assert_eq!(warning, None);
        assert_eq!(all.machines.len(), 2);
        assert_eq!(all.machines["aaaa"].commit, "c3");
        assert_eq!(all.machines["aaaa"].workloads[0].verdict, "improved");
        assert_eq!(all.machines["bbbb"].commit, "c2");
    }

    #[test]
    fn an_explanation_is_kept_and_files_without_one_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-check.json");
        // A file an earlier cargo-perf wrote, without `explanation`.
        std::fs::write(
            &path,
            r#"{"schema": 1, "machines": {"aaaa": {"commit": "c", "dirty": false, "base": "b",
               "time_unix": 1, "exit_code": 0, "workloads": [{"name": "w", "kind": "command",
               "class": "small", "verdict": "unchanged", "ratio": 1.0, "over_budget": false}]}}}"#,
        )
        .unwrap();
        let (all, warning) = read(&path);
        assert_eq!(warning, None);
        assert_eq!(all.machines["aaaa"].workloads[0].explanation, None);
        let mut explained = check("c2", "regressed");
        explained.workloads[0].explanation = Some(crate::vocab::Explanation {
            kind: crate::vocab::ExplanationKind::Layout,
            time_change: 0.04,
            instructions_change: 0.0,
            cycles_change: 0.0,
            cache_misses_change: 0.0,
            branch_misses_change: 0.0,
            base: Default::default(),
            new: Default::default(),
            functions: Vec::new(),
            excused: true,
        });
        write(&path, "aaaa", explained.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"kind\": \"layout\""), "{text}");
        assert_eq!(read(&path).0.machines["aaaa"], explained);
    }

    #[test]
    fn a_damaged_or_newer_file_is_named_in_a_warning_and_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-check.json");
        assert_eq!(read(&path), (LastChecks::default(), None));
        std::fs::write(&path, "{not json").unwrap();
        let (all, warning) = read(&path);
        assert!(all.machines.is_empty());
        assert!(warning.unwrap().contains("is not a last-check file"));
        std::fs::write(&path, r#"{"schema": 9, "machines": {}}"#).unwrap();
        assert!(read(&path).1.unwrap().contains("upgrade cargo-perf"));
        // A damaged file does not stop the next check from writing its verdicts.
        std::fs::write(&path, "{not json").unwrap();
        write(&path, "aaaa", check("c1", "failed")).unwrap();
        assert_eq!(
            read(&path).0.machines["aaaa"].workloads[0].verdict,
            "failed"
        );
    }
}
