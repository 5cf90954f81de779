//! `bisect`: the first commit on a first-parent path where one workload regressed against the
//! good commit. Each commit the search visits is built and measured interleaved with the good
//! one by the machinery of `check` (`sides::measure_sides`: the same worktrees, cached target
//! dirs and statistics); with the instructions metric, stored counts decide first.

use anyhow::{Result, bail};

use super::judge::Judge;
use super::sides::{CountingSetup, Selection};
use crate::cli::{GlobalOpts, PackageArgs, SamplingArgs};
use crate::config::Config;
use crate::discover::Workload;
use crate::errors::exit_codes;
use crate::gate::GateVerdict;
use crate::gate::bisect::{Bisection, Found, Judgement};
use crate::report::bisect::{BisectReport, CommitInfo, Outcome, change_text};
use crate::report::{Progress, ProgressMode};
use crate::store::{Repo, short};

/// What to bisect, as the command line gave it.
pub struct Request<'a> {
    /// A workload's name, or text only its name contains.
    pub workload: &'a str,
    pub good: &'a str,
    pub bad: &'a str,
    pub threshold: Option<f64>,
    pub sampling: &'a SamplingArgs,
    pub packages: &'a PackageArgs,
}

/// Searches the first-parent path from `good` (excluded) to `bad` for the first commit where
/// the workload regressed.
pub fn bisect(global: &GlobalOpts, request: &Request) -> Result<BisectReport> {
    let (ws, mut config, workloads) =
        super::load::load_commands(global, request.sampling, request.packages)?;
    let workload = choose(workloads, request.workload, &config)?;
    if workload.bins().next().is_none() && !global.quiet {
        eprintln!(
            "warning: `{}` names no {{bin:NAME}} of the workspace: every commit runs the same \
             command, so no commit can differ from another; name the program under test with \
             {{bin:NAME}} in perf.toml",
            workload.name
        );
    }
    // Only the chosen command workload is measured: no bench target is built on any commit.
    config.criterion.enabled = false;
    let repo = Repo::discover(&ws.root)?;
    let good = repo.resolve(request.good)?;
    let bad = repo.resolve(request.bad)?;
    let path = first_parent_path(&repo, &good, &bad, request)?;
    let info = |c: &str| CommitInfo {
        commit: c.to_owned(),
        subject: repo.subject(c),
    };
    let threshold = request.threshold.unwrap_or(workload.threshold);
    let metric = workload.sampling.metric;
    let mut judge = Judge {
        global,
        ws: &ws,
        repo: &repo,
        config: &config,
        good: good.clone(),
        good_counts: None,
        setup: if metric.is_exact() {
            Some(CountingSetup::current()?)
        } else {
            None
        },
        selection: Selection {
            partition: None,
            filter: None,
            threshold: request.threshold,
            packages: request.packages.clone(),
            stored_base: true,
            explain: Default::default(),
        },
        workload,
        threshold,
        progress: Progress::new(ProgressMode::for_stderr(global.quiet)),
    };
    let mut report = BisectReport {
        workload: judge.workload.name.clone(),
        metric,
        threshold,
        good: info(&good),
        bad: info(&bad),
        commits: path.len(),
        outcome: Outcome::Undecided,
        first_bad: None,
        candidates: Vec::new(),
        visits: Vec::new(),
        conclusion: String::new(),
        exit_code: exit_codes::TOOL_ERROR,
    };
    if metric.is_exact() {
        judge.good_counts = judge.stored(&good)?.map(|(_, counts)| counts);
    }
    // The bad end first: is there a regression to look for?
    let mut search = Bisection::new(path.len());
    let total = |search: &Bisection, done: usize| done + 1 + search.steps_left();
    let confirm = match judge.by_record(&info(&bad))? {
        Some(visit) => visit,
        None => {
            judge.say(&format!(
                "[1/{}] measuring the bad commit {} {} against good {}",
                total(&search, 0),
                short(&bad),
                report.bad.subject,
                short(&good)
            ));
            judge.measure(info(&bad))?
        }
    };
    let confirmed = confirm.judgement;
    report.visits.push(confirm);
    match confirmed {
        Judgement::Bad => {}
        Judgement::Good => {
            let v = &report.visits[0];
            report.outcome = Outcome::NoRegression;
            report.exit_code = exit_codes::OK;
            report.conclusion = format!(
                "No regression between {} and {}: the bad commit is {} against the good one ({}).",
                short(&good),
                short(&bad),
                v.verdict.map_or("not judged", GateVerdict::as_str),
                v.comparison
                    .as_ref()
                    .map(|c| change_text(metric, c))
                    .unwrap_or_else(|| "-".into())
            );
            return Ok(report);
        }
        Judgement::Skip => {
            report.conclusion = format!(
                "Cannot decide: the bad commit {} could not be judged against the good one: {}.",
                short(&bad),
                report.visits[0].note.as_deref().unwrap_or("not judged")
            );
            return Ok(report);
        }
    }
    // Stored records decide what they can before anything is built.
    if metric.is_exact() && judge.good_counts.is_some() {
        for (i, commit) in path.iter().enumerate().take(path.len() - 1) {
            if let Some(visit) = judge.by_record(&info(commit))? {
                search.judged(i + 1, visit.judgement);
                report.visits.push(visit);
            }
        }
    }
    let mut step = 1;
    // Each index is judged at most once, so this ends within the path's length.
    while let Some(index) = search.next() {
        step += 1;
        let commit = &path[index - 1];
        let commit_info = info(commit);
        judge.say(&format!(
            "[{step}/{}] measuring {} {} against good {}",
            total(&search, step - 1),
            short(commit),
            commit_info.subject,
            short(&good)
        ));
        let visit = judge.measure(commit_info)?;
        judge.say(&format!(
            "{}: {}",
            short(commit),
            match visit.judgement {
                Judgement::Bad => "bad".to_owned(),
                Judgement::Good => "good".to_owned(),
                Judgement::Skip => format!(
                    "skipped ({})",
                    visit.note.as_deref().unwrap_or("not judged")
                ),
            }
        ));
        search.judged(index, visit.judgement);
        report.visits.push(visit);
    }
    match search.found() {
        Found::First(index) => {
            let commit = &path[index - 1];
            report.first_bad = report
                .visits
                .iter()
                .position(|v| v.commit.commit == *commit);
            report.outcome = Outcome::Found;
            report.exit_code = exit_codes::OK;
            let v = report.first_bad.map(|i| &report.visits[i]);
            report.conclusion = format!(
                "The first bad commit is {} ({}): {}.",
                short(commit),
                repo.subject(commit),
                v.and_then(|v| v.comparison.as_ref())
                    .map(|c| change_text(metric, c))
                    .unwrap_or_else(|| "-".into())
            );
        }
        Found::Among(indices) => {
            report.candidates = indices.iter().map(|i| info(&path[i - 1])).collect();
            let shown: Vec<&str> = indices.iter().map(|i| short(&path[i - 1])).collect();
            report.conclusion = format!(
                "Cannot decide: the first bad commit is one of {}; the ones before the last \
                 could not be judged (see Skipped).",
                shown.join(", ")
            );
        }
    }
    Ok(report)
}

/// The one workload `wanted` names: its whole name, or text that only its name contains.
fn choose(workloads: Vec<Workload>, wanted: &str, config: &Config) -> Result<Workload> {
    let names: Vec<String> = workloads.iter().map(|w| w.name.clone()).collect();
    let mut matching: Vec<Workload> = match workloads.iter().position(|w| w.name == wanted) {
        Some(i) => workloads.into_iter().skip(i).take(1).collect(),
        None => workloads
            .into_iter()
            .filter(|w| w.name.contains(wanted))
            .collect(),
    };
    let workload = match matching.len() {
        1 => matching.remove(0),
        0 => bail!(
            "no workload of {} matches `{wanted}`; the workloads are: {} (bisect measures the \
             command workloads of perf.toml, not criterion benchmarks)",
            config.path.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ),
        n => bail!(
            "`{wanted}` matches {n} workloads: {}; bisect follows one: give its whole name",
            matching
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if workload.load().is_some() {
        bail!(
            "`{}` is a load workload; bisect measures command workloads (`[[workload]]` in {})",
            workload.name,
            config.path.display()
        );
    }
    Ok(workload)
}

/// The commits after `good` up to `bad` (included) along the first parents, oldest first.
fn first_parent_path(repo: &Repo, good: &str, bad: &str, request: &Request) -> Result<Vec<String>> {
    if good == bad {
        bail!(
            "--good {} and --bad {} are the same commit ({}); give a good commit older than the \
             bad one",
            request.good,
            request.bad,
            short(good)
        );
    }
    let walk = repo.first_parent(bad, usize::MAX)?;
    let Some(at) = walk.iter().position(|c| c == good) else {
        bail!(
            "--good {} ({}) is not a first-parent ancestor of --bad {} ({}): bisect walks the \
             first parents from the bad commit back to the good one; give a good commit on that \
             path (`git log --first-parent {}` lists it)",
            request.good,
            short(good),
            request.bad,
            short(bad),
            request.bad
        );
    };
    let mut path = walk[..at].to_vec();
    path.reverse();
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Sampling;
    use crate::vocab::Class;

    fn stored(name: &str) -> Workload {
        Workload::stored(
            name,
            Class::Small,
            Duration::from_secs(1),
            Sampling::default(),
        )
    }

    #[test]
    fn the_workload_is_named_whole_or_by_text_only_its_name_contains() {
        let config = crate::config::absent(
            std::path::Path::new("perf.toml"),
            std::path::Path::new("."),
            &Default::default(),
        );
        let all = || {
            vec![
                stored("parse/small"),
                stored("parse/large"),
                stored("parse"),
            ]
        };
        assert_eq!(choose(all(), "parse", &config).unwrap().name, "parse");
        assert_eq!(choose(all(), "large", &config).unwrap().name, "parse/large");
        let many = choose(all(), "parse/", &config).unwrap_err().to_string();
        assert!(
            many.contains("matches 2 workloads: parse/small, parse/large"),
            "{many}"
        );
        let none = choose(all(), "render", &config).unwrap_err().to_string();
        assert!(
            none.contains("no workload of perf.toml matches `render`")
                && none.contains("parse/small, parse/large, parse"),
            "{none}"
        );
    }
}
