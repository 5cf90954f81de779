//! The SVG chart of a workload in the HTML report: computed here as plain coordinates, drawn
//! by the template.

use serde::Serialize;

use super::axis::{CommitScale, commit_axis, duration_axis};
use super::release::{CommitInfo, SeriesPoint};
use crate::vocab::load::Second;
use crate::vocab::units::format_ns;

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
    /// The change points, each with its commit's short id and subject.
    pub marks: Vec<ChangeMark>,
    /// Durations on the y axis, lowest first, each with a grid line across the chart.
    pub y_ticks: Vec<Tick>,
    /// Commits on the x axis (by number or by date, as `x_caption` says).
    pub x_ticks: Vec<Tick>,
    /// What the x axis shows, written under it.
    pub x_caption: &'static str,
    /// The values at the top and bottom of the chart, and the short ids of the first and last
    /// point (kept for templates written before `y_ticks` and `x_ticks`).
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

/// A change point on the chart: a line at `x`, labelled at (`x` + `dx`, `label_y`), its text
/// anchored at `anchor` so that it stays inside the chart.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeMark {
    pub x: String,
    /// The commit's short id and its subject, shortened.
    pub label: String,
    /// The short id and the whole subject (the SVG `<title>` shown on hover).
    pub title: String,
    /// The commit's page on its forge, when the remote is a known one.
    pub href: Option<String>,
    pub label_y: String,
    pub dx: i32,
    pub anchor: &'static str,
}

/// The longest subject shown on a chart; the whole one is in the mark's title and the list.
const MARK_SUBJECT_CHARS: usize = 24;

/// `text` cut to at most `max` characters, at a space when one is near the end, with `…`.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(at) if at > cut.len() * 2 / 3 => &cut[..at],
        _ => &cut,
    };
    format!("{}…", cut.trim_end())
}

/// A change point to mark: the index of its point in the series, and its commit.
pub struct ChangeAt<'a> {
    pub index: usize,
    pub commit: &'a CommitInfo,
}

/// Lays out the median line, the p95 band, the axes, the change points and the budget line.
/// Points are placed by their commit's number on the path; `commits` are the path's commits
/// (for the dates of the x axis); a change point links to `commit_url` + its id when given.
pub fn chart(
    points: &[SeriesPoint],
    changes: &[ChangeAt],
    budget_ns: Option<u64>,
    commits: &[CommitInfo],
    commit_url: Option<&str>,
) -> Chart {
    let (width, height, left, right, top, bottom) = (640u32, 214u32, 70u32, 630u32, 12u32, 172u32);
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
    // A little room above and below the data; the axis may widen it to a labelled value.
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.005).max(1e-9);
    let axis = duration_axis((lo - pad).max(0.0), hi + pad);
    let (lo, hi) = (axis.lo_ns, axis.hi_ns);
    let (first, last) = (
        points.first().map_or(0, |p| p.position),
        points.last().map_or(0, |p| p.position),
    );
    let x = |position: usize| -> f64 {
        if last <= first {
            f64::from(left + right) / 2.0
        } else {
            f64::from(left)
                + (position.saturating_sub(first)) as f64 * f64::from(right - left)
                    / (last - first) as f64
        }
    };
    let y = |v: f64| -> f64 { f64::from(bottom) - (v - lo) / (hi - lo) * f64::from(bottom - top) };
    let xy = |p: &SeriesPoint, v: f64| format!("{:.1},{:.1}", x(p.position), y(v));
    let median: Vec<String> = points
        .iter()
        .zip(&medians)
        .map(|(p, &v)| xy(p, v))
        .collect();
    let upper: Vec<String> = points
        .iter()
        .zip(&highs)
        .rev()
        .map(|(p, &v)| xy(p, v))
        .collect();
    let band = median
        .iter()
        .chain(&upper)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let time_of = |n: usize| commits.get(n).map(|c| c.time_unix);
    let scale = CommitScale::for_times(points.iter().filter_map(|p| time_of(p.position)));
    let x_ticks = if points.is_empty() {
        vec![]
    } else {
        commit_axis(first, last, scale, &time_of)
    };
    let middle = f64::from(left + right) / 2.0;
    let marks = changes
        .iter()
        .filter_map(|c| Some((points.get(c.index)?, c.commit)))
        .enumerate()
        .map(|(k, (p, commit))| {
            let at = x(p.position);
            // Marks close together would write over each other: three rows of labels.
            let row = (k % 3) as u32;
            ChangeMark {
                x: format!("{at:.1}"),
                label: format!(
                    "{} {}",
                    commit.short,
                    shorten(&commit.subject, MARK_SUBJECT_CHARS)
                ),
                title: format!("{} {}", commit.short, commit.subject),
                href: commit_url.map(|u| format!("{u}{}", commit.id)),
                label_y: (top + 9 + 12 * row).to_string(),
                dx: if at > middle { -3 } else { 3 },
                anchor: if at > middle { "end" } else { "start" },
            }
        })
        .collect();
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
        marks,
        y_top_label: format_ns(hi),
        y_bottom_label: format_ns(lo),
        y_ticks: axis
            .values
            .into_iter()
            .map(|v| Tick {
                at: format!("{:.1}", y(v.value)),
                label: v.label,
            })
            .collect(),
        x_ticks: x_ticks
            .into_iter()
            .map(|(n, label)| Tick {
                at: format!("{:.1}", x(n)),
                label,
            })
            .collect(),
        x_caption: scale.caption(),
        x_first_label: points.first().map(|p| p.commit.clone()).unwrap_or_default(),
        x_last_label: points.last().map(|p| p.commit.clone()).unwrap_or_default(),
    }
}

/// A labelled value on an axis: where it goes and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub at: String,
    pub label: String,
}

/// The latency-over-time chart of a load workload: p50, p95 and p99 of each second (or span of
/// seconds in a long stored series), the stages marked where they begin.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyChart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    pub p50: String,
    pub p95: String,
    pub p99: String,
    /// Stage starts (x) and names.
    pub stages: Vec<Mark>,
    /// Latency values on the y axis, from 0 to the top.
    pub y_ticks: Vec<Tick>,
    /// Seconds on the x axis.
    pub x_ticks: Vec<Tick>,
}

/// Lays out the latency chart of `series`, whose stages are named by `stage_names`.
pub fn latency_chart(series: &[Second], stage_names: &[String]) -> Option<LatencyChart> {
    let shown: Vec<&Second> = series
        .iter()
        .filter(|s| s.completed + s.errors > 0)
        .collect();
    if shown.is_empty() {
        return None;
    }
    let (width, height, left, right, top, bottom) = (640u32, 220u32, 70u32, 630u32, 12u32, 192u32);
    let hi = shown
        .iter()
        .map(|s| s.p99.max(s.p95))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let hi = nice_ceiling(hi * 1.05);
    let t_last = series.last().map_or(1, |s| s.t).max(1) as f64;
    let x = |t: u64| f64::from(left) + t as f64 / t_last * f64::from(right - left);
    let y = |v: f64| f64::from(bottom) - v / hi * f64::from(bottom - top);
    let line = |f: fn(&Second) -> u64| {
        shown
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.t), y(f(s) as f64)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut stages = Vec::new();
    let mut last_stage = usize::MAX;
    for s in series {
        if s.stage != last_stage {
            last_stage = s.stage;
            stages.push(Mark {
                x: format!("{:.1}", x(s.t)),
                label: stage_names.get(s.stage).cloned().unwrap_or_default(),
            });
        }
    }
    let y_ticks = (0..=4)
        .map(|i| {
            let v = hi * f64::from(i) / 4.0;
            Tick {
                at: format!("{:.1}", y(v)),
                label: if i == 0 { "0".into() } else { format_ns(v) },
            }
        })
        .collect();
    let step = nice_ceiling(t_last / 6.0).max(1.0);
    let x_ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= t_last)
        .map(|t| Tick {
            at: format!("{:.1}", x(t as u64)),
            label: format!("{t:.0} s"),
        })
        .collect();
    Some(LatencyChart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        p50: line(|s| s.p50),
        p95: line(|s| s.p95),
        p99: line(|s| s.p99),
        stages,
        y_ticks,
        x_ticks,
    })
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commits(n: usize, hours_apart: i64) -> Vec<CommitInfo> {
        (0..n)
            .map(|i| CommitInfo {
                id: format!("{i:040}"),
                short: format!("{i:010}"),
                subject: format!("commit <{i}> with a rather long subject line"),
                author: "a".into(),
                time_unix: 1_767_225_600 + i as i64 * hours_apart * 3600,
            })
            .collect()
    }

    /// Points at commits 0, 2, 4, ... of `commits`.
    fn points(commits: &[CommitInfo], medians: &[f64]) -> Vec<SeriesPoint> {
        medians
            .iter()
            .enumerate()
            .map(|(i, m)| SeriesPoint {
                commit: commits[2 * i].short.clone(),
                position: 2 * i,
                median_ns: *m,
                p95_ns: Some(m * 1.1),
            })
            .collect()
    }

    #[test]
    fn chart_coordinates_stay_inside_the_plot() {
        let commits = commits(9, 1);
        let points = points(&commits, &[100.0, 101.0, 102.0, 103.0, 104.0]);
        let marked = [ChangeAt {
            index: 2,
            commit: &commits[4],
        }];
        let c = chart(&points, &marked, Some(150), &commits, None);
        for pair in c.band.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (70.0..=630.0).contains(&x) && (12.0..=172.0).contains(&y),
                "{pair}"
            );
        }
        // Commit 4 of 0..=8: the middle.
        assert_eq!(c.marks[0].x, "350.0");
        assert!(c.budget_y.is_some());
        // A budget far above the data is named but not drawn.
        assert!(
            chart(&points, &[], Some(1_000_000), &commits, None)
                .budget_y
                .is_none()
        );
    }

    #[test]
    fn the_axes_are_labelled_in_nice_steps_and_by_commit() {
        // Made within the same hour (a rebase, say): numbered.
        let commits = commits(61, 0);
        let medians: Vec<f64> = (0..31)
            .map(|i| if i < 15 { 1.0e6 } else { 1.2e6 })
            .collect();
        let points = points(&commits, &medians);
        let c = chart(&points, &[], None, &commits, None);
        let labels = |t: &[Tick]| t.iter().map(|t| t.label.clone()).collect::<Vec<_>>();
        // 1.0 to 1.32 ms (p95) with 5 % room, 0.984 to 1.336 ms: 0.05 ms steps would make 7
        // values, 0.1 ms steps 4.
        assert_eq!(labels(&c.y_ticks), ["1.0 ms", "1.1 ms", "1.2 ms", "1.3 ms"]);
        // 172 - (1.0 - 0.984) / 0.352 * 160, and 172 - (1.3 - 0.984) / 0.352 * 160.
        assert_eq!(c.y_ticks[0].at, "164.7");
        assert_eq!(c.y_ticks[3].at, "28.4");
        assert_eq!(
            (c.y_bottom_label.as_str(), c.y_top_label.as_str()),
            ("984.0 µs", "1.3 ms")
        );
        // Commits 0 to 60: every 10th would be 7 labels, so every 20th.
        assert_eq!(labels(&c.x_ticks), ["0", "20", "40", "60"]);
        assert_eq!(c.x_ticks[1].at, "256.7");
        assert!(c.x_caption.starts_with("commit number"), "{}", c.x_caption);
        // A day apart: dated.
        let daily = commits_daily();
        let c = chart(&points, &[], None, &daily, None);
        assert_eq!(
            labels(&c.x_ticks),
            ["2026-01-01", "2026-01-21", "2026-02-10", "2026-03-02"]
        );
        assert!(c.x_caption.starts_with("commit date"), "{}", c.x_caption);
    }

    fn commits_daily() -> Vec<CommitInfo> {
        commits(61, 24)
    }

    #[test]
    fn a_single_point_and_a_flat_series_still_get_axes() {
        let commits = commits(1, 1);
        let one = points(&commits, &[5e6]);
        let c = chart(&one, &[], None, &commits, None);
        // 5 ms and a p95 of 5.5 ms, with 0.5 % of 5.5 ms room: 4.9725 to 5.5275 ms.
        assert_eq!(c.median, "350.0,164.1");
        let xs: Vec<&str> = c.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(xs, ["0"]);
        assert_eq!(c.x_ticks[0].at, "350.0");
        // 0.1 ms steps would make 6 values.
        let ys: Vec<&str> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(ys, ["5.0 ms", "5.2 ms", "5.4 ms"]);
        let commits = self::commits(9, 1);
        let flat: Vec<SeriesPoint> = points(&commits, &[3e6; 5])
            .into_iter()
            .map(|p| SeriesPoint { p95_ns: None, ..p })
            .collect();
        let c = chart(&flat, &[], None, &commits, None);
        let ys: Vec<&str> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        // 3 ms flat, with 0.5 % room: 2.985 to 3.015 ms.
        assert_eq!(ys, ["2.99 ms", "3.00 ms", "3.01 ms"]);
        // The flat line is in the middle.
        assert!(
            c.median.split(' ').all(|p| p.ends_with(",92.0")),
            "{}",
            c.median
        );
    }

    #[test]
    fn change_points_are_labelled_with_their_commit_and_link_to_it() {
        let commits = commits(9, 1);
        let points = points(&commits, &[1e6, 1e6, 2e6, 2e6, 3e6]);
        let marked = [
            ChangeAt {
                index: 1,
                commit: &commits[2],
            },
            ChangeAt {
                index: 4,
                commit: &commits[8],
            },
        ];
        let url = "https://github.com/o/r/commit/";
        let c = chart(&points, &marked, None, &commits, Some(url));
        let m = &c.marks[0];
        assert_eq!(m.label, "0000000002 commit <2> with a…");
        assert_eq!(
            m.title,
            "0000000002 commit <2> with a rather long subject line"
        );
        assert_eq!(m.href.as_deref(), Some(&*format!("{url}{:040}", 2)));
        assert_eq!((m.dx, m.anchor, m.label_y.as_str()), (3, "start", "21"));
        // Past the middle, the label reads leftwards; a second mark takes the next row.
        let m = &c.marks[1];
        assert_eq!((m.dx, m.anchor, m.label_y.as_str()), (-3, "end", "33"));
        assert!(
            chart(&points, &marked, None, &commits, None).marks[0]
                .href
                .is_none()
        );
    }

    #[test]
    fn subjects_are_shortened_at_a_word_near_the_end() {
        assert_eq!(shorten("short", 24), "short");
        assert_eq!(
            shorten("make the parser faster by half", 24),
            "make the parser faster…"
        );
        assert_eq!(
            shorten("averyveryverylongwordwithoutspaces", 10),
            "averyvery…"
        );
        assert_eq!(shorten("ééééééééééé", 5), "éééé…");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(7_300_000.0), 10_000_000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn the_latency_chart_spans_the_run_and_marks_each_stage() {
        let series: Vec<Second> = (0..30)
            .map(|t| Second {
                t,
                stage: usize::from(t >= 10) + usize::from(t >= 20),
                completed: 100,
                p50: 1_000_000,
                p95: 2_000_000,
                p99: if t == 15 { 900_000_000 } else { 3_000_000 },
                ..Second::default()
            })
            .collect();
        let names = vec!["before".to_string(), "spike".into(), "after".into()];
        let c = latency_chart(&series, &names).unwrap();
        let labels: Vec<&str> = c.stages.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["before", "spike", "after"]);
        assert_eq!(c.stages[1].x, format!("{:.1}", 70.0 + 10.0 / 29.0 * 560.0));
        // The stall sets the top: 900 ms * 1.05 rounds up to 1 s.
        assert_eq!(c.y_ticks.last().unwrap().label, "1.00 s");
        assert_eq!(c.y_ticks[0].label, "0");
        // Seconds every 5 (29 / 6 rounds up to 5), from 0 to 25.
        let xs: Vec<&str> = c.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(xs, ["0 s", "5 s", "10 s", "15 s", "20 s", "25 s"]);
        for pair in c.p99.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (70.0..=630.0).contains(&x) && (12.0..=192.0).contains(&y),
                "{pair}"
            );
        }
        // Nothing answered: no chart.
        assert!(latency_chart(&[Second::default()], &names).is_none());
    }
}
