//! Accepted changes applied to a gate's verdicts: a regression or a budget breach that an
//! acceptance on the path to the candidate covers is intended, so it is shown as `accepted`
//! with its reason and does not fail the gate. A failed run is never covered (a crash is not a
//! change of speed), nor is a raised growth exponent.

use super::{GateResult, GateVerdict};
use crate::vocab::Acceptance;

/// Marks each result that one of `acceptances` covers (the first that does: pass them newest
/// first) and that would otherwise fail the gate for its speed or its budget. Returns the
/// acceptances that name no workload of `results` at all, for a warning.
pub fn apply_acceptances(
    results: &mut [GateResult],
    acceptances: &[Acceptance],
) -> Vec<Acceptance> {
    let mut used = vec![false; acceptances.len()];
    for r in results.iter_mut() {
        // A load workload's verdicts are named `serve: p95`; its acceptance names `serve`.
        let names = [
            Some(r.candidate.workload.name.as_str()),
            r.candidate.workload.load().map(|l| l.spec.name.as_str()),
        ];
        let covering = acceptances
            .iter()
            .enumerate()
            .filter(|(_, a)| names.iter().flatten().any(|n| a.covers(n)))
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        for &i in &covering {
            used[i] = true;
        }
        let Some(&first) = covering.first() else {
            continue;
        };
        let covered = r.verdict == GateVerdict::Regressed
            || (r.candidate.budget.is_over()
                && r.candidate.failure.is_none()
                && r.verdict != GateVerdict::Failed);
        if covered {
            r.verdict = GateVerdict::Accepted;
            r.accepted = Some(acceptances[first].clone());
        }
    }
    acceptances
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(a, _)| a.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::tests::result;
    use crate::stats::{Comparison, Interval};
    use crate::vocab::{AcceptanceSource, Metric};

    fn acceptance(pattern: &str, reason: &str) -> Acceptance {
        Acceptance {
            schema: 1,
            id: "0000000000000001".into(),
            commit: "c".repeat(40),
            pattern: pattern.into(),
            reason: reason.into(),
            author: "A <a@example.com>".into(),
            time_unix: 0,
            source: AcceptanceSource::Command,
        }
    }

    fn slower() -> Comparison {
        Comparison {
            base_median: 100.0,
            new_median: 150.0,
            ratio: 1.5,
            ci: Interval {
                lower: 1.4,
                upper: 1.6,
                level: 0.95,
            },
            p: 0.001,
            p_adjusted: 0.001,
        }
    }

    #[test]
    fn a_covered_regression_is_accepted_and_passes_others_are_left_alone() {
        let mut results = vec![
            result("parse/large", Metric::Wall, slower()),
            result("parse/small", Metric::Wall, slower()),
            result("analyse", Metric::Wall, slower()),
        ];
        for r in &mut results {
            r.verdict = GateVerdict::Regressed;
        }
        results[1].verdict = GateVerdict::Unchanged;
        let acceptances = [
            acceptance("parse/*", "new parser"),
            acceptance("parse/large", "older, shadowed"),
            acceptance("render", "names nothing"),
        ];
        let unused = apply_acceptances(&mut results, &acceptances);
        assert_eq!(results[0].verdict, GateVerdict::Accepted);
        assert_eq!(
            results[0].accepted.as_ref().map(|a| a.reason.as_str()),
            Some("new parser")
        );
        assert!(!results[0].fails(true));
        // Covered but not regressed: nothing to accept.
        assert_eq!(results[1].verdict, GateVerdict::Unchanged);
        assert!(results[1].accepted.is_none());
        // Not covered: still fails.
        assert_eq!(results[2].verdict, GateVerdict::Regressed);
        assert!(results[2].fails(false));
        assert_eq!(unused, vec![acceptances[2].clone()]);
    }

    #[test]
    fn a_failed_run_is_never_accepted() {
        let mut results = vec![result("parse", Metric::Wall, slower())];
        results[0].verdict = GateVerdict::Failed;
        let unused = apply_acceptances(&mut results, &[acceptance("*", "anything")]);
        assert!(unused.is_empty());
        assert_eq!(results[0].verdict, GateVerdict::Failed);
        assert!(results[0].fails(false));
    }
}
