//! What `bisect` found, for the terminal and as one JSON object (`bisect-finished`,
//! docs/json.md).

use std::io::{self, Write};

use serde::Serialize;

use super::escape::terminal;
use crate::gate::GateVerdict;
use crate::gate::bisect::Judgement;
use crate::stats::Comparison;
use crate::store::short;
use crate::vocab::Metric;

/// A commit as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// The full commit id.
    pub commit: String,
    /// The first line of its message.
    pub subject: String,
}

impl CommitInfo {
    /// `abc1234567 (subject)` for the terminal.
    fn shown(&self) -> String {
        format!("{} ({})", short(&self.commit), terminal(&self.subject))
    }
}

/// Where a commit's verdict came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built and measured now, interleaved with the good commit.
    Measured,
    /// Read from the stored record with this run id (instruction counts, exact).
    Record(String),
    /// Not measured: it did not build.
    NotBuilt,
}

/// One commit judged, in the order the search judged them.
#[derive(Debug, Clone)]
pub struct Visit {
    pub commit: CommitInfo,
    /// The gate's verdict against the good commit; `None` when it was not measured.
    pub verdict: Option<GateVerdict>,
    pub judgement: Judgement,
    pub source: Source,
    pub comparison: Option<Comparison>,
    pub rounds: usize,
    /// Why it was skipped, in words.
    pub note: Option<String>,
}

/// How the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The first bad commit was found.
    Found,
    /// The bad commit is not slower than the good one.
    NoRegression,
    /// Skipped commits (or a bad end that could not be judged) leave it open.
    Undecided,
}

/// Everything `bisect` reports.
#[derive(Debug, Clone)]
pub struct BisectReport {
    pub workload: String,
    pub metric: Metric,
    pub threshold: f64,
    pub good: CommitInfo,
    pub bad: CommitInfo,
    /// Commits on the first-parent path after the good one, the bad one included.
    pub commits: usize,
    pub outcome: Outcome,
    /// The visit of the first bad commit, when found.
    pub first_bad: Option<usize>,
    /// When undecided after the search: the commits one of which is the first bad one.
    pub candidates: Vec<CommitInfo>,
    pub visits: Vec<Visit>,
    /// The summary line.
    pub conclusion: String,
    pub exit_code: i32,
}

/// `+15.2% [+12.1%, +18.3%], p 0.003`, or the exact change of counted instructions.
pub fn change_text(metric: Metric, c: &Comparison) -> String {
    if metric.is_exact() {
        return format!("{:+.2}% (exact)", (c.ratio - 1.0) * 100.0);
    }
    let p = if c.p_adjusted < 0.001 {
        "<0.001".to_owned()
    } else {
        format!("{:.3}", c.p_adjusted)
    };
    format!(
        "{:+.1}% [{:+.1}%, {:+.1}%], p {p}",
        (c.ratio - 1.0) * 100.0,
        (c.ci.lower - 1.0) * 100.0,
        (c.ci.upper - 1.0) * 100.0
    )
}

fn source_word(s: &Source) -> &'static str {
    match s {
        Source::Measured => "measured",
        Source::Record(_) => "record",
        Source::NotBuilt => "not-built",
    }
}

fn judgement_word(j: Judgement) -> &'static str {
    match j {
        Judgement::Bad => "bad",
        Judgement::Good => "good",
        Judgement::Skip => "skip",
    }
}

/// The report for the terminal.
pub fn human(report: &BisectReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Bisect of `{}` ({}, threshold {:.1}%): good {}, bad {}, {} on the first-parent path",
        terminal(&report.workload),
        report.metric.as_str(),
        report.threshold * 100.0,
        report.good.shown(),
        report.bad.shown(),
        crate::vocab::units::plural(report.commits, "commit")
    )?;
    if let Some(v) = report.first_bad.and_then(|i| report.visits.get(i)) {
        writeln!(out, "\nFirst bad commit: {}", v.commit.shown())?;
        if let Some(c) = &v.comparison {
            let from = match &v.source {
                Source::Record(run) => format!("from its stored record {run}"),
                _ => format!("{} rounds against good", v.rounds),
            };
            writeln!(out, "  {} ({from})", change_text(report.metric, c))?;
        }
    }
    if !report.candidates.is_empty() {
        writeln!(out, "\nThe first bad commit is one of:")?;
        for c in &report.candidates {
            writeln!(out, "  {}", c.shown())?;
        }
    }
    writeln!(out, "\nVisited (in order):")?;
    for v in &report.visits {
        let verdict = v.verdict.map_or("not built", GateVerdict::as_str);
        let change = v
            .comparison
            .as_ref()
            .map(|c| change_text(report.metric, c))
            .unwrap_or_else(|| "-".into());
        let source = match &v.source {
            Source::NotBuilt => "-",
            s => source_word(s),
        };
        writeln!(
            out,
            "  {}  {verdict:<12} {change:<38} {source:<9} {}",
            short(&v.commit.commit),
            terminal(&v.commit.subject)
        )?;
    }
    let skipped: Vec<&Visit> = report
        .visits
        .iter()
        .filter(|v| v.judgement == Judgement::Skip)
        .collect();
    if !skipped.is_empty() {
        writeln!(out, "\nSkipped:")?;
        for v in skipped {
            writeln!(
                out,
                "  {}: {}",
                v.commit.shown(),
                terminal(v.note.as_deref().unwrap_or("not judged"))
            )?;
        }
    }
    let from_records: Vec<String> = report
        .visits
        .iter()
        .filter_map(|v| match &v.source {
            Source::Record(run) => Some(format!("{} (record {run})", short(&v.commit.commit))),
            _ => None,
        })
        .collect();
    if !from_records.is_empty() {
        writeln!(
            out,
            "\nDecided from stored records, without building: {}",
            from_records.join(", ")
        )?;
    }
    writeln!(out, "\n{}", terminal(&report.conclusion))
}

#[derive(Serialize)]
struct VisitJson<'a> {
    commit: &'a str,
    subject: &'a str,
    verdict: Option<GateVerdict>,
    judgement: &'static str,
    source: &'static str,
    run_id: Option<&'a str>,
    comparison: Option<&'a Comparison>,
    rounds: usize,
    note: Option<&'a str>,
}

impl<'a> VisitJson<'a> {
    fn new(v: &'a Visit) -> Self {
        VisitJson {
            commit: &v.commit.commit,
            subject: &v.commit.subject,
            verdict: v.verdict,
            judgement: judgement_word(v.judgement),
            source: source_word(&v.source),
            run_id: match &v.source {
                Source::Record(run) => Some(run),
                _ => None,
            },
            comparison: v.comparison.as_ref(),
            rounds: v.rounds,
            note: v.note.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    commit: &'a str,
    subject: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct BisectJson<'a> {
    reason: &'static str,
    schema: u32,
    workload: &'a str,
    metric: Metric,
    threshold: f64,
    good: &'a CommitInfo,
    bad: &'a CommitInfo,
    commits: usize,
    outcome: Outcome,
    first_bad: Option<VisitJson<'a>>,
    candidates: &'a [CommitInfo],
    visited: Vec<VisitJson<'a>>,
    skipped: Vec<SkippedJson<'a>>,
    conclusion: &'a str,
    exit_code: i32,
}

/// The report as one JSON object on one line.
pub fn json(report: &BisectReport, out: &mut dyn Write) -> io::Result<()> {
    let object = BisectJson {
        reason: "bisect-finished",
        schema: super::JSON_SCHEMA_VERSION,
        workload: &report.workload,
        metric: report.metric,
        threshold: report.threshold,
        good: &report.good,
        bad: &report.bad,
        commits: report.commits,
        outcome: report.outcome,
        first_bad: report
            .first_bad
            .and_then(|i| report.visits.get(i))
            .map(VisitJson::new),
        candidates: &report.candidates,
        visited: report.visits.iter().map(VisitJson::new).collect(),
        skipped: report
            .visits
            .iter()
            .filter(|v| v.judgement == Judgement::Skip)
            .map(|v| SkippedJson {
                commit: &v.commit.commit,
                subject: &v.commit.subject,
                reason: v.note.as_deref().unwrap_or("not judged"),
            })
            .collect(),
        conclusion: &report.conclusion,
        exit_code: report.exit_code,
    };
    serde_json::to_writer(&mut *out, &object)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;

    fn commit(n: u8, subject: &str) -> CommitInfo {
        CommitInfo {
            commit: format!("{n}").repeat(40),
            subject: subject.into(),
        }
    }

    fn visit(n: u8, subject: &str, verdict: Option<GateVerdict>, source: Source) -> Visit {
        let judgement = match verdict {
            Some(GateVerdict::Regressed) => Judgement::Bad,
            Some(GateVerdict::Unchanged) => Judgement::Good,
            _ => Judgement::Skip,
        };
        Visit {
            commit: commit(n, subject),
            verdict,
            judgement,
            comparison: verdict.map(|_| Comparison {
                base_median: 100.0,
                new_median: 150.0,
                ratio: 1.5,
                ci: Interval {
                    lower: 1.4,
                    upper: 1.6,
                    level: 0.95,
                },
                p: 0.0004,
                p_adjusted: 0.0004,
            }),
            rounds: if source == Source::Measured { 20 } else { 0 },
            note: verdict
                .is_none()
                .then(|| "does not build: cargo failed".to_owned()),
            source,
        }
    }

    fn report() -> BisectReport {
        BisectReport {
            workload: "parse".into(),
            metric: Metric::Wall,
            threshold: 0.02,
            good: commit(1, "v1"),
            bad: commit(5, "v2 \x1b[31mred"),
            commits: 4,
            outcome: Outcome::Found,
            first_bad: Some(2),
            candidates: Vec::new(),
            visits: vec![
                visit(5, "v2", Some(GateVerdict::Regressed), Source::Measured),
                visit(2, "broken", None, Source::NotBuilt),
                visit(
                    3,
                    "slower",
                    Some(GateVerdict::Regressed),
                    Source::Record("ab12".into()),
                ),
            ],
            conclusion: "The first bad commit is 3333333333 (slower).".into(),
            exit_code: 0,
        }
    }

    #[test]
    fn the_terminal_report_names_the_commit_the_change_and_the_skipped_ones() {
        let mut out = Vec::new();
        human(&report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("good 1111111111 (v1), bad 5555555555 (v2 \\u{1b}[31mred), 4 commits"),
            "{text}"
        );
        assert!(
            text.contains(
                "First bad commit: 3333333333 (slower)\n  +50.0% [+40.0%, +60.0%], p <0.001 \
                 (from its stored record ab12)"
            ),
            "{text}"
        );
        assert!(
            text.contains("Skipped:\n  2222222222 (broken): does not build: cargo failed"),
            "{text}"
        );
        assert!(
            text.contains(
                "Decided from stored records, without building: 3333333333 (record ab12)"
            ),
            "{text}"
        );
        assert!(text.contains("  2222222222  not built "), "{text}");
        assert!(text.contains("  3333333333  regressed ") && text.contains(" record    slower"));
    }

    #[test]
    fn the_json_object_has_the_first_bad_commit_every_visit_and_the_skipped_ones() {
        let mut out = Vec::new();
        json(&report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["reason"], "bisect-finished");
        assert_eq!(v["outcome"], "found");
        assert_eq!(v["first_bad"]["commit"], "3".repeat(40));
        assert_eq!(v["first_bad"]["source"], "record");
        assert_eq!(v["first_bad"]["run_id"], "ab12");
        assert_eq!(v["first_bad"]["comparison"]["ci"]["lower"], 1.4);
        assert_eq!(v["visited"].as_array().unwrap().len(), 3);
        assert_eq!(v["visited"][1]["verdict"], serde_json::Value::Null);
        assert_eq!(v["visited"][1]["judgement"], "skip");
        assert_eq!(v["visited"][1]["source"], "not-built");
        assert_eq!(v["skipped"][0]["reason"], "does not build: cargo failed");
        assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
        assert_eq!(v["exit_code"], 0);
        // Undecided: no first bad commit, the candidates listed.
        let mut undecided = report();
        undecided.outcome = Outcome::Undecided;
        undecided.first_bad = None;
        undecided.candidates = vec![commit(2, "broken"), commit(3, "slower")];
        let mut out = Vec::new();
        json(&undecided, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["outcome"], "undecided");
        assert_eq!(v["first_bad"], serde_json::Value::Null);
        assert_eq!(v["candidates"][1]["subject"], "slower");
    }
}
