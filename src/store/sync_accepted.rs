//! `cargo perf sync` of accepted changes: `refs/notes/perf-accepted` is exchanged as the records
//! are (see `sync.rs`): fetched into a private ref, merged line by line under the store's lock
//! (every line is an acceptance with its own id, so the union loses none), and pushed; a push
//! that the remote rejects because it moved is tried again after a new fetch and merge.

use super::notes::{ACCEPTED_REF, NotesStore};
use super::repo::Repo;
use super::sync::{exchange, merge_fetched};
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
            received += merge_fetched(store, ACCEPTED_REF, INCOMING)?.0;
            Ok(())
        },
    )?;
    Ok((received, pushed))
}
