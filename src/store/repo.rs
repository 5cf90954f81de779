//! The project's git repository: HEAD, revisions, dirtiness, first-parent history.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, StatusOptions};

use crate::errors::StoreError;

/// The repository that holds the workspace.
pub struct Repo {
    pub repo: Repository,
}

/// A commit's whole message, its author (`Name <email>`) and its time (seconds since the epoch).
pub type CommitInfo = (String, String, i64);

fn info_of(c: &git2::Commit<'_>) -> CommitInfo {
    let author = c.author();
    (
        String::from_utf8_lossy(c.message_bytes()).into_owned(),
        format!(
            "{} <{}>",
            String::from_utf8_lossy(author.name_bytes()),
            String::from_utf8_lossy(author.email_bytes())
        ),
        c.time().seconds(),
    )
}

/// The first 10 hex digits of a commit id, for people. A commit read from a note may be
/// anything: this never cuts a character in two.
pub fn short(commit: &str) -> &str {
    match commit.char_indices().nth(10) {
        Some((end, _)) => &commit[..end],
        None => commit,
    }
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

    /// The base a PR gate compares with: for a branch (local or remote-tracking, such as
    /// `origin/main`), its merge-base with `head`; for anything else, the commit it names.
    /// Returns the commit and a label that says which.
    pub fn base_for(&self, rev: &str, head: &str) -> Result<(String, String), StoreError> {
        let commit = self.resolve(rev)?;
        let is_branch = self.repo.find_branch(rev, git2::BranchType::Local).is_ok()
            || self.repo.find_branch(rev, git2::BranchType::Remote).is_ok();
        if !is_branch {
            return Ok((commit.clone(), format!("{} ({rev})", short(&commit))));
        }
        let (a, b) = (Oid::from_str(&commit), Oid::from_str(head));
        let (Ok(a), Ok(b)) = (a, b) else {
            return Err(StoreError::Revision(format!(
                "`{rev}` does not name a commit"
            )));
        };
        let base = self.repo.merge_base(a, b).map_err(|_| {
            StoreError::Revision(format!(
                "`{rev}` and HEAD have no common ancestor{}; fetch more history or pass a commit",
                if self.repo.is_shallow() {
                    " in this shallow clone (`git fetch --unshallow`)"
                } else {
                    ""
                }
            ))
        })?;
        let base = base.to_string();
        Ok((
            base.clone(),
            format!("{} (merge-base with {rev})", short(&base)),
        ))
    }

    /// The first parent of `commit`.
    pub fn parent(&self, commit: &str) -> Result<String, StoreError> {
        let oid = Oid::from_str(commit).map_err(|e| StoreError::git("parsing a commit id", e))?;
        let c = self
            .repo
            .find_commit(oid)
            .map_err(|e| StoreError::git("reading a commit", e))?;
        c.parent_id(0).map(|p| p.to_string()).map_err(|_| {
            StoreError::Revision(format!(
                "{} has no parent to compare with{}; pass --base REV",
                short(commit),
                if self.repo.is_shallow() {
                    " in this shallow clone"
                } else {
                    ""
                }
            ))
        })
    }

    /// The working tree's folder, if the repository has one.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.repo.workdir().map(Path::to_owned)
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

    /// The commits on the first-parent path from `head` back to `base`, newest first, `base`
    /// itself left out (`git rev-list --first-parent base..head`). Empty when `head` is `base`.
    pub fn first_parent_range(&self, base: &str, head: &str) -> Result<Vec<String>, StoreError> {
        let parse =
            |c: &str| Oid::from_str(c).map_err(|e| StoreError::git("parsing a commit id", e));
        let (base, head) = (parse(base)?, parse(head)?);
        let mut walk = self
            .repo
            .revwalk()
            .map_err(|e| StoreError::git("walking history", e))?;
        walk.simplify_first_parent()
            .and_then(|_| walk.push(head))
            .and_then(|_| walk.hide(base))
            .map_err(|e| StoreError::git("walking history", e))?;
        let mut out = Vec::new();
        for id in walk {
            match id {
                Ok(id) => out.push(id.to_string()),
                Err(_) if self.repo.is_shallow() => break,
                Err(e) => return Err(StoreError::git("walking history", e)),
            }
        }
        Ok(out)
    }

    /// The whole message of a commit, its author (`Name <email>`) and its time (seconds since
    /// the epoch); `None` for a commit that is not here.
    pub fn commit_info(&self, commit: &str) -> Option<CommitInfo> {
        let c = self.repo.find_commit(Oid::from_str(commit).ok()?).ok()?;
        Some(info_of(&c))
    }

    /// The user's git identity, `Name <email>`, or `None` when git has none configured.
    pub fn identity(&self) -> Option<String> {
        let sig = self.repo.signature().ok()?;
        Some(format!(
            "{} <{}>",
            String::from_utf8_lossy(sig.name_bytes()),
            String::from_utf8_lossy(sig.email_bytes())
        ))
    }

    /// The author's name of a commit.
    pub fn author(&self, commit: &str) -> String {
        Oid::from_str(commit)
            .ok()
            .and_then(|oid| self.repo.find_commit(oid).ok())
            .map(|c| String::from_utf8_lossy(c.author().name_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// The newest tag reachable from `commit` (as `git describe --tags --abbrev=0`), and the
    /// commit it points to; `None` when no tag is reachable.
    pub fn latest_tag(&self, commit: &str) -> Result<Option<(String, String)>, StoreError> {
        let oid = Oid::from_str(commit).map_err(|e| StoreError::git("parsing a commit id", e))?;
        let object = self
            .repo
            .find_object(oid, None)
            .map_err(|e| StoreError::git("reading a commit", e))?;
        let mut opts = git2::DescribeOptions::new();
        opts.describe_tags();
        let Ok(describe) = object.describe(&opts) else {
            return Ok(None);
        };
        let mut format = git2::DescribeFormatOptions::new();
        format.abbreviated_size(0);
        let name = describe
            .format(Some(&format))
            .map_err(|e| StoreError::git("describing a commit", e))?;
        let target = self.resolve(&format!("refs/tags/{name}^{{commit}}"))?;
        Ok(Some((name, target)))
    }

    /// The tag that names `commit` exactly (`git describe --tags --exact-match`), if any.
    pub fn exact_tag(&self, commit: &str) -> Option<String> {
        let object = self
            .repo
            .find_object(Oid::from_str(commit).ok()?, None)
            .ok()?;
        let mut opts = git2::DescribeOptions::new();
        opts.describe_tags().max_candidates_tags(0);
        let describe = object.describe(&opts).ok()?;
        let mut format = git2::DescribeFormatOptions::new();
        format.abbreviated_size(0);
        describe.format(Some(&format)).ok()
    }

    /// The shortest unique prefix of a commit id, at least 7 digits (or `core.abbrev`), as
    /// git abbreviates it; the first 10 digits when git cannot tell.
    pub fn abbreviate(&self, commit: &str) -> String {
        Oid::from_str(commit)
            .ok()
            .and_then(|oid| self.repo.find_object(oid, None).ok())
            .and_then(|o| o.short_id().ok())
            .and_then(|b| b.as_str().ok().map(str::to_owned))
            .unwrap_or_else(|| short(commit).to_owned())
    }

    /// A commit for a reader: its tag when one names it exactly, else its abbreviated id.
    pub fn label(&self, commit: &str) -> String {
        self.exact_tag(commit)
            .unwrap_or_else(|| self.abbreviate(commit))
    }

    /// The URL of the `origin` remote, else of the first remote by name; `None` without one.
    pub fn remote_url(&self) -> Option<String> {
        let url_of = |name: &str| {
            self.repo
                .find_remote(name)
                .ok()
                .and_then(|r| r.url().ok().map(str::to_owned))
        };
        url_of("origin").or_else(|| {
            let names = self.repo.remotes().ok()?;
            let mut names: Vec<&str> = names.iter().flatten().flatten().collect();
            names.sort_unstable();
            names.into_iter().find_map(url_of)
        })
    }

    /// A commit's subject, author's name and commit time (seconds since the epoch), read
    /// once; empty and 0 for a commit that is not here.
    pub fn summary(&self, commit: &str) -> (String, String, i64) {
        let Some(c) = Oid::from_str(commit)
            .ok()
            .and_then(|oid| self.repo.find_commit(oid).ok())
        else {
            return (String::new(), String::new(), 0);
        };
        let subject = c
            .summary_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let author = String::from_utf8_lossy(c.author().name_bytes()).into_owned();
        (subject, author, c.time().seconds())
    }

    /// [`Repo::subject`] and [`Repo::commit_info`] of a commit, read once.
    pub fn subject_and_info(&self, commit: &str) -> (String, Option<CommitInfo>) {
        let Some(c) = Oid::from_str(commit)
            .ok()
            .and_then(|oid| self.repo.find_commit(oid).ok())
        else {
            return (String::new(), None);
        };
        let subject = c
            .summary_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        (subject, Some(info_of(&c)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository of two commits (fixed author and time), the first tagged `v1.0`.
    fn two_commits() -> (tempfile::TempDir, Repo, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig =
            git2::Signature::new("Ann", "ann@example.com", &git2::Time::new(1_767_225_600, 0))
                .unwrap();
        let tree = {
            let mut index = repo.index().unwrap();
            let id = index.write_tree().unwrap();
            repo.find_tree(id).unwrap()
        };
        let first = repo
            .commit(Some("HEAD"), &sig, &sig, "first", &tree, &[])
            .unwrap();
        let parent = repo.find_commit(first).unwrap();
        repo.tag_lightweight("v1.0", parent.as_object(), false)
            .unwrap();
        let second = repo
            .commit(
                Some("HEAD"),
                &sig,
                &sig,
                "second\n\nbody",
                &tree,
                &[&parent],
            )
            .unwrap();
        drop((tree, parent));
        (dir, Repo { repo }, first.to_string(), second.to_string())
    }

    #[test]
    fn a_commit_is_labelled_by_its_exact_tag_else_its_abbreviated_id() {
        let (_dir, repo, first, second) = two_commits();
        assert_eq!(repo.label(&first), "v1.0");
        // The tag is an ancestor of the second commit, not its name.
        assert_eq!(repo.exact_tag(&second), None);
        assert_eq!(repo.label(&second), second[..7]);
        assert_eq!(repo.label("not a commit"), "not a comm");
        assert_eq!(
            repo.summary(&second),
            ("second".to_owned(), "Ann".to_owned(), 1_767_225_600)
        );
    }

    #[test]
    fn the_remote_is_origin_else_the_first_by_name() {
        let (_dir, repo, _, _) = two_commits();
        assert_eq!(repo.remote_url(), None);
        repo.repo
            .remote("upstream", "https://gitlab.com/g/r.git")
            .unwrap();
        repo.repo
            .remote("mirror", "https://example.com/r.git")
            .unwrap();
        assert_eq!(
            repo.remote_url().as_deref(),
            Some("https://example.com/r.git")
        );
        repo.repo
            .remote("origin", "git@github.com:o/r.git")
            .unwrap();
        assert_eq!(repo.remote_url().as_deref(), Some("git@github.com:o/r.git"));
    }
}
