//! `perf.toml` and defaults, resolved once into a validated [`Config`].

mod criterion;
pub mod edit;
mod load;
mod manifest;
mod resolve;

pub use criterion::CriterionConfig;
pub use load::{
    DEFAULT_LOAD_THRESHOLD, GatePlan, Level, LoadMetric, LoadSpec, LoadTarget, MIN_GATE_BLOCKS, Op,
    Profile, RequestSpec, StagePlan, ThresholdSpec, describe as describe_load, format_metric,
};
pub use manifest::{ClassSpec, CommandLine, nearest};
pub use resolve::{
    ClassBudgets, Config, DEFAULT_INSTRUCTIONS_THRESHOLD, DEFAULT_THRESHOLD, Sampling,
    SamplingOverrides, Thresholds, WorkloadSpec, absent, load, resolve_text,
};

/// The name of the manifest at the workspace root.
pub const MANIFEST_NAME: &str = "perf.toml";
