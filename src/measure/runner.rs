//! What a runner is asked to do and what it reports.

use std::path::PathBuf;
use std::time::Duration;

pub use super::pipes::Stream;
use crate::errors::MeasureError;
pub use crate::vocab::Sample;

/// One process to start: no shell unless the argv asks for one.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The workload's name (the fake runner looks its durations up by it).
    pub name: String,
    pub argv: Vec<String>,
    /// Variables added to the tool's own environment.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// The whole process group is killed when this has passed.
    pub timeout: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by the tool when the timeout passed.
    TimedOut,
}

/// A run's measurements and how it ended.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub sample: Sample,
    pub exit: Exit,
    /// The last lines of standard error, kept for failure messages.
    pub stderr_tail: String,
    /// The tool's own peak RSS when it started the child. Linux folds the parent's high-water
    /// RSS into a vforked child's `ru_maxrss` at `exec`, so a peak at or below this figure
    /// only says that the child used no more than this.
    pub rss_floor_bytes: u64,
}

impl RunResult {
    pub fn succeeded(&self) -> bool {
        self.exit == Exit::Code(0)
    }
}

/// Starts a process and measures it. A real one and a fake one exist.
pub trait Runner {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError>;

    /// `run`, passing each line the child writes on standard output or error to `on_line` as
    /// it comes (for progress). A runner without real output has no lines to pass.
    fn run_watched(
        &mut self,
        spec: &RunSpec,
        on_line: &mut dyn FnMut(Stream, &str),
    ) -> Result<RunResult, MeasureError> {
        let _ = on_line;
        self.run(spec)
    }

    /// Whether a run through the memory probe (`probe::probe_rss`) measures real processes: a
    /// fake runner has no memory to probe.
    fn probes_memory(&self) -> bool {
        false
    }
}
