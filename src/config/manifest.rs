//! The raw form of `perf.toml`, exactly as written, and the parse errors that point into it.
//!
//! Nothing here has defaults applied; `resolve` turns this into a `Config`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::errors::ConfigError;
use crate::vocab::Metric;
use crate::vocab::units::{de_duration, de_percent, de_size};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub budgets: RawBudgets,
    #[serde(default, rename = "workload")]
    pub workloads: Vec<Spanned<RawWorkload>>,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub criterion: RawCriterion,
    #[serde(default, rename = "load")]
    pub loads: Vec<Spanned<super::load::RawLoad>>,
    #[serde(default)]
    pub gate: RawGateSection,
}

/// `[gate]`: how `check` treats what its explanations find.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateSection {
    /// What a regression explained as code layout does: `warn` (the default) reports it and
    /// lets the workload pass, `fail` fails the gate as for any regression.
    pub layout: Option<crate::vocab::LayoutPolicy>,
}

/// `[criterion]`: which criterion benchmarks become workloads, and how they are measured.
/// Without it, every benchmark of every bench target that depends on criterion is included.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCriterion {
    /// `false` skips criterion benches altogether (no bench build).
    pub enabled: Option<bool>,
    /// Globs over workload names (`criterion:<target>/<id>`); none means all.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs over workload names, applied after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Criterion's `--warm-up-time` for `run` and `record`.
    #[serde(default, deserialize_with = "de_duration")]
    pub warm_up_time: Option<Duration>,
    /// Criterion's `--measurement-time` for `run` and `record`.
    #[serde(default, deserialize_with = "de_duration")]
    pub measurement_time: Option<Duration>,
    /// Criterion's `--sample-size` (at least 10).
    pub sample_size: Option<u32>,
    /// The measurement time of each benchmark in each round of `check`.
    #[serde(default, deserialize_with = "de_duration")]
    pub round_time: Option<Duration>,
    /// The practical threshold of `check` for criterion workloads.
    #[serde(default, deserialize_with = "de_percent")]
    pub threshold: Option<f64>,
    /// Thresholds for the workloads whose names match a glob; the longest matching glob wins.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Percent>,
}

/// A percentage such as `"5%"`, as a fraction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_percent(d).map(|p| Percent(p.unwrap_or(0.0)))
    }
}

/// `[store]`: where records go. Without it, git notes (`refs/notes/perf`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// A folder (relative to the workspace root) to keep one JSON file per record in.
    pub dir: Option<String>,
    /// The machine key to record under instead of the detected one: a class of machine whose
    /// runners pool their history, such as `ubuntu-4core`.
    #[serde(default, deserialize_with = "de_machine_key")]
    pub machine: Option<String>,
}

fn de_machine_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let key = String::deserialize(d)?;
    crate::vocab::check_machine_key(&key).map_err(de::Error::custom)?;
    Ok(Some(key))
}

/// `[defaults]`: sampling settings every workload inherits unless it sets its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub warmup: Option<u32>,
    pub min_runs: Option<u32>,
    pub max_runs: Option<u32>,
    #[serde(default, deserialize_with = "de_duration")]
    pub time_cap: Option<Duration>,
    pub metric: Option<Metric>,
    pub class: Option<ClassSpec>,
    /// The practical threshold of `check`: changes smaller than this are `unchanged`.
    #[serde(default, deserialize_with = "de_percent")]
    pub threshold: Option<f64>,
}

/// Sampling settings, in `[defaults]` or in a workload.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawSampling {
    pub warmup: Option<u32>,
    pub min_runs: Option<u32>,
    pub max_runs: Option<u32>,
    pub time_cap: Option<Duration>,
    pub metric: Option<Metric>,
}

impl RawDefaults {
    pub fn sampling(&self) -> RawSampling {
        RawSampling {
            warmup: self.warmup,
            min_runs: self.min_runs,
            max_runs: self.max_runs,
            time_cap: self.time_cap,
            metric: self.metric,
        }
    }
}

impl RawWorkload {
    pub fn sampling(&self) -> RawSampling {
        RawSampling {
            warmup: self.warmup,
            min_runs: self.min_runs,
            max_runs: self.max_runs,
            time_cap: self.time_cap,
            metric: self.metric,
        }
    }
}

/// `[budgets]`: the duration budget of each class.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudgets {
    #[serde(default, deserialize_with = "de_duration")]
    pub small: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub medium: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub large: Option<Duration>,
}

/// One `[[workload]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: String,
    pub command: CommandLine,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    #[serde(default)]
    pub shell: bool,
    pub class: Option<ClassSpec>,
    #[serde(default, deserialize_with = "de_duration")]
    pub timeout: Option<Duration>,
    /// A glob relative to the workspace root; the workload is repeated for every match.
    pub fixtures: Option<String>,
    /// The size of each fixture (by its name) that its time grows with; by default, its lines.
    #[serde(default)]
    pub sizes: BTreeMap<String, f64>,
    #[serde(default)]
    pub thresholds: RawThresholds,
    #[serde(default, deserialize_with = "de_percent")]
    pub threshold: Option<f64>,
    // Sampling settings, overriding `[defaults]`. Written out rather than flattened: serde cannot
    // reject unknown keys through `flatten`.
    pub warmup: Option<u32>,
    pub min_runs: Option<u32>,
    pub max_runs: Option<u32>,
    #[serde(default, deserialize_with = "de_duration")]
    pub time_cap: Option<Duration>,
    pub metric: Option<Metric>,
}

/// `[workload.thresholds]`: absolute limits on the workload's own samples.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    #[serde(default, deserialize_with = "de_duration")]
    pub p50: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub p90: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub p95: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub p99: Option<Duration>,
    #[serde(default, deserialize_with = "de_size")]
    pub max_rss: Option<u64>,
}

/// A workload's size class as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassSpec {
    Small,
    Medium,
    Large,
    /// Measure the fixture folder and pick the class from its size.
    Auto,
}

/// `command`: an argv array, or one string (which needs `shell = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Argv(Vec<String>),
    Script(String),
}

impl RawWorkload {
    /// Whether the command holds a NUL byte, which no argument of a process can.
    pub fn argv_has_nul(&self) -> bool {
        match &self.command {
            CommandLine::Argv(argv) => argv.iter().any(|a| a.contains('\0')),
            CommandLine::Script(s) => s.contains('\0'),
        }
    }
}

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CommandLine;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an argv array such as [\"{bin:app}\", \"--input\", \"{fixture}\"], or a string with `shell = true`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CommandLine, E> {
                Ok(CommandLine::Script(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CommandLine, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                Ok(CommandLine::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses the text of `perf.toml` at `path`.
pub fn parse(path: &Path, text: &str) -> Result<RawManifest, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: with_suggestion(e.message().trim()),
        }
    })
}

/// The 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Adds "did you mean" to serde's "unknown field/variant `x`, expected one of `a`, `b`" messages.
///
/// serde's wording of these two messages has been stable since 1.0; if it ever changes this only
/// loses the suggestion, never the message.
fn with_suggestion(message: &str) -> String {
    let is_unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (Some((given, candidates)), true) = (quoted.split_first(), is_unknown) else {
        return message.to_owned();
    };
    match nearest(given, candidates.iter().copied()) {
        Some(best) => format!("{message}; did you mean `{best}`?"),
        None => message.to_owned(),
    }
}

/// The candidate closest to `given`, if any is close enough to be a plausible typo.
pub fn nearest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::levenshtein(given, c), c))
        .filter(|(distance, c)| *distance <= (c.len().max(given.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        parse(Path::new("perf.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn full_manifest_parses() {
        let m = parse(
            Path::new("perf.toml"),
            r#"
[defaults]
warmup = 2
time_cap = "5s"
metric = "cpu"
[budgets]
small = "10s"
[[workload]]
name = "a"
command = ["x", "{fixture}"]
fixtures = "f/*"
class = "auto"
max_runs = 7
[workload.thresholds]
p95 = "250ms"
max_rss = "64MiB"
[[workload]]
name = "b"
command = "echo hi | wc"
shell = true
"#,
        )
        .unwrap();
        assert_eq!(m.defaults.warmup, Some(2));
        assert_eq!(m.defaults.metric, Some(Metric::Cpu));
        assert_eq!(m.budgets.small, Some(Duration::from_secs(10)));
        let a = m.workloads[0].get_ref();
        assert_eq!(a.class, Some(ClassSpec::Auto));
        assert_eq!(a.max_runs, Some(7));
        assert_eq!(a.thresholds.max_rss, Some(64 << 20));
        assert_eq!(
            m.workloads[1].get_ref().command,
            CommandLine::Script("echo hi | wc".into())
        );
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse_err("[defaults]\nwarmup = = 3\n");
        assert!(err.starts_with("perf.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_key_suggests_the_nearest() {
        let err = parse_err("[[workload]]\nname = \"a\"\ncommand = [\"x\"]\ntimout = \"1s\"\n");
        assert!(err.starts_with("perf.toml:4:1:"), "{err}");
        assert!(err.contains("did you mean `timeout`?"), "{err}");
    }

    #[test]
    fn unknown_class_lists_the_classes() {
        let err = parse_err("[[workload]]\nname = \"a\"\ncommand = [\"x\"]\nclass = \"huge\"\n");
        assert!(err.contains("`small`, `medium`, `large`"), "{err}");
        assert!(err.starts_with("perf.toml:4:9:"), "{err}");
    }

    #[test]
    fn bad_duration_says_the_accepted_forms() {
        let err = parse_err("[budgets]\nsmall = \"30 parsecs\"\n");
        assert!(err.contains("250ms"), "{err}");
        assert!(err.starts_with("perf.toml:2:"), "{err}");
    }

    #[test]
    fn nearest_ignores_far_candidates() {
        assert_eq!(
            nearest("warmpu", ["warmup", "cwd"].into_iter()),
            Some("warmup")
        );
        assert_eq!(nearest("zzzzzz", ["warmup", "cwd"].into_iter()), None);
    }
}
