//! The sampling loop: warm-up runs, then samples until the run count or time cap is reached.

use super::runner::{Exit, RunResult, RunSpec, Runner, Sample};
use crate::config::Sampling;
use crate::errors::MeasureError;
use crate::vocab::units::format_ns;
use crate::vocab::{Counts, Failure, Metric};

/// The samples of one workload, and its failure if it failed.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Samples of successful runs, in order.
    pub samples: Vec<Sample>,
    pub failure: Option<Failure>,
    /// The largest `RunResult::rss_floor_bytes` of the runs.
    pub rss_floor_bytes: u64,
    /// With the instructions metric: what one run under cachegrind counted.
    pub counts: Option<Counts>,
    /// Every sample peaked at or below the tool's floor, and a run through the memory probe
    /// measured the peak exactly: that peak (and `rss_floor_bytes` is the probe's floor).
    pub probed_rss_bytes: Option<u64>,
}

/// Measures one workload. `on_sample(done, expected)` is called after every counted run.
/// Stops at the first failed run: a failing command's timings mean nothing.
pub fn measure(
    runner: &mut dyn Runner,
    spec: &RunSpec,
    sampling: &Sampling,
    on_sample: &mut dyn FnMut(usize, usize),
) -> Result<Measured, MeasureError> {
    let mut measured = Measured::default();
    for _ in 0..sampling.warmup {
        let run = runner.run(spec)?;
        if !run.succeeded() {
            measured.failure = Some(failure_of(&run, spec, true));
            return Ok(measured);
        }
    }
    let cap_ns = sampling.time_cap.as_nanos() as u64;
    let (min, max) = (sampling.min_runs as usize, sampling.max_runs as usize);
    let mut spent_ns = 0u64;
    while measured.samples.len() < max && (measured.samples.len() < min || spent_ns < cap_ns) {
        let run = runner.run(spec)?;
        if !run.succeeded() {
            measured.failure = Some(failure_of(&run, spec, false));
            break;
        }
        spent_ns += run.sample.wall_ns;
        measured.rss_floor_bytes = measured.rss_floor_bytes.max(run.rss_floor_bytes);
        measured.samples.push(run.sample);
        let n = measured.samples.len();
        let per_run = (spent_ns / n as u64).max(1);
        let expected = ((cap_ns / per_run) as usize).clamp(min, max).max(n);
        on_sample(n, expected);
    }
    let peak = measured.samples.iter().map(|s| s.max_rss_bytes).max();
    if measured.failure.is_none()
        && runner.probes_memory()
        && peak.is_some_and(|p| p <= measured.rss_floor_bytes)
        && let Some(probed) = super::probe::probe_rss(runner, spec)?
    {
        measured.probed_rss_bytes = Some(probed.peak_bytes);
        measured.rss_floor_bytes = probed.floor_bytes;
    }
    if sampling.metric == Metric::Instructions && measured.failure.is_none() {
        let counted = measure_counted(runner, spec)?;
        measured.failure = counted.failure;
        measured.counts = counted.counts;
    }
    Ok(measured)
}

/// One run under cachegrind, which is the whole measurement of the instructions metric: the
/// count does not vary from run to run. No samples: its times are valgrind's, not the workload's.
pub fn measure_counted(runner: &mut dyn Runner, spec: &RunSpec) -> Result<Measured, MeasureError> {
    let (run, counts) = super::valgrind::run_counted(runner, spec)?;
    let mut measured = Measured {
        counts,
        ..Measured::default()
    };
    if !run.succeeded() {
        let mut failure = failure_of(&run, spec, false);
        failure.reason = format!("under valgrind: {}", failure.reason);
        measured.failure = Some(failure);
    }
    Ok(measured)
}

/// The failure a run that did not succeed stands for.
pub(super) fn failure_of(run: &RunResult, spec: &RunSpec, during_warmup: bool) -> Failure {
    let (reason, exit_code, signal) = match run.exit {
        Exit::Code(c) => (format!("exit code {c}"), Some(c), None),
        Exit::Signal(s) => (
            format!("killed by signal {s} ({})", signal_name(s)),
            None,
            Some(s),
        ),
        Exit::TimedOut => (
            format!(
                "timed out after {}",
                format_ns(spec.timeout.as_nanos() as f64)
            ),
            None,
            None,
        ),
    };
    Failure {
        reason,
        exit_code,
        signal,
        timed_out: run.exit == Exit::TimedOut,
        during_warmup,
        stderr_tail: run.stderr_tail.clone(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT, an abort or panic",
        libc::SIGSEGV => "SIGSEGV, a crash",
        libc::SIGBUS => "SIGBUS, a crash",
        libc::SIGILL => "SIGILL, a crash",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Replays wall times in milliseconds; a negative entry is a run that exits with code 1.
    struct Scripted(Vec<f64>, usize);

    impl Runner for Scripted {
        fn run(&mut self, _: &RunSpec) -> Result<RunResult, MeasureError> {
            let ms = self.0[self.1 % self.0.len()];
            self.1 += 1;
            Ok(RunResult {
                sample: Sample {
                    wall_ns: (ms.abs() * 1e6) as u64,
                    user_ns: 0,
                    sys_ns: 0,
                    max_rss_bytes: 0,
                },
                exit: if ms < 0.0 {
                    Exit::Code(1)
                } else {
                    Exit::Code(0)
                },
                stderr_tail: "boom".into(),
                rss_floor_bytes: 0,
            })
        }
    }

    fn spec() -> RunSpec {
        RunSpec {
            name: "w".into(),
            argv: vec!["x".into()],
            env: vec![],
            cwd: ".".into(),
            timeout: Duration::from_secs(1),
        }
    }

    fn sampling(warmup: u32, min: u32, max: u32, cap_ms: u64) -> Sampling {
        Sampling {
            warmup,
            min_runs: min,
            max_runs: max,
            time_cap: Duration::from_millis(cap_ms),
            ..Sampling::default()
        }
    }

    fn run(script: Vec<f64>, s: Sampling) -> (Measured, usize) {
        let mut r = Scripted(script, 0);
        let m = measure(&mut r, &spec(), &s, &mut |_, _| {}).unwrap();
        (m, r.1)
    }

    #[test]
    fn warmups_are_not_counted() {
        let (m, calls) = run(vec![10.0], sampling(3, 5, 5, 0));
        assert_eq!((m.samples.len(), calls), (5, 8));
    }

    #[test]
    fn stops_at_the_time_cap_after_min_runs() {
        // 10 ms runs, 95 ms cap: the 10th run brings the total to 100 ms >= 95 ms.
        let (m, _) = run(vec![10.0], sampling(0, 3, 100, 95));
        assert_eq!(m.samples.len(), 10);
        // The minimum wins over the cap.
        let (m, _) = run(vec![10.0], sampling(0, 20, 100, 5));
        assert_eq!(m.samples.len(), 20);
        // The maximum wins over the cap.
        let (m, _) = run(vec![10.0], sampling(0, 1, 4, 1000));
        assert_eq!(m.samples.len(), 4);
    }

    #[test]
    fn a_failed_run_stops_the_workload_and_keeps_earlier_samples() {
        let (m, _) = run(vec![10.0, 10.0, -10.0], sampling(0, 10, 10, 0));
        assert_eq!(m.samples.len(), 2);
        let f = m.failure.unwrap();
        assert_eq!((f.exit_code, f.during_warmup), (Some(1), false));
        assert_eq!(f.reason, "exit code 1");
        assert_eq!(f.stderr_tail, "boom");
    }

    #[test]
    fn a_failed_warmup_takes_no_samples() {
        let (m, calls) = run(vec![-1.0], sampling(2, 10, 10, 0));
        assert!(m.samples.is_empty());
        assert!(m.failure.unwrap().during_warmup);
        assert_eq!(calls, 1);
    }
}
