//! A service's own figures, scraped from its Prometheus metrics during a load run and kept
//! beside the client-side ones.

use serde::{Deserialize, Serialize};

/// What the scrapes of a service's metrics URL gave over a load run: each histogram's quantiles
/// and each counter's rate between the first and the last scrape, and each gauge's last value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    /// The URL scraped (its `{port}` filled in).
    pub url: String,
    /// Scrapes that answered and parsed.
    pub scrapes: usize,
    /// Seconds between the first and the last of them.
    pub seconds: f64,
    pub histograms: Vec<HistogramFigures>,
    pub counters: Vec<CounterRate>,
    pub gauges: Vec<GaugeValue>,
    /// What went wrong with a scrape, or what was left out.
    pub warnings: Vec<String>,
}

/// One histogram series (a name and its labels but `le`): what was observed between the scrapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramFigures {
    pub name: String,
    /// Its labels as Prometheus writes them (`method="GET",path="/"`), empty for none.
    pub labels: String,
    /// Observations between the first and the last scrape.
    pub count: f64,
    /// Their mean, in the histogram's own unit (seconds for a `_seconds` histogram).
    pub mean: Option<f64>,
    /// Quantiles interpolated within the buckets as PromQL's `histogram_quantile` does, in the
    /// histogram's unit; `None` without observations.
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// One counter series: its increase and its rate a second between the first and the last scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterRate {
    pub name: String,
    pub labels: String,
    pub increase: f64,
    pub per_second: f64,
}

/// One gauge series' value at the last scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeValue {
    pub name: String,
    pub labels: String,
    pub value: f64,
}
