//! Why a workload's time changed: what cachegrind saw each side's binary do, and which of the
//! explanations (more work, code layout, memory, none of them) fits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Counts;

/// One run of a command under cachegrind with its branch simulation, every process summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub counts: Counts,
    /// Conditional and indirect branches executed (`Bc` + `Bi`).
    pub branches: u64,
    /// Of those, the ones the simulated predictor missed (`Bcm` + `Bim`).
    pub branch_misses: u64,
    /// Instructions executed in each function, by its demangled name (`???` for code without a
    /// symbol).
    pub functions: BTreeMap<String, u64>,
}

/// Which explanation fits a change of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExplanationKind {
    /// The instructions changed about as much as the time: the code does more (or less) work.
    MoreWork,
    /// The instructions and the cache misses are the same: the time moved because of where the
    /// code landed in the binary (alignment of hot loops, branch predictor aliasing).
    Layout,
    /// The instructions are the same but the cache misses moved with the time.
    Memory,
    /// None of the above fits the figures.
    Unexplained,
}

impl ExplanationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExplanationKind::MoreWork => "more work",
            ExplanationKind::Layout => "layout",
            ExplanationKind::Memory => "memory",
            ExplanationKind::Unexplained => "unexplained",
        }
    }
}

/// What `[gate] layout` does with a regression explained as code layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutPolicy {
    /// Reported, and the workload passes as if unchanged.
    #[default]
    Warn,
    /// It fails the gate like any regression.
    Fail,
}

/// One side's figures, as cachegrind counted them in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideFigures {
    pub instructions: u64,
    /// Cachegrind's estimate (see `Counts::estimated_cycles`).
    pub estimated_cycles: u64,
    /// First-level cache misses, instructions and data.
    pub l1_misses: u64,
    /// Last-level cache misses.
    pub ll_misses: u64,
    pub branch_misses: u64,
}

impl SideFigures {
    pub fn of(p: &Profile) -> Self {
        SideFigures {
            instructions: p.counts.instructions,
            estimated_cycles: p.counts.estimated_cycles().unwrap_or(0),
            l1_misses: p.counts.l1_misses,
            ll_misses: p.counts.ll_misses,
            branch_misses: p.branch_misses,
        }
    }
}

/// A function whose instruction count changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionChange {
    /// Its demangled name, as cachegrind reports it.
    pub name: String,
    /// Instructions executed in it on the base (0 when only the candidate has it).
    pub base: u64,
    /// On the candidate (0 when only the base has it).
    pub new: u64,
}

impl FunctionChange {
    /// Candidate minus base.
    pub fn change(&self) -> i64 {
        self.new as i64 - self.base as i64
    }
}

/// Why a workload's time changed, from one run of each side's binary under cachegrind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub kind: ExplanationKind,
    /// The change of the judged time (0.05: 5 % slower), from the gate's comparison.
    pub time_change: f64,
    /// The change of the instructions executed.
    pub instructions_change: f64,
    /// The change of cachegrind's estimated cycles.
    pub cycles_change: f64,
    /// The change of the first-level and last-level cache misses together.
    pub cache_misses_change: f64,
    /// The change of the branch misses.
    pub branch_misses_change: f64,
    pub base: SideFigures,
    pub new: SideFigures,
    /// The functions whose instruction counts changed most (at most five, largest first).
    pub functions: Vec<FunctionChange>,
    /// A layout regression that `[gate] layout = "warn"` lets pass.
    #[serde(default)]
    pub excused: bool,
}
