//! The words every layer shares about a workload: its size class, the metric its verdicts are
//! taken on, and how a run of it came out.

use serde::{Deserialize, Serialize};

/// A size class, each with a duration budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Small,
    Medium,
    Large,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Small => "small",
            Class::Medium => "medium",
            Class::Large => "large",
        }
    }
}

/// The metric a verdict is taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Elapsed (wall-clock) time.
    #[default]
    Wall,
    /// User plus system CPU time of the process tree.
    Cpu,
    /// Instructions the process tree executed, counted by valgrind's cachegrind: one run per
    /// side, compared exactly.
    Instructions,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Wall => "wall",
            Metric::Cpu => "cpu",
            Metric::Instructions => "instructions",
        }
    }

    /// The same program and input give the same figure: one run is the measurement.
    pub fn is_exact(self) -> bool {
        self == Metric::Instructions
    }
}

/// How a workload came out of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    OverBudget,
    Failed,
}
