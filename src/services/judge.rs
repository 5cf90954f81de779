//! Judging one commit against the good one for `bisect`: from a stored record that decides it
//! (instructions, exact), or built and measured interleaved with the good commit as `check`
//! does; a commit that does not build is a skip, the tool's own errors stay errors.

use anyhow::{Context, Result};

use super::sides::{
    CountingSetup, Selection, Side, SideError, Sides, counts_in_records, measure_sides,
};
use crate::cli::GlobalOpts;
use crate::config::Config;
use crate::discover::Workload;
use crate::errors::WorkspaceError;
use crate::gate::bisect::Judgement;
use crate::gate::{ALPHA, GateResult, GateVerdict};
use crate::report::Progress;
use crate::report::bisect::{CommitInfo, Source, Visit, change_text};
use crate::stats::{compare_exact, decide};
use crate::store::{Repo, short};
use crate::vocab::Counts;
use crate::workspace::Workspace;

/// Judges commits against the good one.
pub(super) struct Judge<'a> {
    pub(super) global: &'a GlobalOpts,
    pub(super) ws: &'a Workspace,
    pub(super) repo: &'a Repo,
    pub(super) config: &'a Config,
    pub(super) good: String,
    /// The good commit's counted instructions (instructions metric), stored or measured.
    pub(super) good_counts: Option<Counts>,
    /// With the instructions metric: the toolchain and valgrind that stored counts must match.
    pub(super) setup: Option<CountingSetup>,
    pub(super) selection: Selection,
    pub(super) workload: Workload,
    pub(super) threshold: f64,
    pub(super) progress: Progress,
}

impl Judge<'_> {
    pub(super) fn say(&self, line: &str) {
        if !self.global.quiet {
            eprintln!("{}", crate::report::escape::terminal(line));
        }
    }

    /// The workload's counts in a stored record of `commit` that can stand for counting it.
    pub(super) fn stored(&self, commit: &str) -> Result<Option<(String, Counts)>> {
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
    pub(super) fn by_record(&self, commit: &CommitInfo) -> Result<Option<Visit>> {
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
    pub(super) fn measure(&mut self, commit: CommitInfo) -> Result<Visit> {
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
            Ok((results, ..)) => results,
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
pub(super) fn judgement_of(verdict: GateVerdict) -> Judgement {
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
    use super::*;

    #[test]
    fn verdicts_steer_the_search() {
        assert_eq!(judgement_of(GateVerdict::Regressed), Judgement::Bad);
        assert_eq!(judgement_of(GateVerdict::Improved), Judgement::Good);
        assert_eq!(judgement_of(GateVerdict::Unchanged), Judgement::Good);
        assert_eq!(judgement_of(GateVerdict::Inconclusive), Judgement::Skip);
        assert_eq!(judgement_of(GateVerdict::Failed), Judgement::Skip);
    }
}
