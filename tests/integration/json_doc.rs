//! Every JSON object the commands print against the shapes `docs/json.md` documents: each
//! command runs once with `--message-format json` (the fake runner where something is
//! measured, a real temporary git repository and remote), and every object must have a
//! documented `reason`, every documented field that is not marked `absent`, the documented
//! type for each field, and no field the document does not name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::{Scratch, cargo_perf, repo};
use crate::git::{commit_all, git, init_and_commit};

/// One row of a documented table: a field, the types it may have, whether it may be left out.
#[derive(Debug)]
struct Field {
    types: Vec<String>,
    optional: bool,
}

/// The tables of `docs/json.md`, keyed by the first `code` span of the heading above each.
fn documented_shapes(text: &str) -> BTreeMap<String, BTreeMap<String, Field>> {
    let mut shapes: BTreeMap<String, BTreeMap<String, Field>> = BTreeMap::new();
    let mut heading = String::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with('#') {
            heading = line.split('`').nth(1).unwrap_or_default().to_owned();
            in_table = false;
        } else if line.starts_with("| field | type |") {
            in_table = true;
        } else if in_table && line.starts_with('|') {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (name, ty) = (cells[1].trim_matches('`'), cells[2]);
            if name.starts_with('-') {
                continue;
            }
            let mut types: Vec<String> = ty.split(" or ").map(str::to_owned).collect();
            let optional = types.iter().any(|t| t == "absent");
            types.retain(|t| t != "absent");
            for t in &types {
                assert!(
                    [
                        "string", "integer", "number", "boolean", "array", "object", "null"
                    ]
                    .contains(&t.as_str()),
                    "docs/json.md, `{heading}`: field `{name}` has an unknown type `{t}`"
                );
            }
            let old = shapes
                .entry(heading.clone())
                .or_default()
                .insert(name.to_owned(), Field { types, optional });
            assert!(old.is_none(), "docs/json.md, `{heading}`: `{name}` twice");
        } else {
            in_table = false;
        }
    }
    shapes
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// What is wrong with `v` as an instance of the table `shape` (named `what`).
fn problems(v: &Value, what: &str, shape: &BTreeMap<String, Field>) -> Vec<String> {
    let Some(obj) = v.as_object() else {
        return vec![format!("{what}: not an object: {v}")];
    };
    let mut found = Vec::new();
    for (name, value) in obj {
        match shape.get(name) {
            None => found.push(format!("{what}: field `{name}` is not documented")),
            Some(f) if !f.types.iter().any(|t| has_type(value, t)) => found.push(format!(
                "{what}: field `{name}` is {value}, documented as {}",
                f.types.join(" or ")
            )),
            Some(_) => {}
        }
    }
    for (name, f) in shape {
        if !f.optional && !obj.contains_key(name) {
            found.push(format!("{what}: documented field `{name}` is missing"));
        }
    }
    found
}

/// Checks one printed object (and its `workload` object) against the document.
fn check_line(
    v: &Value,
    shapes: &BTreeMap<String, BTreeMap<String, Field>>,
    command: &str,
) -> Vec<String> {
    let Some(reason) = v["reason"].as_str() else {
        return vec![format!("`{command}`: an object without a reason: {v}")];
    };
    let Some(shape) = shapes.get(reason).filter(|s| s.contains_key("reason")) else {
        return vec![format!("`{command}`: reason `{reason}` is not documented")];
    };
    let what = format!("`{command}` {reason}");
    let mut found = problems(v, &what, shape);
    if v["workload"].is_object() {
        found.extend(problems(
            &v["workload"],
            &format!("{what}, workload"),
            &shapes["workload"],
        ));
    }
    found
}

/// Runs `cargo perf ARGS` in `dir` (git without the user's configuration) and returns its
/// standard output, which must be the only output the exit code allows.
fn run(dir: &Path, args: &[&str], code: i32) -> String {
    let out = cargo_perf()
        .args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "cargo perf {args:?}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n\
                         [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n\
                         [[workload]]\nname = \"g\"\ncommand = [\"cat\", \"{fixture}\"]\n\
                         fixtures = \"data/*\"\n";

/// Scripted timings that vary, so that the check's growth has an interval.
const FAKE: &str = r#"{"w": [{"wall_ms": 10, "cpu_ms": 8}, {"wall_ms": 11, "cpu_ms": 8}],
  "g/a": [{"wall_ms": 1}, {"wall_ms": 1.2}, {"wall_ms": 0.9}],
  "g/b": [{"wall_ms": 50}, {"wall_ms": 52}, {"wall_ms": 49}, {"wall_ms": 51}]}"#;

#[test]
fn every_json_object_of_every_command_has_the_shape_docs_json_md_gives_it() {
    let text = std::fs::read_to_string(repo().join("docs/json.md")).unwrap();
    let shapes = documented_shapes(&text);
    let reasons: BTreeSet<&str> = shapes
        .iter()
        .filter(|(_, s)| s.contains_key("reason"))
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(
        reasons.len() >= 15,
        "too few documented messages: {reasons:?}"
    );

    let Scratch { dir } = Scratch::new(PERF_TOML);
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/a"), "x\n".repeat(10)).unwrap();
    std::fs::write(d.join("data/b"), "x\n".repeat(1000)).unwrap();
    std::fs::write(d.join(".gitignore"), "target/\n").unwrap();
    let scripts = tempfile::tempdir().unwrap();
    let fake = scripts.path().join("fake.json");
    std::fs::write(&fake, FAKE).unwrap();
    let fake = fake.to_str().unwrap();
    let remote = scripts.path().join("remote.git");
    init_and_commit(d, "first");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    git(d, &["remote", "add", "origin", remote.to_str().unwrap()]);

    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut out = |args: &[&str]| {
        let args = [args, &["--message-format", "json"][..]].concat();
        outputs.push((args.join(" "), run(d, &args, 0)));
    };
    out(&["list"]);
    out(&["run", "-q", "--fake-runner", fake]);
    out(&["record", "-q", "--fake-runner", fake]);
    std::fs::write(d.join("README"), "second\n").unwrap();
    commit_all(d, "second");
    out(&["record", "-q", "--fake-runner", fake]);
    out(&["history"]);
    out(&["compare", "HEAD~1", "HEAD"]);
    // Twenty rounds a side give the growth of `g` an interval.
    let rounds = ["--min-runs", "20", "--max-runs", "20"];
    out(&[&["check", "-q", "--fake-runner", fake][..], &rounds[..]].concat());
    out(&["accept", "w", "--reason", "intended"]);
    out(&["sync"]);
    out(&["calibrate", "-q", "--time", "1s", "--fake-runner", fake]);
    let bisect = [
        "bisect",
        "w",
        "--good",
        "HEAD~1",
        "--bad",
        "HEAD",
        "-q",
        "--fake-runner",
    ];
    out(&[&bisect[..], &[fake], &rounds[..]].concat());

    // A load workload: a second of a command run five times a second.
    let load = Scratch::new(
        "[[load]]\nname = \"l\"\ncommand = [\"true\"]\nrate = 5\nduration = \"1s\"\nramp = \"0s\"\n",
    );
    let args = ["run", "-q", "--message-format", "json"];
    outputs.push(("run (load)".into(), run(load.path(), &args, 0)));

    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    let mut first_of: BTreeMap<String, Value> = BTreeMap::new();
    for (command, stdout) in &outputs {
        for line in stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("`{command}` printed a line that is not JSON ({e}): {line}")
            });
            found.extend(check_line(&v, &shapes, command));
            if let Some(r) = v["reason"].as_str() {
                seen.insert(r.to_owned());
                first_of.entry(r.to_owned()).or_insert(v.clone());
            }
        }
    }

    // The release report is one document, with a table for it and one for its workloads.
    let report = run(d, &["report", "--format", "json"], 0);
    let report: Value = serde_json::from_str(&report).unwrap();
    found.extend(problems(&report, "report", &shapes["report --format json"]));
    let workloads = report["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 3, "{report}");
    for w in workloads {
        found.extend(problems(w, "report workloads[]", &shapes["workloads"]));
    }

    assert!(found.is_empty(), "{}", found.join("\n"));
    let unseen: Vec<&&str> = reasons.iter().filter(|r| !seen.contains(**r)).collect();
    assert!(
        unseen.is_empty(),
        "documented but never printed here: {unseen:?}"
    );

    // The checker itself: an undocumented field, a missing one and a wrong type are found.
    let mut v = first_of["run-finished"].clone();
    v["bogus"] = Value::from(1);
    v.as_object_mut().unwrap().remove("passed");
    v["failed"] = Value::from("three");
    let caught = check_line(&v, &shapes, "run").join("\n");
    assert!(caught.contains("`bogus` is not documented"), "{caught}");
    assert!(caught.contains("`passed` is missing"), "{caught}");
    assert!(caught.contains("`failed` is \"three\""), "{caught}");
}
