//! What one run measured, and why a workload failed.

use serde::{Deserialize, Serialize};

use super::Metric;

/// One measured run. This is what records store for every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Elapsed time from spawn to exit.
    pub wall_ns: u64,
    /// User CPU time of the process and every descendant that was waited for.
    pub user_ns: u64,
    /// System CPU time, likewise.
    pub sys_ns: u64,
    /// The largest resident set size of any process of the tree.
    pub max_rss_bytes: u64,
}

impl Sample {
    pub fn cpu_ns(&self) -> u64 {
        self.user_ns + self.sys_ns
    }

    /// Its figure of `metric`. Instructions are counted once per side apart from the samples
    /// (`Counts`): the samples of such a workload are its wall times.
    pub fn figure(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Wall | Metric::Instructions => self.wall_ns as f64,
            Metric::Cpu => self.cpu_ns() as f64,
        }
    }
}

/// Why a workload failed; the rest of the suite goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// One line for people: `exit code 3`, `killed by signal 11`, `timed out after 2.00 s`.
    pub reason: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// Whether it happened during a warm-up run.
    pub during_warmup: bool,
    /// The last lines of standard error.
    pub stderr_tail: String,
}
