//! `--junit PATH`: one test case per workload; a regression, budget breach or failure is a
//! failed test case, so CI systems show them as they show failing tests.

use std::fmt::Write as _;

use super::check::{CheckReport, accepted_line, change_cell, failure_line};

fn escape(text: &str) -> String {
    super::escape::xml(text)
}

/// The JUnit XML document of a check.
pub fn junit(report: &CheckReport) -> String {
    let failures = report
        .results
        .iter()
        .filter(|r| failure_line(r, report.strict).is_some())
        .count();
    let n = report.results.len();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{n}\" failures=\"{failures}\">",
        escape(&report.title)
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"cargo-perf\" tests=\"{n}\" failures=\"{failures}\">"
    );
    for r in &report.results {
        let seconds: f64 = r
            .candidate
            .samples
            .iter()
            .map(|s| s.wall_ns as f64)
            .sum::<f64>()
            / 1e9;
        let _ = write!(
            xml,
            "    <testcase classname=\"cargo-perf\" name=\"{}\" time=\"{seconds:.3}\"",
            escape(&r.candidate.workload.name)
        );
        match failure_line(r, report.strict) {
            Some(line) => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure type=\"{}\" message=\"{}\">base {} → candidate {}: {}{}</failure>\n    </testcase>",
                    r.verdict.as_str(),
                    escape(&line),
                    escape(&report.base),
                    escape(&report.candidate),
                    escape(&change_cell(r)),
                    super::explain::explanation_line(r)
                        .map(|e| format!("\n{}", escape(&e)))
                        .unwrap_or_default()
                );
            }
            // An accepted change passes, with who accepted it and why beside it; an explained
            // one that passes, with its explanation.
            None => match accepted_line(r).or_else(|| super::explain::explanation_line(r)) {
                Some(line) => {
                    let _ = writeln!(
                        xml,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        escape(&line)
                    );
                }
                None => {
                    let _ = writeln!(xml, "/>");
                }
            },
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// GitHub Actions workflow commands: `::error ...` for every workload that fails the gate,
/// `::notice ...` for every accepted change, `::warning ...` for a layout regression that
/// passes.
pub fn github_annotations(report: &CheckReport) -> String {
    let mut text = String::new();
    for r in &report.results {
        let (command, line) = match (failure_line(r, report.strict), accepted_line(r)) {
            (Some(line), _) => ("error title=cargo perf", line),
            (None, Some(line)) => ("notice title=cargo perf (accepted)", line),
            (None, None) if r.excused() => match super::explain::explanation_line(r) {
                Some(line) => ("warning title=cargo perf (code layout)", line),
                None => continue,
            },
            (None, None) => continue,
        };
        // Workflow commands end at a newline and treat % specially; other control
        // characters are shown escaped, as on the terminal.
        let line = super::escape::terminal(&line)
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let _ = writeln!(text, "::{command}::{line}");
    }
    text
}
