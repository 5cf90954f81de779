//! Budget and threshold checks on a workload's own samples: they need no baseline.

use serde::Serialize;

use super::Summary;
use crate::config::Thresholds;

/// One limit that was exceeded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// What was limited: `budget` (the class budget, on p95 wall time), `timeout`, `p50`, `p90`,
    /// `p95`, `p99` (wall time) or `max_rss`.
    pub limit: &'static str,
    /// The measured value, in nanoseconds or bytes; none for a timeout.
    pub actual: Option<f64>,
    /// The limit, in the same unit.
    pub allowed: f64,
}

/// Whether a workload is inside its budget and thresholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BudgetStatus {
    pub breaches: Vec<Breach>,
    /// The share of the class budget the p95 wall time uses (0.5 = half); `None` without samples.
    pub budget_used: Option<f64>,
}

impl BudgetStatus {
    pub fn is_over(&self) -> bool {
        !self.breaches.is_empty()
    }
}

/// Checks the wall-time summary and peak memory against the class budget and thresholds.
/// `timed_out` counts as a breach of the budget whatever the samples say.
pub fn check_budget(
    wall_ns: Option<&Summary>,
    max_rss_bytes: Option<u64>,
    budget_ns: f64,
    thresholds: &Thresholds,
    timed_out: bool,
) -> BudgetStatus {
    let mut breaches = Vec::new();
    if timed_out {
        breaches.push(Breach {
            limit: "timeout",
            actual: None,
            allowed: budget_ns,
        });
    }
    if let Some(w) = wall_ns {
        let mut check = |limit, actual: f64, allowed: Option<f64>| {
            if let Some(allowed) = allowed.filter(|&a| actual > a) {
                breaches.push(Breach {
                    limit,
                    actual: Some(actual),
                    allowed,
                });
            }
        };
        let ns = |d: Option<std::time::Duration>| d.map(|d| d.as_nanos() as f64);
        check("budget", w.p95, Some(budget_ns));
        check("p50", w.median, ns(thresholds.p50));
        check("p90", w.p90, ns(thresholds.p90));
        check("p95", w.p95, ns(thresholds.p95));
        check("p99", w.p99, ns(thresholds.p99));
    }
    if let (Some(actual), Some(allowed)) = (max_rss_bytes, thresholds.max_rss_bytes)
        && actual > allowed
    {
        breaches.push(Breach {
            limit: "max_rss",
            actual: Some(actual as f64),
            allowed: allowed as f64,
        });
    }
    BudgetStatus {
        breaches,
        budget_used: wall_ns.map(|w| w.p95 / budget_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::summarize;
    use std::time::Duration;

    fn wall(ms: &[f64]) -> Summary {
        summarize(&ms.iter().map(|m| m * 1e6).collect::<Vec<_>>(), 1).unwrap()
    }

    #[test]
    fn inside_budget_reports_the_share_used() {
        let s = check_budget(
            Some(&wall(&[10.0; 5])),
            Some(100),
            40e6,
            &Thresholds::default(),
            false,
        );
        assert!(!s.is_over());
        assert_eq!(s.budget_used, Some(0.25));
    }

    #[test]
    fn p95_over_the_class_budget_is_a_breach() {
        // p95 of 1..=20 ms is 19.05 ms.
        let ms: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = check_budget(Some(&wall(&ms)), None, 19e6, &Thresholds::default(), false);
        assert_eq!(s.breaches.len(), 1);
        assert_eq!(s.breaches[0].limit, "budget");
        assert!((s.breaches[0].actual.unwrap() - 19.05e6).abs() < 1.0);
        let s = check_budget(
            Some(&wall(&ms)),
            None,
            19.1e6,
            &Thresholds::default(),
            false,
        );
        assert!(!s.is_over());
    }

    #[test]
    fn thresholds_and_timeouts() {
        let t = Thresholds {
            p50: Some(Duration::from_millis(5)),
            max_rss_bytes: Some(1000),
            ..Thresholds::default()
        };
        let s = check_budget(Some(&wall(&[6.0, 6.0, 6.0])), Some(1001), 1e9, &t, true);
        let limits: Vec<_> = s.breaches.iter().map(|b| b.limit).collect();
        assert_eq!(limits, ["timeout", "p50", "max_rss"]);
    }
}
