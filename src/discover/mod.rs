//! Workloads from `perf.toml`: fixtures expanded, placeholders filled, classes and budgets set.

mod classify;
mod criterion;
mod partition;
mod placeholders;
mod workload;

pub use classify::{SizeMeasure, classify, measure_folder};
pub use criterion::{CRITERION_PREFIX, criterion_workloads};
pub use partition::{Partition, Scheme};
pub use placeholders::resolve_bins;
pub use workload::{Command, CriterionBench, GrowthKey, Kind, LoadWorkload, Workload, discover};
