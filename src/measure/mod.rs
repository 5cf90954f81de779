//! Running workloads: the process runner, the fake runner for tests, and the sampling loop.

pub mod criterion;
pub mod criterion_output;
mod fake;
mod interleave;
pub mod load;
mod pipes;
pub mod probe;
mod process;
pub mod profile;
mod runner;
mod sampler;
pub mod valgrind;

pub use fake::FakeRunner;
pub use interleave::{Look, MIN_LOOK_ROUNDS, Paired, measure_paired};
pub use process::ProcessRunner;
pub use runner::{Exit, RunResult, RunSpec, Runner, Sample, Stream};
pub use sampler::{Measured, measure, measure_counted};
