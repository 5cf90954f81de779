//! The release report: what the records along the first-parent path between two revisions say
//! per workload (levels, change points, budgets), and its rendering through the templates.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::config::units::{format_bytes, format_ns};
use crate::pipeline::Status;
use crate::stats::changepoint::{Settings, detect};
use crate::store::Point;

/// The version of the report's JSON.
pub const REPORT_SCHEMA: u32 = 1;

/// The built-in templates; `--templates DIR` may replace either.
pub const MARKDOWN_TEMPLATE: (&str, &str) =
    ("report.md.j2", include_str!("../../templates/report.md.j2"));
pub const HTML_TEMPLATE: (&str, &str) = (
    "report.html.j2",
    include_str!("../../templates/report.html.j2"),
);

/// A commit on the path.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    pub subject: String,
    pub author: String,
}

/// The report, as the templates and `--format json` see it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub generated_by: String,
    /// The revisions as given (or defaulted), and their commits.
    pub from_rev: String,
    pub from: CommitInfo,
    pub to_rev: String,
    pub to: CommitInfo,
    /// Commits on the first-parent path, both ends included; how many have records.
    pub commits: usize,
    pub recorded_commits: usize,
    pub machine: String,
    /// How the machine was chosen, and what it is.
    pub machine_note: String,
    pub summary: Counts,
    pub workloads: Vec<WorkloadReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub workloads: usize,
    pub improved: usize,
    pub regressed: usize,
    pub unchanged: usize,
    pub over_budget: usize,
    pub failed: usize,
}

/// One workload over the path.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub name: String,
    pub kind: String,
    /// Commits with a figure for it.
    pub points: usize,
    pub first: Level,
    pub last: Level,
    /// The last median over the first, minus one.
    pub change: Option<f64>,
    /// `improved`, `regressed` or `unchanged`: the net of its change points against its
    /// threshold.
    pub verdict: &'static str,
    pub threshold: f64,
    /// `ok`, `over`, `failed`, or `none` (no duration budget).
    pub budget_status: &'static str,
    pub budget_ns: Option<u64>,
    /// The share of the budget the last p95 leaves unused (0.25 = a quarter left).
    pub headroom: Option<f64>,
    pub change_points: Vec<ChangeReport>,
    pub series: Vec<SeriesPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// The figures of one record.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub commit: String,
    pub median_ns: Option<f64>,
    pub p95_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub cpu_median_ns: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// The first commit at the new level.
    pub commit: CommitInfo,
    pub step: f64,
    pub before_ns: f64,
    pub after_ns: f64,
    pub p: f64,
    pub p_adjusted: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesPoint {
    pub commit: String,
    pub median_ns: f64,
    pub p95_ns: Option<f64>,
}

/// An SVG chart, computed here and drawn by the template: coordinates are plain numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    /// `x,y x,y ...` of the median.
    pub median: String,
    /// The polygon between the median and the p95.
    pub band: String,
    /// The y of the budget line, when the budget is within the chart.
    pub budget_y: Option<String>,
    pub budget_label: Option<String>,
    pub marks: Vec<Mark>,
    pub y_top_label: String,
    pub y_bottom_label: String,
    pub x_first_label: String,
    pub x_last_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub x: String,
    pub label: String,
}

/// What `build` needs: the commits of the path (oldest first) and the chosen machine's points,
/// each with the index of its commit.
pub struct Input<'a> {
    pub from_rev: String,
    pub to_rev: String,
    pub commits: Vec<CommitInfo>,
    pub points: Vec<(usize, Point)>,
    pub machine: String,
    pub machine_note: String,
    pub threshold: &'a dyn Fn(&str) -> f64,
}

/// Builds the report. Pure: the same input gives the same report.
pub fn build(input: Input) -> Report {
    // Per workload, per commit: the last record's point (later lines are later records).
    let mut by_workload: BTreeMap<String, BTreeMap<usize, Point>> = BTreeMap::new();
    let mut recorded = std::collections::BTreeSet::new();
    for (i, p) in input.points {
        recorded.insert(i);
        by_workload
            .entry(p.workload.clone())
            .or_default()
            .insert(i, p);
    }
    let names: Vec<String> = by_workload.keys().cloned().collect();
    let series: Vec<Vec<(usize, Point)>> = by_workload
        .into_values()
        .map(|m| {
            m.into_iter()
                .filter(|(_, p)| p.median_ns.is_some())
                .collect()
        })
        .collect();
    let values: Vec<Vec<f64>> = series
        .iter()
        .map(|s| s.iter().filter_map(|(_, p)| p.median_ns).collect())
        .collect();
    let thresholds: Vec<f64> = names.iter().map(|n| (input.threshold)(n)).collect();
    let found = detect(&values, &thresholds, &Settings::default());

    let mut workloads = Vec::new();
    let mut counts = Counts::default();
    for (((name, s), changes), threshold) in
        names.into_iter().zip(series).zip(found).zip(thresholds)
    {
        let (Some((_, first)), Some((_, last))) = (s.first(), s.last()) else {
            continue;
        };
        let level = |i: usize, p: &Point| Level {
            commit: input.commits[i].short.clone(),
            median_ns: p.median_ns,
            p95_ns: p.p95_ns,
            p99_ns: p.p99_ns,
            cpu_median_ns: p.cpu_median_ns,
            max_rss_bytes: p.max_rss_bytes,
            status: p.status,
        };
        let first_level = level(s[0].0, first);
        let last_level = level(s[s.len() - 1].0, last);
        let change = match (first.median_ns, last.median_ns) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a - 1.0),
            _ => None,
        };
        let net = changes.iter().map(|c| 1.0 + c.step).product::<f64>() - 1.0;
        let verdict = if changes.is_empty() || net.abs() < threshold {
            "unchanged"
        } else if net > 0.0 {
            "regressed"
        } else {
            "improved"
        };
        let budget_ns = (last.budget_ns > 0).then_some(last.budget_ns);
        let budget_status = match (last.status, budget_ns) {
            (Status::Failed, _) => "failed",
            (Status::OverBudget, _) => "over",
            (_, None) => "none",
            (_, Some(_)) => "ok",
        };
        let headroom = match (budget_ns, last.p95_ns) {
            (Some(b), Some(p95)) => Some(1.0 - p95 / b as f64),
            _ => None,
        };
        match verdict {
            "regressed" => counts.regressed += 1,
            "improved" => counts.improved += 1,
            _ => counts.unchanged += 1,
        }
        match budget_status {
            "over" => counts.over_budget += 1,
            "failed" => counts.failed += 1,
            _ => {}
        }
        let change_points: Vec<ChangeReport> = changes
            .iter()
            .map(|c| ChangeReport {
                commit: input.commits[s[c.index].0].clone(),
                step: c.step,
                before_ns: c.before,
                after_ns: c.after,
                p: c.p,
                p_adjusted: c.p_adjusted,
            })
            .collect();
        let points: Vec<SeriesPoint> = s
            .iter()
            .filter_map(|(i, p)| {
                Some(SeriesPoint {
                    commit: input.commits[*i].short.clone(),
                    median_ns: p.median_ns?,
                    p95_ns: p.p95_ns,
                })
            })
            .collect();
        let chart = chart(
            &points,
            &changes.iter().map(|c| c.index).collect::<Vec<_>>(),
            budget_ns,
        );
        workloads.push(WorkloadReport {
            kind: if last.kind.is_empty() {
                "command".into()
            } else {
                last.kind.clone()
            },
            name,
            points: points.len(),
            first: first_level,
            last: last_level,
            change,
            verdict,
            threshold,
            budget_status,
            budget_ns,
            headroom,
            change_points,
            series: points,
            chart: Some(chart),
        });
    }
    counts.workloads = workloads.len();
    let (from, to) = (
        input.commits.first().cloned(),
        input.commits.last().cloned(),
    );
    let none = || CommitInfo {
        id: String::new(),
        short: String::new(),
        subject: String::new(),
        author: String::new(),
    };
    Report {
        schema: REPORT_SCHEMA,
        generated_by: format!("cargo-perf {}", env!("CARGO_PKG_VERSION")),
        from_rev: input.from_rev,
        from: from.unwrap_or_else(none),
        to_rev: input.to_rev,
        to: to.unwrap_or_else(none),
        commits: input.commits.len(),
        recorded_commits: recorded.len(),
        machine: input.machine,
        machine_note: input.machine_note,
        summary: counts,
        workloads,
    }
}

/// Lays out the median line, the p95 band, the change points and the budget line.
fn chart(points: &[SeriesPoint], changes: &[usize], budget_ns: Option<u64>) -> Chart {
    let (width, height, left, right, top, bottom) = (640u32, 200u32, 70u32, 630u32, 12u32, 172u32);
    let medians: Vec<f64> = points.iter().map(|p| p.median_ns).collect();
    let highs: Vec<f64> = points
        .iter()
        .map(|p| p.p95_ns.unwrap_or(p.median_ns).max(p.median_ns))
        .collect();
    let mut lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = highs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // The budget line is drawn when it does not flatten the data: within twice the highest p95.
    let budget = budget_ns
        .map(|b| b as f64)
        .filter(|b| *b <= hi * 2.0 && b.is_finite());
    if let Some(b) = budget {
        hi = hi.max(b);
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.005).max(1e-9);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let n = points.len();
    let x = |i: usize| -> f64 {
        if n <= 1 {
            f64::from(left + right) / 2.0
        } else {
            f64::from(left) + i as f64 * f64::from(right - left) / (n - 1) as f64
        }
    };
    let y = |v: f64| -> f64 { f64::from(bottom) - (v - lo) / (hi - lo) * f64::from(bottom - top) };
    let xy = |i: usize, v: f64| format!("{:.1},{:.1}", x(i), y(v));
    let median: Vec<String> = medians.iter().enumerate().map(|(i, &v)| xy(i, v)).collect();
    let upper: Vec<String> = highs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, &v)| xy(i, v))
        .collect();
    let band = median
        .iter()
        .chain(&upper)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    Chart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        median: median.join(" "),
        band,
        budget_y: budget.map(|b| format!("{:.1}", y(b))),
        budget_label: budget_ns.map(|b| format!("budget {}", format_ns(b as f64))),
        marks: changes
            .iter()
            .filter(|&&i| i < n)
            .map(|&i| Mark {
                x: format!("{:.1}", x(i)),
                label: points[i].commit.clone(),
            })
            .collect(),
        y_top_label: format_ns(hi),
        y_bottom_label: format_ns(lo),
        x_first_label: points.first().map(|p| p.commit.clone()).unwrap_or_default(),
        x_last_label: points.last().map(|p| p.commit.clone()).unwrap_or_default(),
    }
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Json,
}

/// Renders the report; templates come from `dir` when it has them, else the built-in ones.
pub fn render(report: &Report, format: Format, dir: Option<&Path>) -> Result<String, String> {
    if format == Format::Json {
        let mut r = report.clone();
        r.workloads.iter_mut().for_each(|w| w.chart = None);
        return serde_json::to_string_pretty(&r)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string());
    }
    let (name, builtin) = match format {
        Format::Markdown => MARKDOWN_TEMPLATE,
        _ => HTML_TEMPLATE,
    };
    let source = match dir.map(|d| d.join(name)) {
        Some(path) if path.is_file() => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the template {}: {e}", path.display()))?,
        _ => builtin.to_owned(),
    };
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|name| {
        if name.contains(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("ns", |v: f64| format_ns(v));
    env.add_filter("bytes", |v: u64| format_bytes(v));
    env.add_filter("pct", |v: f64| format!("{:+.1}%", v * 100.0));
    env.add_filter("share", |v: f64| format!("{:.0}%", v * 100.0));
    env.add_filter("pvalue", |v: f64| {
        if v < 0.001 {
            "<0.001".to_owned()
        } else {
            format!("{v:.3}")
        }
    });
    env.add_filter("md", md_escape);
    let shown = dir
        .map(|d| d.join(name).display().to_string())
        .unwrap_or_else(|| format!("templates/{name}"));
    env.add_template_owned(name.to_owned(), source)
        .map_err(|e| format!("{shown}: {e:#}"))?;
    let template = env
        .get_template(name)
        .map_err(|e| format!("{shown}: {e:#}"))?;
    template
        .render(Value::from_serialize(report))
        .map_err(|e| format!("rendering {shown}: {e:#}"))
}

/// Escapes text from users (workload names, commit subjects, authors) for Markdown: it can
/// neither break a table nor become HTML.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_makes_user_text_inert() {
        assert_eq!(
            md_escape("<script>a|b</script>"),
            "&lt;script&gt;a\\|b&lt;/script&gt;"
        );
        assert_eq!(
            md_escape("fix *all* [x]\nnext"),
            "fix \\*all\\* \\[x\\] next"
        );
    }

    #[test]
    fn chart_coordinates_stay_inside_the_plot() {
        let points: Vec<SeriesPoint> = (0..5)
            .map(|i| SeriesPoint {
                commit: format!("c{i}"),
                median_ns: 100.0 + i as f64,
                p95_ns: Some(110.0 + i as f64),
            })
            .collect();
        let c = chart(&points, &[2], Some(150));
        for pair in c.band.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (70.0..=630.0).contains(&x) && (12.0..=172.0).contains(&y),
                "{pair}"
            );
        }
        assert_eq!(c.marks[0].x, "350.0");
        assert!(c.budget_y.is_some());
        // A budget far above the data is named but not drawn.
        assert!(chart(&points, &[], Some(1_000_000)).budget_y.is_none());
    }
}
