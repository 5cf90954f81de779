//! Criterion benchmarks as workloads: one per benchmark id of each bench target.

use std::path::Path;

use super::workload::{CriterionBench, Kind, Workload};
use crate::config::Config;
use crate::measure::criterion::group_of;
use crate::workspace::BenchTarget;

pub use crate::vocab::CRITERION_PREFIX;

/// The workloads of the benchmarks `ids` of `target` (executable `exe`) that `[criterion]`
/// selects, named `criterion:<target>/<full_id>`, or `criterion:<package>::<target>/<full_id>`
/// when `qualified` (another selected package has a bench target of the same name).
pub fn criterion_workloads(
    config: &Config,
    target: &BenchTarget,
    exe: &Path,
    ids: &[String],
    qualified: bool,
) -> Vec<Workload> {
    let c = &config.criterion;
    let label = if qualified {
        format!("{}::{}", target.package, target.name)
    } else {
        target.name.clone()
    };
    ids.iter()
        .map(|id| (format!("{CRITERION_PREFIX}{label}/{id}"), id))
        .filter(|(name, _)| c.selects(name))
        .map(|(name, id)| Workload {
            threshold: c.threshold_for(&name),
            name,
            cwd: target.package_dir.clone(),
            sampling: config.sampling,
            kind: Kind::Criterion(CriterionBench {
                package: target.package.clone(),
                package_spec: target.package_spec.clone(),
                target: target.name.clone(),
                full_id: id.clone(),
                group: group_of(id).to_owned(),
                exe: exe.to_owned(),
            }),
        })
        .collect()
}
