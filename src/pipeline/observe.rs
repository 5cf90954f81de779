//! What measuring and judging report as they go. The progress bar, the lines in CI logs and the
//! streaming JSON output implement this; nothing below the outputs prints.

use super::load::LoadResult;
use super::result::WorkloadResult;

/// What the units of a step are, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Runs of a command workload.
    Runs,
    /// Benchmarks of a criterion bench executable.
    Benchmarks,
    /// Rounds of base and candidate in the gate.
    Rounds,
    /// Seconds of a load workload's profile.
    Seconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Runs => "runs",
            Unit::Benchmarks => "benchmarks",
            Unit::Rounds => "rounds",
            Unit::Seconds => "s",
        }
    }
}

/// Sees a measurement as it happens. Every method has a default that does nothing, so an
/// observer implements what it shows.
pub trait Observer {
    /// A side is being built (`the binaries analyse of the candidate (working tree)`).
    fn building(&mut self, what: &str) {
        let _ = what;
    }

    /// Step `index` of `total` begins: a workload, a criterion bench executable, or a target's
    /// rounds in the gate; about `expected` `unit`s are expected.
    fn started(&mut self, name: &str, index: usize, total: usize, expected: usize, unit: Unit) {
        let _ = (name, index, total, expected, unit);
    }

    /// `done` of about `expected` units are done.
    fn progressed(&mut self, done: usize, expected: usize) {
        let _ = (done, expected);
    }

    /// Within the step, item `index` of `total` (a criterion benchmark) is done, `done` so far.
    fn item_done(&mut self, done: usize, index: usize, total: usize, name: &str, text: &str) {
        let _ = (done, index, total, name, text);
    }

    /// Something to say about the current step (a look of the gate).
    fn note(&mut self, text: &str) {
        let _ = text;
    }

    /// The step ends with a one-line summary.
    fn step_finished(&mut self, text: &str) {
        let _ = text;
    }

    /// The step ends; its items had lines of their own.
    fn step_ended(&mut self) {}

    /// A workload of `run` has its result: step `index` of `total`. `own_step` is false for a
    /// criterion benchmark, whose executable was the step.
    fn workload_finished(
        &mut self,
        result: &WorkloadResult,
        index: usize,
        total: usize,
        own_step: bool,
    ) {
        let _ = (result, index, total, own_step);
    }

    /// A load workload of `run` has its result.
    fn load_finished(&mut self, result: &LoadResult) {
        let _ = result;
    }
}

/// Both observers see every event: progress on standard error and a stream on standard output.
pub struct Both<'a, 'b>(pub &'a mut dyn Observer, pub &'b mut dyn Observer);

impl Observer for Both<'_, '_> {
    fn building(&mut self, what: &str) {
        self.0.building(what);
        self.1.building(what);
    }

    fn started(&mut self, name: &str, index: usize, total: usize, expected: usize, unit: Unit) {
        self.0.started(name, index, total, expected, unit);
        self.1.started(name, index, total, expected, unit);
    }

    fn progressed(&mut self, done: usize, expected: usize) {
        self.0.progressed(done, expected);
        self.1.progressed(done, expected);
    }

    fn item_done(&mut self, done: usize, index: usize, total: usize, name: &str, text: &str) {
        self.0.item_done(done, index, total, name, text);
        self.1.item_done(done, index, total, name, text);
    }

    fn note(&mut self, text: &str) {
        self.0.note(text);
        self.1.note(text);
    }

    fn step_finished(&mut self, text: &str) {
        self.0.step_finished(text);
        self.1.step_finished(text);
    }

    fn step_ended(&mut self) {
        self.0.step_ended();
        self.1.step_ended();
    }

    fn workload_finished(
        &mut self,
        result: &WorkloadResult,
        index: usize,
        total: usize,
        own_step: bool,
    ) {
        self.0.workload_finished(result, index, total, own_step);
        self.1.workload_finished(result, index, total, own_step);
    }

    fn load_finished(&mut self, result: &LoadResult) {
        self.0.load_finished(result);
        self.1.load_finished(result);
    }
}
