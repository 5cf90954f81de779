//! Criterion benchmarks as workloads: one per benchmark id of each bench target.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::workload::{CriterionBench, Workload};
use crate::config::{Class, Config, Thresholds};
use crate::measure::criterion::group_of;
use crate::workspace::BenchTarget;

/// Every criterion workload's name starts with this.
pub const CRITERION_PREFIX: &str = "criterion:";

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
            line: 0,
            fixture: None,
            // Criterion benchmarks have no size class and no duration budget: they are gated
            // on change only.
            class: Class::Small,
            class_reason: format!("criterion bench `{}`", target.name),
            budget: Duration::ZERO,
            timeout: Duration::ZERO,
            argv: Vec::new(),
            env: Vec::new(),
            cwd: target.package_dir.clone(),
            thresholds: Thresholds::default(),
            sampling: config.sampling,
            bins: BTreeSet::new(),
            criterion: Some(CriterionBench {
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
