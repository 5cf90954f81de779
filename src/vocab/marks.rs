//! The marks every command shows the same way: a peak RSS at or below the tool's own floor
//! (`≤ 1.1 MiB`), and a workload's budget and failure (`ok (27% of 15ms)`, `OVER (130% of
//! 15ms)`, `FAILED`). `run`, `show`, `history`, `report` and `check` all write them from here,
//! from figures the store keeps (the floor, the status, the class budget and the p95).

use std::fmt;
use std::time::Duration;

use super::Status;
use super::units::{Bytes, format_duration};

/// A peak RSS for people: `-` when unknown, `≤ X` when the measurement could not see below
/// the floor of the process that measured it (the peak is at most that), else `X`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakRss {
    pub bytes: Option<u64>,
    /// The floor it was measured against; 0 when there is none.
    pub floor_bytes: u64,
}

impl PeakRss {
    /// Whether the figure is only an upper bound.
    pub fn at_floor(&self) -> bool {
        self.bytes.is_some_and(|b| b <= self.floor_bytes)
    }
}

impl fmt::Display for PeakRss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            None => f.write_str("-"),
            Some(b) if self.at_floor() => write!(f, "≤ {}", Bytes(b)),
            Some(b) => write!(f, "{}", Bytes(b)),
        }
    }
}

/// A workload's status against its duration budget, for people: `FAILED`, `OVER (130% of
/// 15ms)`, `ok (27% of 15ms)`, `ok` (passed without a p95 to compare), `-` (no budget, as for
/// criterion benchmarks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetMark {
    pub status: Status,
    /// The class budget in ns; 0 when there is none.
    pub budget_ns: u64,
    pub p95_ns: Option<f64>,
}

impl BudgetMark {
    /// The share of the budget the p95 takes (0.27 = 27 %), when there are both.
    pub fn used(&self) -> Option<f64> {
        match (self.budget_ns, self.p95_ns) {
            (0, _) | (_, None) => None,
            (b, Some(p95)) => Some(p95 / b as f64),
        }
    }
}

impl fmt::Display for BudgetMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.status {
            Status::Failed => return f.write_str("FAILED"),
            Status::OverBudget => "OVER",
            Status::Passed if self.budget_ns == 0 => return f.write_str("-"),
            Status::Passed => "ok",
        };
        match self.used() {
            Some(used) => write!(
                f,
                "{word} ({}% of {})",
                Share(used),
                format_duration(Duration::from_nanos(self.budget_ns))
            ),
            None => f.write_str(word),
        }
    }
}

/// A share in percent, with more digits when it is small: `27`, `4.2`, `0.05`.
struct Share(f64);

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = self.0 * 100.0;
        if pct >= 10.0 {
            write!(f, "{pct:.0}")
        } else if pct >= 0.1 {
            write!(f, "{pct:.1}")
        } else {
            write!(f, "{pct:.2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peak_at_or_below_the_floor_is_an_upper_bound() {
        let rss = |bytes, floor_bytes| PeakRss { bytes, floor_bytes }.to_string();
        assert_eq!(rss(None, 0), "-");
        assert_eq!(rss(None, 4 << 20), "-");
        assert_eq!(rss(Some(3 << 20), 0), "3.0 MiB");
        assert_eq!(rss(Some(6 << 20), 6 << 20), "≤ 6.0 MiB");
        assert_eq!(rss(Some(5 << 20), 6 << 20), "≤ 5.0 MiB");
        assert_eq!(rss(Some((6 << 20) + 1), 6 << 20), "6.0 MiB");
        assert!(
            !PeakRss {
                bytes: Some(1),
                floor_bytes: 0
            }
            .at_floor()
        );
    }

    #[test]
    fn budget_marks_give_the_share_of_the_budget_the_p95_takes() {
        let mark = |status, budget_ns, p95_ns| {
            BudgetMark {
                status,
                budget_ns,
                p95_ns,
            }
            .to_string()
        };
        let ms15 = 15_000_000;
        assert_eq!(mark(Status::Passed, ms15, Some(4.05e6)), "ok (27% of 15ms)");
        assert_eq!(
            mark(Status::Passed, ms15, Some(0.63e6)),
            "ok (4.2% of 15ms)"
        );
        assert_eq!(
            mark(Status::Passed, ms15, Some(7_500.0)),
            "ok (0.05% of 15ms)"
        );
        assert_eq!(
            mark(Status::OverBudget, ms15, Some(19.5e6)),
            "OVER (130% of 15ms)"
        );
        assert_eq!(mark(Status::OverBudget, ms15, None), "OVER");
        assert_eq!(mark(Status::Passed, ms15, None), "ok");
        assert_eq!(mark(Status::Failed, ms15, Some(1e6)), "FAILED");
        assert_eq!(mark(Status::Failed, 0, None), "FAILED");
        // Criterion benchmarks have no duration budget.
        assert_eq!(mark(Status::Passed, 0, Some(1e6)), "-");
        assert_eq!(
            mark(Status::Passed, 120_000_000_000, Some(30e9)),
            "ok (25% of 2m)"
        );
    }
}
