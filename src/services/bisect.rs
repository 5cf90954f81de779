//! `bisect`: the first commit on a first-parent path where one workload regressed against the
//! good commit. Each commit the search visits is built and measured interleaved with the good
//! one by the machinery of `check` (`sides::measure_sides`: the same worktrees, cached target
//! dirs and statistics); with the instructions metric, stored counts decide first.

use anyhow::{Context, Result, bail};

use super::sides::{
    CountingSetup, Selection, Side, SideError, Sides, counts_in_records, measure_sides,
};
use crate::cli::{GlobalOpts, PackageArgs, SamplingArgs};
use crate::config::Config;
use crate::discover::Workload;
use crate::errors::{WorkspaceError, exit_codes};
use crate::gate::bisect::{Bisection, Found, Judgement};
use crate::gate::{ALPHA, GateResult, GateVerdict};
use crate::report::bisect::{BisectReport, CommitInfo, Outcome, Source, Visit, change_text};
use crate::report::{Progress, ProgressMode};
use crate::stats::{compare_exact, decide};
use crate::store::{Repo, short};
use crate::vocab::Counts;
use crate::workspace::Workspace;

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
            filter: None,
            threshold: request.threshold,
            packages: request.packages.clone(),
            stored_base: true,
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

/// Judges commits against the good one.
struct Judge<'a> {
    global: &'a GlobalOpts,
    ws: &'a Workspace,
    repo: &'a Repo,
    config: &'a Config,
    good: String,
    /// The good commit's counted instructions (instructions metric), stored or measured.
    good_counts: Option<Counts>,
    /// With the instructions metric: the toolchain and valgrind that stored counts must match.
    setup: Option<CountingSetup>,
    selection: Selection,
    workload: Workload,
    threshold: f64,
    progress: Progress,
}

impl Judge<'_> {
    fn say(&self, line: &str) {
        if !self.global.quiet {
            eprintln!("{}", crate::report::escape::terminal(line));
        }
    }

    /// The workload's counts in a stored record of `commit` that can stand for counting it.
    fn stored(&self, commit: &str) -> Result<Option<(String, Counts)>> {
        let Some(setup) = &self.setup else {
            return Ok(None);
        };
        let found = counts_in_records(
            self.ws,
            self.repo,
            self.config,
            setup,
            commit,
            std::slice::from_ref(&self.workload),
        )?;
        Ok(found
            .ok()
            .and_then(|s| Some((s.run_id, *s.counts.get(&self.workload.name)?))))
    }

    /// The verdict a stored record of `commit` gives, exactly, when the workload counts
    /// instructions and both the good commit's counts and such a record are at hand.
    fn by_record(&self, commit: &CommitInfo) -> Result<Option<Visit>> {
        let Some(good) = self
            .good_counts
            .filter(|_| self.workload.sampling.metric.is_exact())
        else {
            return Ok(None);
        };
        let Some((run_id, counts)) = self.stored(&commit.commit)? else {
            return Ok(None);
        };
        let comparison = compare_exact(good.instructions as f64, counts.instructions as f64);
        let verdict: GateVerdict =
            decide(&comparison.ci, comparison.p, self.threshold, ALPHA).into();
        self.say(&format!(
            "{} {}: {verdict} from its stored record {run_id} ({}), not built",
            short(&commit.commit),
            commit.subject,
            change_text(self.workload.sampling.metric, &comparison),
            verdict = verdict.as_str()
        ));
        Ok(Some(Visit {
            commit: commit.clone(),
            verdict: Some(verdict),
            judgement: judgement_of(verdict),
            source: Source::Record(run_id),
            comparison: Some(comparison),
            rounds: 0,
            note: None,
        }))
    }

    /// Builds `commit` and measures it interleaved with the good commit.
    fn measure(&mut self, commit: CommitInfo) -> Result<Visit> {
        let sides = Sides {
            base: Side::Commit(self.good.clone()),
            candidate: Side::Commit(commit.commit.clone()),
        };
        let measured = measure_sides(
            self.global,
            self.ws,
            self.repo,
            self.config,
            vec![self.workload.clone()],
            &sides,
            &self.selection,
            &mut self.progress,
        );
        let results = match measured {
            Ok((results, _)) => results,
            Err(e) if not_built(&e) => {
                return Ok(Visit {
                    commit,
                    verdict: None,
                    judgement: Judgement::Skip,
                    source: Source::NotBuilt,
                    comparison: None,
                    rounds: 0,
                    note: Some(format!("does not build: {e:#}")),
                });
            }
            Err(e) => {
                let is_good_side = e.downcast_ref::<SideError>().is_some_and(|s| !s.candidate);
                return Err(if is_good_side {
                    e.context(format!(
                        "the good commit {} cannot be built; give a --good that builds",
                        short(&self.good)
                    ))
                } else {
                    e
                });
            }
        };
        let result = results
            .into_iter()
            .find(|r| r.candidate.workload.name == self.workload.name)
            .with_context(|| format!("the check of {} gave no result", self.workload.name))?;
        if self.good_counts.is_none() {
            self.good_counts = result.base.counts;
        }
        Ok(visit_of(commit, &result))
    }
}

/// How a measured verdict steers the search.
fn judgement_of(verdict: GateVerdict) -> Judgement {
    match verdict {
        GateVerdict::Regressed => Judgement::Bad,
        GateVerdict::Unchanged | GateVerdict::Improved => Judgement::Good,
        _ => Judgement::Skip,
    }
}

/// A commit's visit from its gate result, with why it was skipped.
fn visit_of(commit: CommitInfo, r: &GateResult) -> Visit {
    let judgement = judgement_of(r.verdict);
    let note = match r.verdict {
        GateVerdict::Inconclusive => Some(format!(
            "inconclusive after {} rounds, the workload's caps ({}); a larger time_cap or \
             max_runs (perf.toml, or --time-cap and --max-runs), or --threshold, would decide it",
            r.candidate.samples.len(),
            r.comparison
                .as_ref()
                .map(|c| change_text(r.metric, c))
                .unwrap_or_else(|| "no comparison".into())
        )),
        GateVerdict::Failed => Some(format!(
            "the workload failed: {}",
            r.candidate
                .failure
                .as_ref()
                .map(|f| f.reason.as_str())
                .unwrap_or("no reason given")
        )),
        GateVerdict::Added => Some("the good commit cannot run the workload".into()),
        _ => None,
    };
    Visit {
        commit,
        verdict: Some(r.verdict),
        judgement,
        source: Source::Measured,
        comparison: r.comparison.clone(),
        rounds: r.candidate.samples.len(),
        note,
    }
}

/// Whether the error is the candidate commit's own: its manifest does not read or cargo failed
/// on it (skipped, as `git bisect skip` would), rather than the tool's (cargo cannot be
/// started, a signal, no cache folder).
fn not_built(e: &anyhow::Error) -> bool {
    let candidate = e.downcast_ref::<SideError>().is_some_and(|s| s.candidate);
    let tool = matches!(
        e.downcast_ref::<WorkspaceError>(),
        Some(
            WorkspaceError::Spawn { .. }
                | WorkspaceError::Interrupted(_)
                | WorkspaceError::Cache(_)
                | WorkspaceError::Git(_)
        )
    );
    candidate && !tool && crate::interrupt::interrupted().is_none()
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

    #[test]
    fn verdicts_steer_the_search() {
        assert_eq!(judgement_of(GateVerdict::Regressed), Judgement::Bad);
        assert_eq!(judgement_of(GateVerdict::Improved), Judgement::Good);
        assert_eq!(judgement_of(GateVerdict::Unchanged), Judgement::Good);
        assert_eq!(judgement_of(GateVerdict::Inconclusive), Judgement::Skip);
        assert_eq!(judgement_of(GateVerdict::Failed), Judgement::Skip);
    }
}
