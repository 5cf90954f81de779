//! An explanation in words, the same in every format of `check` and `compare`.

use crate::gate::GateResult;
use crate::vocab::units::format_count;
use crate::vocab::{Explanation, ExplanationKind, FunctionChange};

/// `+4.8%`.
fn pct(change: f64) -> String {
    format!("{:+.1}%", change * 100.0)
}

/// The verdict with the explanation of its change: `regressed (layout)`. An unchanged or
/// inconclusive verdict has no change to explain, so its explanation is only in the list.
pub fn verdict_cell(r: &GateResult) -> String {
    match &r.explanation {
        Some(e) if decided(r) => format!("{} ({})", r.verdict.as_str(), e.kind.as_str()),
        _ => r.verdict.as_str().to_owned(),
    }
}

/// `app::checksum +480.00 k (+24.0%)`.
fn function(f: &FunctionChange) -> String {
    let change = f.change();
    let share = if f.base == 0 {
        "new".to_owned()
    } else if f.new == 0 {
        "gone".to_owned()
    } else {
        pct(f.new as f64 / f.base as f64 - 1.0)
    };
    format!(
        "{} {}{} ({share})",
        f.name,
        if change >= 0 { "+" } else { "-" },
        format_count(change.unsigned_abs() as f64)
    )
}

/// The functions whose instructions changed most, or that none did.
fn functions(e: &Explanation) -> String {
    if e.functions.is_empty() {
        return "no function's instructions changed".into();
    }
    let named: Vec<String> = e.functions.iter().map(function).collect();
    format!("instructions by function: {}", named.join(", "))
}

/// The figures every explanation shows: the time and cachegrind's counts of both sides.
fn figures(e: &Explanation) -> String {
    format!(
        "time {}, instructions {} ({} → {}), estimated cycles {}, cache misses {}, branch misses {}",
        pct(e.time_change),
        pct_fine(e.instructions_change),
        format_count(e.base.instructions as f64),
        format_count(e.new.instructions as f64),
        pct(e.cycles_change),
        pct(e.cache_misses_change),
        pct(e.branch_misses_change)
    )
}

/// A change of instructions to a hundredth of a percent: 0.1 % decides between layout and work.
fn pct_fine(change: f64) -> String {
    format!("{:+.2}%", change * 100.0)
}

/// What the explanation says, in one line without the workload's name; `decided` when the
/// verdict was `regressed` or `improved`.
pub fn explanation_text(e: &Explanation, decided: bool) -> String {
    match e.kind {
        ExplanationKind::MoreWork => format!(
            "more work: the instructions changed with the time ({}); {}",
            figures(e),
            functions(e)
        ),
        ExplanationKind::Layout => format!(
            "code layout: the same instructions and cache misses ({}): {}, not from what it \
             does (alignment of hot loops, which other code shares their cache lines); a \
             per-workload `threshold` above {} or `metric = \"instructions\"` in perf.toml keeps \
             such changes from failing, and `[gate] layout = \"fail\"` fails on them{}",
            figures(e),
            if decided {
                "the change is real on this binary, but it comes from where its code landed"
            } else {
                "what the time did on this binary comes from where its code landed"
            },
            pct(e.time_change.abs()).trim_start_matches('+'),
            if e.excused {
                " (this one passes: `[gate] layout = \"warn\"`, the default)"
            } else {
                ""
            }
        ),
        ExplanationKind::Memory => format!(
            "memory: the same instructions, but the cache misses moved with the time ({}); {}",
            figures(e),
            functions(e)
        ),
        ExplanationKind::Unexplained => format!(
            "unexplained: the instructions did not move with the time, nor the cache misses \
             ({}); {}",
            figures(e),
            functions(e)
        ),
    }
}

/// `name: <explanation>`, for a result that has one.
pub fn explanation_line(r: &GateResult) -> Option<String> {
    let e = r.explanation.as_ref()?;
    Some(format!(
        "{}: {}",
        r.candidate.workload.name,
        explanation_text(e, decided(r))
    ))
}

/// Whether the verdict says the time changed.
pub fn decided(r: &GateResult) -> bool {
    matches!(
        r.verdict,
        crate::gate::GateVerdict::Regressed | crate::gate::GateVerdict::Improved
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::SideFigures;

    fn explanation(kind: ExplanationKind, excused: bool) -> Explanation {
        Explanation {
            kind,
            time_change: 0.05,
            instructions_change: 0.0002,
            cycles_change: 0.001,
            cache_misses_change: 0.0,
            branch_misses_change: -0.01,
            base: SideFigures {
                instructions: 44_851_290,
                ..SideFigures::default()
            },
            new: SideFigures {
                instructions: 44_851_387,
                ..SideFigures::default()
            },
            functions: vec![
                FunctionChange {
                    name: "app::checksum".into(),
                    base: 2_000_000,
                    new: 2_480_000,
                },
                FunctionChange {
                    name: "app::setup".into(),
                    base: 100,
                    new: 0,
                },
            ],
            excused,
        }
    }

    #[test]
    fn each_kind_says_what_it_found_with_the_figures() {
        let work = explanation_text(&explanation(ExplanationKind::MoreWork, false), true);
        assert!(work.starts_with("more work: "), "{work}");
        assert!(
            work.contains("app::checksum +480.00 k (+24.0%), app::setup -100 (gone)"),
            "{work}"
        );
        assert!(
            work.contains("instructions +0.02% (44.851 M → 44.851 M)"),
            "{work}"
        );
        let layout = explanation_text(&explanation(ExplanationKind::Layout, true), true);
        assert!(
            layout.starts_with("code layout: the same instructions"),
            "{layout}"
        );
        assert!(
            layout.contains("the change is real on this binary"),
            "{layout}"
        );
        assert!(layout.contains("time +5.0%"), "{layout}");
        assert!(layout.contains("`threshold` above 5.0%"), "{layout}");
        assert!(layout.contains("`metric = \"instructions\"`"), "{layout}");
        assert!(layout.contains("this one passes"), "{layout}");
        let failing = explanation_text(&explanation(ExplanationKind::Layout, false), false);
        assert!(!failing.contains("this one passes"), "{failing}");
        assert!(!failing.contains("the change is real"), "{failing}");
        let memory = explanation_text(&explanation(ExplanationKind::Memory, false), true);
        assert!(memory.starts_with("memory: "), "{memory}");
        let none = explanation_text(&explanation(ExplanationKind::Unexplained, false), true);
        assert!(none.contains("branch misses -1.0%"), "{none}");
    }

    #[test]
    fn only_a_decided_verdict_carries_its_explanation_in_its_cell() {
        use crate::gate::GateVerdict;
        let w = crate::discover::Workload::stored(
            "w",
            crate::vocab::Class::Small,
            std::time::Duration::from_secs(30),
            crate::config::Sampling::default(),
        );
        let mut r = GateResult {
            candidate: crate::pipeline::evaluate(w, crate::measure::Measured::default()),
            base: crate::measure::Measured::default(),
            metric: crate::vocab::Metric::Wall,
            threshold: 0.02,
            comparison: None,
            verdict: GateVerdict::Regressed,
            spent_ns: 0,
            notes: Vec::new(),
            undecidable: false,
            figure: None,
            accepted: None,
            explanation: Some(explanation(ExplanationKind::Layout, true)),
        };
        assert_eq!(verdict_cell(&r), "regressed (layout)");
        r.verdict = GateVerdict::Unchanged;
        assert_eq!(verdict_cell(&r), "unchanged");
        assert!(
            explanation_line(&r)
                .unwrap()
                .starts_with("w: code layout: ")
        );
    }
}
