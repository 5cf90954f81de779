//! A seeded mutation test: byte flips, truncations and type swaps of a valid `perf.toml` and of
//! a stored record, through `list`, `show`, `history`, `compare` and `report`. Every exit code is
//! 0, 1 or 2; nothing panics.

use std::path::Path;

use serde_json::Value;

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, init_and_commit};

const PERF_TOML: &str = r#"[defaults]
warmup = 0
min_runs = 3
max_runs = 5
time_cap = "1s"
metric = "wall"
threshold = "2%"

[budgets]
small = "30s"
medium = "2m"

[store]
dir = "records"

[[workload]]
name = "first"
command = ["true", "--flag"]
env = { KEY = "value" }
class = "small"
timeout = "10s"

[workload.thresholds]
p95 = "500ms"
max_rss = "64MiB"

[[workload]]
name = "second"
command = "true"
shell = true
threshold = "5%"
"#;

/// Literals of every TOML and JSON type, and values at the edges of what is valid.
const SWAPS: [&str; 14] = [
    "\"x\"",
    "10",
    "-1",
    "0",
    "1e400",
    "[]",
    "{}",
    "true",
    "\"2600000000000000h\"",
    "\"-5%\"",
    "\"\"",
    "\"1e999MiB\"",
    "[\"\", \"\"]",
    "18446744073709551616",
];

/// Runs the tool and checks that it ended the way the tool ends: 0, 1 or 2, no panic.
fn run_ok(dir: &Path, args: &[&str], what: &str) {
    let out = cargo_perf()
        .args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0..=2)) && !err.contains("panicked"),
        "{args:?} on {what}: {:?}\n{err}",
        out.status
    );
}

/// A mutation of `text`: a byte flipped, the text cut short, or a value swapped for another type.
fn mutate(text: &str, rng: &mut fastrand::Rng) -> String {
    let bytes = text.as_bytes();
    match rng.u8(0..3) {
        0 => {
            let mut b = bytes.to_vec();
            let i = rng.usize(0..b.len());
            b[i] = rng.u8(..);
            String::from_utf8_lossy(&b).into_owned()
        }
        1 => String::from_utf8_lossy(&bytes[..rng.usize(0..bytes.len())]).into_owned(),
        _ => {
            // Replace the value after one `= ` (TOML) or `": ` / `":` (JSON).
            let marks: Vec<usize> = text
                .match_indices("= ")
                .map(|(i, _)| i + 2)
                .chain(text.match_indices("\":").map(|(i, _)| i + 2))
                .collect();
            let Some(&at) = marks.get(rng.usize(0..marks.len().max(1))) else {
                return text.to_owned();
            };
            let end = text[at..]
                .find([',', '\n', '}'])
                .map_or(text.len(), |e| at + e);
            format!(
                "{}{}{}",
                &text[..at],
                SWAPS[rng.usize(0..SWAPS.len())],
                &text[end..]
            )
        }
    }
}

#[test]
fn mutated_perf_toml_never_panics() {
    // Hundreds of processes: not beside a test that times things.
    let _turn = crate::common::measuring();
    let s = Scratch::new(PERF_TOML);
    run_ok(s.path(), &["list"], "the valid perf.toml");
    let mut rng = fastrand::Rng::with_seed(0x5eed_0001);
    let mutants: Vec<String> = (0..150).map(|_| mutate(PERF_TOML, &mut rng)).collect();
    // Two at a time: each run is mostly `cargo metadata`.
    std::thread::scope(|scope| {
        for half in mutants.chunks(75) {
            scope.spawn(move || {
                let s = Scratch::new(PERF_TOML);
                for m in half {
                    std::fs::write(s.path().join("perf.toml"), m).unwrap();
                    run_ok(s.path(), &["list"], m);
                }
            });
        }
    });
}

#[test]
fn mutated_records_never_panic() {
    let _turn = crate::common::measuring();
    // Two commits with a record each, in a directory store.
    let script_dir = tempfile::tempdir().unwrap();
    let script = script_dir.path().join("fake.json");
    std::fs::write(
        &script,
        r#"{"first": [{"wall_ms": 10}], "second": [{"wall_ms": 5}]}"#,
    )
    .unwrap();
    let s = Scratch::new(PERF_TOML);
    std::fs::write(s.path().join(".gitignore"), "records/\ntarget/\n").unwrap();
    init_and_commit(s.path(), "one");
    let record = |s: &Scratch| {
        cargo_perf()
            .args(["record", "--fake-runner"])
            .arg(&script)
            .arg("--manifest-path")
            .arg(s.path().join("Cargo.toml"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .assert()
            .success();
    };
    record(&s);
    std::fs::write(s.path().join("NOTES"), "two\n").unwrap();
    commit_all(s.path(), "two");
    record(&s);
    let records = s.path().join("records");
    let mut files: Vec<_> = std::fs::read_dir(&records)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    // The newest commit's record is the one mutated.
    let head = crate::git::git(s.path(), &["rev-parse", "HEAD"]);
    let target = files
        .iter()
        .find(|f| f.file_name().unwrap().to_string_lossy().starts_with(&head))
        .unwrap()
        .clone();
    let original = std::fs::read_to_string(&target).unwrap();
    // A type swap of a JSON leaf, besides the text mutations.
    let swap_leaf = |rng: &mut fastrand::Rng| -> String {
        let mut v: Value = serde_json::from_str(&original).unwrap();
        // A random path down to a leaf, as a JSON pointer.
        let mut pointer = String::new();
        let mut node = &v;
        loop {
            match node {
                Value::Object(m) if !m.is_empty() => {
                    let (k, next) = m.iter().nth(rng.usize(0..m.len())).unwrap();
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    node = next;
                }
                Value::Array(a) if !a.is_empty() => {
                    let i = rng.usize(0..a.len());
                    pointer.push_str(&format!("/{i}"));
                    node = &a[i];
                }
                _ => break,
            }
        }
        let swapped = serde_json::from_str(SWAPS[rng.usize(0..SWAPS.len())])
            .unwrap_or(Value::String("\u{1b}[2J\u{0}".into()));
        if let Some(leaf) = v.pointer_mut(&pointer) {
            *leaf = swapped;
        }
        v.to_string()
    };
    let mut rng = fastrand::Rng::with_seed(0x5eed_0002);
    for i in 0..60 {
        let mutant = if i % 3 == 2 {
            swap_leaf(&mut rng)
        } else {
            mutate(&original, &mut rng)
        };
        std::fs::write(&target, &mutant).unwrap();
        for args in [
            &["show", "HEAD"][..],
            &["history"],
            &["compare", "HEAD~1"],
            &["report", "--from", "HEAD~1"],
        ] {
            run_ok(s.path(), args, &mutant);
        }
    }
    // Nothing else was lost: the other commit's record still reads.
    std::fs::write(&target, &original).unwrap();
    let out = cargo_perf()
        .args([
            "show",
            "HEAD~1",
            "--message-format",
            "json",
            "--manifest-path",
        ])
        .arg(s.path().join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
