//! Accepted changes: a commit's statement that a slowdown of some workloads is intended, from
//! `cargo perf accept` (stored beside the records) or from a `Perf-Accepted: <glob>: <reason>`
//! line in the commit's message. Pure: the patterns, the trailers, nothing read or written.

use serde::{Deserialize, Serialize};

/// The version of a stored acceptance line.
pub const ACCEPTANCE_SCHEMA: u32 = 1;

/// The key of the commit-message line that accepts a change (matched ignoring case, as git
/// matches trailer keys).
pub const TRAILER_KEY: &str = "Perf-Accepted";

/// One acceptance: the workloads `pattern` names may change at `commit` for `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// `1`.
    pub schema: u32,
    /// 16 random hex digits, so that a sync's union of lines keeps two equal acceptances apart.
    pub id: String,
    /// The full id of the commit that makes the change.
    pub commit: String,
    /// A glob over workload names (`*` and `?` match any characters, `/` included).
    pub pattern: String,
    /// Why the change is intended; never empty.
    pub reason: String,
    /// Who accepted it: `Name <email>` of the git identity, or the commit's author for a
    /// trailer.
    pub author: String,
    /// When: seconds since the epoch.
    pub time_unix: i64,
    /// Where it came from: `command` (`cargo perf accept`) or `trailer` (the commit message).
    pub source: Source,
}

/// Where an acceptance came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Command,
    Trailer,
}

impl Acceptance {
    /// Whether this acceptance names `workload`.
    pub fn covers(&self, workload: &str) -> bool {
        pattern_matches(&self.pattern, workload)
    }
}

/// Checks a glob, with a message that says what is wrong with it.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err(
            "an empty workload pattern; name a workload or a glob such as `parse/*`".into(),
        );
    }
    glob::Pattern::new(pattern)
        .map(drop)
        .map_err(|e| format!("`{pattern}` is not a valid glob ({e}); `*`, `?` and `[abc]` work"))
}

/// Whether the glob `pattern` matches the whole of `name`; an invalid glob matches nothing
/// (they are refused where they are written).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    // Workload names have `/` in them (`parse/large`, `criterion:bench/group/id`), and
    // `parse/*` should take every fixture of `parse`: `*` crosses `/` here.
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: false,
        require_literal_leading_dot: false,
    };
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches_with(name, options))
}

/// The `(pattern, reason)` of each `Perf-Accepted: <glob>: <reason>` line of a commit message,
/// and a warning for each such line that cannot be used. The glob ends at the first `: ` (a
/// colon and a space), so a criterion name such as `criterion:bench/*` needs no quoting.
pub fn parse_trailers(message: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for line in message.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if !key.trim_end().eq_ignore_ascii_case(TRAILER_KEY) || key.starts_with(char::is_whitespace)
        {
            continue;
        }
        let value = value.trim();
        // `glob:` with nothing after it is a glob with an empty reason.
        let split = value
            .split_once(": ")
            .or_else(|| value.strip_suffix(':').map(|p| (p, "")));
        let Some((pattern, reason)) = split else {
            warnings.push(format!(
                "`{}` has no reason: write `{TRAILER_KEY}: <workload glob>: <why the change is \
                 intended>`; ignored",
                line.trim()
            ));
            continue;
        };
        let (pattern, reason) = (pattern.trim(), reason.trim());
        if reason.is_empty() {
            warnings.push(format!(
                "`{}` has an empty reason: say why the change is intended; ignored",
                line.trim()
            ));
            continue;
        }
        if let Err(e) = check_pattern(pattern) {
            warnings.push(format!("`{}`: {e}; ignored", line.trim()));
            continue;
        }
        found.push((pattern.to_owned(), reason.to_owned()));
    }
    (found, warnings)
}

/// The acceptances stored as JSON Lines in `text`, with a warning naming `location` and the
/// line for each line that is not one. A newer schema is skipped with a warning too: an
/// acceptance only ever lets a gate pass, so reading too few is safe.
pub fn parse_acceptances(
    text: &str,
    location: &str,
    warnings: &mut Vec<String>,
) -> Vec<Acceptance> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Acceptance>(line) {
            Ok(a) if a.schema <= ACCEPTANCE_SCHEMA => out.push(a),
            Ok(a) => warnings.push(format!(
                "{location}, line {}: an acceptance of schema {}, newer than this cargo-perf \
                 reads ({ACCEPTANCE_SCHEMA}); skipped (upgrade cargo-perf)",
                i + 1,
                a.schema
            )),
            Err(e) => warnings.push(format!(
                "{location}, line {}: not a valid acceptance ({e}); skipped",
                i + 1
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_across_slashes() {
        assert!(pattern_matches("parse/*", "parse/large"));
        assert!(pattern_matches("parse/*", "parse/a/b"));
        assert!(!pattern_matches("parse/*", "parse"));
        assert!(!pattern_matches("parse/*", "reparse/large"));
        assert!(pattern_matches("parse", "parse"));
        assert!(!pattern_matches("parse", "parse/large"));
        assert!(pattern_matches("criterion:*", "criterion:bench/group/id"));
        assert!(pattern_matches("p?rse/[ab]", "parse/a"));
        assert!(!pattern_matches("p?rse/[ab]", "parse/c"));
        assert!(!pattern_matches("Parse", "parse"));
        // An invalid glob matches nothing.
        assert!(!pattern_matches("parse[", "parse["));
        assert!(check_pattern("parse[").is_err());
        assert!(check_pattern(" ").is_err());
        assert!(check_pattern("parse/*").is_ok());
    }

    #[test]
    fn trailers_give_each_pattern_and_reason_and_warn_about_bad_ones() {
        let message = "Faster parser, slower start\n\
                       \n\
                       The start-up now builds the table once.\n\
                       \n\
                       Perf-Accepted: startup/*: the table is built up front\n\
                       perf-accepted: criterion:parse/big: trades start-up for throughput\n\
                       Perf-Accepted: analyse\n\
                       Perf-Accepted: analyse: \n\
                       Perf-Accepted: bad[: reason\n\
                       Signed-off-by: Someone <someone@example.com>\n\
                       \x20 Perf-Accepted: indented: not a trailer\n";
        let (found, warnings) = parse_trailers(message);
        assert_eq!(
            found,
            vec![
                (
                    "startup/*".to_owned(),
                    "the table is built up front".to_owned()
                ),
                (
                    "criterion:parse/big".to_owned(),
                    "trades start-up for throughput".to_owned()
                ),
            ]
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("no reason"), "{}", warnings[0]);
        assert!(warnings[1].contains("empty reason"), "{}", warnings[1]);
        assert!(warnings[2].contains("not a valid glob"), "{}", warnings[2]);
        assert_eq!(parse_trailers("Just a subject"), (vec![], vec![]));
    }

    #[test]
    fn stored_lines_parse_and_bad_or_newer_ones_are_skipped_with_a_warning() {
        let a = Acceptance {
            schema: 1,
            id: "00000000000000aa".into(),
            commit: "c".repeat(40),
            pattern: "parse/*".into(),
            reason: "new algorithm".into(),
            author: "A <a@example.com>".into(),
            time_unix: 1_700_000_000,
            source: Source::Command,
        };
        let mut newer = serde_json::to_value(&a).unwrap();
        newer["schema"] = 2.into();
        let text = format!(
            "{}\nnot json\n{newer}\n\n",
            serde_json::to_string(&a).unwrap()
        );
        let mut warnings = Vec::new();
        let got = parse_acceptances(&text, "note of c", &mut warnings);
        assert_eq!(got, vec![a.clone()]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("note of c, line 2"));
        assert!(warnings[1].contains("schema 2"));
        assert!(a.covers("parse/large") && !a.covers("analyse"));
    }
}
