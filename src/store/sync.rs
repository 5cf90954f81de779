//! `cargo perf sync`: exchanges `refs/notes/perf` with a remote through the `git` command, so that
//! the user's credentials and transports work as for any push.
//!
//! The remote's notes are fetched into a private ref and merged into the local ones under the
//! store's lock: where both sides changed the note of the same commit, the result holds the
//! union of their lines (each line is a record with a unique run id), so no record is lost. The
//! merge commit has both tips as parents, so the push that follows is a fast-forward; if the
//! remote moved in between, the whole exchange is tried again.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::notes::{NOTES_REF, NotesStore, signature};
use super::repo::Repo;
use crate::errors::StoreError;

const INCOMING: &str = "refs/notes/perf-sync-incoming";
pub(super) const ATTEMPTS: usize = 3;

/// What a sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub remote: String,
    /// Records that came from the remote and were not here.
    pub records_received: usize,
    /// Commits whose notes were merged line by line.
    pub notes_merged: usize,
    /// Whether the local notes were pushed.
    pub pushed: bool,
}

/// Fetches, merges and pushes the notes of `remote`.
pub fn sync(repo: &Repo, store: &NotesStore, remote: &str) -> Result<SyncReport, StoreError> {
    let git_dir = repo.repo.commondir().to_owned();
    let remotes = git(&git_dir, &["remote"])?;
    if !remotes.lines().any(|r| r == remote) {
        return Err(StoreError::Invalid(format!(
            "no git remote named `{remote}` (remotes: {}); pass --remote NAME or add one with \
             `git remote add {remote} URL`",
            if remotes.trim().is_empty() {
                "none".to_owned()
            } else {
                remotes.split_whitespace().collect::<Vec<_>>().join(", ")
            }
        )));
    }
    let mut report = SyncReport {
        remote: remote.to_owned(),
        ..SyncReport::default()
    };
    for attempt in 1..=ATTEMPTS {
        let has_remote_notes = !git(&git_dir, &["ls-remote", remote, NOTES_REF])?
            .trim()
            .is_empty();
        if has_remote_notes {
            git(
                &git_dir,
                &[
                    "fetch",
                    "--quiet",
                    remote,
                    &format!("+{NOTES_REF}:{INCOMING}"),
                ],
            )?;
            let (received, merged) = merge_incoming(store)?;
            report.records_received += received;
            report.notes_merged += merged;
        }
        let has_local_notes = store.open()?.refname_to_id(NOTES_REF).is_ok();
        if !has_local_notes {
            return Ok(report);
        }
        match git(
            &git_dir,
            &[
                "push",
                "--quiet",
                remote,
                &format!("{NOTES_REF}:{NOTES_REF}"),
            ],
        ) {
            Ok(_) => {
                report.pushed = true;
                return Ok(report);
            }
            // Someone pushed between our fetch and our push: fetch and merge again.
            Err(StoreError::GitCommand { stderr, .. })
                if attempt < ATTEMPTS
                    && (stderr.contains("rejected") || stderr.contains("fetch first")) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Merges `INCOMING` into `NOTES_REF`; returns (records received, notes merged line by line).
fn merge_incoming(store: &NotesStore) -> Result<(usize, usize), StoreError> {
    let _lock = store.lock()?;
    let repo = store.open()?;
    let git = |what: &str| {
        let what = what.to_owned();
        move |e| StoreError::git(what, e)
    };
    let incoming = repo
        .refname_to_id(INCOMING)
        .map_err(git("reading the fetched notes"))?;
    let result = (|| {
        let Ok(local) = repo.refname_to_id(NOTES_REF) else {
            let received = count_lines_of_all(&repo, INCOMING)?;
            repo.reference(
                NOTES_REF,
                incoming,
                true,
                "cargo perf sync: take remote notes",
            )
            .map_err(git("updating refs/notes/perf"))?;
            return Ok((received, 0));
        };
        if local == incoming
            || repo
                .graph_descendant_of(local, incoming)
                .map_err(git("comparing notes"))?
        {
            return Ok((0, 0));
        }
        if repo
            .graph_descendant_of(incoming, local)
            .map_err(git("comparing notes"))?
        {
            let received = count_incoming_new(&repo)?;
            repo.reference(NOTES_REF, incoming, true, "cargo perf sync: fast-forward")
                .map_err(git("updating refs/notes/perf"))?;
            return Ok((received, 0));
        }
        let mut received = 0;
        let mut merged = 0;
        for (commit, theirs) in notes_of(&repo, INCOMING)? {
            let ours = note_of(&repo, NOTES_REF, commit)?;
            let (text, added) = union(ours.as_deref().unwrap_or(""), &theirs);
            if added > 0 {
                store.write_note(&repo, commit, &text)?;
                received += added;
                merged += usize::from(ours.is_some());
            }
        }
        let tip_id = repo
            .refname_to_id(NOTES_REF)
            .map_err(git("reading refs/notes/perf"))?;
        let tip = repo
            .find_commit(tip_id)
            .map_err(git("reading refs/notes/perf"))?;
        let theirs = repo
            .find_commit(incoming)
            .map_err(git("reading the fetched notes"))?;
        let tree = tip.tree().map_err(git("reading refs/notes/perf"))?;
        let sig = signature(&repo);
        repo.commit(
            Some(NOTES_REF),
            &sig,
            &sig,
            "cargo perf sync: merge notes (union of records)",
            &tree,
            &[&tip, &theirs],
        )
        .map_err(git("writing the merge of the notes"))?;
        Ok((received, merged))
    })();
    if let Ok(mut r) = repo.find_reference(INCOMING) {
        let _ = r.delete();
    }
    result
}

/// `ours` followed by the lines of `theirs` it lacks, and how many those were.
pub(super) fn union(ours: &str, theirs: &str) -> (String, usize) {
    let have: HashSet<&str> = ours
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut text = ours.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let mut added = 0;
    for line in theirs.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !have.contains(line) {
            text.push_str(line);
            text.push('\n');
            added += 1;
        }
    }
    (text, added)
}

pub(super) fn notes_of(
    repo: &git2::Repository,
    notes_ref: &str,
) -> Result<Vec<(Oid, String)>, StoreError> {
    let notes = repo
        .notes(Some(notes_ref))
        .map_err(|e| StoreError::git("listing notes", e))?;
    let mut out = Vec::new();
    for n in notes {
        let (blob, commit) = n.map_err(|e| StoreError::git("listing notes", e))?;
        let blob = repo
            .find_blob(blob)
            .map_err(|e| StoreError::git("reading a note", e))?;
        out.push((commit, String::from_utf8_lossy(blob.content()).into_owned()));
    }
    Ok(out)
}

pub(super) fn note_of(
    repo: &git2::Repository,
    notes_ref: &str,
    commit: Oid,
) -> Result<Option<String>, StoreError> {
    match repo.find_note(Some(notes_ref), commit) {
        Ok(n) => Ok(Some(
            String::from_utf8_lossy(n.message_bytes()).into_owned(),
        )),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(StoreError::git("reading a note", e)),
    }
}

fn count_lines_of_all(repo: &git2::Repository, notes_ref: &str) -> Result<usize, StoreError> {
    Ok(notes_of(repo, notes_ref)?
        .iter()
        .map(|(_, t)| t.lines().filter(|l| !l.trim().is_empty()).count())
        .sum())
}

/// Lines of the fetched notes that the local notes lack.
fn count_incoming_new(repo: &git2::Repository) -> Result<usize, StoreError> {
    let mut count = 0;
    for (commit, theirs) in notes_of(repo, INCOMING)? {
        let ours = note_of(repo, NOTES_REF, commit)?;
        count += union(ours.as_deref().unwrap_or(""), &theirs).1;
    }
    Ok(count)
}

/// Runs `git --git-dir DIR ARGS` and returns its standard output.
pub(super) fn git(git_dir: &Path, args: &[&str]) -> Result<String, StoreError> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .map_err(|e| StoreError::io("git", e))?;
    if !out.status.success() {
        return Err(StoreError::GitCommand {
            args: args.join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::union;

    #[test]
    fn union_keeps_ours_and_adds_what_is_missing() {
        assert_eq!(union("a\nb\n", "b\nc\n"), ("a\nb\nc\n".into(), 1));
        assert_eq!(union("", "x\n\ny"), ("x\ny\n".into(), 2));
        assert_eq!(union("a", "a"), ("a\n".into(), 0));
    }
}
