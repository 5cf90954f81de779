//! What `check` and `compare` report, shared by every format.

use crate::config::units::format_ns;
use crate::gate::{GateResult, GateVerdict};

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
    pub results: Vec<GateResult>,
    pub strict: bool,
    pub exit_code: i32,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.exit_code == crate::errors::exit_codes::OK
    }

    /// `1 regressed, 3 unchanged, 1 over budget`.
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
        ] {
            let n = self.results.iter().filter(|r| r.verdict == v).count();
            if n > 0 {
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
        Some(c) if c.p_adjusted < 0.001 => "<0.001".into(),
        Some(c) => format!("{:.3}", c.p_adjusted),
        None => "-".into(),
    }
}

pub fn median_cells(r: &GateResult) -> (String, String) {
    match &r.comparison {
        Some(c) => (format_ns(c.base_median), format_ns(c.new_median)),
        None => ("-".into(), "-".into()),
    }
}

pub fn budget_cell(r: &GateResult) -> String {
    if r.candidate.budget.is_over() {
        let limits: Vec<&str> = r
            .candidate
            .budget
            .breaches
            .iter()
            .map(|b| b.limit)
            .collect();
        format!("OVER ({})", limits.join(", "))
    } else if r.candidate.samples.is_empty() || r.candidate.workload.criterion.is_some() {
        // Criterion benchmarks have no duration budget.
        "-".into()
    } else {
        "ok".into()
    }
}

/// Why a workload fails the gate, in one line, or `None` when it does not.
pub fn failure_line(r: &GateResult, strict: bool) -> Option<String> {
    let name = &r.candidate.workload.name;
    if let Some(f) = &r.candidate.failure {
        return Some(format!("{name} failed: {}", f.reason));
    }
    if r.verdict == GateVerdict::Regressed {
        return Some(format!(
            "{name} regressed: {} ({} time)",
            change_cell(r),
            metric_word(r)
        ));
    }
    if r.candidate.budget.is_over() {
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

pub fn metric_word(r: &GateResult) -> &'static str {
    if r.candidate.workload.criterion.is_some() {
        return "iteration";
    }
    match r.metric {
        crate::config::Metric::Wall => "wall",
        crate::config::Metric::Cpu => "cpu",
    }
}
