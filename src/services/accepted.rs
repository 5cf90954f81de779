//! Accepted changes: which apply to a comparison, and storing a new one (`cargo perf accept`).

use std::collections::HashSet;

use anyhow::Result;

use super::load::print_warnings;
use crate::store::{Repo, Store, short};
use crate::vocab::{ACCEPTANCE_SCHEMA, Acceptance, AcceptanceSource, parse_trailers};

/// The acceptances of `commits` (newest first): those stored with `cargo perf accept` and the
/// `Perf-Accepted:` lines of their messages, newest commit first and, within a commit, the
/// newest acceptance first. Lines that cannot be used are warned about on standard error.
pub fn acceptances_of(
    repo: &Repo,
    store: &dyn Store,
    commits: &[String],
) -> Result<Vec<Acceptance>> {
    acceptances_with(store, commits, &|c| repo.commit_info(c))
}

/// [`acceptances_of`], with each commit's message, author and time from `info` (read already
/// by the caller).
pub fn acceptances_with(
    store: &dyn Store,
    commits: &[String],
    info: &dyn Fn(&str) -> Option<crate::store::CommitInfo>,
) -> Result<Vec<Acceptance>> {
    let set: HashSet<String> = commits.iter().cloned().collect();
    let mut stored = store.acceptances(&set)?;
    let mut warnings = store.take_warnings();
    stored.sort_by_key(|a| std::cmp::Reverse(a.time_unix));
    let mut out = Vec::new();
    for commit in commits {
        out.extend(stored.iter().filter(|a| a.commit == *commit).cloned());
        let Some((message, author, time_unix)) = info(commit) else {
            continue;
        };
        let (found, bad) = parse_trailers(&message);
        warnings.extend(
            bad.into_iter()
                .map(|w| format!("commit {}: {w}", short(commit))),
        );
        // A later line of the message takes precedence, as a later acceptance does.
        for (pattern, reason) in found.into_iter().rev() {
            out.push(Acceptance {
                schema: ACCEPTANCE_SCHEMA,
                id: String::new(),
                commit: commit.clone(),
                pattern,
                reason,
                author: author.clone(),
                time_unix,
                source: AcceptanceSource::Trailer,
            });
        }
    }
    print_warnings(&warnings);
    Ok(out)
}

/// The acceptances that apply when `candidate` is compared with `base`: those of the commits
/// on the first-parent path from `base` (left out) to `candidate`; with `working_tree`, of
/// `candidate` (HEAD) also when it is the base, since the changes to judge are on top of it.
pub fn acceptances_between(
    repo: &Repo,
    store: &dyn Store,
    base: &str,
    candidate: &str,
    working_tree: bool,
) -> Result<Vec<Acceptance>> {
    let mut commits = repo.first_parent_range(base, candidate)?;
    if working_tree && !commits.iter().any(|c| c == candidate) {
        commits.insert(0, candidate.to_owned());
    }
    acceptances_of(repo, store, &commits)
}
