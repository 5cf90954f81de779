//! `[criterion]`: which criterion benchmarks are workloads, how they are measured, and their
//! thresholds.

use std::path::Path;
use std::time::Duration;

use super::manifest::{self, RawCriterion};
use super::resolve::DEFAULT_THRESHOLD;
use crate::errors::ConfigError;

/// `[criterion]`, resolved.
#[derive(Debug, Clone)]
pub struct CriterionConfig {
    pub enabled: bool,
    pub include: Vec<glob::Pattern>,
    pub exclude: Vec<glob::Pattern>,
    pub warm_up_time: Duration,
    pub measurement_time: Duration,
    pub sample_size: u32,
    pub round_time: Duration,
    pub threshold: f64,
    /// Most specific (longest) pattern first.
    pub thresholds: Vec<(glob::Pattern, f64)>,
}

impl Default for CriterionConfig {
    /// About 1.7 s per benchmark (criterion's own analysis included), so that a suite of 20
    /// runs in under a minute; criterion's defaults (3 s, 5 s, 100 samples) take 8 s or more.
    fn default() -> Self {
        CriterionConfig {
            enabled: true,
            include: Vec::new(),
            exclude: Vec::new(),
            warm_up_time: Duration::from_millis(500),
            measurement_time: Duration::from_secs(1),
            sample_size: 30,
            round_time: Duration::from_millis(100),
            threshold: DEFAULT_THRESHOLD,
            thresholds: Vec::new(),
        }
    }
}

impl CriterionConfig {
    /// Whether the workload `name` is selected by `include` and `exclude`.
    pub fn selects(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }

    /// The threshold of the workload `name`.
    pub fn threshold_for(&self, name: &str) -> f64 {
        self.thresholds
            .iter()
            .find(|(p, _)| p.matches(name))
            .map_or(self.threshold, |(_, t)| *t)
    }
}

pub(super) fn resolve_criterion(
    path: &Path,
    text: &str,
    raw: &RawCriterion,
    default_threshold: Option<f64>,
) -> Result<CriterionConfig, ConfigError> {
    // The error points at the first place the offending text appears in `[criterion]`.
    let error_at = |needle: &str, message: String| {
        let start = text.find("[criterion").unwrap_or(0);
        let offset = text[start..].find(needle).map_or(start, |o| start + o);
        let (line, column) = manifest::line_column(text, offset);
        ConfigError::Parse {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    };
    let pattern = |p: &str, key: &str| {
        glob::Pattern::new(p).map_err(|e| {
            error_at(
                p,
                format!(
                    "[criterion] {key}: `{p}` is not a valid glob ({e}); write patterns such as \
                     \"criterion:demo/*\""
                ),
            )
        })
    };
    let builtin = CriterionConfig::default();
    let mut thresholds = Vec::new();
    for (p, t) in &raw.thresholds {
        thresholds.push((pattern(p, "thresholds")?, t.0));
    }
    thresholds.sort_by_key(|(p, _)| std::cmp::Reverse(p.as_str().len()));
    let positive = |d: Option<Duration>, key: &str, default: Duration| match d {
        Some(d) if d.is_zero() => Err(error_at(
            key,
            format!("[criterion] {key} is zero; give a positive duration such as `500ms`"),
        )),
        Some(d) => Ok(d),
        None => Ok(default),
    };
    let sample_size = raw.sample_size.unwrap_or(builtin.sample_size);
    if sample_size < 10 {
        return Err(error_at(
            "sample_size",
            format!("[criterion] sample_size is {sample_size}; criterion needs at least 10"),
        ));
    }
    Ok(CriterionConfig {
        enabled: raw.enabled.unwrap_or(true),
        include: raw
            .include
            .iter()
            .map(|p| pattern(p, "include"))
            .collect::<Result<_, _>>()?,
        exclude: raw
            .exclude
            .iter()
            .map(|p| pattern(p, "exclude"))
            .collect::<Result<_, _>>()?,
        warm_up_time: positive(raw.warm_up_time, "warm_up_time", builtin.warm_up_time)?,
        measurement_time: positive(
            raw.measurement_time,
            "measurement_time",
            builtin.measurement_time,
        )?,
        sample_size,
        round_time: positive(raw.round_time, "round_time", builtin.round_time)?,
        threshold: raw
            .threshold
            .or(default_threshold)
            .unwrap_or(DEFAULT_THRESHOLD),
        thresholds,
    })
}
