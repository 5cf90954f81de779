//! How a workload's time grows across its fixtures (`analyse/small`, `/medium`, `/large`): the
//! exponent of `time ~ size^k` over the fixtures' sizes (their lines, or `sizes` in perf.toml).

use serde::Serialize;

use super::WorkloadResult;
use crate::discover::{GrowthKey, Workload};
use crate::stats::{Growth, growth};
use crate::vocab::{Counts, Metric, Sample};

/// The interval level of growth exponents.
pub const GROWTH_LEVEL: f64 = 0.95;

/// The fitted growth of one declared workload over its fixtures.
#[derive(Debug, Clone, Serialize)]
pub struct GroupGrowth {
    /// The declared workload (`analyse`).
    pub group: String,
    /// `lines`, or `declared` (the `sizes` of perf.toml).
    pub size_unit: &'static str,
    pub exponent: f64,
    pub ci: crate::stats::Interval,
    pub points: Vec<GrowthPoint>,
}

/// One fixture's size and median.
#[derive(Debug, Clone, Serialize)]
pub struct GrowthPoint {
    pub workload: String,
    pub size: f64,
    /// The median of the metric the workload is judged on (nanoseconds, or instructions).
    pub median: f64,
}

/// One declared workload's fixtures: its name, whether their sizes were declared, and each
/// member with its size.
pub type Group<'a, T> = (String, bool, Vec<(&'a T, f64)>);

/// The workloads of each declared workload measured over two or more fixtures, in the order
/// they first appear.
pub fn groups<'a, T>(items: &'a [T], workload: impl Fn(&T) -> &Workload) -> Vec<Group<'a, T>> {
    let mut out: Vec<Group<'a, T>> = Vec::new();
    for item in items {
        let Some(GrowthKey {
            group,
            size,
            declared,
        }) = workload(item).command().and_then(|c| c.growth.as_ref())
        else {
            continue;
        };
        match out.iter_mut().find(|(g, _, _)| g == group) {
            Some((_, _, members)) => members.push((item, *size)),
            None => out.push((group.clone(), *declared, vec![(item, *size)])),
        }
    }
    out.retain(|(_, _, members)| {
        let first = members[0].1;
        members.iter().any(|(_, s)| *s != first)
    });
    out
}

/// The figures a side's growth is fitted on: its samples of `metric`, or its one count.
pub fn figures(samples: &[Sample], counts: Option<Counts>, metric: Metric) -> Vec<f64> {
    match metric {
        Metric::Instructions => counts
            .map(|c| vec![c.instructions as f64])
            .unwrap_or_default(),
        metric => samples.iter().map(|s| s.figure(metric)).collect(),
    }
}

/// The growth of every declared workload run over two or more fixtures of different sizes
/// that all succeeded.
pub fn fit_groups(results: &[WorkloadResult]) -> Vec<GroupGrowth> {
    groups(results, |r| &r.workload)
        .into_iter()
        .filter_map(|(group, declared, members)| {
            if members.iter().any(|(r, _)| r.failure.is_some()) {
                return None;
            }
            let points: Vec<(f64, Vec<f64>)> = members
                .iter()
                .map(|(r, s)| {
                    (
                        *s,
                        figures(&r.samples, r.counts, r.workload.sampling.metric),
                    )
                })
                .collect();
            let seed = crate::fnv::fnv1a(group.as_bytes());
            let Growth { exponent, ci } = growth(&points, GROWTH_LEVEL, seed)?;
            Some(GroupGrowth {
                size_unit: if declared { "declared" } else { "lines" },
                exponent,
                ci,
                points: members
                    .iter()
                    .zip(&points)
                    .map(|((r, size), (_, v))| GrowthPoint {
                        workload: r.workload.name.clone(),
                        size: *size,
                        median: crate::stats::median(v).unwrap_or(0.0),
                    })
                    .collect(),
                group,
            })
        })
        .collect()
}

/// The exponent through `(size, median)` points (no interval: medians only, as stored records
/// keep them); `None` without two distinct sizes.
pub fn exponent_of(points: &[(f64, f64)]) -> Option<f64> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = points
        .iter()
        .filter(|(s, m)| *s > 0.0 && *m > 0.0)
        .map(|(s, m)| (s.ln(), m.ln()))
        .unzip();
    crate::stats::slope(&xs, &ys)
}

/// `n^1.02 [0.97, 1.08]`.
pub fn exponent_text(exponent: f64, ci: &crate::stats::Interval) -> String {
    format!("n^{exponent:.2} [{:.2}, {:.2}]", ci.lower, ci.upper)
}
