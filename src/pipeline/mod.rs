//! From discovered workloads to results: measure each, summarise, check budgets. What happens
//! meanwhile goes to an `Observer`, which this layer owns and the outputs implement.

mod commands;
mod criterion;
pub mod growth;
mod load;
mod observe;
mod result;

pub use commands::{command_spec, run_all};
pub use criterion::{no_samples, run_criterion};
pub use load::{LoadResult, live_line, problems, run_loads};
pub use observe::{Both, Observer, Unit};
pub use result::{WorkloadResult, evaluate, evaluate_criterion};
