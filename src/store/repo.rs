//! The project's git repository: HEAD, revisions, dirtiness, first-parent history.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, StatusOptions};

use crate::errors::StoreError;

/// The repository that holds the workspace.
pub struct Repo {
    pub repo: Repository,
}

/// The first 10 hex digits of a commit id, for people.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

impl Repo {
    /// Opens the repository that contains `path` (searching parent folders).
    pub fn discover(path: &Path) -> Result<Self, StoreError> {
        match Repository::discover(path) {
            Ok(repo) => Ok(Repo { repo }),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Err(StoreError::NotARepository {
                path: path.to_owned(),
            }),
            Err(e) => Err(StoreError::git(format!("opening {}", path.display()), e)),
        }
    }

    /// The `.git` folder (for a worktree, the worktree's own).
    pub fn git_dir(&self) -> PathBuf {
        self.repo.path().to_owned()
    }

    /// The commit HEAD points at. A detached HEAD is fine (CI checks out commits that way).
    pub fn head(&self) -> Result<String, StoreError> {
        match self.repo.head() {
            Ok(head) => head
                .peel_to_commit()
                .map(|c| c.id().to_string())
                .map_err(|e| StoreError::git("reading HEAD", e)),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Err(StoreError::UnbornHead),
            Err(e) => Err(StoreError::git("reading HEAD", e)),
        }
    }

    /// Resolves a revision (`HEAD~2`, a tag, a branch, a commit id) to a commit id, with an error
    /// that says what to do when it cannot.
    pub fn resolve(&self, rev: &str) -> Result<String, StoreError> {
        let object = self.repo.revparse_single(rev).map_err(|_| {
            let shallow = if self.repo.is_shallow() {
                " This is a shallow clone, so older commits are not here: fetch them with \
                 `git fetch --unshallow` (or `--deepen N`)."
            } else {
                ""
            };
            StoreError::Revision(format!(
                "no commit `{rev}` in this repository; check the id or branch name.{shallow}"
            ))
        })?;
        object
            .peel_to_commit()
            .map(|c| c.id().to_string())
            .map_err(|_| StoreError::Revision(format!("`{rev}` does not name a commit")))
    }

    /// Whether tracked files differ from HEAD (untracked files do not count, as with
    /// `git describe --dirty`).
    pub fn is_dirty(&self) -> Result<bool, StoreError> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|e| StoreError::git("reading the status of the working tree", e))?;
        Ok(!statuses.is_empty())
    }

    /// First-parent history from `from`, newest first, up to `limit` commits. Stops at the root
    /// or at the edge of a shallow clone.
    pub fn first_parent(&self, from: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let oid = Oid::from_str(from).map_err(|e| StoreError::git("parsing a commit id", e))?;
        let mut walk = self
            .repo
            .revwalk()
            .map_err(|e| StoreError::git("walking history", e))?;
        walk.simplify_first_parent()
            .and_then(|_| walk.push(oid))
            .map_err(|e| StoreError::git("walking history", e))?;
        let mut out = Vec::new();
        for id in walk.take(limit) {
            match id {
                Ok(id) => out.push(id.to_string()),
                // The parent of the last commit of a shallow clone is missing: history ends there.
                Err(_) if self.repo.is_shallow() => break,
                Err(e) => return Err(StoreError::git("walking history", e)),
            }
        }
        Ok(out)
    }

    /// The first line of a commit's message.
    pub fn subject(&self, commit: &str) -> String {
        Oid::from_str(commit)
            .ok()
            .and_then(|oid| self.repo.find_commit(oid).ok())
            .and_then(|c| {
                c.summary_bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            })
            .unwrap_or_default()
    }
}
