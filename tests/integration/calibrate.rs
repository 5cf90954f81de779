//! `cargo perf calibrate` on real processes: A/A rounds, proposals, `--write` into a commented
//! perf.toml, the calibration kept per machine and check's warning against it.

use crate::common::{Scratch, helper, measuring, toml_str};
use crate::git::{commit_all, init_and_commit};

const TOML: &str = "# Our workloads: keep this comment.\n[defaults]\nwarmup = 0 # none\n\n\
                    # The work loop, about 7 ms.\n[[workload]]\nname = \"work\"\ncommand = [HELPER, \"work\", \"1\"]\n\
                    threshold = \"5%\" # generous\n\n# Sleeping: no CPU.\n[[workload]]\nname = \"nap\"\n\
                    command = [HELPER, \"sleep\", \"3\"]\n\n[workload.thresholds]\np95 = \"1s\" # a limit\n";

#[test]
fn calibrate_proposes_writes_into_a_commented_perf_toml_and_check_warns_against_it() {
    let _turn = measuring();
    let s = Scratch::new(&TOML.replace("HELPER", &toml_str(helper())));
    std::fs::write(s.path().join(".gitignore"), "target/\n").unwrap();
    init_and_commit(s.path(), "scratch");
    let a = s
        .cmd(&[
            "calibrate",
            "--time",
            "1s",
            "--message-format",
            "json",
            "-q",
        ])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let cals: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["reason"] == "calibration")
        .map(|l| l["calibration"].clone())
        .collect();
    assert_eq!(cals.len(), 2, "{out}");
    for c in &cals {
        assert!(c["rounds"].as_u64().unwrap() >= 20, "{c}");
        let wall = &c["noise"][0];
        assert_eq!(wall["metric"], "wall", "{c}");
        assert!(wall["sigma"].as_f64().unwrap() > 0.0, "{c}");
        assert!(
            wall["seconds_for_2pct"].as_f64().unwrap()
                >= wall["seconds_for_5pct"].as_f64().unwrap(),
            "{c}"
        );
        assert!(c["time_cap_s"].as_f64().unwrap() >= 1.0, "{c}");
    }
    // The calibration is kept for this machine.
    let kept = s.path().join(".git/cargo-perf/calibration.json");
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(
        text.contains("\"work\"") && text.contains("sigma_wall"),
        "{text}"
    );

    // --write: the keys go into each workload's table; every comment and line stays.
    let before = std::fs::read_to_string(s.path().join("perf.toml")).unwrap();
    let a = s
        .cmd(&["calibrate", "--time", "1s", "--write"])
        .assert()
        .success();
    let human = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        human.contains("Proposed:") && human.contains("finds now"),
        "{human}"
    );
    let after = std::fs::read_to_string(s.path().join("perf.toml")).unwrap();
    for line in before.lines().filter(|l| l.contains('#')) {
        // Commented lines stay; the threshold's comment stays with its new value.
        let kept = if let Some(rest) = line.strip_prefix("threshold = ") {
            after.lines().any(|l| {
                l.starts_with("threshold = ")
                    && l.ends_with(rest.split_once('#').map_or("", |x| x.1))
            })
        } else {
            after.contains(line)
        };
        assert!(kept, "lost `{line}`:\n{after}");
    }
    assert_eq!(after.matches("metric = \"").count(), 2, "{after}");
    assert_eq!(after.matches("time_cap = \"").count(), 2, "{after}");
    // nap's keys are in its own table, before its thresholds.
    let nap = after.find("name = \"nap\"").unwrap();
    let limits = after.find("[workload.thresholds]").unwrap();
    assert!(after[nap..limits].contains("time_cap = "), "{after}");
    // It still loads.
    s.cmd(&["list"]).assert().success();

    // check against a calibration far quieter than today: the warning names the workload.
    commit_all(s.path(), "calibrated");
    let kept_text = std::fs::read_to_string(&kept).unwrap();
    let quiet = regex_free_replace_sigmas(&kept_text);
    std::fs::write(&kept, quiet).unwrap();
    std::fs::write(s.path().join("NOTES.md"), "docs\n").unwrap();
    let a = s.cmd(&["check", "work", "--time-cap", "1s"]).assert();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("warning: work: its") && err.contains("what `cargo perf calibrate` measured"),
        "{err}"
    );
}

/// Sets every stored sigma to 0.0001 (0.01 %).
fn regex_free_replace_sigmas(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("\"sigma_") && !l.contains("null") {
                let (key, _) = l.split_once(':').unwrap();
                let comma = if l.trim_end().ends_with(',') { "," } else { "" };
                format!("{key}: 0.0001{comma}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
