//! `cargo perf export --format openmetrics`: the latest stored figures of each workload and the
//! verdicts of the last check, as gauges for Prometheus.
//!
//! Every figure is its own gauge family, named `cargo_perf_<figure>_<unit>` with the unit in
//! `# UNIT`, and each sample carries `workload`, `class`, `kind`, `machine` and `commit` labels.
//! The same families go to a Pushgateway in the Prometheus text format (0.0.4), which has no
//! `# UNIT` and no `# EOF`: the Pushgateway parses only that format.

use std::fmt::Write as _;

use crate::store::{LastCheck, WorkloadRecord};

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
    /// The Prometheus text format 0.0.4, which the Pushgateway accepts.
    Prometheus,
}

/// One workload's newest stored figures on one machine.
#[derive(Debug, Clone)]
pub struct Latest {
    pub machine: String,
    /// The commit of the record the figures come from.
    pub commit: String,
    /// When that record was made, seconds since the Unix epoch.
    pub time_unix: i64,
    pub workload: WorkloadRecord,
}

/// The states of a verdict, each exported as 1 (the verdict) or 0, as a state set would be.
const VERDICTS: [&str; 7] = [
    "regressed",
    "improved",
    "unchanged",
    "inconclusive",
    "failed",
    "added",
    "removed",
];
const STATUSES: [&str; 3] = ["passed", "over-budget", "failed"];

/// A gauge family and its samples, each a label set and a value.
struct Family {
    name: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, unit: Option<&'static str>, help: &'static str) -> Self {
        Family {
            name,
            unit,
            help,
            samples: Vec::new(),
        }
    }
}

/// The text of every family that has a sample, in `dialect`.
pub fn render(latest: &[Latest], checks: &[(String, LastCheck)], dialect: Dialect) -> String {
    let mut families = figure_families(latest);
    families.extend(verdict_families(checks));
    let mut out = String::new();
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} gauge", f.name);
        if let (Some(unit), Dialect::OpenMetrics) = (f.unit, dialect) {
            let _ = writeln!(out, "# UNIT {} {unit}", f.name);
        }
        for (labels, value) in &f.samples {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(out, "{}{{{}}} {}", f.name, labels.join(","), number(*value));
        }
    }
    if dialect == Dialect::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn figure_families(latest: &[Latest]) -> Vec<Family> {
    let mut wall = [
        Family::new(
            "cargo_perf_wall_p50_seconds",
            Some("seconds"),
            "Median wall time of a run (load workloads: of a request; criterion: of an iteration).",
        ),
        Family::new(
            "cargo_perf_wall_p90_seconds",
            Some("seconds"),
            "90th percentile of the wall time.",
        ),
        Family::new(
            "cargo_perf_wall_p95_seconds",
            Some("seconds"),
            "95th percentile of the wall time.",
        ),
        Family::new(
            "cargo_perf_wall_p99_seconds",
            Some("seconds"),
            "99th percentile of the wall time.",
        ),
        Family::new(
            "cargo_perf_wall_mean_seconds",
            Some("seconds"),
            "Mean wall time.",
        ),
    ];
    let mut cpu = Family::new(
        "cargo_perf_cpu_p50_seconds",
        Some("seconds"),
        "Median CPU time (user plus system) of a run's process tree.",
    );
    let mut rss = Family::new(
        "cargo_perf_peak_rss_bytes",
        Some("bytes"),
        "Peak resident memory of a run's process tree (load workloads: the service's).",
    );
    let mut elements = Family::new(
        "cargo_perf_throughput_elements_per_second",
        None,
        "Elements a second at the median time of a criterion benchmark that declares them.",
    );
    let mut bytes = Family::new(
        "cargo_perf_throughput_bytes_per_second",
        None,
        "Bytes a second at the median time of a criterion benchmark that declares bytes or bits.",
    );
    let mut rps = Family::new(
        "cargo_perf_load_requests_per_second",
        None,
        "Requests a second that a load workload completed.",
    );
    let mut budget = Family::new(
        "cargo_perf_budget_seconds",
        Some("seconds"),
        "The class budget of a command workload's p95 wall time.",
    );
    let mut status = Family::new(
        "cargo_perf_status",
        None,
        "1 for the stored run's status (label status), 0 for the others.",
    );
    let mut recorded = Family::new(
        "cargo_perf_record_timestamp_seconds",
        Some("seconds"),
        "When the record the figures come from was made, seconds since the Unix epoch.",
    );
    for l in latest {
        let w = &l.workload;
        let labels = vec![
            ("workload", w.name.clone()),
            ("class", w.class.as_str().to_string()),
            ("kind", w.kind.clone()),
            ("machine", l.machine.clone()),
            ("commit", l.commit.clone()),
        ];
        let put = |f: &mut Family, v: f64| f.samples.push((labels.clone(), v));
        if let Some(s) = &w.summary.wall_ns {
            for (f, ns) in wall.iter_mut().zip([s.median, s.p90, s.p95, s.p99, s.mean]) {
                put(f, ns / 1e9);
            }
            if let Some(t) = w.summary.throughput.filter(|_| s.median > 0.0) {
                let per_second = t.per_iteration as f64 / (s.median / 1e9);
                match t.unit {
                    crate::vocab::ThroughputUnit::Elements => put(&mut elements, per_second),
                    crate::vocab::ThroughputUnit::Bytes => put(&mut bytes, per_second),
                    crate::vocab::ThroughputUnit::Bits => put(&mut bytes, per_second / 8.0),
                }
            }
        }
        if let Some(s) = &w.summary.cpu_ns {
            put(&mut cpu, s.median / 1e9);
        }
        if let Some(b) = w.summary.max_rss_bytes {
            put(&mut rss, b as f64);
        }
        if let Some(r) = w.summary.rps {
            put(&mut rps, r);
        }
        if w.budget_ns > 0 {
            put(&mut budget, w.budget_ns as f64 / 1e9);
        }
        put(&mut recorded, l.time_unix as f64);
        let current = serde_json::to_value(w.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        for state in STATUSES {
            let mut labels = labels.clone();
            labels.push(("status", state.to_string()));
            status
                .samples
                .push((labels, if current == state { 1.0 } else { 0.0 }));
        }
    }
    let mut all: Vec<Family> = wall.into_iter().collect();
    all.extend([cpu, rss, elements, bytes, rps, budget, status, recorded]);
    all
}

fn verdict_families(checks: &[(String, LastCheck)]) -> Vec<Family> {
    let mut verdict = Family::new(
        "cargo_perf_check_verdict",
        None,
        "1 for the verdict of the last cargo perf check on the machine (label verdict), 0 for the others.",
    );
    let mut ratio = Family::new(
        "cargo_perf_check_change_ratio",
        None,
        "Candidate over base of the judged figure in the last check (1.05 is 5 % slower).",
    );
    let mut when = Family::new(
        "cargo_perf_check_timestamp_seconds",
        Some("seconds"),
        "When the last check finished, seconds since the Unix epoch.",
    );
    for (machine, check) in checks {
        for w in &check.workloads {
            let labels = vec![
                ("workload", w.name.clone()),
                ("class", w.class.as_str().to_string()),
                ("kind", w.kind.clone()),
                ("machine", machine.clone()),
                ("commit", check.commit.clone()),
            ];
            for state in VERDICTS {
                let mut labels = labels.clone();
                labels.push(("verdict", state.to_string()));
                verdict
                    .samples
                    .push((labels, if w.verdict == state { 1.0 } else { 0.0 }));
            }
            if let Some(r) = w.ratio {
                ratio.samples.push((labels.clone(), r));
            }
            when.samples.push((labels, check.time_unix as f64));
        }
    }
    vec![verdict, ratio, when]
}

/// A sample value: Rust writes finite floats without an exponent, which both formats read.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A label value with `\`, `"` and line feeds escaped, as both formats require.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CheckedWorkload, StoredSamples, StoredStats, StoredSummary};
    use crate::vocab::{Class, Metric, Status};

    fn stats(median_ns: f64) -> StoredStats {
        StoredStats {
            mean: median_ns + 1e6,
            stddev: None,
            min: median_ns / 2.0,
            max: median_ns * 2.0,
            median: median_ns,
            p90: median_ns * 1.5,
            p95: median_ns * 1.75,
            p99: median_ns * 1.875,
            mad: 0.0,
        }
    }

    fn latest(name: &str) -> Latest {
        Latest {
            machine: "0123456789abcdef".into(),
            commit: "c".repeat(40),
            time_unix: 1_700_000_000,
            workload: WorkloadRecord {
                name: name.into(),
                kind: "command".into(),
                class: Class::Medium,
                status: Status::OverBudget,
                metric: Metric::Wall,
                budget_ns: 120_000_000_000,
                summary: StoredSummary {
                    n: 10,
                    wall_ns: Some(stats(8e6)),
                    cpu_ns: Some(stats(4e6)),
                    max_rss_bytes: Some(2_097_152),
                    rss_floor_bytes: 0,
                    throughput: None,
                    rps: None,
                },
                samples: StoredSamples::default(),
                failure: None,
                criterion: None,
                load: None,
                counts: None,
                growth: None,
            },
        }
    }

    #[test]
    fn figures_are_gauges_in_seconds_and_bytes_with_their_labels() {
        let text = render(&[latest("parse/big")], &[], Dialect::OpenMetrics);
        let labels = format!(
            "workload=\"parse/big\",class=\"medium\",kind=\"command\",\
             machine=\"0123456789abcdef\",commit=\"{}\"",
            "c".repeat(40)
        );
        for line in [
            "# TYPE cargo_perf_wall_p50_seconds gauge".to_string(),
            "# UNIT cargo_perf_wall_p50_seconds seconds".to_string(),
            format!("cargo_perf_wall_p50_seconds{{{labels}}} 0.008"),
            format!("cargo_perf_wall_p90_seconds{{{labels}}} 0.012"),
            format!("cargo_perf_wall_p95_seconds{{{labels}}} 0.014"),
            format!("cargo_perf_wall_p99_seconds{{{labels}}} 0.015"),
            format!("cargo_perf_wall_mean_seconds{{{labels}}} 0.009"),
            format!("cargo_perf_cpu_p50_seconds{{{labels}}} 0.004"),
            format!("cargo_perf_peak_rss_bytes{{{labels}}} 2097152"),
            format!("cargo_perf_budget_seconds{{{labels}}} 120"),
            format!("cargo_perf_status{{{labels},status=\"over-budget\"}} 1"),
            format!("cargo_perf_status{{{labels},status=\"passed\"}} 0"),
            format!("cargo_perf_record_timestamp_seconds{{{labels}}} 1700000000"),
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        // Families without samples are left out.
        assert!(!text.contains("requests_per_second"), "{text}");
        assert!(!text.contains("cargo_perf_check_verdict"), "{text}");
    }

    #[test]
    fn the_prometheus_dialect_has_no_unit_lines_and_no_eof() {
        let text = render(&[latest("a")], &[], Dialect::Prometheus);
        assert!(!text.contains("# UNIT"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(text.contains("# TYPE cargo_perf_wall_p50_seconds gauge\n"));
    }

    #[test]
    fn each_family_is_one_block_whatever_the_number_of_workloads() {
        let text = render(&[latest("a"), latest("b")], &[], Dialect::OpenMetrics);
        let mut seen: Vec<&str> = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split('{').next().unwrap();
            if seen.last() != Some(&name) {
                assert!(!seen.contains(&name), "{name} is split in\n{text}");
                seen.push(name);
            }
        }
        assert_eq!(
            text.matches("# TYPE cargo_perf_wall_p50_seconds").count(),
            1
        );
        assert_eq!(text.matches("cargo_perf_wall_p50_seconds{").count(), 2);
    }

    #[test]
    fn label_values_are_escaped() {
        let text = render(&[latest("we\"ird\\na\nme")], &[], Dialect::OpenMetrics);
        assert!(
            text.contains(r#"workload="we\"ird\\na\nme""#),
            "label not escaped in\n{text}"
        );
    }

    #[test]
    fn the_last_checks_verdict_is_one_state_of_seven() {
        let check = LastCheck {
            commit: "d".repeat(40),
            dirty: false,
            base: "e".repeat(40),
            time_unix: 1_700_000_100,
            exit_code: 1,
            workloads: vec![CheckedWorkload {
                name: "w".into(),
                kind: "command".into(),
                class: Class::Small,
                verdict: "regressed".into(),
                ratio: Some(1.25),
                over_budget: false,
                explanation: None,
            }],
        };
        let text = render(&[], &[("m".into(), check)], Dialect::OpenMetrics);
        let verdicts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("cargo_perf_check_verdict{"))
            .collect();
        assert_eq!(verdicts.len(), 7, "{text}");
        let ones: Vec<&&str> = verdicts.iter().filter(|l| l.ends_with(" 1")).collect();
        assert_eq!(ones.len(), 1);
        assert!(ones[0].contains("verdict=\"regressed\""), "{text}");
        assert!(text.contains("cargo_perf_check_change_ratio{workload=\"w\""));
        assert!(text.contains("} 1.25\n"));
    }

    #[test]
    fn criterion_throughput_is_per_second_at_the_median() {
        let mut l = latest("criterion:b/x");
        l.workload.summary.wall_ns = Some(stats(500.0));
        l.workload.summary.throughput = Some(crate::vocab::Throughput {
            unit: crate::vocab::ThroughputUnit::Bits,
            per_iteration: 8000,
        });
        let text = render(&[l], &[], Dialect::OpenMetrics);
        // 8000 bits = 1000 bytes per 500 ns: 2e9 bytes a second.
        assert!(
            text.lines()
                .any(|x| x.starts_with("cargo_perf_throughput_bytes_per_second{")
                    && x.ends_with(" 2000000000")),
            "{text}"
        );
    }
}
