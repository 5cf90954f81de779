//! Summaries and budget checks: pure functions, no I/O.

mod bootstrap;
mod budget;
pub mod changepoint;
mod compare;
pub mod explain;
pub mod exposition;
mod growth;
pub mod load;
mod paired;
mod summary;

pub use bootstrap::{Interval, median_ci};
pub use budget::{Breach, BudgetStatus, check_budget};
pub use compare::{
    Comparison, RESAMPLES, Verdict, benjamini_hochberg, compare, compare_exact, decide,
    mann_whitney_p, ratio_ci,
};
pub use growth::{Growth, growth, growth_change, slope};
pub use paired::{compare_paired_ratios, hodges_lehmann, min_pairs, wilcoxon_p};
pub use summary::{Outliers, Summary, mad, mean, median, percentile, stddev, summarize};
