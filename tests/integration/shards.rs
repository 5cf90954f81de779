//! `--partition`: shards of a CI matrix cover every workload exactly once, keep a growth group
//! together, and their records of one commit read as one set. Figures come from the fake runner;
//! git and the store are real.

use std::collections::BTreeSet;

use crate::common::Scratch;
use crate::git::{commit_all, init_and_commit};

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n\
    [[workload]]\nname = \"a\"\ncommand = [\"true\"]\n\
    [[workload]]\nname = \"b\"\ncommand = [\"true\"]\n\
    [[workload]]\nname = \"c\"\ncommand = [\"true\"]\n\
    [[workload]]\nname = \"d\"\ncommand = [\"true\"]\n\
    [[workload]]\nname = \"e\"\ncommand = [\"true\"]\n\
    [[workload]]\nname = \"grow\"\ncommand = [\"cat\", \"{fixture}\"]\nfixtures = \"data/*\"\n\
    sizes = { one = 1, two = 2, four = 4 }\n\
    [[workload]]\nname = \"flat\"\ncommand = [\"cat\", \"{fixture}\"]\nfixtures = \"empty/*\"\n";

const ALL: [&str; 10] = [
    "a",
    "b",
    "c",
    "d",
    "e",
    "flat/x",
    "flat/y",
    "grow/four",
    "grow/one",
    "grow/two",
];

struct Project {
    scratch: Scratch,
    script: tempfile::NamedTempFile,
}

impl Project {
    fn new() -> Self {
        let scratch = Scratch::new(PERF_TOML);
        std::fs::create_dir(scratch.path().join("data")).unwrap();
        for name in ["one", "two", "four"] {
            std::fs::write(scratch.path().join("data").join(name), name).unwrap();
        }
        // Empty files: no size to fit, but still one workload's fixtures.
        std::fs::create_dir(scratch.path().join("empty")).unwrap();
        for name in ["x", "y"] {
            std::fs::write(scratch.path().join("empty").join(name), "").unwrap();
        }
        init_and_commit(scratch.path(), "first");
        let script = tempfile::NamedTempFile::new().unwrap();
        let mut runs = serde_json::Map::new();
        for (i, name) in ALL.iter().enumerate() {
            runs.insert((*name).into(), serde_json::json!([{"wall_ms": 10 + i}]));
        }
        std::fs::write(script.path(), serde_json::Value::Object(runs).to_string()).unwrap();
        Project { scratch, script }
    }

    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.scratch.cmd(args);
        cmd.arg("--fake-runner")
            .arg(self.script.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        cmd
    }

    /// The workloads `run ARGS` measured.
    fn measured(&self, args: &[&str]) -> BTreeSet<String> {
        let mut all = vec!["run", "--message-format", "json"];
        all.extend_from_slice(args);
        let out = self.cmd(&all).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|l| l["reason"] == "workload-finished")
            .map(|l| l["workload"]["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn shards_cover_every_workload_once_and_keep_a_growth_group_together() {
    let p = Project::new();
    let all: BTreeSet<String> = ALL.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(p.measured(&[]), all);
    for scheme in ["count", "hash"] {
        let mut union = BTreeSet::new();
        let mut total = 0;
        for k in 1..=3 {
            let spec = format!("{scheme}:{k}/3");
            let here = p.measured(&["--partition", &spec]);
            // The fixtures of one workload stay together, fitted for growth or not.
            let grown = here.iter().filter(|n| n.starts_with("grow/")).count();
            assert!(grown == 0 || grown == 3, "{spec}: {here:?}");
            let flat = here.iter().filter(|n| n.starts_with("flat/")).count();
            assert!(flat == 0 || flat == 2, "{spec}: {here:?}");
            total += here.len();
            union.extend(here);
        }
        assert_eq!(union, all, "{scheme}");
        assert_eq!(total, all.len(), "{scheme}: a workload in two shards");
    }
    // count deals 7 units (5 workloads and 2 with fixtures) round-robin, sorted by name:
    // a, d, grow; b, e; c, flat.
    let units: Vec<BTreeSet<String>> = (1..=3)
        .map(|k| {
            p.measured(&["--partition", &format!("count:{k}/3")])
                .into_iter()
                .map(|n| n.split('/').next().unwrap().to_owned())
                .collect()
        })
        .collect();
    let expected: Vec<BTreeSet<String>> = [&["a", "d", "grow"][..], &["b", "e"], &["c", "flat"]]
        .iter()
        .map(|u| u.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    assert_eq!(units, expected);

    // More shards than workloads: an empty shard does nothing and passes.
    let empty = (1..=8).map(|k| format!("count:{k}/8")).find(|spec| {
        let out = p.cmd(&["run", "--partition", spec]).assert().success();
        stderr(&out).contains("has none of the 10 selected workloads")
    });
    assert_eq!(empty.as_deref(), Some("count:8/8"));
    // A bad partition says how to write one.
    let err = p.cmd(&["run", "--partition", "hash:4/3"]).assert().code(2);
    assert!(
        stderr(&err).contains("`count:K/N` or `hash:K/N`"),
        "{}",
        stderr(&err)
    );
}

#[test]
fn the_records_of_a_commits_shards_are_one_set() {
    let p = Project::new();
    let record = |spec: &str| {
        p.cmd(&["record", "-q", "--partition", spec])
            .assert()
            .success();
    };
    for k in 1..=3 {
        record(&format!("hash:{k}/3"));
    }
    // `show` presents one set with every workload, and the shards it came from.
    let shown = stdout(&p.cmd(&["show", "HEAD"]).assert().success());
    assert_eq!(shown.matches("record ").count(), 1, "{shown}");
    assert!(
        shown.contains("shards hash:1/3 + hash:2/3 + hash:3/3"),
        "{shown}"
    );
    for name in ALL {
        assert!(shown.contains(name), "{name} missing: {shown}");
    }
    // `history` has every workload at the commit.
    let history = stdout(
        &p.cmd(&["history", "--message-format", "json"])
            .assert()
            .success(),
    );
    let names: BTreeSet<String> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|l| l["workload"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), ALL.len(), "{history}");

    // A second commit recorded in two other shards: the stored comparison sees every workload
    // on both sides.
    std::fs::write(p.scratch.path().join("README"), "2").unwrap();
    commit_all(p.scratch.path(), "second");
    record("count:1/2");
    record("count:2/2");
    let out = p
        .cmd(&["compare", "HEAD~1", "HEAD", "--message-format", "json"])
        .assert();
    let compared: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["reason"] == "check-workload")
        .map(|l| {
            assert_ne!(l["verdict"], "added", "{l}");
            assert_ne!(l["verdict"], "removed", "{l}");
            l["workload"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(compared.len(), ALL.len(), "{}", stdout(&out));
    // The release report has every workload at both commits.
    let report: serde_json::Value = serde_json::from_str(&stdout(
        &p.cmd(&["report", "--format", "json"]).assert().success(),
    ))
    .unwrap();
    let workloads = report["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), ALL.len());
    assert!(workloads.iter().all(|w| w["points"] == 2), "{report}");
}
