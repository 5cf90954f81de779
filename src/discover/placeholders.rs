//! `{fixture}`, `{fixture_name}`, `{workspace}` and `{bin:NAME}` in commands, `env` and `cwd`.
//!
//! Other text in braces is left alone, so JSON or shell arguments pass through unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fixture a workload copy runs on.
pub struct FixtureVars<'a> {
    pub path: Option<&'a Path>,
    pub workspace: &'a Path,
}

/// Fills `{fixture}`, `{fixture_name}` and `{workspace}`; `{bin:..}` stays for `resolve_bins`.
pub fn fill(text: &str, vars: &FixtureVars) -> Result<String, String> {
    let mut out = text.replace("{workspace}", &vars.workspace.to_string_lossy());
    for (key, value) in [
        (
            "{fixture}",
            vars.path.map(|p| p.to_string_lossy().into_owned()),
        ),
        (
            "{fixture_name}",
            vars.path.map(|p| fixture_name(p).to_owned()),
        ),
    ] {
        if out.contains(key) {
            let value = value.ok_or_else(|| {
                format!(
                    "`{key}` is used but the workload has no `fixtures`; add `fixtures = \"dir/*\"` \
                     or remove `{key}`"
                )
            })?;
            out = out.replace(key, &value);
        }
    }
    Ok(out)
}

/// The names inside every `{bin:NAME}` of `text`.
pub fn bins_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{bin:") {
        let after = &rest[start + 5..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    names
}

/// Replaces every `{bin:NAME}` with the built executable's path.
pub fn resolve_bins(text: &str, built: &BTreeMap<String, PathBuf>) -> String {
    let mut out = text.to_owned();
    for name in bins_in(text) {
        if let Some(path) = built.get(&name) {
            out = out.replace(&format!("{{bin:{name}}}"), &path.to_string_lossy());
        }
    }
    out
}

/// The last component of a fixture path, used in workload names.
pub fn fixture_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("fixture")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_fixture_and_leaves_other_braces() {
        let vars = FixtureVars {
            path: Some(Path::new("/w/fixtures/small")),
            workspace: Path::new("/w"),
        };
        assert_eq!(
            fill(
                "{fixture}|{fixture_name}|{workspace}|{\"a\":1}|{bin:app}",
                &vars
            )
            .unwrap(),
            "/w/fixtures/small|small|/w|{\"a\":1}|{bin:app}"
        );
    }

    #[test]
    fn fixture_without_fixtures_is_an_error() {
        let vars = FixtureVars {
            path: None,
            workspace: Path::new("/w"),
        };
        assert!(
            fill("{fixture}", &vars)
                .unwrap_err()
                .contains("no `fixtures`")
        );
    }

    #[test]
    fn finds_and_resolves_bins() {
        assert_eq!(bins_in("{bin:a}x{bin:b-c}{bin:"), vec!["a", "b-c"]);
        let built = BTreeMap::from([("a".to_string(), PathBuf::from("/t/a"))]);
        assert_eq!(resolve_bins("{bin:a} {bin:a}", &built), "/t/a /t/a");
    }
}
