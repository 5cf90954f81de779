//! The release report: what the records along the first-parent path between two revisions say
//! per workload (levels, change points, budgets), and its rendering through the templates.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use super::chart::{ChangeAt, Chart, LatencyChart, chart, latency_chart};
use crate::stats::changepoint::{Settings, detect_with_cuts};
use crate::store::Point;
use crate::vocab::Acceptance;
use crate::vocab::Status;
use crate::vocab::load::{LoadReport, STORED_SECONDS};
use crate::vocab::units::{format_bytes, format_ns, plural};

/// The version of the report's JSON.
pub const REPORT_SCHEMA: u32 = 1;

/// The built-in templates; `--templates DIR` may replace either.
pub const MARKDOWN_TEMPLATE: (&str, &str) =
    ("report.md.j2", include_str!("../../templates/report.md.j2"));
pub const HTML_TEMPLATE: (&str, &str) = (
    "report.html.j2",
    include_str!("../../templates/report.html.j2"),
);

/// The verdict of a workload with one point on the path: there is nothing to compare it with.
pub const SINGLE_POINT: &str = "single-point";

/// The verdict of a workload that failed at every recorded commit on the path: no figure.
pub const NEVER_MEASURED: &str = "failed";

/// A commit on the path.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    pub subject: String,
    pub author: String,
    /// Its commit time, seconds since the epoch (for the charts' dates; not in the JSON).
    #[serde(skip)]
    pub time_unix: i64,
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
    /// The ends for a reader: the commit's tag when it has one, else its short id as git
    /// abbreviates it.
    pub from_label: String,
    pub to_label: String,
    /// The address that a commit id completes to its page on the forge of the repository's
    /// remote (`https://github.com/o/r/commit/`); `null` when the remote is not a known forge.
    pub commit_url: Option<String>,
    /// Commits on the first-parent path, both ends included; how many have records.
    pub commits: usize,
    pub recorded_commits: usize,
    pub machine: String,
    /// How the machine was chosen, and what it is.
    pub machine_note: String,
    /// The machines whose records the report drew on: one for a detected key, any number of
    /// runners for a machine class (`[store] machine`).
    pub hosts: Vec<Host>,
    pub summary: Counts,
    pub workloads: Vec<WorkloadReport>,
    /// The changes accepted as intended on the path, oldest first.
    pub accepted: Vec<AcceptedChange>,
    /// Per declared workload recorded over several fixtures: its growth exponent at the first
    /// and last commit that has them all.
    pub growth: Vec<GrowthTrend>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrowthTrend {
    pub group: String,
    /// `lines` or `declared`.
    pub size_unit: &'static str,
    pub first: GrowthAt,
    pub last: GrowthAt,
    /// `last.exponent - first.exponent`.
    pub change: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrowthAt {
    pub commit: String,
    pub exponent: f64,
    /// The 95 % interval the record stored (`null` for records without one).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub fixtures: usize,
}

/// The growth of each group at its first and last commit with two or more sizes.
fn growth_trends(points: &[(usize, &Point)], commits: &[CommitInfo]) -> Vec<GrowthTrend> {
    // group -> (declared, commit -> workload -> (size, median)); a later record replaces.
    type Members = BTreeMap<String, (f64, f64, Option<crate::store::StoredFit>)>;
    let mut by_group: BTreeMap<String, (bool, BTreeMap<usize, Members>)> = BTreeMap::new();
    for (i, p) in points {
        let (Some(g), Some(median)) = (&p.growth, p.median_ns) else {
            continue;
        };
        by_group
            .entry(g.group.clone())
            .or_insert((g.declared, BTreeMap::new()))
            .1
            .entry(*i)
            .or_default()
            .insert(p.workload.to_string(), (g.size, median, g.fit));
    }
    by_group
        .into_iter()
        .filter_map(|(group, (declared, commits_of))| {
            let at: Vec<GrowthAt> = commits_of
                .iter()
                .filter_map(|(i, members)| {
                    let fixtures: Vec<_> = members.values().copied().collect();
                    let (exponent, fit) = crate::store::stored_exponent(&fixtures)?;
                    Some(GrowthAt {
                        commit: commits.get(*i)?.short.clone(),
                        exponent,
                        lower: fit.map(|f| f.lower),
                        upper: fit.map(|f| f.upper),
                        fixtures: fixtures.len(),
                    })
                })
                .collect();
            let (first, last) = (at.first()?.clone(), at.last()?.clone());
            Some(GrowthTrend {
                group,
                size_unit: if declared { "declared" } else { "lines" },
                change: last.exponent - first.exponent,
                first,
                last,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub workloads: usize,
    pub improved: usize,
    pub regressed: usize,
    pub unchanged: usize,
    /// Workloads with one recorded point on the path: nothing to compare, no verdict.
    pub single_point: usize,
    pub over_budget: usize,
    pub failed: usize,
    /// Workloads with a change of level that was accepted as intended.
    pub accepted: usize,
}

/// A change accepted as intended (`cargo perf accept`, or a `Perf-Accepted:` line).
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedChange {
    pub commit: CommitInfo,
    /// The glob it names workloads with.
    pub pattern: String,
    /// The workloads of the report it matches.
    pub workloads: Vec<String>,
    pub reason: String,
    pub author: String,
    /// `command` or `trailer`.
    pub source: crate::vocab::AcceptanceSource,
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
    /// threshold; `single-point` when only one commit has a figure for it, which compares
    /// nothing.
    pub verdict: &'static str,
    pub threshold: f64,
    /// `ok`, `over`, `failed`, or `none` (no duration budget).
    pub budget_status: &'static str,
    /// The budget and failure mark every command shows: `ok (27% of 15ms)`, `OVER (130% of
    /// 15ms)`, `FAILED`, `-` (no budget).
    pub budget: String,
    pub budget_ns: Option<u64>,
    /// The share of the budget the last p95 leaves unused (0.25 = a quarter left).
    pub headroom: Option<f64>,
    pub change_points: Vec<ChangeReport>,
    pub series: Vec<SeriesPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// Load workloads: what the last record on the path measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadDetail>,
}

/// The last run of a load workload on the path: its stages, what its profile found, its
/// thresholds, and its latency over time.
#[derive(Debug, Clone, Serialize)]
pub struct LoadDetail {
    /// The short id of the commit it was measured at.
    pub commit: String,
    pub report: LoadReport,
    /// The profile's findings as sentences (breaking point, recovery, drift).
    pub findings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<LatencyChart>,
}

/// The figures of one record.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub commit: String,
    pub median_ns: Option<f64>,
    pub p90_ns: Option<f64>,
    pub p95_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub cpu_median_ns: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    /// The peak RSS as every command shows it: `≤ 5.9 MiB` when at or below the floor of the
    /// process that measured it, `-` when unknown.
    pub peak_rss: String,
    pub status: Status,
    /// Load workloads: requests per second that completed (the median is the p50 latency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// The first commit at the new level.
    pub commit: CommitInfo,
    pub step: f64,
    pub before_ns: f64,
    pub after_ns: f64,
    /// `null` for an accepted change, which is not tested.
    pub p: f64,
    pub p_adjusted: f64,
    /// For a change at a commit that accepted it: why (`reason`, `pattern`, `author`);
    /// `null` otherwise. It does not count towards the workload's verdict.
    pub accepted: Option<AcceptedNote>,
}

/// Why a change point was accepted.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedNote {
    pub reason: String,
    pub pattern: String,
    pub author: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesPoint {
    pub commit: String,
    /// The commit's number on the path, 0 being the report's first (not in the JSON).
    #[serde(skip)]
    pub position: usize,
    pub median_ns: f64,
    pub p95_ns: Option<f64>,
}

/// A machine behind the report's machine key, and how many of the path's commits it recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// `CPU, N CPUs, M GiB, OS`.
    pub host: String,
    pub commits: usize,
}

/// Each host of `points` with the number of commits it recorded, most first.
fn hosts(points: &[(usize, &Point)]) -> Vec<Host> {
    let mut by_host: BTreeMap<&str, std::collections::BTreeSet<usize>> = BTreeMap::new();
    let mut last: Option<(&str, usize)> = None;
    for (i, p) in points {
        let host = if p.host.is_empty() {
            "unknown"
        } else {
            &p.host
        };
        // A commit's 50 points come together: its host is counted once.
        if last != Some((host, *i)) {
            by_host.entry(host).or_default().insert(*i);
            last = Some((host, *i));
        }
    }
    let mut hosts: Vec<Host> = by_host
        .into_iter()
        .map(|(host, commits)| Host {
            host: host.to_owned(),
            commits: commits.len(),
        })
        .collect();
    hosts.sort_by(|a, b| b.commits.cmp(&a.commits).then_with(|| a.host.cmp(&b.host)));
    hosts
}

/// What `build` needs: the commits of the path (oldest first) and the chosen machine's points,
/// each with the index of its commit.
pub struct Input<'a> {
    pub from_rev: String,
    pub to_rev: String,
    /// The ends as [`Report::from_label`] and [`Report::to_label`] show them.
    pub from_label: String,
    pub to_label: String,
    /// As [`Report::commit_url`].
    pub commit_url: Option<String>,
    pub commits: Vec<CommitInfo>,
    pub points: Vec<(usize, &'a Point)>,
    pub machine: String,
    pub machine_note: String,
    pub threshold: &'a dyn Fn(&str) -> f64,
    /// Per load workload, the report of its last record on the path (by commit index).
    pub loads: BTreeMap<String, (usize, LoadReport)>,
    /// The acceptances of commits on the path, each with the index of its commit.
    pub accepted: Vec<(usize, Acceptance)>,
    /// The order of the workloads (perf.toml's).
    pub order: crate::vocab::WorkloadOrder,
}

/// Builds the report. Pure: the same input gives the same report.
pub fn build(input: Input) -> Report {
    let growth = growth_trends(&input.points, &input.commits);
    let hosts = hosts(&input.points);
    // Per workload, per commit: the last record's point (later lines are later records). The
    // points are borrowed and grouped by a hash, not moved into sorted maps: there are 500,000
    // of them over 10,000 commits of 50 workloads.
    let mut recorded = vec![false; input.commits.len()];
    let mut by_workload: HashMap<&str, Vec<(usize, &Point)>, crate::fnv::Build> =
        HashMap::default();
    for &(i, p) in &input.points {
        if let Some(r) = recorded.get_mut(i) {
            *r = true;
        }
        by_workload.entry(&p.workload).or_default().push((i, p));
    }
    let recorded = recorded.iter().filter(|r| **r).count();
    let mut by_workload: Vec<(&str, Vec<(usize, &Point)>)> = by_workload.into_iter().collect();
    // In the one order of every output, as `list`, `run`, `show` and `history` give them.
    by_workload.sort_unstable_by(|a, b| input.order.compare(a.0, b.0));
    let names: Vec<String> = by_workload.iter().map(|(n, _)| n.to_string()).collect();
    // Per series, its newest point, failed or not: the budget and failure marks are of it.
    let mut latest: Vec<Option<(usize, &Point)>> = Vec::with_capacity(names.len());
    let series: Vec<Vec<(usize, &Point)>> = by_workload
        .into_iter()
        .map(|(_, mut s)| {
            // In commit order (they come so: then this costs one pass), the last of a commit.
            s.sort_by_key(|(i, _)| *i);
            let mut kept: Vec<(usize, &Point)> = Vec::with_capacity(s.len());
            for (i, p) in s {
                match kept.last_mut() {
                    Some(last) if last.0 == i => *last = (i, p),
                    _ => kept.push((i, p)),
                }
            }
            latest.push(kept.last().copied());
            kept.retain(|(_, p)| p.median_ns.is_some());
            kept
        })
        .collect();
    let values: Vec<Vec<f64>> = series
        .iter()
        .map(|s| s.iter().filter_map(|(_, p)| p.median_ns).collect())
        .collect();
    let thresholds: Vec<f64> = names.iter().map(|n| (input.threshold)(n)).collect();
    // Per series, the acceptances covering it, each at the first recorded commit at or after
    // its own (a level it accepts starts there).
    let accepted_at: Vec<Vec<(usize, &Acceptance)>> = names
        .iter()
        .zip(&series)
        .map(|(name, s)| {
            input
                .accepted
                .iter()
                .filter(|(_, a)| a.covers(name))
                .filter_map(|(ci, a)| Some((s.iter().position(|(i, _)| i >= ci)?, a)))
                .collect()
        })
        .collect();
    let cuts: Vec<Vec<usize>> = accepted_at
        .iter()
        .map(|v| v.iter().map(|(at, _)| *at).collect())
        .collect();
    let found = detect_with_cuts(&values, &thresholds, &cuts, &Settings::default());

    // Each workload's part (its levels, change points and chart: two million numbers
    // formatted over 10,000 commits of 50 workloads) is made on every CPU (up to four).
    let items: Vec<_> = names
        .into_iter()
        .zip(series)
        .zip(found)
        .zip(thresholds)
        .zip(accepted_at)
        .zip(latest)
        .map(
            |(((((name, s), changes), threshold), accepted_at), latest)| {
                (name, s, changes, threshold, accepted_at, latest)
            },
        )
        .collect();
    let path = PathContext {
        commits: &input.commits,
        commit_url: input.commit_url.as_deref(),
        loads: &input.loads,
    };
    let made = crate::parallel::map_parallel(
        &items,
        |(name, s, changes, threshold, accepted_at, latest)| {
            let series = Series {
                points: s,
                latest: *latest,
            };
            workload_report(
                &path,
                name.clone(),
                series,
                changes,
                *threshold,
                accepted_at,
            )
        },
    );
    let mut workloads = Vec::new();
    let mut counts = Counts::default();
    for (w, any_accepted) in made.into_iter().flatten() {
        if any_accepted {
            counts.accepted += 1;
        }
        match w.verdict {
            "regressed" => counts.regressed += 1,
            "improved" => counts.improved += 1,
            SINGLE_POINT => counts.single_point += 1,
            // Counted by its budget status below.
            NEVER_MEASURED => {}
            _ => counts.unchanged += 1,
        }
        match w.budget_status {
            "over" => counts.over_budget += 1,
            "failed" => counts.failed += 1,
            _ => {}
        }
        workloads.push(w);
    }
    counts.workloads = workloads.len();
    let accepted = input
        .accepted
        .iter()
        .filter_map(|(i, a)| {
            Some(AcceptedChange {
                commit: input.commits.get(*i)?.clone(),
                pattern: a.pattern.clone(),
                workloads: workloads
                    .iter()
                    .filter(|w| a.covers(&w.name))
                    .map(|w| w.name.clone())
                    .collect(),
                reason: a.reason.clone(),
                author: a.author.clone(),
                source: a.source,
            })
        })
        .collect();
    let (from, to) = (
        input.commits.first().cloned(),
        input.commits.last().cloned(),
    );
    let none = || CommitInfo {
        id: String::new(),
        short: String::new(),
        subject: String::new(),
        author: String::new(),
        time_unix: 0,
    };
    Report {
        schema: REPORT_SCHEMA,
        generated_by: format!("cargo-perf {}", env!("CARGO_PKG_VERSION")),
        from_rev: input.from_rev,
        from: from.unwrap_or_else(none),
        to_rev: input.to_rev,
        to: to.unwrap_or_else(none),
        from_label: input.from_label,
        to_label: input.to_label,
        commit_url: input.commit_url,
        commits: input.commits.len(),
        recorded_commits: recorded,
        machine: input.machine,
        machine_note: input.machine_note,
        hosts,
        summary: counts,
        workloads,
        accepted,
        growth,
    }
}

/// A workload's points with a median, by commit, and its newest point (failed or not).
struct Series<'s, 'p> {
    points: &'s [(usize, &'p Point)],
    latest: Option<(usize, &'p Point)>,
}

/// What every workload's part of the report draws on.
struct PathContext<'a> {
    commits: &'a [CommitInfo],
    commit_url: Option<&'a str>,
    loads: &'a BTreeMap<String, (usize, LoadReport)>,
}

/// One workload's part of the report, and whether any of its changes was accepted; none when
/// it has no points with a median.
fn workload_report(
    path: &PathContext,
    name: String,
    series: Series,
    changes: &[crate::stats::changepoint::ChangePoint],
    threshold: f64,
    accepted_at: &[(usize, &Acceptance)],
) -> Option<(WorkloadReport, bool)> {
    let PathContext {
        commits,
        commit_url,
        loads,
    } = *path;
    let s = series.points;
    // A workload that failed at every recorded commit has no figure, but is listed: failed.
    let ((first_at, first), (last_at, last)) = match (s.first(), s.last(), series.latest) {
        (Some(f), Some(l), _) => (*f, *l),
        (_, _, Some(newest)) => (newest, newest),
        _ => return None,
    };
    // The budget and failure marks are of the newest point, which may have failed.
    let newest = series.latest.map_or(last, |(_, p)| p);
    let level = |i: usize, p: &Point| Level {
        commit: commits[i].short.clone(),
        median_ns: p.median_ns,
        p90_ns: p.p90_ns,
        p95_ns: p.p95_ns,
        p99_ns: p.p99_ns,
        cpu_median_ns: p.cpu_median_ns,
        max_rss_bytes: p.max_rss_bytes,
        peak_rss: crate::vocab::marks::PeakRss {
            bytes: p.max_rss_bytes,
            floor_bytes: p.rss_floor_bytes,
        }
        .to_string(),
        status: p.status,
        rps: p.rps,
    };
    let first_level = level(first_at, first);
    let last_level = level(last_at, last);
    // One point (a single recorded commit) compares nothing: no change, no verdict.
    let single = s.iter().filter(|(_, p)| p.median_ns.is_some()).count() < 2;
    let change = match (first.median_ns, last.median_ns) {
        (Some(a), Some(b)) if a > 0.0 && !single => Some(b / a - 1.0),
        _ => None,
    };
    // Accepted changes are intended: the verdict is the net of the others.
    let net = changes
        .iter()
        .filter(|c| !c.accepted)
        .map(|c| 1.0 + c.step)
        .product::<f64>()
        - 1.0;
    let verdict = if s.is_empty() {
        NEVER_MEASURED
    } else if single {
        SINGLE_POINT
    } else if changes.iter().all(|c| c.accepted) || net.abs() < threshold {
        "unchanged"
    } else if net > 0.0 {
        "regressed"
    } else {
        "improved"
    };
    let budget_ns = (newest.budget_ns > 0).then_some(newest.budget_ns);
    let budget = crate::vocab::marks::BudgetMark {
        status: newest.status,
        budget_ns: newest.budget_ns,
        p95_ns: newest.p95_ns,
    }
    .to_string();
    let budget_status = match (newest.status, budget_ns) {
        (Status::Failed, _) => "failed",
        (Status::OverBudget, _) => "over",
        (_, None) => "none",
        (_, Some(_)) => "ok",
    };
    let headroom = match (budget_ns, newest.p95_ns) {
        (Some(b), Some(p95)) => Some(1.0 - p95 / b as f64),
        _ => None,
    };
    let change_points: Vec<ChangeReport> = changes
        .iter()
        .map(|c| ChangeReport {
            commit: commits[s[c.index].0].clone(),
            step: c.step,
            before_ns: c.before,
            after_ns: c.after,
            p: c.p,
            p_adjusted: c.p_adjusted,
            accepted: c
                .accepted
                .then(|| {
                    // The newest acceptance that starts this level.
                    accepted_at
                        .iter()
                        .rev()
                        .find(|(at, _)| *at == c.index)
                        .map(|(_, a)| AcceptedNote {
                            reason: a.reason.clone(),
                            pattern: a.pattern.clone(),
                            author: a.author.clone(),
                        })
                })
                .flatten(),
        })
        .collect();
    let points: Vec<SeriesPoint> = s
        .iter()
        .filter_map(|(i, p)| {
            Some(SeriesPoint {
                commit: commits[*i].short.clone(),
                position: *i,
                median_ns: p.median_ns?,
                p95_ns: p.p95_ns,
            })
        })
        .collect();
    // The change points' indexes are into the series, whose points all have a median.
    let marked: Vec<ChangeAt> = changes
        .iter()
        .filter_map(|c| {
            Some(ChangeAt {
                index: c.index,
                commit: commits.get(s.get(c.index)?.0)?,
            })
        })
        .collect();
    let chart = chart(&points, &marked, budget_ns, commits, commit_url);
    let any_accepted = changes.iter().any(|c| c.accepted);
    Some((
        WorkloadReport {
            kind: if last.kind.is_empty() {
                "command".into()
            } else {
                last.kind.to_string()
            },
            points: points.len(),
            first: first_level,
            last: last_level,
            change,
            verdict,
            threshold,
            budget_status,
            budget,
            budget_ns,
            headroom,
            change_points,
            load: loads.get(&name).map(|(i, l)| {
                // As stored by this version; a record from elsewhere may hold more.
                let l = l.thinned(STORED_SECONDS);
                LoadDetail {
                    commit: commits[*i].short.clone(),
                    findings: super::load::findings(&l),
                    chart: latency_chart(
                        &l.series,
                        &l.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                    ),
                    report: l,
                }
            }),
            name,
            series: points,
            chart: Some(chart),
        },
        any_accepted,
    ))
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
        r.workloads.iter_mut().for_each(|w| {
            w.chart = None;
            if let Some(l) = w.load.as_mut() {
                l.chart = None;
            }
        });
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
    env.add_filter("md", |s: &str| super::escape::markdown(s));
    // `{{ commits | counted("commit") }}`: `1 commit`, `2 commits`.
    env.add_filter("counted", |n: usize, word: &str| plural(n, word));
    // Control characters from a record (escape sequences, bells) shown escaped, as `show` does.
    env.add_filter("shown", |s: &str| super::escape::terminal(s).into_owned());
    env.add_filter("errors", |errors: Value, requests: u64| -> String {
        let total = ["connect", "timeout", "other"]
            .iter()
            .filter_map(|k| errors.get_attr(k).ok().and_then(|v| u64::try_from(v).ok()))
            .sum::<u64>()
            + errors
                .get_attr("status")
                .ok()
                .and_then(|m| m.try_iter().ok().map(|keys| (m.clone(), keys)))
                .map_or(0, |(m, keys)| {
                    keys.filter_map(|k| m.get_item(&k).ok().and_then(|v| u64::try_from(v).ok()))
                        .sum()
                });
        if requests == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}%", 100.0 * total as f64 / requests as f64)
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::load::{Figures, StageReport, ThresholdOutcome};

    fn point(workload: &str, median: f64) -> Point {
        Point {
            key: "k".into(),
            run_id: "r".into(),
            time: "t".into(),
            machine: "m".into(),
            host: "".into(),
            dirty: false,
            workload: workload.into(),
            status: Status::Passed,
            n: 10,
            median_ns: Some(median),
            p90_ns: None,
            p95_ns: None,
            cpu_median_ns: None,
            max_rss_bytes: None,
            rss_floor_bytes: 0,
            growth: None,
            throughput: None,
            p99_ns: None,
            budget_ns: 0,
            kind: "command".into(),
            rps: None,
        }
    }

    /// `n` commits, `commit 0` to `commit n-1`, with ids of their numbers.
    fn commits(n: usize) -> Vec<CommitInfo> {
        (0..n)
            .map(|i| CommitInfo {
                id: format!("{i:040}"),
                short: format!("{i:010}"),
                subject: format!("commit {i}"),
                author: "a".into(),
                // 2026-01-01, a commit an hour.
                time_unix: 1_767_225_600 + i as i64 * 3600,
            })
            .collect()
    }

    #[test]
    fn a_step_at_an_accepted_commit_is_accepted_and_later_steps_start_from_it() {
        // Both workloads step up 30 % at commit 15; `parse` accepted it there and steps up
        // 10 % more at commit 30, judged from the accepted level.
        let commits = commits(45);
        let mut points = Vec::new();
        for i in 0..45 {
            // A little alternation, so that the values are not all tied.
            let wobble = if i % 2 == 0 { 1.0 } else { 1.004 };
            let level = |step_at_30: f64| match i {
                0..15 => 100.0,
                15..30 => 130.0,
                _ => 130.0 * step_at_30,
            };
            points.push((i, point("parse", level(1.1) * wobble)));
            points.push((i, point("render", level(1.0) * wobble)));
        }
        let acceptance = Acceptance {
            schema: 1,
            id: "01".into(),
            commit: commits[15].id.clone(),
            pattern: "pars*".into(),
            reason: "tables built up front".into(),
            author: "Ann <ann@example.com>".into(),
            time_unix: 0,
            source: crate::vocab::AcceptanceSource::Command,
        };
        let threshold = |_: &str| 0.02;
        let report = build(Input {
            from_rev: "a".into(),
            to_rev: "b".into(),
            from_label: "a".into(),
            to_label: "b".into(),
            commit_url: None,
            commits,
            points: points.iter().map(|(i, p)| (*i, p)).collect(),
            machine: "m".into(),
            machine_note: "n".into(),
            threshold: &threshold,
            loads: BTreeMap::new(),
            accepted: vec![(15, acceptance)],
            order: Default::default(),
        });
        let parse = &report.workloads[0];
        assert_eq!(parse.name, "parse");
        assert_eq!(parse.change_points.len(), 2, "{:?}", parse.change_points);
        let first = &parse.change_points[0];
        assert_eq!(first.commit.subject, "commit 15");
        assert_eq!(
            first.accepted.as_ref().map(|a| a.reason.as_str()),
            Some("tables built up front")
        );
        let second = &parse.change_points[1];
        assert_eq!(second.commit.subject, "commit 30");
        assert!(second.accepted.is_none());
        assert!((second.before_ns / 130.0 - 1.0).abs() < 0.01, "{second:?}");
        // Only the unaccepted +10 % counts.
        assert_eq!(parse.verdict, "regressed");
        let other = &report.workloads[1];
        assert_eq!(other.change_points.len(), 1);
        assert!(other.change_points[0].accepted.is_none());
        assert_eq!(other.verdict, "regressed");
        assert_eq!(report.summary.accepted, 1);
        assert_eq!(report.accepted.len(), 1);
        assert_eq!(report.accepted[0].workloads, vec!["parse".to_owned()]);
        assert_eq!(report.accepted[0].commit.subject, "commit 15");
        let md = render(&report, Format::Markdown, None).unwrap();
        assert!(md.contains("tables built up front"), "{md}");
        let html = render(&report, Format::Html, None).unwrap();
        assert!(html.contains("<h2>Accepted changes</h2>"), "{html}");
        assert!(
            html.contains("Ann &lt;ann@example.com&gt;: tables built up front"),
            "{html}"
        );
    }

    #[test]
    fn a_workload_with_one_point_has_no_change_and_no_verdict_in_any_format() {
        let commits = commits(3);
        // `parse` was recorded at two commits, `render` at the last one only.
        let points = [
            (0, point("parse", 100.0)),
            (2, point("parse", 100.0)),
            (2, point("render", 50.0)),
        ];
        let threshold = |_: &str| 0.02;
        let report = build(Input {
            from_rev: "a".into(),
            to_rev: "b".into(),
            from_label: "a".into(),
            to_label: "b".into(),
            commit_url: None,
            commits,
            points: points.iter().map(|(i, p)| (*i, p)).collect(),
            machine: "m".into(),
            machine_note: "n".into(),
            threshold: &threshold,
            loads: BTreeMap::new(),
            accepted: vec![],
            order: Default::default(),
        });
        let (parse, render_) = (&report.workloads[0], &report.workloads[1]);
        assert_eq!((parse.verdict, parse.change), ("unchanged", Some(0.0)));
        assert_eq!(render_.name, "render");
        assert_eq!((render_.verdict, render_.change), (SINGLE_POINT, None));
        assert_eq!(report.summary.unchanged, 1);
        assert_eq!(report.summary.single_point, 1);
        let md = render(&report, Format::Markdown, None).unwrap();
        let row = md.lines().find(|l| l.starts_with("| render |")).unwrap();
        assert!(
            row.starts_with("| render | one point | 50.0 ns | 50.0 ns | - |"),
            "{row}"
        );
        let html = render(&report, Format::Html, None).unwrap();
        assert!(html.contains(">one point</small>"), "{html}");
        let json = render(&report, Format::Json, None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["workloads"][1]["verdict"], "single-point");
        assert!(v["workloads"][1]["change"].is_null());
    }

    /// `parse` at 1 ms up to commit 20 of 40, then 2 ms; ends labelled `v1.0` and `abc1234`.
    fn stepped(commit_url: Option<&str>, n: usize) -> Report {
        let points: Vec<(usize, Point)> = (0..n)
            .map(|i| {
                let wobble = if i % 2 == 0 { 1.0 } else { 1.004 };
                let level = if i < 20 { 1e6 } else { 2e6 };
                (i, point("parse", level * wobble))
            })
            .collect();
        let mut commits = commits(n);
        if let Some(c) = commits.get_mut(20) {
            c.subject = "cache <everything> & more, in a rather long subject".into();
        }
        let threshold = |_: &str| 0.02;
        build(Input {
            from_rev: "v1.0".into(),
            to_rev: "HEAD".into(),
            from_label: "v1.0".into(),
            to_label: "abc1234".into(),
            commit_url: commit_url.map(str::to_owned),
            commits,
            points: points.iter().map(|(i, p)| (*i, p)).collect(),
            machine: "m".into(),
            machine_note: "n".into(),
            threshold: &threshold,
            loads: BTreeMap::new(),
            accepted: vec![],
            order: Default::default(),
        })
    }

    #[test]
    fn the_html_report_labels_its_range_axes_and_change_points() {
        let url = "https://github.com/o/r/commit/";
        let report = stepped(Some(url), 40);
        let html = render(&report, Format::Html, None).unwrap();
        assert!(
            html.contains("<h1>Performance report: v1.0 → abc1234</h1>"),
            "{html}"
        );
        assert!(html.contains("<p class=\"meta\">40 commits on"), "{html}");
        // Durations on the y axis, commits (40 hours: dated) on the x axis, and the caption.
        for tick in [
            ">1.0 ms</text>",
            ">1.5 ms</text>",
            ">2.0 ms</text>",
            ">2026-01-01</text>",
            ">2026-01-02</text>",
        ] {
            assert!(html.contains(tick), "{tick}: {html}");
        }
        assert!(html.contains("commit date (UTC)"), "{html}");
        // The change point: its short id and subject (shortened, escaped) on the chart, the
        // whole subject in its title, a link to it on the chart and in the list.
        let link = format!("{url}{:040}", 20).replace('/', "&#x2f;");
        assert!(html.contains(&format!("<a href=\"{link}\"><g><title>0000000020 cache &lt;everything&gt; &amp; more, in a rather long subject</title>")), "{html}");
        assert!(
            html.contains(">0000000020 cache &lt;everything&gt; &amp;…</text>"),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "at <a href=\"{link}\"><code>0000000020</code></a>"
            )),
            "{html}"
        );
        let md = render(&report, Format::Markdown, None).unwrap();
        assert!(
            md.starts_with("# Performance report: v1.0 → abc1234\n"),
            "{md}"
        );
        assert!(
            md.contains(&format!("at [`0000000020`]({url}{:040}) cache", 20)),
            "{md}"
        );
        // Without a known forge: no link anywhere.
        let report = stepped(None, 40);
        for format in [Format::Html, Format::Markdown] {
            let text = render(&report, format, None).unwrap();
            assert!(
                !text.contains("href") && !text.contains("]("),
                "{format:?}: {text}"
            );
        }
    }

    #[test]
    fn one_commit_is_one_commit() {
        let report = stepped(None, 1);
        let html = render(&report, Format::Html, None).unwrap();
        assert!(html.contains("<p class=\"meta\">1 commit on"), "{html}");
        let md = render(&report, Format::Markdown, None).unwrap();
        assert!(md.contains("\n1 commit on the first-parent path"), "{md}");
    }

    #[test]
    fn the_hosts_of_a_machine_class_are_counted_by_commit() {
        let at = |commit: usize, host: &str| {
            (
                commit,
                Point {
                    run_id: format!("r{commit}{host}").into(),
                    machine: "ci-4core".into(),
                    host: host.into(),
                    ..point("w", 1.0)
                },
            )
        };
        // Runner b recorded commits 1 and 2 (twice at 2), a only 0, and an old record has none.
        let points = [at(0, "a"), at(1, "b"), at(2, "b"), at(2, "b"), at(3, "")];
        let hosts: Vec<(String, usize)> =
            hosts(&points.iter().map(|(i, p)| (*i, p)).collect::<Vec<_>>())
                .into_iter()
                .map(|h| (h.host, h.commits))
                .collect();
        assert_eq!(
            hosts,
            [("b".into(), 2), ("a".into(), 1), ("unknown".into(), 1)]
        );
    }

    #[test]
    fn control_characters_from_a_load_record_are_shown_escaped() {
        let hostile = "x\u{1b}[31mred\u{7}";
        let point = Point {
            key: "k".into(),
            run_id: "r".into(),
            time: "t".into(),
            machine: "m".into(),
            host: format!("cpu {hostile}").into(),
            dirty: false,
            workload: format!("load {hostile}").into(),
            status: Status::Passed,
            n: 10,
            median_ns: Some(1e6),
            p90_ns: Some(1.8e6),
            p95_ns: Some(2e6),
            cpu_median_ns: None,
            max_rss_bytes: None,
            rss_floor_bytes: 0,
            growth: None,
            throughput: None,
            p99_ns: None,
            budget_ns: 0,
            kind: "load".into(),
            rps: Some(10.0),
        };
        let report = LoadReport {
            profile: format!("load{hostile}"),
            model: "open".into(),
            overall: Figures::default(),
            stages: vec![StageReport {
                name: format!("stage {hostile}"),
                start: 0.0,
                figures: Figures::default(),
                requests: Default::default(),
            }],
            series: vec![],
            thresholds: vec![ThresholdOutcome {
                expr: format!("p(95) {hostile} < 1s"),
                level: "critical".into(),
                stage: None,
                actual: format!("1 ms{hostile}"),
                held: true,
            }],
            stress: None,
            spike: None,
            soak: None,
            warnings: vec![],
            aborted: None,
            service: None,
        };
        let commit = CommitInfo {
            id: "c".repeat(40),
            short: "cccccccccc".into(),
            subject: format!("subject {hostile}"),
            author: "a".into(),
            time_unix: 0,
        };
        let threshold = |_: &str| 0.05;
        let built = build(Input {
            from_rev: "a".into(),
            to_rev: "b".into(),
            from_label: "a".into(),
            to_label: "b".into(),
            commit_url: None,
            commits: vec![commit],
            points: vec![(0, &point)],
            machine: "m".into(),
            machine_note: "n".into(),
            threshold: &threshold,
            loads: [(point.workload.to_string(), (0, report))]
                .into_iter()
                .collect(),
            accepted: vec![],
            order: Default::default(),
        });
        for format in [Format::Html, Format::Markdown] {
            let text = render(&built, format, None).unwrap();
            assert!(!text.contains('\u{1b}'), "{format:?}: {text}");
            assert!(!text.contains('\u{7}'), "{format:?}: {text}");
        }
        let html = render(&built, Format::Html, None).unwrap();
        assert!(html.contains("stage x\\u{1b}[31mred\\u{7}"), "{html}");
    }
}
