//! What a load workload measured: figures per stage and per request, a second-by-second series,
//! and what the profile concluded (breaking point, recovery, drift). Numbers only: the
//! histograms they come from stay in the generator, so a report is small whatever ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Latency percentiles, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latency {
    /// The percentile `p` (0-100) when it is one of those kept.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let kept = [
            (50.0, self.p50),
            (90.0, self.p90),
            (95.0, self.p95),
            (99.0, self.p99),
            (99.9, self.p999),
            (100.0, self.max),
        ];
        kept.iter()
            .find(|(q, _)| (q - p).abs() < 1e-9)
            .map(|(_, v)| *v)
    }
}

/// Failed requests by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// Answered with a status that does not count as success, by status code.
    pub status: BTreeMap<u16, u64>,
    /// No connection could be made (refused, reset before an answer).
    pub connect: u64,
    /// No answer within the request timeout.
    pub timeout: u64,
    /// Anything else: a malformed answer, a command that exited non-zero or could not start.
    pub other: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.status.values().sum::<u64>() + self.connect + self.timeout + self.other
    }

    pub fn add(&mut self, other: &Errors) {
        for (code, n) in &other.status {
            *self.status.entry(*code).or_default() += n;
        }
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.other += other.other;
    }
}

/// The figures of a span of the run: a stage, a request name, or the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Requests started (answered or failed); dropped arrivals are not among them.
    pub requests: u64,
    pub errors: Errors,
    /// Arrivals of the open model that were not sent because `max_in_flight` requests were
    /// already waiting.
    pub dropped: u64,
    /// Latency of every request, failed or not, from its intended start.
    pub latency: Latency,
    /// Arrivals per second the schedule asked for (sent or dropped).
    pub offered_rps: f64,
    /// Requests per second that completed.
    pub achieved_rps: f64,
    pub seconds: f64,
    /// The service's mean and highest CPU use, as a share of the whole machine (100 = every
    /// core busy).
    pub cpu_mean: Option<f64>,
    pub cpu_max: Option<f64>,
    /// The service's highest resident memory (its whole process tree), bytes.
    pub rss_max: Option<u64>,
}

impl Figures {
    /// Failed requests as a fraction of those started.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors.total() as f64 / self.requests as f64
        }
    }
}

/// One stage's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    pub name: String,
    /// Seconds from the start of the run.
    pub start: f64,
    pub figures: Figures,
    pub requests: BTreeMap<String, Figures>,
}

/// One second of the run: what arrived in it (by intended start), and how the service was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the start of the run.
    pub t: u64,
    pub stage: usize,
    pub offered: u64,
    pub completed: u64,
    pub errors: u64,
    pub dropped: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub cpu: Option<f64>,
    pub rss: Option<u64>,
    pub fds: Option<u64>,
    /// The generator's own CPU use, as a share of one core.
    pub generator_cpu: f64,
}

/// Whether a threshold held, at its level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// As written: `p(95) < 300ms`.
    pub expr: String,
    /// `warning` or `critical`.
    pub level: String,
    /// The stage it applies to, or none for the whole run.
    pub stage: Option<String>,
    /// The measured value, in the expression's own unit (`312ms`, `0.4%`).
    pub actual: String,
    pub held: bool,
}

/// What the stress profile found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breaking {
    /// The highest rate at which every threshold held, or none when the first step broke one.
    pub breaking_point_rps: Option<f64>,
    /// The first rate at which a threshold broke, or none when every step held.
    pub broke_at_rps: Option<f64>,
    /// What broke there.
    pub broke: Vec<String>,
    pub recovery: Option<Recovery>,
}

/// Whether the service came back after the load went down (stress, spike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub recovered: bool,
    /// Seconds from the drop to the first second after which errors stayed at zero and p95
    /// stayed within `factor` of its level before.
    pub seconds: Option<f64>,
    /// p95 before the peak, nanoseconds.
    pub baseline_p95: u64,
    pub factor: f64,
}

/// What the soak profile found: slopes per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Nanoseconds of p95 per hour.
    pub p95_per_hour: f64,
    /// Bytes of the service's RSS per hour.
    pub rss_per_hour: Option<f64>,
    /// Open file descriptors per hour.
    pub fds_per_hour: Option<f64>,
    /// How much of the RSS's variation the straight line explains (0-1).
    pub rss_fit: Option<f64>,
    /// Memory grew steadily through the soak and by more than noise: it will run out.
    pub memory_grows: bool,
    /// The RSS at the start and end of the measured span, bytes.
    pub rss_start: Option<u64>,
    pub rss_end: Option<u64>,
}

/// Everything a load workload measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `load`, `stress`, `spike`, `soak` or `stages`.
    pub profile: String,
    /// `open` (arrival rate) or `closed` (users).
    pub model: String,
    pub overall: Figures,
    pub stages: Vec<StageReport>,
    pub series: Vec<Second>,
    pub thresholds: Vec<ThresholdOutcome>,
    pub stress: Option<Breaking>,
    pub spike: Option<Recovery>,
    pub soak: Option<Drift>,
    /// Things the reader should know: the generator was the bottleneck, the service was slow
    /// to stop.
    pub warnings: Vec<String>,
    /// Why the run ended early, when it did (`abort_on_fail`).
    pub aborted: Option<String>,
    /// The service's own figures, scraped from its `metrics_url` during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<crate::vocab::service_metrics::ServiceMetrics>,
}

impl LoadReport {
    /// A critical threshold broke (or the run was aborted by one).
    pub fn failed(&self) -> bool {
        self.aborted.is_some()
            || self
                .thresholds
                .iter()
                .any(|t| !t.held && t.level == "critical")
    }
}

/// Seconds a stored series keeps at most: an hour-long soak is kept at one point per six
/// seconds, so a record stays small whatever ran.
pub const STORED_SECONDS: usize = 600;

impl LoadReport {
    /// The report with its series merged into at most `max` points of equal span: counts are
    /// summed, percentiles and usage are the highest (p50 the median) of the seconds merged.
    pub fn thinned(&self, max: usize) -> LoadReport {
        let mut out = self.clone();
        if max == 0 || self.series.len() <= max {
            return out;
        }
        let per = self.series.len().div_ceil(max);
        out.series = self.series.chunks(per).map(merge_seconds).collect();
        out
    }
}

fn merge_seconds(span: &[Second]) -> Second {
    let first = span[0];
    let most = |f: fn(&Second) -> u64| span.iter().map(f).max().unwrap_or(0);
    let mut p50s: Vec<u64> = span.iter().map(|s| s.p50).collect();
    p50s.sort_unstable();
    let usage = |f: fn(&Second) -> Option<f64>| {
        span.iter()
            .filter_map(f)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    Second {
        t: first.t,
        stage: first.stage,
        offered: span.iter().map(|s| s.offered).sum(),
        completed: span.iter().map(|s| s.completed).sum(),
        errors: span.iter().map(|s| s.errors).sum(),
        dropped: span.iter().map(|s| s.dropped).sum(),
        p50: p50s[p50s.len() / 2],
        p95: most(|s| s.p95),
        p99: most(|s| s.p99),
        max: most(|s| s.max),
        cpu: usage(|s| s.cpu),
        rss: span.iter().filter_map(|s| s.rss).max(),
        fds: span.iter().filter_map(|s| s.fds).max(),
        generator_cpu: span.iter().map(|s| s.generator_cpu).fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(seconds: u64) -> LoadReport {
        LoadReport {
            profile: "soak".into(),
            model: "open".into(),
            overall: Figures::default(),
            stages: vec![],
            series: (0..seconds)
                .map(|t| Second {
                    t,
                    offered: 10,
                    completed: 9,
                    errors: 1,
                    p50: t,
                    p95: 100 + t % 7,
                    rss: Some(1000 + t),
                    ..Second::default()
                })
                .collect(),
            thresholds: vec![],
            stress: None,
            spike: None,
            soak: None,
            warnings: vec![],
            aborted: None,
            service: None,
        }
    }

    #[test]
    fn a_long_series_is_thinned_keeping_totals_and_peaks() {
        let r = report(3600);
        let thin = r.thinned(STORED_SECONDS);
        assert_eq!(thin.series.len(), 600);
        // Six seconds per point: counts summed, the highest p95 and RSS, the median p50.
        assert_eq!(thin.series[1].t, 6);
        assert_eq!(thin.series[1].offered, 60);
        assert_eq!(thin.series[1].errors, 6);
        assert_eq!(thin.series[1].p95, 100 + 6);
        assert_eq!(thin.series[1].rss, Some(1011));
        assert_eq!(thin.series[1].p50, 9);
        let total = |r: &LoadReport| r.series.iter().map(|s| s.completed).sum::<u64>();
        assert_eq!(total(&thin), total(&r));
        // A short one is kept as it is.
        assert_eq!(report(60).thinned(STORED_SECONDS), report(60));
    }
}
