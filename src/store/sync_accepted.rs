//! `cargo perf sync` of accepted changes: `refs/notes/perf-accepted` is exchanged as the records
//! are (see `sync.rs`): fetched into a private ref, merged line by line under the store's lock
//! (every line is an acceptance with its own id, so the union loses none), and pushed; a push
//! that the remote rejects because it moved is tried again after a new fetch and merge.

use git2::Repository;

use super::notes::{ACCEPTED_REF, NotesStore, signature};
use super::repo::Repo;
use super::sync::{exchange, note_of, notes_of, union};
use crate::errors::StoreError;

const INCOMING: &str = "refs/notes/perf-accepted-sync-incoming";

/// Fetches, merges and pushes the acceptances of `remote`; returns how many arrived and
/// whether the local ones were pushed. Call after `sync`, which checks that `remote` exists.
pub fn sync_acceptances(
    repo: &Repo,
    store: &NotesStore,
    remote: &str,
    attempts: u32,
) -> Result<(usize, bool), StoreError> {
    let git_dir = repo.repo.commondir().to_owned();
    let mut received = 0;
    let (pushed, _) = exchange(
        &git_dir,
        remote,
        ACCEPTED_REF,
        INCOMING,
        attempts,
        || Ok(store.open()?.refname_to_id(ACCEPTED_REF).is_ok()),
        || {
            received += merge(store)?;
            Ok(())
        },
    )?;
    Ok((received, pushed))
}

/// Merges `INCOMING` into `ACCEPTED_REF` (the union of each commit's lines, in a merge commit
/// with both tips as parents); returns the lines that were new here.
fn merge(store: &NotesStore) -> Result<usize, StoreError> {
    let _lock = store.lock()?;
    let repo = store.open()?;
    let result = merge_locked(store, &repo);
    if let Ok(mut r) = repo.find_reference(INCOMING) {
        let _ = r.delete();
    }
    result
}

fn merge_locked(store: &NotesStore, repo: &Repository) -> Result<usize, StoreError> {
    let err = |what: &'static str| move |e| StoreError::git(what, e);
    let incoming = repo
        .refname_to_id(INCOMING)
        .map_err(err("reading the fetched acceptances"))?;
    let mut received = 0;
    for (commit, theirs) in notes_of(repo, INCOMING)? {
        let ours = note_of(repo, ACCEPTED_REF, commit)?;
        let (text, added) = union(ours.as_deref().unwrap_or(""), &theirs);
        if added > 0 {
            store.write_note_in(repo, ACCEPTED_REF, commit, &text)?;
        }
        received += added;
    }
    let Ok(local) = repo.refname_to_id(ACCEPTED_REF) else {
        // Nothing here and nothing new: there was nothing to merge.
        return Ok(received);
    };
    if local == incoming
        || repo
            .graph_descendant_of(local, incoming)
            .map_err(err("comparing acceptances"))?
    {
        return Ok(received);
    }
    // One merge commit on top of what was written, with the remote's tip as a parent, so that
    // the push is a fast-forward.
    let tip = repo
        .find_commit(local)
        .map_err(err("reading refs/notes/perf-accepted"))?;
    let theirs = repo
        .find_commit(incoming)
        .map_err(err("reading the fetched acceptances"))?;
    let tree = tip
        .tree()
        .map_err(err("reading refs/notes/perf-accepted"))?;
    let sig = signature(repo);
    repo.commit(
        Some(ACCEPTED_REF),
        &sig,
        &sig,
        "cargo perf sync: merge acceptances (union of lines)",
        &tree,
        &[&tip, &theirs],
    )
    .map_err(err("writing the merge of the acceptances"))?;
    Ok(received)
}
