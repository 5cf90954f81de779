//! A runner that reports given durations instead of starting processes, so that the sampling,
//! summary and budget logic can be tested exactly. Selected by the hidden `--fake-runner FILE`.
//!
//! The file is JSON: `{"workload name": [{"wall_ms": 12.5, "cpu_ms": 10, "rss_mib": 3,
//! "floor_mib": 0, "exit": 0}, ...]}`. Each run takes the next entry, cycling; `exit` may also be `"timeout"`
//! or `"signal:9"`. Fields left out are 0 (`exit` 0). The sampler counts measured time as the sum of
//! the samples' wall times, so time caps behave as with real processes.
//!
//! It scripts timings only: the explanations of `check` (`gate::explain`) run the real binaries
//! under valgrind, and with this runner they are made only when `--explain` asks, so a test of
//! the timing logic gets no explanation that contradicts its script.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::runner::{Exit, RunResult, RunSpec, Runner, Sample};
use crate::errors::{ConfigError, MeasureError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FakeRun {
    #[serde(default)]
    wall_ms: f64,
    #[serde(default)]
    cpu_ms: f64,
    #[serde(default)]
    rss_mib: f64,
    /// The floor of the measuring process's peak RSS (see `RunResult::rss_floor_bytes`).
    #[serde(default)]
    floor_mib: f64,
    #[serde(default)]
    exit: Option<serde_json::Value>,
}

/// Replays scripted runs per workload name.
#[derive(Debug, Default)]
pub struct FakeRunner {
    script: HashMap<String, Vec<FakeRun>>,
    next: HashMap<String, usize>,
}

impl FakeRunner {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let script = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        Ok(FakeRunner {
            script,
            ..Self::default()
        })
    }
}

impl Runner for FakeRunner {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError> {
        // `check` names the sides `name@base` and `name@new`; a script may give either, or
        // just `name` for both.
        let plain = spec
            .name
            .rsplit_once('@')
            .map_or(spec.name.as_str(), |(n, _)| n);
        let key = if self.script.contains_key(&spec.name) {
            &spec.name[..]
        } else {
            plain
        };
        let runs = self
            .script
            .get(key)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| MeasureError::Spawn {
                program: spec.name.clone(),
                source: std::io::Error::other("the fake runner has no runs for this workload"),
            })?;
        let i = self.next.entry(spec.name.clone()).or_default();
        let run = &runs[*i % runs.len()];
        *i += 1;
        let ms = |v: f64| (v * 1e6) as u64;
        let exit = match &run.exit {
            None => Exit::Code(0),
            Some(serde_json::Value::Number(n)) => Exit::Code(n.as_i64().unwrap_or(1) as i32),
            Some(serde_json::Value::String(s)) if s == "timeout" => Exit::TimedOut,
            Some(serde_json::Value::String(s)) => Exit::Signal(
                s.strip_prefix("signal:")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(9),
            ),
            Some(_) => Exit::Code(1),
        };
        let wall_ns = if exit == Exit::TimedOut {
            spec.timeout.as_nanos() as u64
        } else {
            ms(run.wall_ms)
        };
        Ok(RunResult {
            sample: Sample {
                wall_ns,
                user_ns: ms(run.cpu_ms),
                sys_ns: 0,
                max_rss_bytes: (run.rss_mib * 1024.0 * 1024.0) as u64,
            },
            exit,
            stderr_tail: if exit == Exit::Code(0) {
                String::new()
            } else {
                "fake failure".into()
            },
            rss_floor_bytes: (run.floor_mib * 1024.0 * 1024.0) as u64,
        })
    }
}
