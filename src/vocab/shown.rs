//! The lines `-v` prints: one fact a line, in one shape for every command, so that a reader (or
//! a script grepping a CI log) finds the same prefix wherever a command measures or builds.
//! Only the wording lives here; `services::verbose` prints them on standard error when `-v` is
//! given, so that standard output stays clean JSON with `--message-format json`.

use std::fmt;
use std::path::Path;

/// One fact `-v` shows.
#[derive(Debug, Clone, Copy)]
pub enum Shown<'a> {
    /// `cargo: <command line> (in <dir>)`: a cargo invocation, before cargo's own lines.
    Cargo { command: &'a str, dir: &'a Path },
    /// `<workload> (<side>): <argv> (in <cwd>)`, or `<workload>: <argv> (in <cwd>)` in a
    /// command that measures one side: the command as it is run, `{bin:NAME}` resolved. A
    /// criterion bench target is shown this way too, with its executable and arguments.
    Command {
        workload: &'a str,
        side: Option<&'a str>,
        argv: &'a [String],
        cwd: &'a Path,
    },
    /// `<workload> (<side>) drives: <what>`, or `<workload> drives: <what>`: what a load
    /// workload sends its traffic to.
    Drives {
        workload: &'a str,
        side: Option<&'a str>,
        target: &'a str,
    },
    /// `<bin> of <side>: <path>`, or `<bin>: <path>`: a built executable.
    Binary {
        name: &'a str,
        side: Option<&'a str>,
        path: &'a Path,
    },
    /// `<side> is checked out in <dir>`: where a side's sources are built from.
    CheckedOut { side: &'a str, dir: &'a Path },
    /// `<side> is not built: <why>`: a side whose figures come from a stored record.
    NotBuilt { side: &'a str, why: &'a str },
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shown::Cargo { command, dir } => write!(f, "cargo: {command} (in {})", dir.display()),
            Shown::Command {
                workload,
                side,
                argv,
                cwd,
            } => write!(
                f,
                "{workload}{}: {} (in {})",
                in_parens(side),
                command_line(argv.iter().map(String::as_str)),
                cwd.display()
            ),
            Shown::Drives {
                workload,
                side,
                target,
            } => write!(f, "{workload}{} drives: {target}", in_parens(side)),
            Shown::Binary { name, side, path } => match side {
                Some(side) => write!(f, "{name} of {side}: {}", path.display()),
                None => write!(f, "{name}: {}", path.display()),
            },
            Shown::CheckedOut { side, dir } => {
                write!(f, "{side} is checked out in {}", dir.display())
            }
            Shown::NotBuilt { side, why } => write!(f, "{side} is not built: {why}"),
        }
    }
}

/// ` (side)`, or nothing.
fn in_parens(side: Option<&str>) -> String {
    side.map(|s| format!(" ({s})")).unwrap_or_default()
}

/// A command line as a person would type it into a POSIX shell: arguments with spaces, quotes
/// or shell characters in single quotes, so that the line can be pasted to run it by hand.
pub fn command_line<'a>(args: impl IntoIterator<Item = &'a str>) -> String {
    args.into_iter()
        .map(|a| {
            // `#` and `~` mean something to a shell only at the start of a word.
            let plain = !a.is_empty()
                && !a.starts_with(['#', '~'])
                && a.chars().all(|c| {
                    c.is_ascii_alphanumeric() || "-_./=:,+@%^#~".contains(c) || !c.is_ascii()
                });
            if plain {
                a.to_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn each_fact_has_its_one_shape() {
        let dir = Path::new("/w/repo");
        let (base, one) = (
            argv(&["/t/base/parse", "in put"]),
            argv(&["/t/parse", "-n", "3"]),
        );
        let cases: Vec<(Shown, &str)> = vec![
            (
                Shown::Cargo {
                    command: "cargo build --release",
                    dir,
                },
                "cargo: cargo build --release (in /w/repo)",
            ),
            (
                Shown::Command {
                    workload: "parse",
                    side: Some("base"),
                    argv: &base,
                    cwd: dir,
                },
                "parse (base): /t/base/parse 'in put' (in /w/repo)",
            ),
            (
                Shown::Command {
                    workload: "parse",
                    side: None,
                    argv: &one,
                    cwd: dir,
                },
                "parse: /t/parse -n 3 (in /w/repo)",
            ),
            (
                Shown::Drives {
                    workload: "api",
                    side: Some("candidate"),
                    target: "GET http://127.0.0.1:{port}/",
                },
                "api (candidate) drives: GET http://127.0.0.1:{port}/",
            ),
            (
                Shown::Binary {
                    name: "parse",
                    side: Some("the base revision abc1234"),
                    path: Path::new("/t/base/parse"),
                },
                "parse of the base revision abc1234: /t/base/parse",
            ),
            (
                Shown::Binary {
                    name: "parse",
                    side: None,
                    path: Path::new("/t/parse"),
                },
                "parse: /t/parse",
            ),
            (
                Shown::CheckedOut {
                    side: "the base revision abc1234",
                    dir,
                },
                "the base revision abc1234 is checked out in /w/repo",
            ),
            (
                Shown::NotBuilt {
                    side: "the base revision abc1234",
                    why: "its record r1 counted the instructions",
                },
                "the base revision abc1234 is not built: its record r1 counted the instructions",
            ),
        ];
        for (fact, line) in cases {
            assert_eq!(fact.to_string(), line);
        }
    }

    #[test]
    fn a_command_line_quotes_what_a_shell_would_split_or_expand() {
        assert_eq!(command_line(["a", "b/c", "--x=1"]), "a b/c --x=1");
        assert_eq!(command_line(["echo", "two words"]), "echo 'two words'");
        assert_eq!(command_line(["echo", "it's"]), r"echo 'it'\''s'");
        assert_eq!(command_line(["sh", "-c", "a | b"]), "sh -c 'a | b'");
        assert_eq!(command_line(["x", ""]), "x ''");
        assert_eq!(
            command_line(["--package", "path+file:///w/a#a@0.1.0", "#c", "~/x"]),
            "--package path+file:///w/a#a@0.1.0 '#c' '~/x'"
        );
        assert_eq!(
            command_line(["$HOME", "*", "{port}"]),
            "'$HOME' '*' '{port}'"
        );
        assert_eq!(
            command_line(["--config", r#"build.rustflags=["-C"]"#]),
            r#"--config 'build.rustflags=["-C"]'"#
        );
    }
}
