//! What a criterion bench executable prints while it runs, read line by line for progress and
//! for the settings the suite chose in code.
//!
//! Criterion 0.5 to 0.8, with standard output and error piped (no terminal):
//! - standard error, per benchmark: `Benchmarking <id>`, then in normal mode
//!   `Benchmarking <id>: Warming up for 500.00 ms` and
//!   `Benchmarking <id>: Collecting 100 samples in estimated 3.0012 s (1.2M iterations)`, then
//!   `Benchmarking <id>: Analyzing`. `--quick` skips the warm-up and collecting lines.
//! - standard output, per benchmark: `<id padded to 24>time:   [1.2 µs 1.3 µs 1.4 µs]`, or the id
//!   alone on a line and `<24 spaces>time:   [...]` on the next when the id is longer; then
//!   indented `thrpt:` and `change:` blocks and `Found N outliers` lines.

use std::time::Duration;

use super::pipes::Stream;

/// Something a bench executable reported.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchEvent {
    /// It started measuring a benchmark.
    Started(String),
    /// The warm-up time it uses for the benchmark (the suite's in-code setting wins over the
    /// command line's).
    WarmingUp { id: String, time: Duration },
    /// How many samples it takes, and how long it expects them to take.
    Collecting {
        id: String,
        samples: u64,
        estimated: Duration,
    },
    /// It finished a benchmark; `estimate` is criterion's middle estimate as printed.
    Finished { id: String, estimate: String },
}

/// Turns the lines of one run into events.
#[derive(Debug, Default)]
pub struct OutputParser {
    /// An id printed alone on its line (too long to pad), waiting for its `time:` line.
    pending_id: Option<String>,
}

impl OutputParser {
    pub fn line(&mut self, stream: Stream, line: &str) -> Option<BenchEvent> {
        match stream {
            Stream::Stderr => stderr_event(line),
            Stream::Stdout => self.stdout_event(line),
        }
    }

    fn stdout_event(&mut self, line: &str) -> Option<BenchEvent> {
        let indented = line.starts_with(char::is_whitespace);
        match line.find("time:") {
            Some(at) if line[at..].contains('[') => {
                let prefix = line[..at].trim();
                let id = if !prefix.is_empty() && !indented {
                    self.pending_id = None;
                    prefix.to_owned()
                } else {
                    // An indented `time:` belongs to the id on the line before, or to a
                    // `change:` block (no id waiting): ignored.
                    self.pending_id.take()?
                };
                Some(BenchEvent::Finished {
                    id,
                    estimate: middle_estimate(&line[at..]).unwrap_or_default(),
                })
            }
            _ => {
                if !indented && !line.trim().is_empty() {
                    self.pending_id = Some(line.trim().to_owned());
                }
                None
            }
        }
    }
}

fn stderr_event(line: &str) -> Option<BenchEvent> {
    let rest = line.strip_prefix("Benchmarking ")?;
    // The id may contain `: `; criterion's own suffixes come last.
    if let Some((id, warm)) = rest.rsplit_once(": Warming up for ") {
        return Some(BenchEvent::WarmingUp {
            id: id.to_owned(),
            time: parse_time(warm)?,
        });
    }
    if let Some((id, collecting)) = rest.rsplit_once(": Collecting ") {
        let (samples, after) = collecting.split_once(" samples in estimated ")?;
        let time = after.split(" (").next()?;
        return Some(BenchEvent::Collecting {
            id: id.to_owned(),
            samples: samples.trim().parse().ok()?,
            estimated: parse_time(time)?,
        });
    }
    if rest.ends_with(": Analyzing") || rest.contains(": Warming up") {
        return None;
    }
    Some(BenchEvent::Started(rest.to_owned()))
}

/// `[1.2 µs 1.3 µs 1.4 µs]` gives `1.3 µs`.
fn middle_estimate(text: &str) -> Option<String> {
    let inner = text.split_once('[')?.1.split_once(']')?.0;
    let parts: Vec<&str> = inner.split_whitespace().collect();
    (parts.len() == 6).then(|| format!("{} {}", parts[2], parts[3]))
}

/// Criterion's `format::time`: `500.00 ms`, `3.0012 s`, `1.2345 µs`, `12.000 ns`.
pub fn parse_time(text: &str) -> Option<Duration> {
    let mut parts = text.split_whitespace();
    let value: f64 = parts.next()?.parse().ok()?;
    let ns = match parts.next()? {
        "ps" => value / 1000.0,
        "ns" => value,
        "µs" | "us" => value * 1e3,
        "ms" => value * 1e6,
        "s" => value * 1e9,
        _ => return None,
    };
    (0.0..1e18)
        .contains(&ns)
        .then(|| Duration::from_nanos(ns.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[(Stream, &str)]) -> Vec<BenchEvent> {
        let mut p = OutputParser::default();
        lines.iter().filter_map(|(s, l)| p.line(*s, l)).collect()
    }

    #[test]
    fn normal_mode_lines_give_start_settings_and_finish() {
        let got = events(&[
            (Stream::Stderr, "Benchmarking text/words"),
            (
                Stream::Stderr,
                "Benchmarking text/words: Warming up for 500.00 ms",
            ),
            (
                Stream::Stderr,
                "Benchmarking text/words: Collecting 100 samples in estimated 3.0012 s (35k iterations)",
            ),
            (Stream::Stderr, "Benchmarking text/words: Analyzing"),
            (
                Stream::Stdout,
                "text/words              time:   [6.2130 µs 6.2322 µs 6.2522 µs]",
            ),
            (
                Stream::Stdout,
                "                        thrpt:  [1.2206 GiB/s 1.2245 GiB/s 1.2283 GiB/s]",
            ),
            (
                Stream::Stdout,
                "Found 4 outliers among 100 measurements (4.00%)",
            ),
            (Stream::Stdout, "  3 (3.00%) high mild"),
        ]);
        assert_eq!(
            got,
            [
                BenchEvent::Started("text/words".into()),
                BenchEvent::WarmingUp {
                    id: "text/words".into(),
                    time: Duration::from_millis(500)
                },
                BenchEvent::Collecting {
                    id: "text/words".into(),
                    samples: 100,
                    estimated: Duration::from_nanos(3_001_200_000)
                },
                BenchEvent::Finished {
                    id: "text/words".into(),
                    estimate: "6.2322 µs".into()
                },
            ]
        );
    }

    #[test]
    fn a_long_id_on_its_own_line_and_change_blocks() {
        let long = "a group with a long name/and a function/with a parameter value";
        let got = events(&[
            (Stream::Stdout, long),
            (
                Stream::Stdout,
                "                        time:   [1.0000 ns 2.0000 ns 3.0000 ns]",
            ),
            (Stream::Stdout, "                 change:"),
            (
                Stream::Stdout,
                "                        time:   [−44.501% −43.542% −42.584%] (p = 0.00 < 0.05)",
            ),
            (
                Stream::Stdout,
                "fib 15                  time:   [1.1 ms 1.2 ms 1.3 ms]",
            ),
        ]);
        assert_eq!(
            got,
            [
                BenchEvent::Finished {
                    id: long.into(),
                    estimate: "2.0000 ns".into()
                },
                BenchEvent::Finished {
                    id: "fib 15".into(),
                    estimate: "1.2 ms".into()
                },
            ]
        );
    }

    #[test]
    fn criterion_times_parse() {
        assert_eq!(
            parse_time("217.94 ms"),
            Some(Duration::from_nanos(217_940_000))
        );
        assert_eq!(parse_time("1.5000 µs"), Some(Duration::from_nanos(1500)));
        assert_eq!(parse_time("12 parsecs"), None);
        assert_eq!(parse_time("1e300 s"), None);
    }
}
