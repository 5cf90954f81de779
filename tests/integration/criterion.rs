//! Criterion suites end to end: fixtures/criterion-demo copied to a temporary folder, its
//! benches built by cargo and run by criterion for real.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{
    cargo_perf, copy_dir, fixture_target_dir, json_results, measuring, repo, result,
};
use crate::git::init_and_commit;

/// Short criterion settings: the tests check identities, files and verdicts, not precision.
const QUICK: &str =
    "[criterion]\nwarm_up_time = \"50ms\"\nmeasurement_time = \"100ms\"\nsample_size = 10\n";

fn demo(perf_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/criterion-demo"), dir.path());
    if let Some(text) = perf_toml {
        std::fs::write(dir.path().join("perf.toml"), text).unwrap();
    }
    dir
}

fn in_demo(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cargo_perf();
    cmd.args(args)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        // Keep criterion and the fixture's build warm across tests and runs.
        .env("CARGO_TARGET_DIR", fixture_target_dir())
        .env_remove("CRITERION_HOME")
        .env_remove("PERF_DEMO_PANIC");
    cmd
}

/// `cargo perf ARGS --store dir:STORE --message-format json` in the demo, successful; its
/// JSON lines.
fn json_with_store(dir: &Path, args: &[&str], store: &Path) -> Vec<Value> {
    let store = format!("dir:{}", store.display());
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--store", &store, "--message-format", "json"]);
    let a = in_demo(dir, &all).assert().success();
    stdout(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// By bench target, then id (the `text` target registers `parse?` first): the one order of
/// every output.
const ALL_IDS: [&str; 6] = [
    "criterion:demo/checksum/fnv",
    "criterion:demo/fib 15",
    "criterion:demo/sort/unstable/1000",
    "criterion:text/explode",
    "criterion:text/lines",
    "criterion:text/parse?/words/ws split",
];

#[test]
fn list_finds_every_benchmark_without_any_configuration() {
    let _turn = measuring();
    // No perf.toml at all: criterion benches need none.
    let dir = demo(None);
    let a = in_demo(dir.path(), &["list", "--message-format", "json"])
        .assert()
        .success();
    let listed: Vec<Value> = stdout(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = listed
        .iter()
        .map(|l| l["workload"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ALL_IDS);
    let parse = &listed[5]["workload"];
    assert_eq!(parse["kind"], "criterion");
    assert_eq!(parse["criterion"]["target"], "text");
    assert_eq!(parse["criterion"]["full_id"], "parse?/words/ws split");
    assert_eq!(parse["criterion"]["group"], "parse?");

    // The table shows the group, and include/exclude select.
    std::fs::write(
        dir.path().join("perf.toml"),
        "[criterion]\ninclude = [\"criterion:demo/*\"]\nexclude = [\"*/fib*\"]\n",
    )
    .unwrap();
    let a = in_demo(dir.path(), &["list"]).assert().success();
    let table = stdout(&a);
    assert!(table.contains("group `checksum`"), "{table}");
    assert!(
        table.contains("criterion:demo/sort/unstable/1000"),
        "{table}"
    );
    assert!(!table.contains("fib 15"), "{table}");
    assert!(!table.contains("criterion:text/"), "{table}");
    assert!(table.contains("2 workloads"), "{table}");
}

/// Every file under `dir`, with its contents, to show that nothing there changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn record_stores_criterion_samples_by_full_id_and_never_touches_target_criterion() {
    let _turn = measuring();
    let dir = demo(Some(&format!("{QUICK}exclude = [\"*explode*\"]\n")));
    init_and_commit(dir.path(), "demo");
    // The user's own criterion results and baselines, where criterion keeps them by default.
    let user = fixture_target_dir().join("criterion");
    let mine = user.join("checksum/fnv/my-baseline");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("sample.json"), "{\"user\": \"data\"}").unwrap();
    let before = snapshot(&user);

    let store = dir.path().join("records");
    let lines = json_with_store(dir.path(), &["record"], &store);
    assert_eq!(lines.last().unwrap()["reason"], "record-stored");
    let finished = lines
        .iter()
        .find(|l| l["reason"] == "run-finished")
        .unwrap();
    assert_eq!(finished["passed"], 5, "{lines:?}");
    let results: Vec<Value> = lines
        .iter()
        .filter(|l| l["reason"] == "workload-finished")
        .cloned()
        .collect();
    let checksum = result(&results, "criterion:demo/checksum/fnv");
    assert_eq!(checksum["n"], 10);
    assert_eq!(checksum["throughput"]["unit"], "bytes");
    assert_eq!(checksum["throughput"]["per_iteration"], 4096);
    assert!(checksum["throughput"]["per_second"].as_f64().unwrap() > 1e6);
    // The median iteration is criterion's total time over iterations, per sample.
    let iters = checksum["criterion_samples"]["iters"].as_array().unwrap();
    let times = checksum["criterion_samples"]["times_ns"]
        .as_array()
        .unwrap();
    let mut per_iter: Vec<f64> = iters
        .iter()
        .zip(times)
        .map(|(i, t)| t.as_f64().unwrap() / i.as_f64().unwrap())
        .collect();
    per_iter.sort_by(f64::total_cmp);
    let median = (per_iter[4] + per_iter[5]) / 2.0;
    let reported = checksum["wall_ns"]["median"].as_f64().unwrap();
    assert!(
        (reported - median).abs() < 1e-6 * median,
        "{reported} vs {median}"
    );

    // Stored, and read back by `show` and `history` by the full id (not criterion's folder
    // name, `parse_/words_ws split`).
    let record = json_with_store(dir.path(), &["show", "HEAD"], &store).remove(0);
    let stored: Vec<&Value> = record["workloads"].as_array().unwrap().iter().collect();
    let names: BTreeSet<&str> = stored.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert!(
        names.contains("criterion:text/parse?/words/ws split"),
        "{names:?}"
    );
    let parse = stored
        .iter()
        .find(|w| w["name"] == "criterion:text/parse?/words/ws split")
        .unwrap();
    assert_eq!(parse["kind"], "criterion");
    assert_eq!(parse["criterion"]["full_id"], "parse?/words/ws split");
    assert_eq!(parse["criterion"]["iters"].as_array().unwrap().len(), 10);
    let a = in_demo(
        dir.path(),
        &[
            "history",
            "checksum",
            "--store",
            &format!("dir:{}", store.display()),
        ],
    )
    .assert()
    .success();
    let table = stdout(&a);
    assert!(table.contains("criterion:demo/checksum/fnv"), "{table}");
    assert!(table.contains("MiB/s"), "throughput column: {table}");

    assert_eq!(snapshot(&user), before, "target/criterion was touched");
    std::fs::remove_dir_all(user.join("checksum/fnv/my-baseline")).unwrap();
}

#[test]
fn a_bench_that_panics_is_failed_and_the_rest_go_on() {
    let _turn = measuring();
    let dir = demo(Some(QUICK));
    let a = in_demo(
        dir.path(),
        &["run", "criterion:text/", "--message-format", "json"],
    )
    .env("PERF_DEMO_PANIC", "1")
    .assert()
    .code(1);
    let (results, finished) = json_results(&a);
    assert_eq!(finished["failed"], 1, "{}", stdout(&a));
    assert_eq!(finished["passed"], 2, "{}", stdout(&a));
    let explode = result(&results, "criterion:text/explode");
    assert_eq!(explode["status"], "failed");
    assert!(
        explode["failure"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("panics because PERF_DEMO_PANIC is set"),
        "{explode}"
    );
    // `lines` comes after the panic in the same executable: it ran in a new process.
    assert_eq!(result(&results, "criterion:text/lines")["status"], "passed");
}

#[test]
fn check_flags_the_bench_made_slower_and_reports_added_and_removed() {
    let _turn = measuring();
    // Three benchmarks (the slowed one, one left alone, and one renamed), and time for more
    // rounds than the first look when the machine is busy (the other tests run beside this
    // one): a benchmark stops as soon as its verdict is decisive.
    let dir = demo(Some(&format!(
        "[defaults]\ntime_cap = \"15s\"\n\n{QUICK}include = [\"*/checksum/*\", \"*/fib*\", \"*/line*\"]\n"
    )));
    init_and_commit(dir.path(), "demo");
    // The candidate: checksum makes 6 passes instead of 5 (20 % slower), and the `lines` bench
    // is renamed (removed on one side, added on the other).
    let lib = dir.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text.replace("PASSES: u32 = 5", "PASSES: u32 = 6")).unwrap();
    let bench = dir.path().join("benches/text.rs");
    let text = std::fs::read_to_string(&bench).unwrap();
    std::fs::write(&bench, text.replace("\"lines\"", "\"line count\"")).unwrap();

    let a = in_demo(dir.path(), &["check", "--message-format", "json"]).assert();
    let out = stdout(&a);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    let verdict = |name: &str| -> String {
        lines
            .iter()
            .find(|w| w["reason"] == "check-workload" && w["workload"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {out}\n{}", stderr(&a)))["verdict"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(verdict("criterion:demo/checksum/fnv"), "regressed", "{out}");
    let fib = verdict("criterion:demo/fib 15");
    assert!(
        ["unchanged", "inconclusive", "improved"].contains(&fib.as_str()),
        "fib 15 was not changed: {fib}"
    );
    assert_eq!(verdict("criterion:text/line count"), "added");
    assert_eq!(verdict("criterion:text/lines"), "removed");
    a.code(1);
}

#[test]
fn import_turns_saved_criterion_results_into_a_record() {
    let _turn = measuring();
    let dir = demo(None);
    init_and_commit(dir.path(), "demo");
    let home = tempfile::tempdir().unwrap();
    // The team's own `cargo bench`, saving the baseline `main`.
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["bench", "--quiet", "--bench", "demo", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .args([
            "--",
            "--warm-up-time",
            "0.05",
            "--measurement-time",
            "0.1",
            "--sample-size",
            "10",
            "--noplot",
            "--save-baseline",
            "main",
        ])
        .env("CARGO_TARGET_DIR", fixture_target_dir())
        .env("CRITERION_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let records = dir.path().join("records");
    let store = format!("dir:{}", records.display());
    let home_arg = home.path().display().to_string();

    // A baseline that is not there: exit 2, naming the ones that are; nothing stored.
    let a = in_demo(
        dir.path(),
        &["import", "criterion", "--dir", &home_arg, "--store", &store],
    )
    .assert()
    .code(2);
    let err = stderr(&a);
    assert!(
        err.contains("no benchmark saved as the baseline `base`"),
        "{err}"
    );
    assert!(err.contains("main, new"), "{err}");
    assert!(!dir.path().join("records").exists());

    in_demo(
        dir.path(),
        &[
            "import",
            "criterion",
            "--baseline",
            "main",
            "--dir",
            &home_arg,
            "--store",
            &store,
        ],
    )
    .assert()
    .success();
    let record = json_with_store(dir.path(), &["show", "HEAD"], &records).remove(0);
    let names: Vec<&str> = record["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ALL_IDS[..3], "the demo target's three benchmarks");
    let sort = &record["workloads"][2];
    assert_eq!(sort["summary"]["throughput"]["unit"], "elements");
    assert_eq!(sort["criterion"]["iters"].as_array().unwrap().len(), 10);
}

#[test]
fn sampling_flags_apply_to_criterion_benchmarks_or_say_what_to_set() {
    let _turn = measuring();
    let dir = demo(Some(QUICK));
    // --max-runs bounds criterion's sample count, --time-cap is its measurement time.
    let a = in_demo(
        dir.path(),
        &[
            "run",
            "criterion:demo/fib",
            "--max-runs",
            "12",
            "--min-runs",
            "11",
            "--time-cap",
            "200ms",
            "--message-format",
            "json",
        ],
    )
    .assert()
    .success();
    let (results, _) = json_results(&a);
    let fib = result(&results, "criterion:demo/fib 15");
    // QUICK asks for 10 samples; --min-runs 11 raises it, within --max-runs 12.
    assert_eq!(fib["n"], 11, "{fib}");
    // Fewer than criterion takes is refused, before anything is measured.
    let a = in_demo(
        dir.path(),
        &["run", "criterion:demo/fib", "--max-runs", "5"],
    )
    .assert()
    .code(2);
    let err = stderr(&a);
    assert!(
        err.contains("--max-runs 5 would give criterion benchmarks 5 samples")
            && err.contains("criterion takes at least 10"),
        "{err}"
    );
    // --warmup counts runs: a note says what criterion's warm-up is set with.
    let a = in_demo(dir.path(), &["run", "criterion:demo/fib", "--warmup", "3"])
        .assert()
        .success();
    assert!(
        stderr(&a).contains("--warmup counts runs of command workloads; criterion benchmarks warm up for a time, `[criterion] warm_up_time`"),
        "{}",
        stderr(&a)
    );
}
