//! `cargo perf sync`: exchanges `refs/notes/perf` with a remote through the `git` command, so that
//! the user's credentials and transports work as for any push.
//!
//! The remote's notes are fetched into a private ref and merged into the local ones under the
//! store's lock: where both sides changed the note of the same commit, the result holds the
//! union of their lines (each line is a record with a unique run id), so no record is lost. The
//! merge commit has both tips as parents, so the push that follows is a fast-forward; if the
//! remote moved in between (another job pushed), the whole exchange is tried again after a
//! random, growing pause, so that many writers at once all land, up to a bounded number of tries.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::notes::{NOTES_REF, NotesStore, signature};
use super::repo::Repo;
use crate::errors::StoreError;

const INCOMING: &str = "refs/notes/perf-sync-incoming";
/// Tries of the exchange by default. Writers that collide land one at a time, so the last of 8
/// at once needs up to 8 tries (`scripts/bench-sync.py`); 20 leaves room for more writers and a
/// slow remote, and bounds a sync to about half a minute of pauses.
pub const DEFAULT_ATTEMPTS: u32 = 20;

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
    /// Pushes the remote rejected because another writer pushed first.
    pub rejected_pushes: u32,
}

/// The pause before try `attempt` (2, 3, ...): 50 ms doubled each time up to 1.6 s, drawn
/// between half and all of it so that writers that collided do not collide again.
fn backoff(attempt: u32) -> std::time::Duration {
    let full_ms = 50u64 << attempt.saturating_sub(2).min(5);
    std::time::Duration::from_millis(full_ms / 2 + fastrand::u64(0..=full_ms / 2))
}

/// Fetches, merges and pushes the notes of `remote`, trying the whole exchange up to `attempts`
/// times while other writers' pushes get in between.
pub fn sync(
    repo: &Repo,
    store: &NotesStore,
    remote: &str,
    attempts: u32,
) -> Result<SyncReport, StoreError> {
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
    let attempts = attempts.max(1);
    let (pushed, rejected) = exchange(
        &git_dir,
        remote,
        NOTES_REF,
        INCOMING,
        attempts,
        || Ok(store.open()?.refname_to_id(NOTES_REF).is_ok()),
        || {
            let (received, merged) = merge_fetched(store, NOTES_REF, INCOMING)?;
            report.records_received += received;
            report.notes_merged += merged;
            Ok(())
        },
    )?;
    report.pushed = pushed;
    report.rejected_pushes = rejected;
    Ok(report)
}

/// Exchanges `notes_ref` with `remote`, trying up to `attempts` times while other writers'
/// pushes get in between: fetches the remote's ref into `incoming` (if it has one) and calls
/// `merge`, then pushes the local ref (if `has_local` says there is one). Returns whether it
/// pushed and how many pushes lost the race.
pub(super) fn exchange(
    git_dir: &Path,
    remote: &str,
    notes_ref: &str,
    incoming: &str,
    attempts: u32,
    has_local: impl Fn() -> Result<bool, StoreError>,
    mut merge: impl FnMut() -> Result<(), StoreError>,
) -> Result<(bool, u32), StoreError> {
    let attempts = attempts.max(1);
    let mut rejected = 0;
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(backoff(attempt));
        }
        let has_remote = !git(git_dir, &["ls-remote", remote, notes_ref])?
            .trim()
            .is_empty();
        if has_remote {
            git(
                git_dir,
                &[
                    "fetch",
                    "--quiet",
                    remote,
                    &format!("+{notes_ref}:{incoming}"),
                ],
            )?;
            merge()?;
        }
        if !has_local()? {
            return Ok((false, rejected));
        }
        match git(
            git_dir,
            &[
                "push",
                "--quiet",
                remote,
                &format!("{notes_ref}:{notes_ref}"),
            ],
        ) {
            Ok(_) => return Ok((true, rejected)),
            // Someone pushed between our fetch and our push: fetch and merge again.
            Err(StoreError::GitCommand { stderr, .. }) if is_race(&stderr) => {
                rejected += 1;
                if attempt == attempts {
                    return Err(StoreError::Invalid(format!(
                        "`{remote}` rejected the push of {notes_ref} {attempts} times: other \
                         writers pushed in between each time. Everything stored is kept here and \
                         in `{remote}`; run `cargo perf sync` again, or allow more tries with \
                         --attempts (git said: {})",
                        stderr
                            .lines()
                            .find(|l| is_race(l))
                            .unwrap_or_default()
                            .trim()
                    )));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok((false, rejected))
}

/// Whether git's complaint about a push means that the remote's notes moved since we fetched
/// them: a non-fast-forward, or a lost race for the ref's lock on the remote.
fn is_race(stderr: &str) -> bool {
    [
        "(fetch first)",
        "(non-fast-forward)",
        "cannot lock ref",
        "failed to update ref",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

/// Merges the fetched notes ref `incoming` into `notes_ref` under the store's lock: takes it
/// when there is nothing here, fast-forwards when it is ahead, and otherwise writes the union of
/// each commit's lines in a merge commit with both tips as parents, so that the push that
/// follows is a fast-forward. Returns (lines received, notes merged line by line).
pub(super) fn merge_fetched(
    store: &NotesStore,
    notes_ref: &str,
    incoming: &str,
) -> Result<(usize, usize), StoreError> {
    let _lock = store.lock()?;
    let repo = store.open()?;
    let git = |what: &str| {
        let what = what.to_owned();
        move |e| StoreError::git(what, e)
    };
    let fetched = repo
        .refname_to_id(incoming)
        .map_err(git("reading the fetched notes"))?;
    let result = (|| {
        let Ok(local) = repo.refname_to_id(notes_ref) else {
            let received = count_lines_of_all(&repo, incoming)?;
            repo.reference(
                notes_ref,
                fetched,
                true,
                "cargo perf sync: take remote notes",
            )
            .map_err(git(&format!("updating {notes_ref}")))?;
            return Ok((received, 0));
        };
        if local == fetched
            || repo
                .graph_descendant_of(local, fetched)
                .map_err(git("comparing notes"))?
        {
            return Ok((0, 0));
        }
        if repo
            .graph_descendant_of(fetched, local)
            .map_err(git("comparing notes"))?
        {
            let received = count_incoming_new(&repo, notes_ref, incoming)?;
            repo.reference(notes_ref, fetched, true, "cargo perf sync: fast-forward")
                .map_err(git(&format!("updating {notes_ref}")))?;
            return Ok((received, 0));
        }
        let mut received = 0;
        let mut merged = 0;
        for (commit, theirs) in notes_of(&repo, incoming)? {
            let ours = note_of(&repo, notes_ref, commit)?;
            let (text, added) = union(ours.as_deref().unwrap_or(""), &theirs);
            if added > 0 {
                store.write_note_in(&repo, notes_ref, commit, &text)?;
                received += added;
                merged += usize::from(ours.is_some());
            }
        }
        let tip_id = repo
            .refname_to_id(notes_ref)
            .map_err(git(&format!("reading {notes_ref}")))?;
        let tip = repo
            .find_commit(tip_id)
            .map_err(git(&format!("reading {notes_ref}")))?;
        let theirs = repo
            .find_commit(fetched)
            .map_err(git("reading the fetched notes"))?;
        let tree = tip.tree().map_err(git(&format!("reading {notes_ref}")))?;
        let sig = signature(&repo);
        repo.commit(
            Some(notes_ref),
            &sig,
            &sig,
            "cargo perf sync: merge notes (union of lines)",
            &tree,
            &[&tip, &theirs],
        )
        .map_err(git("writing the merge of the notes"))?;
        Ok((received, merged))
    })();
    if let Ok(mut r) = repo.find_reference(incoming) {
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

/// Lines of the fetched notes `incoming` that `notes_ref` lacks.
fn count_incoming_new(
    repo: &git2::Repository,
    notes_ref: &str,
    incoming: &str,
) -> Result<usize, StoreError> {
    let mut count = 0;
    for (commit, theirs) in notes_of(repo, incoming)? {
        let ours = note_of(repo, notes_ref, commit)?;
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
    fn pauses_grow_with_jitter_and_a_cap() {
        for attempt in 2..20 {
            let full = 50u128 << (attempt - 2).min(5);
            for _ in 0..50 {
                let ms = super::backoff(attempt).as_millis();
                assert!(ms >= full / 2 && ms <= full, "try {attempt}: {ms} ms");
            }
        }
        assert!(super::backoff(30).as_millis() <= 1600);
        assert!(super::is_race(
            " ! [rejected]        refs/notes/perf -> refs/notes/perf (fetch first)"
        ));
        assert!(super::is_race(
            " ! [remote rejected] refs/notes/perf -> refs/notes/perf (failed to update ref)"
        ));
        assert!(!super::is_race(
            "fatal: could not read from remote repository"
        ));
        assert!(!super::is_race(
            " ! [remote rejected] refs/notes/perf -> refs/notes/perf (pre-receive hook declined)"
        ));
    }

    #[test]
    fn union_keeps_ours_and_adds_what_is_missing() {
        assert_eq!(union("a\nb\n", "b\nc\n"), ("a\nb\nc\n".into(), 1));
        assert_eq!(union("", "x\n\ny"), ("x\ny\n".into(), 2));
        assert_eq!(union("a", "a"), ("a\n".into(), 0));
    }
}
