//! Progress on standard error: a bar on a terminal, one line per workload otherwise.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::WorkloadResult;
use crate::vocab::Status;
use crate::vocab::units::format_ns;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar (standard error is a terminal).
    Bar,
    /// A line as each workload finishes (standard error is a file or pipe, as in CI logs).
    Lines,
    /// Nothing (`--quiet`).
    Silent,
}

impl ProgressMode {
    /// A bar when standard error is a terminal, lines when it is not, nothing when `quiet`.
    pub fn for_stderr(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            ProgressMode::Silent
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// Reports the progress of `run` as workloads are measured.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    prefix: String,
}

impl Progress {
    pub fn new(mode: ProgressMode) -> Self {
        Progress {
            mode,
            bar: None,
            prefix: String::new(),
        }
    }

    fn start(&mut self, name: &str, index: usize, total: usize, expected: usize) {
        self.start_counting(name, index, total, expected, "runs");
    }

    /// `start`, counting `unit` (`runs`, `benchmarks`, `rounds`) on the bar.
    fn start_counting(
        &mut self,
        name: &str,
        index: usize,
        total: usize,
        expected: usize,
        unit: &str,
    ) {
        self.prefix = format!("[{}/{total}] {}", index + 1, super::escape::terminal(name));
        if self.mode == ProgressMode::Bar {
            let bar =
                ProgressBar::with_draw_target(Some(expected as u64), ProgressDrawTarget::stderr());
            // The template is built from constants; it is checked by the tests that run with a
            // bar.
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "{{prefix}} {{wide_bar}} {{pos}}/{{len}} {unit} {{elapsed}} {{msg}}"
            )) {
                bar.set_style(style);
            }
            bar.set_prefix(self.prefix.clone());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        }
    }

    fn sample(&mut self, done: usize, expected: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(expected as u64);
            bar.set_position(done as u64);
        }
    }

    /// One item of the current step is done (a benchmark of a criterion run): the bar moves to
    /// `done` and names it; in CI logs, a line `[index+1/total] name: text`.
    fn item(&mut self, done: usize, index: usize, total: usize, name: &str, text: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.set_position(done as u64);
                bar.set_message(super::escape::terminal(name).into_owned());
            }
            (None, ProgressMode::Lines) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "[{}/{total}] {}: {}",
                    index + 1,
                    super::escape::terminal(name),
                    super::escape::terminal(text)
                );
            }
            _ => {}
        }
    }

    /// A line about the current step for CI logs (`[i/n] name: text`); on a terminal the bar
    /// shows `text` as its message instead.
    fn note_line(&mut self, text: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.set_message(super::escape::terminal(text).into_owned()),
            (None, ProgressMode::Lines) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{}: {}",
                    self.prefix,
                    super::escape::terminal(text)
                );
            }
            _ => {}
        }
    }

    /// Ends the current step without a line of its own (its items had theirs).
    fn finish_quietly(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Ends the current workload with `[i/n] name: <text>`.
    fn finish_line(&mut self, text: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.mode != ProgressMode::Silent {
            // A failed write to standard error is not worth stopping the measurement for.
            let _ = writeln!(
                std::io::stderr(),
                "{}: {}",
                self.prefix,
                super::escape::terminal(text)
            );
        }
    }

    fn finish(&mut self, result: &WorkloadResult) {
        let n = result.n();
        let median = result
            .wall_ns
            .as_ref()
            .map_or("-".into(), |s| format_ns(s.median));
        let outcome = match (result.status(), &result.failure) {
            (_, Some(f)) => format!("FAILED: {}", f.reason),
            (Status::OverBudget, _) => "OVER BUDGET".into(),
            _ => "ok".into(),
        };
        let what = if result.criterion.is_some() || result.workload.criterion().is_some() {
            "samples, median iteration"
        } else {
            "runs, median"
        };
        self.finish_line(&format!("{n} {what} {median}, {outcome}"));
    }
}

impl crate::pipeline::Observer for Progress {
    fn building(&mut self, what: &str) {
        if self.mode != ProgressMode::Silent {
            let _ = writeln!(
                std::io::stderr(),
                "Building {}",
                super::escape::terminal(what)
            );
        }
    }

    fn started(
        &mut self,
        name: &str,
        index: usize,
        total: usize,
        expected: usize,
        unit: crate::pipeline::Unit,
    ) {
        self.start_counting(name, index, total, expected, unit.as_str());
    }

    fn progressed(&mut self, done: usize, expected: usize) {
        self.sample(done, expected);
    }

    fn item_done(&mut self, done: usize, index: usize, total: usize, name: &str, text: &str) {
        self.item(done, index, total, name, text);
    }

    fn note(&mut self, text: &str) {
        self.note_line(text);
    }

    fn step_finished(&mut self, text: &str) {
        self.finish_line(text);
    }

    fn step_ended(&mut self) {
        self.finish_quietly();
    }

    fn workload_finished(
        &mut self,
        result: &WorkloadResult,
        index: usize,
        total: usize,
        own_step: bool,
    ) {
        if own_step {
            self.finish(result);
        } else if result.failure.is_some() {
            // A criterion benchmark that failed gets a line of its own; the others had theirs
            // as criterion reported them.
            self.start(&result.workload.name, index, total, 0);
            self.finish(result);
        }
    }
}
