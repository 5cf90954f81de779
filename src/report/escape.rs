//! Making text from users inert in each output. Workload names, fixture folders, criterion ids
//! and commit subjects come from pull requests and from fetched notes: they are untrusted.
//!
//! - Terminal and CI logs: control characters (ESC and OSC sequences, BEL, carriage returns,
//!   newlines that would start a GitHub workflow command such as `::add-mask::`) are shown
//!   escaped, as Rust writes them (`\u{1b}`, `\n`).
//! - Markdown (PR comments, the job summary, the release report): every character with a meaning
//!   in GitHub's Markdown is backslash-escaped, `<` `>` `&` become entities, line breaks become
//!   spaces, and `@` before a name gets a word joiner, so that no link, image, HTML, table cell or
//!   mention can come out of a name.
//! - XML (JUnit): the five entities, and characters XML 1.0 does not allow are replaced, so the
//!   document always parses.

use std::borrow::Cow;

/// `text` with every control character shown escaped, for terminals and CI logs.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 control characters and DEL.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// `text` for Markdown: inert as a table cell, a list item or running text.
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    // A block marker at the very start (`# `, `- `, `+ `, `> `, `1. `) would open a heading,
    // list or quote where the text follows a list bullet.
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    let digits = chars[lead..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let marker = match chars.get(lead) {
        Some('#' | '-' | '+' | '=' | '>') => Some(lead),
        Some(c) if c.is_ascii_digit() => {
            matches!(chars.get(lead + digits), Some('.' | ')')).then_some(lead + digits)
        }
        _ => None,
    };
    for (i, &c) in chars.iter().enumerate() {
        let before = |n: usize| -> String { chars[i.saturating_sub(n)..i].iter().collect() };
        match c {
            '<' => out.push_str("&lt;"),
            '>' if Some(i) != marker => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '@' => {
                out.push('@');
                // GitHub turns `@name` into a mention of a user or team, and `a@b.org` into a
                // mail link.
                if chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric()) {
                    out.push('\u{2060}');
                }
            }
            // Emphasis, code, links and images, tables, strikethrough, math, escapes.
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // What GitHub links by itself: `scheme://` and `www.`.
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                out.push_str("\\:");
            }
            '.' if before(3).eq_ignore_ascii_case("www") => out.push_str("\\."),
            c if Some(i) == marker => {
                out.push('\\');
                out.push(c);
            }
            c if is_control(c) => {
                for e in c.escape_debug() {
                    if e == '\\' {
                        out.push('\\');
                    }
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` for XML character data or an attribute value.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as character references, so that attribute values keep them.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if xml_allowed(c) => out.push(c),
            // Not even a character reference may name these in XML 1.0: shown escaped.
            c => out.extend(c.escape_debug()),
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn xml_allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{7F}'..='\u{9F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_control_characters_only() {
        assert_eq!(terminal("plain name/é"), "plain name/é");
        assert_eq!(
            terminal("a\u{1b}]0;title\u{7}b\nc\r::error x"),
            "a\\u{1b}]0;title\\u{7}b\\nc\\r::error x"
        );
    }

    #[test]
    fn markdown_leaves_no_markup() {
        assert_eq!(
            markdown("![x](http://host/p.png)"),
            r"\!\[x\]\(http\://host/p.png\)"
        );
        assert_eq!(markdown("see www.example.org"), r"see www\.example.org");
        assert_eq!(markdown("# heading"), r"\# heading");
        assert_eq!(markdown("12. item"), r"12\. item");
        assert_eq!(markdown("> quote"), r"\> quote");
        assert_eq!(markdown("v1.0 -- a-b"), "v1.0 -- a-b");
        assert_eq!(markdown("a|b\r\nc"), "a\\|b  c");
        assert_eq!(markdown("<script>"), "&lt;script&gt;");
        assert_eq!(markdown("ping @octocat"), "ping @\u{2060}octocat");
        assert_eq!(markdown("a\u{1b}b"), "a\\\\u{1b}b");
    }

    #[test]
    fn xml_is_always_well_formed() {
        assert_eq!(
            xml("a<b>&\"'\n\u{1}\u{fffe}"),
            "a&lt;b&gt;&amp;&quot;&apos;&#10;\\u{1}\\u{fffe}"
        );
    }
}
