//! Calibrations kept per machine, in `<git dir>/cargo-perf/calibration.json`: each workload's
//! noise as `cargo perf calibrate` measured it, so that `check` can say when today's is far
//! above it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::gate::GateResult;
use crate::gate::calibrate::observed_sigma;
use crate::store::Repo;
use crate::vocab::Metric;

/// Noise this far above the calibrated level is worth a warning.
const WARN_FACTOR: f64 = 3.0;

/// Every machine's calibrations: machine key, then workload.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Calibrations {
    pub machines: BTreeMap<String, BTreeMap<String, Calibrated>>,
}

/// One workload's calibrated noise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibrated {
    /// The spread of the A/A rounds' log ratios of wall and CPU time.
    pub sigma_wall: Option<f64>,
    pub sigma_cpu: Option<f64>,
    pub rounds: usize,
    /// When (RFC 3339).
    pub time: String,
}

fn path(repo: &Repo) -> PathBuf {
    repo.repo
        .commondir()
        .join("cargo-perf")
        .join("calibration.json")
}

/// The calibrations stored for this repository (none when there is no file, or it does not
/// parse: it is a cache of measurements, and `calibrate` writes it anew).
pub fn load(repo: &Repo) -> Calibrations {
    std::fs::read_to_string(path(repo))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save(repo: &Repo, calibrations: &Calibrations) -> Result<PathBuf> {
    let path = path(repo);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(calibrations)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Warnings for the workloads of a check whose rounds were far noisier than calibrated on this
/// machine.
pub fn noise_warnings(repo: &Repo, machine: &str, results: &[GateResult]) -> Vec<String> {
    let calibrations = load(repo);
    let Some(known) = calibrations.machines.get(machine) else {
        return Vec::new();
    };
    results
        .iter()
        .filter_map(|r| {
            let c = known.get(&r.candidate.workload.name)?;
            let calibrated = match r.metric {
                Metric::Wall => c.sigma_wall?,
                Metric::Cpu => c.sigma_cpu?,
                Metric::Instructions => return None,
            };
            let today = observed_sigma(&r.base.samples, &r.candidate.samples, r.metric)?;
            (today > WARN_FACTOR * calibrated && today > 0.01).then(|| {
                format!(
                    "{}: its {} time varied by {:.1}% between the runs of a round, {:.1}x what \
                     `cargo perf calibrate` measured on this machine ({:.1}%, {}); something else \
                     may be using it, and verdicts come slower",
                    r.candidate.workload.name,
                    r.metric.as_str(),
                    today * 100.0,
                    today / calibrated,
                    calibrated * 100.0,
                    c.time
                )
            })
        })
        .collect()
}
