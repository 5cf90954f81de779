//! Budget and threshold verdicts, exactly, with the fake runner (no processes, no timing).

use crate::common::{Scratch, json_results, result};

/// A scratch workspace whose perf.toml is `toml` and a fake-runner script `script` (JSON).
fn run_fake(toml: &str, script: &str, args: &[&str]) -> (Scratch, assert_cmd::assert::Assert) {
    let s = Scratch::new(toml);
    let script_path = s.path().join("fake.json");
    std::fs::write(&script_path, script).unwrap();
    let mut full = vec!["run", "--fake-runner", script_path.to_str().unwrap()];
    full.extend_from_slice(args);
    let a = s.cmd(&full).assert();
    (s, a)
}

const BASE: &str = "[budgets]\nsmall = \"100ms\"\n[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 20\n\
                    [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n";

/// 20 runs of 1..=20 ms: p50 10.5 ms, p95 19.05 ms, p99 19.81 ms (numpy's linear percentiles).
fn ramp(rss_mib: f64) -> String {
    let runs: Vec<String> = (1..=20)
        .map(|ms| format!("{{\"wall_ms\": {ms}, \"cpu_ms\": {ms}, \"rss_mib\": {rss_mib}}}"))
        .collect();
    format!("{{\"w\": [{}]}}", runs.join(","))
}

#[test]
fn exact_summary_from_known_durations() {
    let (_, a) = run_fake(BASE, &ramp(3.0), &["--message-format", "json"]);
    let a = a.code(0);
    let (results, _) = json_results(&a);
    let r = result(&results, "w");
    assert_eq!(r["n"], 20);
    assert_eq!(r["wall_ns"]["median"], 10.5e6);
    assert_eq!(r["wall_ns"]["p95"].as_f64().unwrap().round(), 19.05e6);
    assert_eq!(r["wall_ns"]["p99"].as_f64().unwrap().round(), 19.81e6);
    assert_eq!(r["wall_ns"]["min"], 1e6);
    assert_eq!(r["cpu_utilisation"], 1.0);
    assert_eq!(r["max_rss_bytes"], 3 * 1024 * 1024);
    assert_eq!(r["budget"]["budget_used"].as_f64().unwrap(), 0.1905);
    assert_eq!(r["schema"], 1);
}

#[test]
fn p95_over_the_class_budget_fails_the_run() {
    let toml = BASE.replace("small = \"100ms\"", "small = \"19ms\"");
    let (_, a) = run_fake(&toml, &ramp(1.0), &[]);
    let a = a.code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("w is over a limit:"), "{out}");
    assert!(
        out.contains("p95 wall time 19.1 ms > the small class budget 19.0 ms"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 over budget, 0 failed"), "{out}");
}

#[test]
fn thresholds_on_percentiles_and_memory() {
    let toml = format!(
        "{BASE}[workload.thresholds]\np50 = \"10ms\"\np99 = \"20ms\"\nmax_rss = \"2MiB\"\n"
    );
    let (_, a) = run_fake(&toml, &ramp(3.0), &["--message-format", "json"]);
    let a = a.code(1);
    let (results, summary) = json_results(&a);
    let r = result(&results, "w");
    assert_eq!(r["status"], "over-budget");
    let limits: Vec<&str> = r["budget"]["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["limit"].as_str().unwrap())
        .collect();
    // p50 10.5 ms > 10 ms and 3 MiB > 2 MiB break their limits; p99 19.81 ms < 20 ms does not.
    assert_eq!(limits, ["p50", "max_rss"]);
    assert_eq!(summary["exit_code"], 1);
}

#[test]
fn the_time_cap_stops_sampling_after_min_runs() {
    let toml = "[defaults]\nwarmup = 2\nmin_runs = 3\nmax_runs = 100\ntime_cap = \"95ms\"\n\
                [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n";
    let (_, a) = run_fake(
        toml,
        "{\"w\": [{\"wall_ms\": 10}]}",
        &["--message-format", "json"],
    );
    let a = a.code(0);
    let (results, _) = json_results(&a);
    // 10 ms a run: the 10th run reaches 100 ms >= 95 ms.
    assert_eq!(result(&results, "w")["n"], 10);
}

#[test]
fn a_timed_out_run_is_failed_and_over_budget() {
    let script = "{\"w\": [{\"wall_ms\": 5}, {\"wall_ms\": 5}, {\"exit\": \"timeout\"}]}";
    let (_, a) = run_fake(BASE, script, &["--message-format", "json"]);
    let a = a.code(1);
    let (results, _) = json_results(&a);
    let r = result(&results, "w");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["n"], 2);
    assert_eq!(r["failure"]["reason"], "timed out after 100.0 ms");
    assert_eq!(r["budget"]["breaches"][0]["limit"], "timeout");
}
