//! The gate on growth: whether a change makes a workload's time grow faster with its fixtures'
//! size (an O(n log n) step turned O(n^2)), even when its small fixture barely moved. At each
//! fixture the rounds' ratios give the change there; the slope of their logarithms on the
//! sizes' is how much the exponent rose, with a bootstrap interval over the rounds.

use serde::Serialize;

use super::{GateResult, GateVerdict};
use crate::pipeline::growth::{GROWTH_LEVEL, figures, groups};
use crate::stats::{Growth, growth, growth_change};

/// A rise of the exponent smaller than this is `unchanged`: a tenth of a power (n to n log n
/// over two decades of size is +0.11).
pub const GROWTH_TOLERANCE: f64 = 0.1;

/// What the check concluded about one declared workload's growth.
#[derive(Debug, Clone, Serialize)]
pub struct GrowthFinding {
    pub group: String,
    /// `lines`, or `declared`.
    pub size_unit: &'static str,
    /// The workloads and their sizes.
    pub fixtures: Vec<(String, f64)>,
    pub base: Option<GrowthFigure>,
    pub new: Option<GrowthFigure>,
    /// How much the exponent rose (+0.9 when n log n became n^2).
    pub change: GrowthFigure,
    pub verdict: GrowthVerdict,
}

/// An exponent and its interval.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GrowthFigure {
    pub exponent: f64,
    pub lower: f64,
    pub upper: f64,
}

impl From<Growth> for GrowthFigure {
    fn from(g: Growth) -> Self {
        GrowthFigure {
            exponent: g.exponent,
            lower: g.ci.lower,
            upper: g.ci.upper,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrowthVerdict {
    /// Grows faster beyond the tolerance: fails the gate.
    Raised,
    Lowered,
    Unchanged,
    Inconclusive,
}

impl GrowthVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            GrowthVerdict::Raised => "raised",
            GrowthVerdict::Lowered => "lowered",
            GrowthVerdict::Unchanged => "unchanged",
            GrowthVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// The figures of one side of a result: its samples of the metric, or its one count.
fn side(r: &GateResult, base: bool) -> Vec<f64> {
    let (samples, counts) = if base {
        (&r.base.samples, r.base.counts)
    } else {
        (&r.candidate.samples, r.candidate.counts)
    };
    figures(samples, counts, r.metric)
}

/// The growth findings of a check: one per declared workload gated over two or more fixtures
/// of different sizes, all compared.
pub fn growth_findings(results: &[GateResult]) -> Vec<GrowthFinding> {
    groups(results, |r| &r.candidate.workload)
        .into_iter()
        .filter_map(|(group, declared, members)| {
            if members.iter().any(|(r, _)| {
                r.comparison.is_none()
                    || matches!(
                        r.verdict,
                        GateVerdict::Failed | GateVerdict::Added | GateVerdict::Removed
                    )
            }) {
                return None;
            }
            let seed = crate::fnv::fnv1a(group.as_bytes());
            let of = |base: bool| -> Vec<(f64, Vec<f64>)> {
                members.iter().map(|(r, s)| (*s, side(r, base))).collect()
            };
            let paired: Vec<(f64, Vec<f64>, Vec<f64>)> = members
                .iter()
                .map(|(r, s)| (*s, side(r, true), side(r, false)))
                .collect();
            let change = growth_change(&paired, GROWTH_LEVEL, seed)?;
            let verdict = if change.ci.lower > GROWTH_TOLERANCE {
                GrowthVerdict::Raised
            } else if change.ci.upper < -GROWTH_TOLERANCE {
                GrowthVerdict::Lowered
            } else if change.ci.lower >= -GROWTH_TOLERANCE && change.ci.upper <= GROWTH_TOLERANCE {
                GrowthVerdict::Unchanged
            } else {
                GrowthVerdict::Inconclusive
            };
            Some(GrowthFinding {
                size_unit: if declared { "declared" } else { "lines" },
                fixtures: members
                    .iter()
                    .map(|(r, s)| (r.candidate.workload.name.clone(), *s))
                    .collect(),
                base: growth(&of(true), GROWTH_LEVEL, seed).map(Into::into),
                new: growth(&of(false), GROWTH_LEVEL, seed).map(Into::into),
                change: change.into(),
                verdict,
                group,
            })
        })
        .collect()
}
