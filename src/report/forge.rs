//! Links to commits on the forge a repository's remote names, for the release report.

/// The forges whose commit pages are linked: host, and the path between the repository and a
/// commit id. GitLab allows groups within groups; the others name a repository `owner/name`.
const FORGES: [(&str, &str, bool); 4] = [
    ("github.com", "/commit/", false),
    ("gitlab.com", "/-/commit/", true),
    ("codeberg.org", "/commit/", false),
    ("bitbucket.org", "/commits/", false),
];

/// The address a commit id is appended to for its page on the forge of `remote` (a remote's
/// URL, in `https://host/owner/repo(.git)`, `ssh://[user@]host/owner/repo(.git)` or scp-like
/// `[user@]host:owner/repo(.git)` form), such as `https://github.com/o/r/commit/`; `None` for
/// any other host, form or a path with characters outside `A-Za-z0-9._-`. Credentials in the
/// URL are never part of the address.
pub fn commit_url_prefix(remote: &str) -> Option<String> {
    let remote = remote.trim();
    let (host, path) = if let Some((scheme, rest)) = remote.split_once("://") {
        if !["https", "http", "ssh", "git+ssh"].contains(&scheme.to_ascii_lowercase().as_str()) {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        // `user:token@host`: the part before the last `@` is never kept.
        let host = authority.rsplit('@').next()?;
        // A port is kept only when it is the scheme's own (ssh://git@host:22/...).
        let host = match host.split_once(':') {
            Some((h, "22" | "443")) => h,
            Some(_) => return None,
            None => host,
        };
        (host, path)
    } else {
        // scp-like: `[user@]host:path`, where the host has no slash before the colon.
        let (authority, path) = remote.split_once(':')?;
        if authority.contains('/') {
            return None;
        }
        (authority.rsplit('@').next()?, path)
    };
    let host = host.to_ascii_lowercase();
    let &(forge, commit_path, nested) = FORGES.iter().find(|(h, _, _)| *h == host)?;
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let valid = |s: &&str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    let shape = if nested {
        segments.len() >= 2
    } else {
        segments.len() == 2
    };
    (shape && segments.iter().all(valid))
        .then(|| format!("https://{forge}/{}{commit_path}", segments.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_forges_in_https_and_ssh_forms() {
        let cases = [
            (
                "https://github.com/o/r.git",
                "https://github.com/o/r/commit/",
            ),
            ("https://github.com/o/r", "https://github.com/o/r/commit/"),
            ("https://github.com/o/r/", "https://github.com/o/r/commit/"),
            ("git@github.com:o/r.git", "https://github.com/o/r/commit/"),
            ("github.com:o/r", "https://github.com/o/r/commit/"),
            (
                "ssh://git@github.com/o/r.git",
                "https://github.com/o/r/commit/",
            ),
            (
                "ssh://git@github.com:22/o/r.git",
                "https://github.com/o/r/commit/",
            ),
            (
                "HTTPS://GitHub.com/o/r.git",
                "https://github.com/o/r/commit/",
            ),
            (
                "https://gitlab.com/group/sub/r.git",
                "https://gitlab.com/group/sub/r/-/commit/",
            ),
            ("git@gitlab.com:g/r.git", "https://gitlab.com/g/r/-/commit/"),
            (
                "https://codeberg.org/o/my.repo",
                "https://codeberg.org/o/my.repo/commit/",
            ),
            (
                "git@bitbucket.org:team/r.git",
                "https://bitbucket.org/team/r/commits/",
            ),
        ];
        for (remote, prefix) in cases {
            assert_eq!(
                commit_url_prefix(remote).as_deref(),
                Some(prefix),
                "{remote}"
            );
        }
    }

    #[test]
    fn credentials_never_reach_the_link() {
        assert_eq!(
            commit_url_prefix("https://user:ghp_secret@github.com/o/r.git").as_deref(),
            Some("https://github.com/o/r/commit/")
        );
    }

    #[test]
    fn unknown_hosts_and_odd_remotes_get_no_link() {
        for remote in [
            "",
            ":",
            "@",
            "://",
            "https://",
            "https://github.com",
            "https://github.com/",
            "https://github.com/o",
            "https://github.com/o/r/extra",
            "https://example.com/o/r.git",
            "https://github.com.evil.example/o/r",
            "https://github.com:8443/o/r",
            "git@example.com:o/r.git",
            "/srv/git/r.git",
            "../r",
            "file:///srv/github.com/o/r",
            "https://github.com/o/r\"><script>",
            "https://github.com/o/..",
            "https://github.com//r",
            "git@github.com:o/r with space",
            "https://github.com/ö/r",
            "gitlab.com:onlyone",
        ] {
            assert_eq!(commit_url_prefix(remote), None, "{remote}");
        }
    }
}
