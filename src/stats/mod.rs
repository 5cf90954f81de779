//! Summaries and budget checks: pure functions, no I/O.

mod bootstrap;
mod budget;
pub mod changepoint;
mod compare;
mod summary;

pub use bootstrap::{Interval, median_ci};
pub use budget::{Breach, BudgetStatus, check_budget};
pub use compare::{
    Comparison, RESAMPLES, Verdict, benjamini_hochberg, compare, decide, mann_whitney_p, ratio_ci,
};
pub use summary::{Outliers, Summary, mad, mean, median, percentile, stddev, summarize};
