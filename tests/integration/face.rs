//! One face for every command (issue 18, point 1): `run`, `show`, `history`, `compare` and
//! `report` list workloads in perf.toml's order and show the same `≤`, budget and failure
//! marks, the marks read back from the store. Real git repository and processes of the tool;
//! the fake runner scripts the figures, so the marks are exact.

use std::path::Path;

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, init_and_commit};

const PERF_TOML: &str = r#"[defaults]
warmup = 0
min_runs = 3
max_runs = 3

[budgets]
small = "10ms"

[[workload]]
name = "w48"
command = ["true"]
class = "small"

[[workload]]
name = "w49"
command = ["true"]
class = "small"

[[workload]]
name = "slow"
command = ["true"]
class = "small"

[[workload]]
name = "broken"
command = ["true"]
class = "small"
"#;

/// `w49` takes 2.7 ms of the 10 ms budget and peaks at its floor; `slow` takes 13 ms; `broken`
/// exits 3.
const FAKE: &str = r#"{
  "w49": [{"wall_ms": 2.7, "rss_mib": 3, "floor_mib": 4}],
  "w48": [{"wall_ms": 1, "rss_mib": 8, "floor_mib": 4}],
  "slow": [{"wall_ms": 13, "rss_mib": 8}],
  "broken": [{"exit": 3}]
}"#;

/// Neither the names' order nor its reverse.
const ORDER: [&str; 4] = ["w48", "w49", "slow", "broken"];

fn perf(dir: &Path, fake: &Path, args: &[&str]) -> String {
    let out = cargo_perf()
        .args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--fake-runner")
        .arg(fake)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("cargo perf runs");
    let code = out.status.code();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "cargo perf {args:?} exited {code:?}: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The table row of `workload` in `text` (the first line with `│ workload ` or `| workload |`).
fn row<'a>(text: &'a str, workload: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.contains(&format!("│ {workload} ")) || l.starts_with(&format!("| {workload} |"))
        })
        .unwrap_or_else(|| panic!("no row of {workload} in:\n{text}"))
}

/// The workloads in the order their rows first appear.
fn order_in(text: &str) -> Vec<&'static str> {
    let mut at: Vec<(usize, &'static str)> = ORDER
        .iter()
        .filter_map(|w| {
            let line = row(text, w);
            Some((text.find(line)?, *w))
        })
        .collect();
    at.sort();
    at.into_iter().map(|(_, w)| w).collect()
}

#[test]
fn every_command_lists_workloads_in_declaration_order_with_the_same_marks() {
    let s = Scratch::new(PERF_TOML);
    let d = s.path();
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("fake.json");
    std::fs::write(&fake, FAKE).unwrap();
    init_and_commit(d, "first");
    perf(d, &fake, &["record"]);
    std::fs::write(d.join("README"), "second\n").unwrap();
    commit_all(d, "second");
    let run = perf(d, &fake, &["record"]);
    let show = perf(d, &fake, &["show", "HEAD"]);
    let history = perf(d, &fake, &["history", "-n", "1"]);
    let report = perf(d, &fake, &["report", "--from", "HEAD~1"]);
    let compare = perf(d, &fake, &["compare", "HEAD~1", "HEAD"]);

    for (what, text) in [("run", &run), ("show", &show), ("history", &history)] {
        assert_eq!(order_in(text), ORDER, "{what}:\n{text}");
        // The floor and the budget marks, the same in each, the floor read back from the store.
        assert!(row(text, "w49").contains("≤ 3.0 MiB"), "{what}:\n{text}");
        assert!(!row(text, "w48").contains('≤'), "{what}:\n{text}");
        assert!(row(text, "broken").contains("FAILED"), "{what}:\n{text}");
    }
    for (what, text) in [("run", &run), ("show", &show)] {
        assert!(
            row(text, "w49").contains("ok (27% of 10ms)"),
            "{what}:\n{text}"
        );
        assert!(
            row(text, "slow").contains("OVER (130% of 10ms)"),
            "{what}:\n{text}"
        );
    }
    assert!(row(&history, "slow").contains("OVER"), "{history}");
    // The report lists every workload, the one that failed at every commit as failed.
    assert_eq!(order_in(&report), ORDER, "{report}");
    assert!(
        row(&report, "broken").starts_with("| broken | failed |")
            && row(&report, "broken").contains("| FAILED |"),
        "{report}"
    );
    assert!(report.contains("| 4 | 0 | 0 | 3 | 0 | 1 | 1 |"), "{report}");
    let w49 = row(&report, "w49");
    assert!(
        w49.contains("≤ 3.0 MiB") && w49.contains("ok (27% of 10ms)"),
        "{report}"
    );
    assert!(
        row(&report, "slow").contains("OVER (130% of 10ms)"),
        "{report}"
    );
    // compare of two stored records: the same order, not the alphabet's.
    let at = |w: &str| {
        compare
            .find(&format!("│ {w} "))
            .unwrap_or_else(|| panic!("no {w} in:\n{compare}"))
    };
    assert!(at("w48") < at("w49") && at("w49") < at("slow"), "{compare}");

    let json = perf(
        d,
        &fake,
        &["history", "-n", "1", "--message-format", "json"],
    );
    let points: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["reason"] == "history-point")
        .collect();
    let names: Vec<&str> = points
        .iter()
        .map(|p| p["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ORDER);
    assert_eq!(points[1]["rss_floor_bytes"], 4 * 1024 * 1024);
    assert_eq!(points[1]["max_rss_bytes"], 3 * 1024 * 1024);
}
