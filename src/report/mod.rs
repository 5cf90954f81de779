//! Outputs: one exporter per format behind one trait, and progress on standard error.

mod chart;
mod check;
pub mod escape;
mod human;
mod json;
mod junit;
mod markdown;
mod progress;
pub mod release;
mod store;

use std::io::{self, Write};

use crate::discover::Workload;
use crate::pipeline::WorkloadResult;

pub use check::CheckReport;
pub use human::Human;
pub use json::{JSON_SCHEMA_VERSION, Json};
pub use junit::{github_annotations, junit};
pub use markdown::Markdown;
pub use progress::{Progress, ProgressMode};
pub use store::{HistoryPoint, history_json, history_table, record_text};

/// A format for the results of each command.
pub trait Exporter {
    /// `cargo perf list`.
    fn list(&self, workloads: &[Workload], out: &mut dyn Write) -> io::Result<()>;
    /// `cargo perf run`, as each workload finishes (formats that stream write here).
    fn workload_finished(&self, result: &WorkloadResult, out: &mut dyn Write) -> io::Result<()> {
        let _ = (result, out);
        Ok(())
    }
    /// `cargo perf run`, once every workload has finished.
    fn run(
        &self,
        results: &[WorkloadResult],
        exit_code: i32,
        out: &mut dyn Write,
    ) -> io::Result<()>;
    /// `cargo perf check` and `cargo perf compare`.
    fn check(&self, report: &CheckReport, out: &mut dyn Write) -> io::Result<()>;
}
