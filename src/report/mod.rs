//! Outputs: one exporter per format behind one trait, and progress on standard error.

mod axis;
pub mod bisect;
mod chart;
mod check;
pub mod escape;
mod explain;
pub mod forge;
mod human;
mod json;
mod junit;
mod load;
mod markdown;
pub mod openmetrics;
mod progress;
pub mod release;
mod store;
mod table;

use std::io::{self, Write};

use crate::discover::Workload;
use crate::pipeline::WorkloadResult;
use crate::store::Record;

pub use check::CheckReport;
pub use human::Human;
pub use json::{JSON_SCHEMA_VERSION, Json};
pub use junit::{github_annotations, junit};
pub use markdown::Markdown;
pub use progress::{Progress, ProgressMode};
pub use store::HistoryPoint;

/// Renders `list`: the workloads found.
pub trait ListOutput {
    fn list(&self, workloads: &[Workload], out: &mut dyn Write) -> io::Result<()>;
}

/// Renders a run (`run`, `record`): each workload's result as it finishes, for formats that
/// stream, then the whole run.
pub trait RunOutput {
    fn result(&self, result: &WorkloadResult, out: &mut dyn Write) -> io::Result<()> {
        let _ = (result, out);
        Ok(())
    }
    /// A load workload's result, as it finishes.
    fn load(&self, result: &crate::pipeline::LoadResult, out: &mut dyn Write) -> io::Result<()> {
        let _ = (result, out);
        Ok(())
    }
    fn run(
        &self,
        results: &[WorkloadResult],
        loads: &[crate::pipeline::LoadResult],
        exit_code: i32,
        out: &mut dyn Write,
    ) -> io::Result<()>;
}

/// Renders a gate (`check`, `compare`).
pub trait GateOutput {
    fn gate(&self, report: &CheckReport, out: &mut dyn Write) -> io::Result<()>;
}

/// Renders the records of one revision (`show`).
pub trait RecordOutput {
    fn record(&self, record: &Record, subject: &str, out: &mut dyn Write) -> io::Result<()>;
}

/// Renders a history (`history`), newest first.
pub trait HistoryOutput {
    fn history(
        &self,
        points: &[HistoryPoint<'_>],
        with_machine: bool,
        out: &mut dyn Write,
    ) -> io::Result<()>;
}

/// Streams each finished workload of a run to `out` as the run goes (an observer of the
/// measurement): JSON Lines reach a reader of the pipe before the run ends.
pub struct Stream<'a> {
    pub output: &'a dyn RunOutput,
    pub out: &'a mut dyn Write,
    /// The first error writing, reported when the run ends.
    pub error: io::Result<()>,
}

impl crate::pipeline::Observer for Stream<'_> {
    fn load_finished(&mut self, result: &crate::pipeline::LoadResult) {
        if self.error.is_ok() {
            self.error = self.output.load(result, self.out);
        }
    }

    fn workload_finished(&mut self, result: &WorkloadResult, _: usize, _: usize, _: bool) {
        if self.error.is_ok() {
            self.error = self.output.result(result, self.out);
        }
    }
}
