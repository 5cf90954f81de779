//! What one iteration of a criterion benchmark processes.

use serde::{Deserialize, Serialize};

/// What one iteration processes, as the bench declares it (`Throughput` in criterion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    /// `elements`, `bytes` or `bits`.
    pub unit: ThroughputUnit,
    /// How many per iteration.
    pub per_iteration: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThroughputUnit {
    Elements,
    Bytes,
    Bits,
}

impl Throughput {
    /// Units per second at `ns_per_iteration`.
    pub fn per_second(&self, ns_per_iteration: f64) -> Option<f64> {
        (ns_per_iteration > 0.0).then(|| self.per_iteration as f64 * 1e9 / ns_per_iteration)
    }

    /// `12.3 Melem/s`, `1.2 GiB/s`: criterion's way of writing it.
    pub fn format(&self, ns_per_iteration: f64) -> String {
        let Some(rate) = self.per_second(ns_per_iteration) else {
            return "-".into();
        };
        match self.unit {
            ThroughputUnit::Bytes => {
                format!("{}/s", super::units::format_bytes(rate.round() as u64))
            }
            ThroughputUnit::Elements | ThroughputUnit::Bits => {
                let unit = if self.unit == ThroughputUnit::Bits {
                    "bit"
                } else {
                    "elem"
                };
                let (scaled, prefix) = [(1e9, "G"), (1e6, "M"), (1e3, "K")]
                    .into_iter()
                    .find(|(f, _)| rate >= *f)
                    .map_or((rate, ""), |(f, p)| (rate / f, p));
                format!("{scaled:.2} {prefix}{unit}/s")
            }
        }
    }
}
