//! `[[load]]`: workloads that drive a service or a command under concurrency, k6-style. The raw
//! form as written, and its resolution into a [`LoadSpec`]: presets expanded into stages, every
//! value checked, threshold expressions parsed with their position in `perf.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::manifest::line_column;
use crate::errors::ConfigError;
use crate::vocab::units::{
    de_duration, de_percent, format_bytes, format_duration, parse_duration, parse_size,
};

/// One `[[load]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    pub name: String,
    /// `load` (the default), `stress`, `spike`, `soak`, or `stages`.
    pub profile: Option<Profile>,
    /// The target: a service the tool starts and drives over HTTP...
    pub service: Option<RawService>,
    /// ...or a command, one process per iteration.
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// Open model: arrivals per second (the base rate of stress and spike).
    pub rate: Option<f64>,
    /// Closed model: concurrent users, each waiting for its last request.
    pub users: Option<u32>,
    #[serde(default, deserialize_with = "de_duration")]
    pub duration: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub ramp: Option<Duration>,
    pub max_in_flight: Option<usize>,
    #[serde(default, deserialize_with = "de_duration")]
    pub timeout: Option<Duration>,
    /// Stress: how much each step adds, how long it lasts, where stepping stops.
    pub step: Option<f64>,
    #[serde(default, deserialize_with = "de_duration")]
    pub step_duration: Option<Duration>,
    pub max_rate: Option<f64>,
    /// Stress and spike: how long the base rate is held after the peak.
    #[serde(default, deserialize_with = "de_duration")]
    pub recovery: Option<Duration>,
    /// Spike: the peak as a multiple of the base rate, and how long before and at the peak.
    pub multiple: Option<f64>,
    #[serde(default, deserialize_with = "de_duration")]
    pub before: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub hold: Option<Duration>,
    /// How near its earlier level p95 must come to count as recovered (1.5 = within 50 %).
    pub recovery_factor: Option<f64>,
    #[serde(default, rename = "stage")]
    pub stages: Vec<RawStage>,
    #[serde(default, rename = "request")]
    pub requests: Vec<RawRequest>,
    #[serde(default, rename = "threshold")]
    pub thresholds: Vec<RawThreshold>,
    /// How `check` compares the two sides.
    pub gate: Option<RawGate>,
}

/// `[load.gate]`: the level both sides are driven at, in alternating blocks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    pub rate: Option<f64>,
    pub users: Option<u32>,
    /// Blocks per side.
    pub blocks: Option<usize>,
    #[serde(default, deserialize_with = "de_duration")]
    pub block: Option<Duration>,
    /// Changes of a figure smaller than this are `unchanged` (`"10%"`).
    #[serde(default, deserialize_with = "de_percent")]
    pub threshold: Option<f64>,
    /// `false`: `check` and `compare --measure` leave the workload out (another load workload
    /// of the same service gates it).
    pub check: Option<bool>,
}

/// How `check` gates a load workload: both sides' services up at once, driven in alternating
/// blocks at one level, and each block's p50, p95 and throughput compared pairwise.
#[derive(Debug, Clone, PartialEq)]
pub struct GatePlan {
    /// Arrivals per second (open model) or users (closed).
    pub level: f64,
    /// Blocks per side, after one warm-up block each.
    pub blocks: usize,
    pub block: Duration,
    /// The practical threshold of each figure.
    pub threshold: f64,
    /// Whether `check` gates it.
    pub check: bool,
}

/// The practical threshold of a load workload's figures when `[load.gate]` sets none: the
/// percentiles of a service under load move by several percent between identical blocks.
pub const DEFAULT_LOAD_THRESHOLD: f64 = 0.10;

/// The fewest blocks a side may have: with fewer pairs the signed-rank test cannot reach
/// p < 0.05 whatever the figures.
pub const MIN_GATE_BLOCKS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Load,
    Stress,
    Spike,
    Soak,
    Stages,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Load => "load",
            Profile::Stress => "stress",
            Profile::Spike => "spike",
            Profile::Soak => "soak",
            Profile::Stages => "stages",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub command: Vec<String>,
    /// The path that answers 2xx once the service is ready.
    pub ready: Option<String>,
    #[serde(default, deserialize_with = "de_duration")]
    pub ready_timeout: Option<Duration>,
    /// How long SIGTERM has before SIGKILL.
    #[serde(default, deserialize_with = "de_duration")]
    pub stop_timeout: Option<Duration>,
    /// The service's Prometheus metrics (`http://127.0.0.1:{port}/metrics`), scraped during
    /// the run.
    pub metrics_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub name: Option<String>,
    #[serde(deserialize_with = "de_duration")]
    pub duration: Option<Duration>,
    pub rate: Option<f64>,
    pub users: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    pub name: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// A file (relative to the workspace root) whose bytes are the body.
    pub body_file: Option<String>,
    pub weight: Option<u32>,
    /// The status (or statuses) that count as success; any 2xx when unset.
    pub status: Option<StatusSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(u16),
    Many(Vec<u16>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    pub expr: Spanned<String>,
    pub level: Option<Level>,
    pub stage: Option<String>,
    #[serde(default)]
    pub abort_on_fail: bool,
    /// How long into the run (or the stage) before `abort_on_fail` may abort.
    #[serde(default, deserialize_with = "de_duration")]
    pub delay_abort: Option<Duration>,
}

/// How grave a broken threshold is: a critical one fails the run (exit 1), a warning is shown
/// and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// A load workload, resolved.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub name: String,
    /// The line of its `[[load]]` in `perf.toml`.
    pub line: usize,
    pub profile: Profile,
    pub target: LoadTarget,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// `true`: arrivals on a clock (`rate`); `false`: users in a loop (`users`).
    pub open: bool,
    pub stages: Vec<StagePlan>,
    pub requests: Vec<RequestSpec>,
    pub thresholds: Vec<ThresholdSpec>,
    pub max_in_flight: usize,
    pub timeout: Duration,
    pub recovery_factor: f64,
    pub gate: GatePlan,
}

impl LoadSpec {
    /// How long the run lasts when no stage is skipped.
    pub fn planned(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
}

#[derive(Debug, Clone)]
pub enum LoadTarget {
    Service {
        argv: Vec<String>,
        ready: String,
        ready_timeout: Duration,
        stop_timeout: Duration,
        /// The service's own metrics, with `{port}` still in it.
        metrics_url: Option<String>,
    },
    Command {
        argv: Vec<String>,
    },
}

impl LoadTarget {
    pub fn argv(&self) -> &[String] {
        match self {
            LoadTarget::Service { argv, .. } | LoadTarget::Command { argv } => argv,
        }
    }

    pub fn argv_mut(&mut self) -> &mut Vec<String> {
        match self {
            LoadTarget::Service { argv, .. } | LoadTarget::Command { argv } => argv,
        }
    }
}

/// What a stage does: the rate (or users) goes linearly from `from` to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePlan {
    pub name: String,
    pub duration: Duration,
    pub from: f64,
    pub to: f64,
    /// A step of a stress profile: after it, the thresholds decide whether to go on.
    pub step: bool,
}

impl StagePlan {
    /// The rate (or users) `elapsed` into the stage.
    pub fn level_at(&self, elapsed: Duration) -> f64 {
        let d = self.duration.as_secs_f64();
        if d <= 0.0 {
            return self.to;
        }
        let f = (elapsed.as_secs_f64() / d).clamp(0.0, 1.0);
        self.from + (self.to - self.from) * f
    }
}

#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub weight: u32,
    /// Empty: any 2xx.
    pub status: Vec<u16>,
}

impl RequestSpec {
    pub fn succeeded(&self, status: u16) -> bool {
        if self.status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.status.contains(&status)
        }
    }
}

/// A figure a threshold can be put on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadMetric {
    /// A latency percentile (0-100); 100 is the maximum.
    Percentile(f64),
    Mean,
    Min,
    /// Failed requests over requests started.
    ErrorRate,
    /// Requests completed per second.
    Throughput,
    /// The service's mean CPU use over the span, percent of the machine.
    Cpu,
    /// The service's highest CPU use in any second.
    CpuMax,
    /// The service's highest RSS, bytes.
    Rss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// A threshold, parsed: `metric op value`, the value in the metric's base unit (nanoseconds,
/// a fraction, requests per second, percent, bytes).
#[derive(Debug, Clone)]
pub struct ThresholdSpec {
    pub expr: String,
    pub metric: LoadMetric,
    pub op: Op,
    pub value: f64,
    pub level: Level,
    pub stage: Option<String>,
    pub abort_on_fail: bool,
    pub delay_abort: Duration,
}

impl ThresholdSpec {
    /// A value of this threshold's metric, written in its unit.
    pub fn format(&self, value: f64) -> String {
        format_metric(self.metric, value)
    }
}

/// A value of `metric` in its unit.
pub fn format_metric(metric: LoadMetric, value: f64) -> String {
    match metric {
        LoadMetric::Percentile(_) | LoadMetric::Mean | LoadMetric::Min => {
            crate::vocab::units::format_ns(value)
        }
        LoadMetric::ErrorRate => format!("{:.2}%", value * 100.0),
        LoadMetric::Throughput => format!("{value:.1}/s"),
        LoadMetric::Cpu | LoadMetric::CpuMax => format!("{value:.1}%"),
        LoadMetric::Rss => format_bytes(value.max(0.0) as u64),
    }
}

/// Parses `p(95) < 300ms`, `rate < 1%`, `rps >= 1000`, `cpu <= 80%`, `rss < 64MiB`. On error,
/// the byte offset in `text` the message is about.
pub fn parse_threshold(text: &str) -> Result<(LoadMetric, Op, f64), (usize, String)> {
    let ops = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)];
    let Some((at, op_text, op)) = ops
        .iter()
        .filter_map(|(t, op)| text.find(t).map(|at| (at, *t, *op)))
        .min_by_key(|(at, t, _)| (*at, std::cmp::Reverse(t.len())))
    else {
        return Err((
            0,
            format!(
                "`{text}` has no comparison; write a figure, `<`, `<=`, `>` or `>=`, and a \
                 limit, such as `p(95) < 300ms`"
            ),
        ));
    };
    let left = &text[..at];
    let right = &text[at + op_text.len()..];
    let name = left.trim();
    let name_at = left.len() - left.trim_start().len();
    let metric = parse_metric(name).ok_or_else(|| {
        (
            name_at,
            format!(
                "unknown figure `{name}`; use p(N) (such as p(95)), med, avg, min, max, \
                 rate or error_rate, rps, cpu, cpu_max or rss"
            ),
        )
    })?;
    let value_text = right.trim();
    let value_at = at + op_text.len() + (right.len() - right.trim_start().len());
    let value = parse_value(metric, value_text).map_err(|m| (value_at, m))?;
    Ok((metric, op, value))
}

fn parse_metric(name: &str) -> Option<LoadMetric> {
    let percentile = |p: &str| {
        p.parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
            .map(LoadMetric::Percentile)
    };
    match name {
        "med" | "median" => Some(LoadMetric::Percentile(50.0)),
        "avg" | "mean" => Some(LoadMetric::Mean),
        "min" => Some(LoadMetric::Min),
        "max" => Some(LoadMetric::Percentile(100.0)),
        "rate" | "error_rate" | "errors" => Some(LoadMetric::ErrorRate),
        "rps" | "throughput" => Some(LoadMetric::Throughput),
        "cpu" => Some(LoadMetric::Cpu),
        "cpu_max" => Some(LoadMetric::CpuMax),
        "rss" | "memory" => Some(LoadMetric::Rss),
        _ => {
            if let Some(inner) = name.strip_prefix("p(").and_then(|n| n.strip_suffix(')')) {
                percentile(inner.trim())
            } else {
                name.strip_prefix('p').and_then(|p| {
                    // p999 is p(99.9), as k6's summary writes it.
                    if p == "999" {
                        Some(LoadMetric::Percentile(99.9))
                    } else {
                        percentile(p)
                    }
                })
            }
        }
    }
}

fn parse_value(metric: LoadMetric, text: &str) -> Result<f64, String> {
    let number = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    match metric {
        LoadMetric::Percentile(_) | LoadMetric::Mean | LoadMetric::Min => {
            // A bare number is milliseconds, as in k6.
            if let Some(ms) = number(text) {
                return Ok(ms * 1e6);
            }
            parse_duration(text).map(|d| d.as_nanos() as f64)
        }
        LoadMetric::ErrorRate => match text.strip_suffix('%') {
            Some(p) => number(p)
                .filter(|p| *p <= 100.0)
                .map(|p| p / 100.0)
                .ok_or_else(|| format!("`{text}` is not a percentage from 0% to 100%")),
            // A bare number is a fraction, as in k6; `1` (everything may fail) is almost always
            // meant as 1 %, so it is refused rather than read as 100 %.
            None => number(text).filter(|f| *f < 1.0).ok_or_else(|| {
                format!(
                    "`{text}` is not an error rate below 100 %; write a percentage such as `1%`, \
                     or a fraction such as 0.01"
                )
            }),
        },
        LoadMetric::Throughput => {
            number(text.strip_suffix("/s").unwrap_or(text)).ok_or_else(|| {
                format!(
                    "`{text}` is not a rate; write requests per second such as `1000` or `1000/s`"
                )
            })
        }
        LoadMetric::Cpu | LoadMetric::CpuMax => number(text.strip_suffix('%').unwrap_or(text))
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a CPU share; write a percentage of the machine such as `80%`"
                )
            }),
        LoadMetric::Rss => parse_size(text).map(|b| b as f64),
    }
}

/// Checks a `[[load]]` and expands its profile into stages.
pub fn resolve_load(
    path: &Path,
    text: &str,
    spanned: Spanned<RawLoad>,
) -> Result<LoadSpec, ConfigError> {
    let (line, _) = line_column(text, spanned.span().start);
    let raw = spanned.into_inner();
    let error = |message: String| ConfigError::Workload {
        path: path.to_owned(),
        line,
        workload: raw.name.clone(),
        message,
    };
    if raw.name.trim().is_empty() {
        return Err(error(
            "`name` is empty; give the load workload a name".into(),
        ));
    }
    let target = match (&raw.service, &raw.command) {
        (Some(_), Some(_)) => {
            return Err(error(
                "has both `service` and `command`; a load workload drives one target".into(),
            ));
        }
        (None, None) => {
            return Err(error(
                "has no target; add `service = { command = [\"{bin:server}\", \"--port\", \
                 \"{port}\"] }` to drive a service over HTTP, or `command = [...]` to run a \
                 command by many users at once"
                    .into(),
            ));
        }
        (Some(s), None) => {
            check_argv(&s.command).map_err(|m| error(format!("`service.command` {m}")))?;
            let ready = s.ready.clone().unwrap_or_else(|| "/".into());
            if !ready.starts_with('/') {
                return Err(error(format!(
                    "`service.ready` is `{ready}`; give a path on the service, such as `/health`"
                )));
            }
            if let Some(url) = &s.metrics_url {
                check_metrics_url(url).map_err(&error)?;
            }
            LoadTarget::Service {
                argv: s.command.clone(),
                metrics_url: s.metrics_url.clone(),
                ready,
                ready_timeout: positive(
                    s.ready_timeout,
                    Duration::from_secs(30),
                    "service.ready_timeout",
                )
                .map_err(&error)?,
                stop_timeout: positive(
                    s.stop_timeout,
                    Duration::from_secs(5),
                    "service.stop_timeout",
                )
                .map_err(&error)?,
            }
        }
        (None, Some(argv)) => {
            check_argv(argv).map_err(|m| error(format!("`command` {m}")))?;
            if !raw.requests.is_empty() {
                return Err(error(
                    "has `request` entries but drives a `command`; requests are for a `service`"
                        .into(),
                ));
            }
            LoadTarget::Command { argv: argv.clone() }
        }
    };
    let open = match (raw.rate, raw.users) {
        (Some(_), Some(_)) => {
            return Err(error(
                "has both `rate` (open model: arrivals per second) and `users` (closed model); \
                 pick one"
                    .into(),
            ));
        }
        (_, Some(_)) => false,
        (Some(r), None) if !(r.is_finite() && r > 0.0) => {
            return Err(error(format!(
                "`rate` is {r}; give a positive number of arrivals per second"
            )));
        }
        _ => {
            // Stages alone say which model by what they set.
            !raw.stages.iter().any(|s| s.users.is_some())
        }
    };
    let base = raw.rate.or(raw.users.map(f64::from));
    let profile = raw.profile.unwrap_or(if raw.stages.is_empty() {
        Profile::Load
    } else {
        Profile::Stages
    });
    let need_base = || {
        base.ok_or_else(|| {
            error(format!(
                "profile `{}` needs `rate` (arrivals per second) or `users`",
                profile.as_str()
            ))
        })
    };
    if profile != Profile::Stages && !raw.stages.is_empty() {
        return Err(error(format!(
            "has `stage` entries and profile `{}`; stages are for `profile = \"stages\"` (or \
             leave `profile` out)",
            profile.as_str()
        )));
    }
    let dur = |d: Option<Duration>, default: Duration, key: &str| positive(d, default, key);
    let stage = |name: &str, duration: Duration, from: f64, to: f64| StagePlan {
        name: name.into(),
        duration,
        from,
        to,
        step: false,
    };
    let stages = match profile {
        Profile::Load | Profile::Soak => {
            let base = need_base()?;
            let hold = dur(
                raw.duration,
                Duration::from_secs(if profile == Profile::Soak { 3600 } else { 60 }),
                "duration",
            )
            .map_err(&error)?;
            let ramp = match raw.ramp {
                Some(r) => r,
                None => (hold / 10).min(Duration::from_secs(30)),
            };
            let mut stages = Vec::new();
            if !ramp.is_zero() {
                stages.push(stage("ramp-up", ramp, 0.0, base));
            }
            let name = if profile == Profile::Soak {
                "soak"
            } else {
                "hold"
            };
            stages.push(stage(name, hold, base, base));
            stages
        }
        Profile::Stress => {
            let base = need_base()?;
            let step = raw.step.unwrap_or(base);
            if !(step.is_finite() && step > 0.0) {
                return Err(error(format!(
                    "`step` is {step}; give a positive increase per step"
                )));
            }
            let max = raw.max_rate.unwrap_or(base + 19.0 * step);
            if !(max.is_finite() && max >= base) {
                return Err(error(format!(
                    "`max_rate` is {max}; give a rate at least the base `rate` ({base})"
                )));
            }
            let step_duration =
                dur(raw.step_duration, Duration::from_secs(10), "step_duration").map_err(&error)?;
            let recovery = dur(raw.recovery, step_duration * 3, "recovery").map_err(&error)?;
            let mut stages = Vec::new();
            let mut level = base;
            let mut n = 1;
            while level <= max + 1e-9 {
                stages.push(StagePlan {
                    step: true,
                    ..stage(&format!("step {n}"), step_duration, level, level)
                });
                level += step;
                n += 1;
            }
            stages.push(stage("recovery", recovery, base, base));
            stages
        }
        Profile::Spike => {
            let base = need_base()?;
            let multiple = raw.multiple.unwrap_or(5.0);
            if !(multiple.is_finite() && multiple > 1.0) {
                return Err(error(format!(
                    "`multiple` is {multiple}; give how many times the base rate the spike reaches, more than 1"
                )));
            }
            let before = dur(raw.before, Duration::from_secs(10), "before").map_err(&error)?;
            let hold = dur(raw.hold, Duration::from_secs(10), "hold").map_err(&error)?;
            let after = dur(raw.recovery, Duration::from_secs(60), "recovery").map_err(&error)?;
            vec![
                stage("before", before, base, base),
                stage("spike", hold, base * multiple, base * multiple),
                stage("after", after, base, base),
            ]
        }
        Profile::Stages => {
            if raw.stages.is_empty() {
                return Err(error(
                    "profile `stages` has no `stage` entries; add [[load.stage]] tables with \
                     `duration` and `rate` (or `users`)"
                        .into(),
                ));
            }
            let mut stages = Vec::new();
            let mut previous = 0.0;
            for (i, s) in raw.stages.iter().enumerate() {
                let n = i + 1;
                let name = s.name.clone().unwrap_or_else(|| format!("stage {n}"));
                let duration = s.duration.filter(|d| !d.is_zero()).ok_or_else(|| {
                    error(format!(
                        "stage `{name}` has no positive `duration`; give one such as `30s`"
                    ))
                })?;
                let to = match (s.rate, s.users, open) {
                    (Some(r), None, true) if r.is_finite() && r >= 0.0 => r,
                    (None, Some(u), false) => f64::from(u),
                    _ => {
                        return Err(error(format!(
                            "stage `{name}` must set {} (and only that): every stage of a \
                             workload uses the same model",
                            if open { "`rate`" } else { "`users`" }
                        )));
                    }
                };
                if stages.iter().any(|s: &StagePlan| s.name == name) {
                    return Err(error(format!(
                        "two stages are named `{name}`; give each its own name"
                    )));
                }
                stages.push(stage(&name, duration, previous, to));
                previous = to;
            }
            stages
        }
    };
    let requests = resolve_requests(path, &raw, &target).map_err(&error)?;
    let mut thresholds = Vec::new();
    for t in &raw.thresholds {
        let expr = t.expr.get_ref();
        let (metric, op, value) = parse_threshold(expr).map_err(|(offset, message)| {
            // The string's opening quote is at the span's start.
            let (line, column) = line_column(text, t.expr.span().start + 1 + offset);
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: format!("threshold of load workload `{}`: {message}", raw.name),
            }
        })?;
        if let Some(stage) = &t.stage
            && !stages.iter().any(|s| &s.name == stage)
        {
            let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
            return Err(error(format!(
                "threshold `{expr}` is for stage `{stage}`, which the profile does not have; its \
                 stages are {}",
                names.join(", ")
            )));
        }
        if matches!(target, LoadTarget::Command { .. }) && matches!(metric, LoadMetric::Rss) {
            return Err(error(format!(
                "threshold `{expr}` is on the service's memory, and this workload drives a \
                 command; put `max_rss` on a `[[workload]]` instead"
            )));
        }
        thresholds.push(ThresholdSpec {
            expr: expr.clone(),
            metric,
            op,
            value,
            level: t.level.unwrap_or(Level::Critical),
            stage: t.stage.clone(),
            abort_on_fail: t.abort_on_fail,
            delay_abort: t.delay_abort.unwrap_or_default(),
        });
    }
    if profile == Profile::Stress && thresholds.is_empty() {
        // Something must say where the service breaks: no more than 1 % of requests failing.
        let (metric, op, value) = parse_threshold("rate < 1%").map_err(|(_, m)| error(m))?;
        thresholds.push(ThresholdSpec {
            expr: "rate < 1%".into(),
            metric,
            op,
            value,
            level: Level::Critical,
            stage: None,
            abort_on_fail: false,
            delay_abort: Duration::ZERO,
        });
    }
    let max_in_flight = raw.max_in_flight.unwrap_or(1000);
    if max_in_flight == 0 {
        return Err(error(
            "`max_in_flight` is 0; give the most requests that may wait at once".into(),
        ));
    }
    let recovery_factor = raw.recovery_factor.unwrap_or(1.5);
    if !(recovery_factor.is_finite() && recovery_factor >= 1.0) {
        return Err(error(format!(
            "`recovery_factor` is {recovery_factor}; give 1 or more (1.5: p95 within 50 % of before)"
        )));
    }
    let gate = resolve_gate(raw.gate.as_ref(), open, base, &stages).map_err(&error)?;
    for (key, value) in &raw.env {
        if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
            return Err(error(format!(
                "`env` has the variable {key:?}, which cannot be set"
            )));
        }
    }
    Ok(LoadSpec {
        name: raw.name.clone(),
        line,
        profile,
        open,
        stages,
        requests,
        thresholds,
        max_in_flight,
        timeout: positive(raw.timeout, Duration::from_secs(10), "timeout").map_err(&error)?,
        recovery_factor,
        gate,
        target,
        env: raw.env.clone(),
        cwd: raw.cwd.clone(),
    })
}

/// The gate's level (the workload's `rate` or `users`, else the level its longest stage ends
/// at), blocks and block length, checked.
fn resolve_gate(
    raw: Option<&RawGate>,
    open: bool,
    base: Option<f64>,
    stages: &[StagePlan],
) -> Result<GatePlan, String> {
    let longest = stages
        .iter()
        .max_by_key(|s| s.duration)
        .map_or(1.0, |s| s.to);
    let level = match (raw.and_then(|g| g.rate), raw.and_then(|g| g.users), open) {
        (Some(_), Some(_), _) => {
            return Err(
                "`gate` has both `rate` and `users`; give the one of the workload's model".into(),
            );
        }
        (Some(r), None, true) if r.is_finite() && r > 0.0 => r,
        (Some(r), None, true) => {
            return Err(format!(
                "`gate.rate` is {r}; give a positive number of arrivals per second"
            ));
        }
        (None, Some(u), false) if u > 0 => f64::from(u),
        (None, Some(_), false) => return Err("`gate.users` is 0; give 1 or more".into()),
        (Some(_), None, false) => {
            return Err(
                "`gate.rate` is set but the workload runs users (closed model); give `gate.users`"
                    .into(),
            );
        }
        (None, Some(_), true) => {
            return Err(
                "`gate.users` is set but the workload has a `rate` (open model); give `gate.rate`"
                    .into(),
            );
        }
        (None, None, _) => base.unwrap_or(longest),
    };
    if level <= 0.0 {
        return Err(
            "the gate would drive it at 0; give `gate.rate` (or `gate.users`) to compare the sides at"
                .into(),
        );
    }
    let blocks = raw.and_then(|g| g.blocks).unwrap_or(8);
    if blocks < MIN_GATE_BLOCKS {
        return Err(format!(
            "`gate.blocks` is {blocks}; give {MIN_GATE_BLOCKS} or more (with fewer pairs of blocks no difference can be significant)"
        ));
    }
    let block = positive(
        raw.and_then(|g| g.block),
        Duration::from_secs(2),
        "gate.block",
    )?;
    let threshold = raw
        .and_then(|g| g.threshold)
        .unwrap_or(DEFAULT_LOAD_THRESHOLD);
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(format!(
            "`gate.threshold` is {threshold}; give a positive share such as \"10%\""
        ));
    }
    Ok(GatePlan {
        level,
        blocks,
        block,
        threshold,
        check: raw.and_then(|g| g.check).unwrap_or(true),
    })
}

fn check_argv(argv: &[String]) -> Result<(), String> {
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err("is empty; give the program and its arguments as an array".into());
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err("has a NUL byte; no argument can hold one".into());
    }
    Ok(())
}

fn positive(d: Option<Duration>, default: Duration, key: &str) -> Result<Duration, String> {
    match d {
        Some(d) if d.is_zero() => Err(format!("`{key}` is zero; give a positive duration")),
        Some(d) => Ok(d),
        None => Ok(default),
    }
}

fn resolve_requests(
    path: &Path,
    raw: &RawLoad,
    target: &LoadTarget,
) -> Result<Vec<RequestSpec>, String> {
    if matches!(target, LoadTarget::Command { .. }) {
        return Ok(Vec::new());
    }
    if raw.requests.is_empty() {
        return Ok(vec![RequestSpec {
            name: "GET /".into(),
            method: "GET".into(),
            path: "/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            weight: 1,
            status: Vec::new(),
        }]);
    }
    let root = path.parent().unwrap_or(Path::new("."));
    let mut requests = Vec::new();
    for r in &raw.requests {
        let method = r
            .method
            .clone()
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "request method `{method}` is not an HTTP method such as GET or POST"
            ));
        }
        let path_ = r.path.clone().unwrap_or_else(|| "/".into());
        if !path_.starts_with('/') || path_.contains(char::is_whitespace) {
            return Err(format!(
                "request path `{path_}` must start with `/` and hold no spaces (the service is \
                 always on a loopback address the tool picks)"
            ));
        }
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| format!("{method} {path_}"));
        if requests.iter().any(|q: &RequestSpec| q.name == name) {
            return Err(format!(
                "two requests are named `{name}`; give each its own `name`"
            ));
        }
        let body = match (&r.body, &r.body_file) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "request `{name}` has both `body` and `body_file`; give one"
                ));
            }
            (Some(b), None) => b.clone().into_bytes(),
            (None, Some(f)) => {
                let file = root.join(f);
                std::fs::read(&file).map_err(|e| {
                    format!(
                        "request `{name}`: cannot read `body_file` {}: {e}",
                        file.display()
                    )
                })?
            }
            (None, None) => Vec::new(),
        };
        for (k, v) in &r.headers {
            let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
            if k.is_empty() || bad(k) || bad(v) || k.contains([':', ' ']) {
                return Err(format!(
                    "request `{name}` has the header {k:?}: {v:?}, which cannot be sent"
                ));
            }
        }
        let status = match &r.status {
            None => Vec::new(),
            Some(StatusSpec::One(s)) => vec![*s],
            Some(StatusSpec::Many(s)) => s.clone(),
        };
        if let Some(bad) = status.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(format!(
                "request `{name}` counts status {bad} as success; statuses run from 100 to 599"
            ));
        }
        let weight = r.weight.unwrap_or(1);
        if weight == 0 {
            return Err(format!(
                "request `{name}` has weight 0; leave it out instead"
            ));
        }
        requests.push(RequestSpec {
            name,
            method,
            path: path_,
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body,
            weight,
            status,
        });
    }
    Ok(requests)
}

/// A short description for `list`: `stress, open 100/s +100 to 2000/s, 3 requests`.
pub fn describe(spec: &LoadSpec) -> String {
    let unit = if spec.open { "/s" } else { " users" };
    let peak = spec
        .stages
        .iter()
        .map(|s| s.to.max(s.from))
        .fold(0.0, f64::max);
    format!(
        "{} ({}, up to {peak}{unit}, {})",
        spec.profile.as_str(),
        if spec.open { "open" } else { "closed" },
        format_duration(spec.planned())
    )
}

/// A metrics URL must be plain HTTP on the loopback interface: the tool scrapes the service it
/// started, nothing else.
fn check_metrics_url(url: &str) -> Result<(), String> {
    let fix = "give the service's own metrics on the loopback interface, such as \
               `http://127.0.0.1:{port}/metrics`";
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "`service.metrics_url` is `{url}`, not an http:// URL; {fix}"
        ));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split_once(']').map_or(authority, |(h, _)| h)
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.trim_start_matches('[');
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!(
            "`service.metrics_url` is `{url}`, whose host `{host}` is not loopback; {fix}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_url_must_be_plain_http_on_loopback() {
        for ok in [
            "http://127.0.0.1:{port}/metrics",
            "http://localhost:9100/metrics",
            "http://[::1]:{port}/m",
        ] {
            assert_eq!(check_metrics_url(ok), Ok(()), "{ok}");
        }
        let e = check_metrics_url("https://127.0.0.1:{port}/metrics").unwrap_err();
        assert!(
            e.contains("`service.metrics_url`") && e.contains("not an http:// URL"),
            "{e}"
        );
        let e = check_metrics_url("http://example.com:{port}/metrics").unwrap_err();
        assert!(e.contains("host `example.com` is not loopback"), "{e}");
        let e = check_metrics_url("http://127.0.0.1.evil:80/").unwrap_err();
        assert!(e.contains("not loopback"), "{e}");
    }

    fn gate_of(raw: &str, open: bool, base: Option<f64>) -> Result<GatePlan, String> {
        let raw: Option<RawGate> = if raw.is_empty() {
            None
        } else {
            Some(toml::from_str(raw).unwrap())
        };
        let stages = vec![
            StagePlan {
                name: "short".into(),
                duration: Duration::from_secs(1),
                from: 0.0,
                to: 500.0,
                step: false,
            },
            StagePlan {
                name: "long".into(),
                duration: Duration::from_secs(60),
                from: 500.0,
                to: 200.0,
                step: false,
            },
        ];
        resolve_gate(raw.as_ref(), open, base, &stages)
    }

    #[test]
    fn the_gate_drives_at_the_base_level_or_the_longest_stage() {
        let g = gate_of("", true, Some(100.0)).unwrap();
        assert_eq!(
            g,
            GatePlan {
                level: 100.0,
                blocks: 8,
                block: Duration::from_secs(2),
                threshold: DEFAULT_LOAD_THRESHOLD,
                check: true,
            }
        );
        // A `stages` profile has no base: the level the longest stage ends at.
        assert_eq!(gate_of("", true, None).unwrap().level, 200.0);
        let g = gate_of(
            "rate = 40\nblocks = 10\nblock = \"500ms\"\nthreshold = \"15%\"\ncheck = false",
            true,
            Some(100.0),
        )
        .unwrap();
        assert_eq!(
            (g.level, g.blocks, g.block, g.threshold, g.check),
            (40.0, 10, Duration::from_millis(500), 0.15, false)
        );
        assert_eq!(gate_of("users = 3", false, Some(10.0)).unwrap().level, 3.0);
    }

    #[test]
    fn a_gate_that_cannot_decide_or_does_not_fit_the_model_is_refused() {
        let e = gate_of("blocks = 5", true, Some(1.0)).unwrap_err();
        assert!(e.contains("`gate.blocks` is 5; give 6 or more"), "{e}");
        let e = gate_of("users = 4", true, Some(1.0)).unwrap_err();
        assert!(e.contains("give `gate.rate`"), "{e}");
        let e = gate_of("rate = 4", false, Some(1.0)).unwrap_err();
        assert!(e.contains("give `gate.users`"), "{e}");
        let e = gate_of("rate = -1", true, Some(1.0)).unwrap_err();
        assert!(e.contains("`gate.rate` is -1"), "{e}");
        let e = gate_of("block = \"0s\"", true, Some(1.0)).unwrap_err();
        assert!(e.contains("`gate.block` is zero"), "{e}");
        let e = gate_of("threshold = \"0%\"", true, Some(1.0)).unwrap_err();
        assert!(e.contains("`gate.threshold` is 0"), "{e}");
    }

    #[test]
    fn thresholds_parse_like_k6() {
        let ms = 1e6;
        assert_eq!(
            parse_threshold("p(95) < 300ms").unwrap(),
            (LoadMetric::Percentile(95.0), Op::Lt, 300.0 * ms)
        );
        assert_eq!(
            parse_threshold("p(99.9)<=2s").unwrap(),
            (LoadMetric::Percentile(99.9), Op::Le, 2000.0 * ms)
        );
        // A bare number is milliseconds, as in k6.
        assert_eq!(
            parse_threshold("avg<200").unwrap(),
            (LoadMetric::Mean, Op::Lt, 200.0 * ms)
        );
        assert_eq!(
            parse_threshold("rate < 1%").unwrap(),
            (LoadMetric::ErrorRate, Op::Lt, 0.01)
        );
        assert_eq!(
            parse_threshold("error_rate < 0.05").unwrap(),
            (LoadMetric::ErrorRate, Op::Lt, 0.05)
        );
        assert_eq!(
            parse_threshold("rps >= 1000/s").unwrap(),
            (LoadMetric::Throughput, Op::Ge, 1000.0)
        );
        assert_eq!(
            parse_threshold("cpu <= 80%").unwrap(),
            (LoadMetric::Cpu, Op::Le, 80.0)
        );
        assert_eq!(
            parse_threshold("rss < 64MiB").unwrap(),
            (LoadMetric::Rss, Op::Lt, 64.0 * 1024.0 * 1024.0)
        );
        assert_eq!(
            parse_threshold("p99 < 1s").unwrap().0,
            LoadMetric::Percentile(99.0)
        );
    }

    #[test]
    fn bad_thresholds_say_where_and_what() {
        let (at, message) = parse_threshold("p(95) < 3 parsecs").unwrap_err();
        assert_eq!(at, 8, "{message}");
        assert!(message.contains("3 parsecs"), "{message}");
        let (at, message) = parse_threshold("  latency < 3s").unwrap_err();
        assert_eq!(at, 2);
        assert!(message.contains("unknown figure `latency`"), "{message}");
        let (_, message) = parse_threshold("p(95) 300ms").unwrap_err();
        assert!(message.contains("no comparison"), "{message}");
        let (at, _) = parse_threshold("rate < 150%").unwrap_err();
        assert_eq!(at, 7);
        // `rate < 1` is a trap (every request may fail): refused, with the way to write 1 %.
        let (_, message) = parse_threshold("rate < 1").unwrap_err();
        assert!(message.contains("`1%`"), "{message}");
    }

    #[test]
    fn stages_ramp_linearly() {
        let s = StagePlan {
            name: "r".into(),
            duration: Duration::from_secs(10),
            from: 100.0,
            to: 300.0,
            step: false,
        };
        assert_eq!(s.level_at(Duration::ZERO), 100.0);
        assert_eq!(s.level_at(Duration::from_secs(5)), 200.0);
        assert_eq!(s.level_at(Duration::from_secs(20)), 300.0);
    }
}
