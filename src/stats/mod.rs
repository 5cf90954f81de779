//! Summaries and budget checks: pure functions, no I/O.

mod bootstrap;
mod budget;
mod summary;

pub use bootstrap::{Interval, median_ci};
pub use budget::{Breach, BudgetStatus, check_budget};
pub use summary::{Outliers, Summary, mad, mean, median, percentile, stddev, summarize};
