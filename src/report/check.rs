//! What `check` and `compare` report, shared by every format.

use crate::gate::{GateResult, GateVerdict, LoadFigure};
use crate::vocab::units::{format_count, format_ns};

/// The outcome of a check or comparison.
pub struct CheckReport {
    /// `cargo perf check` or `cargo perf compare`.
    pub title: String,
    /// The base: short commit id and how it was chosen.
    pub base: String,
    /// The candidate: `working tree`, or a short commit id.
    pub candidate: String,
    /// Whether the figures come from stored records of separate invocations (indicative only).
    pub stored: bool,
    /// Where the time of a measured check went.
    pub timing: Option<crate::gate::GateTiming>,
    /// Each side's executables (measured checks only).
    pub binaries: Option<crate::gate::SideBinaries>,
    pub results: Vec<GateResult>,
    /// How the growth with fixture size changed, per declared workload over several fixtures
    /// (measured checks only).
    pub growth: Vec<crate::gate::GrowthFinding>,
    pub strict: bool,
    pub exit_code: i32,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.exit_code == crate::errors::exit_codes::OK
    }

    /// For a stored comparison, how far its figures can be trusted: timings of separate
    /// invocations are indicative only, counted instructions are exact.
    pub fn stored_caveat(&self) -> Option<&'static str> {
        if !self.stored {
            return None;
        }
        let exact = self.results.iter().filter(|r| r.metric.is_exact()).count();
        Some(if exact == self.results.len() {
            "the two sides were counted in separate invocations; instruction counts are exact, so \
             the verdicts hold as if measured now"
        } else if exact > 0 {
            "the two sides were measured in separate invocations, so timing differences are \
             indicative only (instruction counts are exact); `cargo perf check` measures both now"
        } else {
            "the two sides were measured in separate invocations, so timing differences are \
             indicative only; `cargo perf check` measures both now"
        })
    }

    /// The workloads that were compared but not decided.
    pub fn undecided(&self) -> Vec<&GateResult> {
        self.results
            .iter()
            .filter(|r| r.verdict == GateVerdict::Inconclusive)
            .collect()
    }

    /// Whether no workload had figures on both sides (every one added, removed or failed).
    pub fn nothing_compared(&self) -> bool {
        self.results.iter().all(|r| r.comparison.is_none())
    }

    /// The last line: `Passed.`, `FAILED.`, or a pass that says what it could not see (undecided
    /// workloads, or nothing compared at all).
    pub fn conclusion(&self) -> String {
        let undecided = self.undecided();
        if !self.passed() {
            return "FAILED.".into();
        }
        // Workloads only one side has (added, removed) pass without being compared: a pass
        // with no comparison at all says so rather than vouching for what it never saw.
        if undecided.is_empty() && self.nothing_compared() {
            return "Passed, but nothing was compared: no workload has figures on both sides."
                .into();
        }
        if undecided.is_empty() {
            return "Passed.".into();
        }
        let largest = undecided
            .iter()
            .filter_map(|r| hidden_change(r))
            .fold(0.0f64, f64::max);
        let what = if undecided.len() == self.results.len() {
            format!(
                "nothing was decided: no workload regressed beyond what its interval allows, but each could hide a change (up to {:.1}%)",
                largest * 100.0
            )
        } else {
            format!(
                "{} of {} not decided: they could hide a change of up to {:.1}%",
                undecided.len(),
                self.results.len(),
                largest * 100.0
            )
        };
        format!("Passed, but {what}; --strict fails on undecided workloads.")
    }

    /// `4 workloads`; with load workloads, judged on three figures each, `6 verdicts on 4
    /// workloads`.
    pub fn size(&self) -> String {
        let workloads: std::collections::BTreeSet<&str> = self
            .results
            .iter()
            .map(|r| match (r.figure, r.candidate.workload.load()) {
                (Some(_), Some(l)) => l.spec.name.as_str(),
                _ => r.candidate.workload.name.as_str(),
            })
            .collect();
        let workloads = crate::vocab::units::plural(workloads.len(), "workload");
        if self.results.iter().any(|r| r.figure.is_some()) {
            format!("{} verdicts on {workloads}", self.results.len())
        } else {
            workloads
        }
    }

    /// `1 regressed, 3 unchanged, 1 over budget`; `2 regressed (1 code layout, not failing)`.
    pub fn counts(&self) -> String {
        let mut parts = Vec::new();
        for v in [
            GateVerdict::Regressed,
            GateVerdict::Improved,
            GateVerdict::Unchanged,
            GateVerdict::Inconclusive,
            GateVerdict::Failed,
            GateVerdict::Added,
            GateVerdict::Removed,
            GateVerdict::Accepted,
        ] {
            let n = self.results.iter().filter(|r| r.verdict == v).count();
            let excused = self.results.iter().filter(|r| r.excused()).count();
            if n > 0 && v == GateVerdict::Regressed && excused > 0 {
                parts.push(format!(
                    "{n} regressed ({excused} code layout, not failing)"
                ));
            } else if n > 0 {
                parts.push(format!("{n} {}", v.as_str()));
            }
        }
        let over = self
            .results
            .iter()
            .filter(|r| r.candidate.budget.is_over())
            .count();
        if over > 0 {
            parts.push(format!("{over} over budget"));
        }
        parts.join(", ")
    }
}

/// `+15.2% [+12.1%, +18.3%]`, or `-` without a comparison.
pub fn change_cell(r: &GateResult) -> String {
    match &r.comparison {
        // An exact figure has no interval.
        Some(c) if r.metric.is_exact() => format!("{:+.2}% (exact)", (c.ratio - 1.0) * 100.0),
        Some(c) => format!(
            "{:+.1}% [{:+.1}%, {:+.1}%]",
            (c.ratio - 1.0) * 100.0,
            (c.ci.lower - 1.0) * 100.0,
            (c.ci.upper - 1.0) * 100.0
        ),
        None => "-".into(),
    }
}

pub fn p_cell(r: &GateResult) -> String {
    match &r.comparison {
        // Not a test: an exact figure is compared as it is.
        Some(_) if r.metric.is_exact() => "-".into(),
        Some(c) if c.p_adjusted < 0.001 => "<0.001".into(),
        Some(c) => format!("{:.3}", c.p_adjusted),
        None => "-".into(),
    }
}

pub fn median_cells(r: &GateResult) -> (String, String) {
    let cell = |ns: f64| match r.figure {
        // The time per request with the throughput it stands for.
        Some(LoadFigure::TimePerRequest) if ns > 0.0 => {
            format!("{} ({:.1}/s)", format_ns(ns), 1e9 / ns)
        }
        _ if r.metric.is_exact() => format!("{} instr", format_count(ns)),
        _ => format_ns(ns),
    };
    match &r.comparison {
        Some(c) => (cell(c.base_median), cell(c.new_median)),
        None => ("-".into(), "-".into()),
    }
}

/// The candidate's budget and failure mark, as every command shows it (`ok (27% of 15ms)`,
/// `OVER (130% of 15ms)`, `FAILED`), with the per-workload thresholds it broke after it
/// (`OVER (p95, max_rss)` when within the class budget).
pub fn budget_cell(r: &GateResult) -> String {
    let c = &r.candidate;
    if c.workload.criterion().is_some() || c.workload.load().is_some() {
        // Criterion benchmarks have no duration budget; load workloads have their own marks.
        return if c.failure.is_some() { "FAILED" } else { "-" }.into();
    }
    if c.failure.is_none() && c.samples.is_empty() {
        return "-".into();
    }
    let mark = crate::vocab::marks::BudgetMark {
        status: c.status(),
        budget_ns: c
            .workload
            .command()
            .map_or(0, |w| w.budget.as_nanos() as u64),
        p95_ns: c.wall_ns.as_ref().map(|w| w.p95),
    };
    let others: Vec<&str> = c
        .budget
        .breaches
        .iter()
        .map(|b| b.limit)
        .filter(|l| *l != "budget" && *l != "timeout")
        .collect();
    let over_budget = c.budget.breaches.iter().any(|b| b.limit == "budget");
    match (c.failure.is_some(), over_budget, others.is_empty()) {
        (true, ..) | (false, _, true) => mark.to_string(),
        (false, true, false) => format!("{mark}; {}", others.join(", ")),
        (false, false, false) => format!("OVER ({})", others.join(", ")),
    }
}

/// Why a workload fails the gate, in one line, or `None` when it does not.
pub fn failure_line(r: &GateResult, strict: bool) -> Option<String> {
    let name = &r.candidate.workload.name;
    if let Some(f) = &r.candidate.failure {
        return Some(format!("{name} failed: {}", f.reason));
    }
    // A layout regression `[gate] layout = "warn"` lets pass is in the explanations.
    if r.verdict == GateVerdict::Regressed && !r.excused() {
        return Some(format!(
            "{name} regressed: {} ({}{})",
            change_cell(r),
            metric_word(r),
            if r.figure.is_some() || r.metric.is_exact() {
                ""
            } else {
                " time"
            }
        ));
    }
    if r.candidate.budget.is_over() && r.accepted.is_none() {
        return Some(format!("{name} is over budget: {}", budget_cell(r)));
    }
    if strict && r.verdict == GateVerdict::Inconclusive {
        return Some(format!(
            "{name} is inconclusive (--strict): {}",
            change_cell(r)
        ));
    }
    None
}

/// For an accepted workload: what changed and who accepted it, where and why, in one line.
/// `parse/large: +48.2% [+45.0%, +51.3%] (wall time), accepted in 1a2b3c4d5e (`parse/*`) by
/// Ann <ann@example.com>: the new parser builds its table up front`.
pub fn accepted_line(r: &GateResult) -> Option<String> {
    let a = r.accepted.as_ref()?;
    let mut what = Vec::new();
    if r.comparison.is_some() {
        what.push(format!(
            "{} ({}{})",
            change_cell(r),
            metric_word(r),
            if r.figure.is_some() || r.metric.is_exact() {
                ""
            } else {
                " time"
            }
        ));
    }
    if r.candidate.budget.is_over() {
        what.push(format!("over budget {}", budget_cell(r)));
    }
    Some(format!(
        "{}: {}, accepted in {}{} (`{}`) by {}: {}",
        r.candidate.workload.name,
        what.join(", "),
        crate::store::short(&a.commit),
        match a.source {
            crate::vocab::AcceptanceSource::Command => "",
            crate::vocab::AcceptanceSource::Trailer => "'s message",
        },
        a.pattern,
        a.author,
        a.reason
    ))
}

/// For an inconclusive verdict, the largest change its interval still allows either way
/// (0.081: a change of 8.1 % could be hidden).
pub fn hidden_change(r: &GateResult) -> Option<f64> {
    if r.verdict != GateVerdict::Inconclusive {
        return None;
    }
    let c = r.comparison.as_ref()?;
    Some((c.ci.upper - 1.0).abs().max((1.0 - c.ci.lower).abs()))
}

/// For an inconclusive verdict: what its interval could still hide and what would decide it.
pub fn undecided_line(r: &GateResult) -> Option<String> {
    let hidden = hidden_change(r)?;
    let c = r.comparison.as_ref()?;
    let rounds = r.candidate.samples.len().max(r.base.samples.len());
    let mut line = format!(
        "{} could hide a change of up to {:.1}% (interval {:+.1}% to {:+.1}% after {rounds} {}, threshold ±{:.1}%)",
        r.candidate.workload.name,
        hidden * 100.0,
        (c.ci.lower - 1.0) * 100.0,
        (c.ci.upper - 1.0) * 100.0,
        if r.figure.is_some() {
            "blocks"
        } else {
            "rounds"
        },
        r.threshold * 100.0
    );
    if r.figure.is_some() {
        let blocks = r
            .candidate
            .workload
            .load()
            .map_or(0, |l| l.spec.gate.blocks);
        line.push_str(&format!(
            "; more blocks would narrow it (`gate.blocks`, now {blocks}, in its `[[load]]`)"
        ));
        return Some(line);
    }
    if r.undecidable {
        let per_round = r.spent_ns as f64 / 1e9 / rounds.max(1) as f64;
        let needed_s = per_round * crate::measure::MIN_LOOK_ROUNDS as f64;
        line.push_str(&format!(
            "; it reached its time bound after {rounds} rounds, fewer than the {} a verdict needs: \
             about {} per side would give it those (`--time-cap {}`)",
            crate::measure::MIN_LOOK_ROUNDS,
            short_secs(needed_s),
            short_secs(needed_s * 1.2)
        ));
        return Some(line);
    }
    // Sampling stopped at `max_runs`, not the time cap: more time alone would not help.
    let max_runs = r.candidate.workload.sampling.max_runs as usize;
    if r.candidate.workload.criterion().is_none() && rounds >= max_runs {
        line.push_str(&format!(
            "; it stopped at max_runs ({max_runs} rounds) before its time cap: raise `max_runs` \
             (or `--max-runs`)"
        ));
        return Some(line);
    }
    // The interval narrows about as 1/sqrt(rounds). It decides once its half-width is below
    // the distance between the estimate and the threshold.
    let half = (c.ci.upper - c.ci.lower) / 2.0;
    let centre = (c.ratio - 1.0).abs();
    let room = (centre - r.threshold).abs();
    let spent_s = r.spent_ns as f64 / 1e9;
    if room > half * 0.05 && spent_s > 0.0 {
        let needed_s = spent_s * (half / room).powi(2);
        line.push_str(&format!(
            "; about {} per side would decide it (`--time-cap {}`)",
            short_secs(needed_s),
            short_secs(needed_s * 1.2)
        ));
    } else {
        line.push_str(&format!(
            "; the change sits on the threshold, so more time will not decide it: a threshold of {:.0}% would",
            (centre + half).max(r.threshold) * 100.0 + 1.0
        ));
    }
    if r.candidate.workload.criterion().is_none() {
        match r.metric {
            crate::vocab::Metric::Wall => line.push_str(
                ", or `metric = \"cpu\"` (quieter for single-threaded work) or `\"instructions\"` \
                 (exact, under valgrind)",
            ),
            crate::vocab::Metric::Cpu => {
                line.push_str(", or `metric = \"instructions\"` (exact, under valgrind)")
            }
            crate::vocab::Metric::Instructions => {}
        }
    }
    Some(line)
}

/// `45s`, `3m`, `2h`: rounded up, for a `--time-cap` people can paste.
fn short_secs(s: f64) -> String {
    if s < 120.0 {
        format!("{}s", s.ceil().max(1.0) as u64)
    } else if s < 7200.0 {
        format!("{}m", (s / 60.0).ceil() as u64)
    } else {
        format!("{}h", (s / 3600.0).ceil() as u64)
    }
}

pub fn metric_word(r: &GateResult) -> &'static str {
    if let Some(figure) = r.figure {
        return figure.as_str();
    }
    if r.candidate.workload.load().is_some() {
        return "load";
    }
    if r.candidate.workload.criterion().is_some() {
        return "iteration";
    }
    r.metric.as_str()
}

/// Each note of the results once, after the names of the workloads it concerns (`a, b`).
/// `analyse: n^0.57 on the base over 3 fixtures; the change adds +0.85 [+0.80, +0.91] to the
/// exponent: grows faster (fails the gate)`. The change comes from the rounds' ratios at each
/// fixture, which share the machine's drift, so it is steadier than the difference of the two
/// sides' own exponents (both in JSON).
pub fn growth_line(g: &crate::gate::GrowthFinding) -> String {
    format!(
        "{}: {} on the base over {} fixtures; the change adds {:+.2} [{:+.2}, {:+.2}] to the \
         exponent: {}",
        g.group,
        g.base
            .map_or("-".to_owned(), |f| format!("n^{:.2}", f.exponent)),
        g.fixtures.len(),
        g.change.exponent,
        g.change.lower,
        g.change.upper,
        match g.verdict {
            crate::gate::GrowthVerdict::Raised => "grows faster (fails the gate)",
            crate::gate::GrowthVerdict::Lowered => "grows slower",
            crate::gate::GrowthVerdict::Unchanged => "unchanged",
            crate::gate::GrowthVerdict::Inconclusive => "not decided",
        }
    )
}

pub fn grouped_notes(results: &[GateResult]) -> Vec<(String, &str)> {
    group_notes(
        results
            .iter()
            .map(|r| (r.candidate.workload.name.as_str(), r.notes.as_slice())),
    )
}

/// Each note once, after the names (`a, b`) of the workloads that have it, in the order met.
pub fn group_notes<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> Vec<(String, &'a str)> {
    let mut by_text: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, notes) in items {
        for n in notes {
            match by_text.iter_mut().find(|(text, _)| *text == n.as_str()) {
                Some((_, names)) => names.push(name),
                None => by_text.push((n, vec![name])),
            }
        }
    }
    by_text
        .into_iter()
        .map(|(text, names)| (names.join(", "), text))
        .collect()
}
