//! Turns the raw manifest into a `Config`: defaults applied, every value checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::criterion::{CriterionConfig, resolve_criterion};
use super::manifest::{self, ClassSpec, CommandLine, RawSampling, RawThresholds};
use crate::errors::ConfigError;
use crate::vocab::{Class, Metric};

/// The duration budget of each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassBudgets {
    pub small: Duration,
    pub medium: Duration,
    pub large: Duration,
}

impl Default for ClassBudgets {
    /// The product's original workload table: small <= 30 s, medium <= 2 min, large <= 10 min.
    fn default() -> Self {
        ClassBudgets {
            small: Duration::from_secs(30),
            medium: Duration::from_secs(120),
            large: Duration::from_secs(600),
        }
    }
}

impl ClassBudgets {
    pub fn of(&self, class: Class) -> Duration {
        match class {
            Class::Small => self.small,
            Class::Medium => self.medium,
            Class::Large => self.large,
        }
    }
}

/// How many samples to take of a workload, complete with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sampling {
    /// Runs before measuring, not counted.
    pub warmup: u32,
    /// Runs always taken (unless the workload fails).
    pub min_runs: u32,
    /// Runs never exceeded.
    pub max_runs: u32,
    /// Once `min_runs` are taken, stop when this much time has been spent measuring.
    #[serde(rename = "time_cap_ns", serialize_with = "ser_ns")]
    pub time_cap: Duration,
    /// The metric verdicts are taken on.
    pub metric: Metric,
}

impl Default for Sampling {
    /// Like hyperfine: at least 10 runs and about 3 s of measuring, one warm-up run.
    fn default() -> Self {
        Sampling {
            warmup: 1,
            min_runs: 10,
            max_runs: 500,
            time_cap: Duration::from_secs(3),
            metric: Metric::Wall,
        }
    }
}

impl RawSampling {
    /// Fills what this layer leaves unset from `defaults`.
    fn to_complete(self, defaults: &Sampling) -> Sampling {
        Sampling {
            warmup: self.warmup.unwrap_or(defaults.warmup),
            min_runs: self.min_runs.unwrap_or(defaults.min_runs),
            max_runs: self.max_runs.unwrap_or(defaults.max_runs),
            time_cap: self.time_cap.unwrap_or(defaults.time_cap),
            metric: self.metric.unwrap_or(defaults.metric),
        }
    }
}

/// Absolute limits on a workload's own samples; wall-time percentiles and peak memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Thresholds {
    pub p50: Option<Duration>,
    pub p90: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub max_rss_bytes: Option<u64>,
}

impl From<RawThresholds> for Thresholds {
    fn from(raw: RawThresholds) -> Self {
        Thresholds {
            p50: raw.p50,
            p90: raw.p90,
            p95: raw.p95,
            p99: raw.p99,
            max_rss_bytes: raw.max_rss,
        }
    }
}

/// One `[[workload]]` as declared, before fixtures are expanded.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    pub name: String,
    /// The 1-based line of the `[[workload]]` entry in `perf.toml`.
    pub line: usize,
    pub argv: Vec<String>,
    pub shell: bool,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub class: ClassSpec,
    pub timeout: Option<Duration>,
    pub fixtures: Option<String>,
    /// Declared sizes of fixtures, by fixture name (`sizes` in perf.toml).
    pub sizes: BTreeMap<String, f64>,
    pub thresholds: Thresholds,
    pub sampling: Sampling,
    /// The practical threshold of `check` (0.02 = 2 %).
    pub threshold: f64,
}

/// The practical threshold when `perf.toml` sets none: changes under 2 % are `unchanged`.
pub const DEFAULT_THRESHOLD: f64 = 0.02;

/// The threshold of the instructions metric when none is set: counts are exact, so a smaller
/// change is still a real one, but 1 % keeps a compiler's reshuffles from failing a check.
pub const DEFAULT_INSTRUCTIONS_THRESHOLD: f64 = 0.01;

/// Everything the tool needs from `perf.toml`, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The manifest file.
    pub path: PathBuf,
    /// The workspace root, against which relative paths in the manifest are resolved.
    pub root: PathBuf,
    pub budgets: ClassBudgets,
    pub workloads: Vec<WorkloadSpec>,
    /// `[store] dir`, resolved against the root; `None` for git notes.
    pub store_dir: Option<PathBuf>,
    /// `[store] machine`: the machine key to record under instead of the detected one.
    pub machine_key: Option<String>,
    /// FNV-1a of the manifest's bytes, 16 hex digits, stored with every record.
    pub manifest_hash: String,
    pub criterion: CriterionConfig,
    /// Sampling of `[defaults]` with the command line's overrides: the rounds of `check` on
    /// criterion benchmarks follow it.
    pub sampling: Sampling,
    /// `[defaults] threshold`, or the built-in one.
    pub threshold: f64,
    /// `[[load]]`: workloads that drive a service or a command under concurrency.
    pub loads: Vec<super::load::LoadSpec>,
    /// `[gate] layout`: what a regression explained as code layout does to the gate.
    pub layout: crate::vocab::LayoutPolicy,
}

/// Sampling settings given on the command line; they override `perf.toml`.
pub type SamplingOverrides = RawSampling;

/// Reads and resolves `perf.toml` at `path`; `root` is the workspace root.
pub fn load(
    path: &Path,
    root: &Path,
    overrides: &SamplingOverrides,
) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    resolve_text(path, root, &text, overrides)
}

/// Resolves the text of a manifest (split from `load` for tests).
pub fn resolve_text(
    path: &Path,
    root: &Path,
    text: &str,
    overrides: &SamplingOverrides,
) -> Result<Config, ConfigError> {
    let raw = manifest::parse(path, text)?;
    let defaults = raw.defaults.sampling().to_complete(&Sampling::default());
    let default_class = raw.defaults.class;
    let builtin = ClassBudgets::default();
    let budgets = ClassBudgets {
        small: raw.budgets.small.unwrap_or(builtin.small),
        medium: raw.budgets.medium.unwrap_or(builtin.medium),
        large: raw.budgets.large.unwrap_or(builtin.large),
    };
    let file_error = |message: String| ConfigError::File {
        path: path.to_owned(),
        message,
    };
    for (name, budget) in [
        ("small", budgets.small),
        ("medium", budgets.medium),
        ("large", budgets.large),
    ] {
        if budget.is_zero() {
            return Err(file_error(format!(
                "[budgets] {name} is zero; give a positive duration such as `30s`"
            )));
        }
    }
    check_sampling(&defaults).map_err(|m| file_error(format!("[defaults]: {m}")))?;
    let criterion = resolve_criterion(path, text, &raw.criterion, raw.defaults.threshold)?;

    let mut workloads = Vec::with_capacity(raw.workloads.len());
    for spanned in raw.workloads {
        let (line, _) = manifest::line_column(text, spanned.span().start);
        let w = spanned.into_inner();
        let error = |message: String| ConfigError::Workload {
            path: path.to_owned(),
            line,
            workload: w.name.clone(),
            message,
        };
        if w.name.trim().is_empty() {
            return Err(error("`name` is empty; give the workload a name".into()));
        }
        let sampling = overrides.to_complete(&w.sampling().to_complete(&defaults));
        check_sampling(&sampling).map_err(&error)?;
        let argv = match (&w.command, w.shell) {
            (CommandLine::Argv(argv), _) if argv.is_empty() || argv[0].is_empty() => {
                return Err(error(
                    "`command` is empty; give the program and its arguments".into(),
                ));
            }
            (CommandLine::Argv(argv), false) => argv.clone(),
            (CommandLine::Argv(argv), true) if argv.join(" ").trim().is_empty() => {
                return Err(error(
                    "`command` is empty; give the shell command to run".into(),
                ));
            }
            (CommandLine::Script(script), true) if script.trim().is_empty() => {
                return Err(error(
                    "`command` is empty; give the shell command to run".into(),
                ));
            }
            (CommandLine::Argv(argv), true) => vec![argv.join(" ")],
            (CommandLine::Script(script), true) => vec![script.clone()],
            (CommandLine::Script(script), false) => {
                return Err(error(format!(
                    "`command` is a string (`{script}`) but `shell` is not set; write it as an argv \
                     array such as [\"prog\", \"arg\"], or add `shell = true` to run it with `sh -c`"
                )));
            }
        };
        for (key, value) in &w.env {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(error(format!(
                    "`env` has the key {key:?}; a variable's name cannot be empty or contain `=` \
                     (or a NUL byte)"
                )));
            }
            if value.contains('\0') {
                return Err(error(format!(
                    "`env` {key} has a NUL byte in its value; a variable cannot hold one"
                )));
            }
        }
        if w.argv_has_nul() {
            return Err(error(
                "`command` has a NUL byte; no program or argument can hold one".into(),
            ));
        }
        if w.timeout.is_some_and(|t| t.is_zero()) {
            return Err(error("`timeout` is zero; give a positive duration".into()));
        }
        workloads.push(WorkloadSpec {
            line,
            argv,
            shell: w.shell,
            env: w.env.clone(),
            cwd: w.cwd.clone(),
            class: w
                .class
                .or(default_class)
                .unwrap_or(if w.fixtures.is_some() {
                    ClassSpec::Auto
                } else {
                    ClassSpec::Small
                }),
            timeout: w.timeout,
            fixtures: w.fixtures.clone(),
            sizes: w.sizes.clone(),
            thresholds: w.thresholds.clone().into(),
            sampling,
            threshold: w.threshold.or(raw.defaults.threshold).unwrap_or(
                if sampling.metric == crate::vocab::Metric::Instructions {
                    DEFAULT_INSTRUCTIONS_THRESHOLD
                } else {
                    DEFAULT_THRESHOLD
                },
            ),
            name: w.name,
        });
    }
    let mut loads = Vec::with_capacity(raw.loads.len());
    for spanned in raw.loads {
        let load = super::load::resolve_load(path, text, spanned)?;
        if workloads.iter().any(|w| w.name == load.name)
            || loads
                .iter()
                .any(|l: &super::load::LoadSpec| l.name == load.name)
        {
            return Err(ConfigError::Workload {
                path: path.to_owned(),
                line: load.line,
                workload: load.name.clone(),
                message: "another workload has this name; give each its own".into(),
            });
        }
        loads.push(load);
    }
    let hash = crate::fnv::fnv1a(text.as_bytes());
    Ok(Config {
        loads,
        path: path.to_owned(),
        root: root.to_owned(),
        budgets,
        workloads,
        store_dir: raw.store.dir.map(|d| root.join(d)),
        machine_key: raw.store.machine,
        manifest_hash: format!("{hash:016x}"),
        criterion,
        sampling: overrides.to_complete(&defaults),
        threshold: raw.defaults.threshold.unwrap_or(DEFAULT_THRESHOLD),
        layout: raw.gate.layout.unwrap_or_default(),
    })
}

/// The configuration of a workspace without `perf.toml`: criterion benchmarks with defaults.
pub fn absent(path: &Path, root: &Path, overrides: &SamplingOverrides) -> Config {
    Config {
        path: path.to_owned(),
        root: root.to_owned(),
        budgets: ClassBudgets::default(),
        workloads: Vec::new(),
        store_dir: None,
        machine_key: None,
        manifest_hash: format!("{:016x}", crate::fnv::fnv1a(b"")),
        criterion: CriterionConfig::default(),
        sampling: overrides.to_complete(&Sampling::default()),
        threshold: DEFAULT_THRESHOLD,
        loads: Vec::new(),
        layout: crate::vocab::LayoutPolicy::default(),
    }
}

fn check_sampling(s: &Sampling) -> Result<(), String> {
    if s.min_runs == 0 || s.max_runs == 0 {
        return Err(format!(
            "runs must be at least 1 (min_runs = {}, max_runs = {}); set `min_runs` and `max_runs` \
             to 1 or more",
            s.min_runs, s.max_runs
        ));
    }
    if s.max_runs < s.min_runs {
        return Err(format!(
            "`max_runs` ({}) is below `min_runs` ({}); raise `max_runs` or lower `min_runs`",
            s.max_runs, s.min_runs
        ));
    }
    Ok(())
}

fn ser_ns<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Config, String> {
        resolve_text(
            Path::new("perf.toml"),
            Path::new("/ws"),
            text,
            &SamplingOverrides::default(),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_in_and_workloads_override() {
        let c = resolve(
            "[defaults]\nwarmup = 3\n[[workload]]\nname = \"a\"\ncommand = [\"x\"]\nmin_runs = 4\n",
        )
        .unwrap();
        let s = c.workloads[0].sampling;
        assert_eq!((s.warmup, s.min_runs, s.max_runs), (3, 4, 500));
        assert_eq!(c.workloads[0].class, ClassSpec::Small);
        assert_eq!(c.workloads[0].line, 3);
        assert_eq!(c.budgets, ClassBudgets::default());
    }

    #[test]
    fn gate_layout_is_warn_unless_set_and_other_values_name_the_line() {
        let w = "[[workload]]\nname = \"a\"\ncommand = [\"x\"]\n";
        let c = resolve(w).unwrap();
        assert_eq!(c.layout, crate::vocab::LayoutPolicy::Warn);
        let c = resolve(&format!("[gate]\nlayout = \"fail\"\n{w}")).unwrap();
        assert_eq!(c.layout, crate::vocab::LayoutPolicy::Fail);
        let e = resolve(&format!("[gate]\nlayout = \"ignore\"\n{w}")).unwrap_err();
        assert!(
            e.contains("perf.toml:2") && e.contains("`warn`") && e.contains("`fail`"),
            "{e}"
        );
        let e = resolve(&format!("[gate]\nlayuot = \"warn\"\n{w}")).unwrap_err();
        assert!(e.contains("layout"), "{e}");
    }

    #[test]
    fn command_line_overrides_beat_the_file() {
        let overrides = SamplingOverrides {
            min_runs: Some(2),
            ..SamplingOverrides::default()
        };
        let c = resolve_text(
            Path::new("perf.toml"),
            Path::new("/ws"),
            "[[workload]]\nname = \"a\"\ncommand = [\"x\"]\nmin_runs = 4\nmax_runs = 9\n",
            &overrides,
        )
        .unwrap();
        assert_eq!(
            (
                c.workloads[0].sampling.min_runs,
                c.workloads[0].sampling.max_runs
            ),
            (2, 9)
        );
    }

    #[test]
    fn fixture_workloads_default_to_auto() {
        let c =
            resolve("[[workload]]\nname = \"a\"\ncommand = [\"x\"]\nfixtures = \"f/*\"\n").unwrap();
        assert_eq!(c.workloads[0].class, ClassSpec::Auto);
    }

    #[test]
    fn zero_runs_is_an_error_naming_the_workload() {
        let err =
            resolve("[[workload]]\nname = \"a\"\ncommand = [\"x\"]\nmax_runs = 0\n").unwrap_err();
        assert!(err.contains("perf.toml:1: workload `a`"), "{err}");
        assert!(err.contains("at least 1"), "{err}");
    }

    #[test]
    fn max_below_min_is_an_error() {
        let err = resolve("[defaults]\nmin_runs = 5\nmax_runs = 2\n[[workload]]\nname = \"a\"\ncommand = [\"x\"]\n")
            .unwrap_err();
        assert!(err.contains("[defaults]"), "{err}");
    }

    #[test]
    fn a_string_command_needs_shell() {
        let err = resolve("[[workload]]\nname = \"a\"\ncommand = \"echo hi\"\n").unwrap_err();
        assert!(err.contains("shell = true"), "{err}");
        let ok =
            resolve("[[workload]]\nname = \"a\"\ncommand = \"echo hi\"\nshell = true\n").unwrap();
        assert_eq!(ok.workloads[0].argv, vec!["echo hi".to_string()]);
    }

    #[test]
    fn criterion_selection_and_thresholds() {
        let c = resolve(
            r#"
[criterion]
include = ["criterion:demo/*"]
exclude = ["*/slow*"]
threshold = "3%"
sample_size = 12
[criterion.thresholds]
"criterion:demo/*" = "4%"
"criterion:demo/noisy/*" = "10%"
"#,
        )
        .unwrap()
        .criterion;
        assert!(c.selects("criterion:demo/fib 15"));
        assert!(!c.selects("criterion:demo/slow/x"));
        assert!(!c.selects("criterion:text/lines"));
        // The longest matching pattern wins; without a match, `threshold`.
        assert_eq!(c.threshold_for("criterion:demo/noisy/a"), 0.10);
        assert_eq!(c.threshold_for("criterion:demo/fib"), 0.04);
        assert_eq!(c.threshold_for("criterion:text/lines"), 0.03);
        assert_eq!(c.sample_size, 12);
        // Without `[criterion]`: everything, and the default threshold.
        let d = resolve("").unwrap().criterion;
        assert!(d.enabled && d.selects("criterion:any/thing"));
        assert_eq!(d.threshold_for("criterion:any/thing"), DEFAULT_THRESHOLD);
    }

    #[test]
    fn criterion_errors_point_at_the_value() {
        let err = resolve(
            "[criterion]
include = [\"ok\", \"bad[\"]\n",
        )
        .unwrap_err();
        assert!(err.starts_with("perf.toml:2:"), "{err}");
        assert!(err.contains("`bad[` is not a valid glob"), "{err}");
        let err = resolve("[criterion]\n\nsample_size = 5\n").unwrap_err();
        assert!(err.starts_with("perf.toml:3:"), "{err}");
        assert!(err.contains("at least 10"), "{err}");
        let err = resolve("[criterion]\nround_time = \"0s\"\n").unwrap_err();
        assert!(err.contains("round_time is zero"), "{err}");
        let err = resolve("[criterion]\nmeasurment_time = \"1s\"\n").unwrap_err();
        assert!(err.contains("did you mean `measurement_time`"), "{err}");
    }
}
