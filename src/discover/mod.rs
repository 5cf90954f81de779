//! Workloads from `perf.toml`: fixtures expanded, placeholders filled, classes and budgets set.

mod classify;
mod placeholders;
mod workload;

pub use classify::{SizeMeasure, classify, measure_folder};
pub use placeholders::resolve_bins;
pub use workload::{Workload, discover};
