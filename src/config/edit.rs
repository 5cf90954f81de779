//! Writing settings into `perf.toml` as a person would: in the `[[workload]]` they belong to,
//! replacing a key's value where the key is written (its comment kept) or adding the key after
//! the table's last line, leaving every other line, comment and blank as it was.

/// Sets `keys` (name, TOML value as written) in the `[[workload]]` whose header is on
/// `header_line` (1-based). The result is checked to parse as TOML.
pub fn set_workload_keys(
    text: &str,
    header_line: usize,
    keys: &[(&str, String)],
) -> Result<String, String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let h = header_line
        .checked_sub(1)
        .filter(|&h| h < lines.len() && lines[h].trim_start().starts_with("[[workload]]"))
        .ok_or_else(|| format!("line {header_line} is not a `[[workload]]` header"))?;
    for (key, value) in keys {
        let end = (h + 1..lines.len())
            .find(|&i| is_header(&lines[i]))
            .unwrap_or(lines.len());
        match (h + 1..end).find(|&i| key_of(&lines[i]) == Some(key)) {
            Some(i) => {
                let line = &lines[i];
                let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
                let comment = trailing_comment(line).unwrap_or_default();
                lines[i] = format!("{indent}{key} = {value}{comment}\n");
            }
            None => {
                // After the last line that holds something: comments and blanks before the
                // next table stay with it.
                let last = (h..end)
                    .rev()
                    .find(|&i| {
                        let t = lines[i].trim();
                        !t.is_empty() && !t.starts_with('#')
                    })
                    .unwrap_or(h);
                if !lines[last].ends_with('\n') {
                    lines[last].push('\n');
                }
                lines.insert(last + 1, format!("{key} = {value}\n"));
            }
        }
    }
    let out = lines.concat();
    toml::from_str::<toml::Table>(&out)
        .map_err(|e| format!("the edited perf.toml would not parse ({e}); it was left alone"))?;
    Ok(out)
}

/// A table header (`[x]`, `[[x]]`), as opposed to a line of a multi-line array.
fn is_header(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('[')
        && !t.contains('=')
        && (t.ends_with(']') || t.contains("]#") || t.contains("] #"))
        && !t.starts_with("[\"")
        && !t.starts_with("['")
}

/// The bare key a `key = value` line sets.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()
        && !key.starts_with('#')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(key)
}

/// ` # comment` after a scalar value (a `#` outside quotes), with the spaces before it.
fn trailing_comment(line: &str) -> Option<String> {
    let (_, value) = line.split_once('=')?;
    let mut quote: Option<char> = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => {
                let before = &value[..i];
                let spaces = before.len() - before.trim_end().len();
                return Some(value[i - spaces..].trim_end_matches('\n').to_owned());
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# The workloads.\n[defaults]\nmin_runs = 10 # always\n\n\
                        [[workload]]\nname = \"a\"\ncommand = [\n  \"x\",\n  \"[y]\",\n]\n\
                        metric = \"wall\"   # what we judge\n\n# thresholds of a\n\
                        [workload.thresholds]\np95 = \"1s\"\n\n[[workload]]\nname = \"b\"\ncommand = [\"z\"]\n";

    #[test]
    fn replaces_in_place_keeping_comments_and_adds_after_the_tables_last_line() {
        let out = set_workload_keys(
            TEXT,
            5,
            &[("metric", "\"cpu\"".into()), ("time_cap", "\"4s\"".into())],
        )
        .unwrap();
        assert!(
            out.contains("metric = \"cpu\"   # what we judge\n"),
            "{out}"
        );
        // Added after the last key line of `a`, before the comment of its sub-table.
        assert!(
            out.contains(
                "metric = \"cpu\"   # what we judge\ntime_cap = \"4s\"\n\n# thresholds of a\n"
            ),
            "{out}"
        );
        // Everything else is as it was.
        assert!(out.starts_with("# The workloads.\n[defaults]\nmin_runs = 10 # always\n"));
        assert!(
            out.ends_with("[[workload]]\nname = \"b\"\ncommand = [\"z\"]\n"),
            "{out}"
        );
        assert_eq!(out.lines().count(), TEXT.lines().count() + 1);
        // The second workload, which ends the file without a newline.
        let text = TEXT.trim_end();
        let out = set_workload_keys(text, 17, &[("threshold", "\"5%\"".into())]).unwrap();
        assert!(
            out.ends_with("command = [\"z\"]\nthreshold = \"5%\"\n"),
            "{out}"
        );
    }

    #[test]
    fn a_line_that_is_not_a_workload_header_is_refused() {
        let err = set_workload_keys(TEXT, 2, &[("metric", "\"cpu\"".into())]).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(set_workload_keys(TEXT, 99, &[]).is_err());
    }
}
