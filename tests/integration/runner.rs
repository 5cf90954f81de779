//! The process runner on real processes, through the binary.

use std::time::Instant;

use crate::common::{Scratch, helper, json_results, result, toml_str};

/// A workload running `perf-helper ARGS` with fixed run counts.
fn workload(name: &str, args: &str, runs: u32, extra: &str) -> String {
    format!(
        "[[workload]]\nname = \"{name}\"\ncommand = [{}, {args}]\nwarmup = 0\nmin_runs = {runs}\nmax_runs = {runs}\n{extra}\n",
        toml_str(helper())
    )
}

#[test]
fn sleeping_command_costs_wall_time_not_cpu() {
    let s = Scratch::new(&workload("sleep", "\"sleep\", \"50\"", 3, ""));
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let (results, summary) = json_results(&a);
    let r = result(&results, "sleep");
    assert_eq!(r["n"], 3);
    let wall = r["wall_ns"]["median"].as_f64().unwrap();
    let cpu = r["cpu_ns"]["median"].as_f64().unwrap();
    assert!((50e6..150e6).contains(&wall), "wall {wall}");
    assert!(cpu < 20e6, "cpu {cpu}");
    assert!(r["cpu_utilisation"].as_f64().unwrap() < 0.4);
    assert_eq!(summary["passed"], 1);
    assert_eq!(r["samples"].as_array().unwrap().len(), 3);
}

#[test]
fn cpu_bound_command_costs_cpu_time() {
    // A fixed amount of computation (about 50 ms here): its CPU time does not depend on how busy
    // the machine is, only its wall time does.
    let s = Scratch::new(&workload("work", "\"work\", \"40\"", 3, ""));
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let (results, _) = json_results(&a);
    let r = result(&results, "work");
    let wall = r["wall_ns"]["median"].as_f64().unwrap();
    let cpu = r["cpu_ns"]["median"].as_f64().unwrap();
    let sample = &r["samples"][0];
    let user = sample["user_ns"].as_f64().unwrap();
    let sys = sample["sys_ns"].as_f64().unwrap();
    // Far more than a sleeping process's (see above), and no more than the wall time of a
    // single thread (plus the kernel's tick granularity).
    assert!(cpu >= 10e6, "cpu {cpu}");
    assert!(cpu <= wall + 4e6, "cpu {cpu} wall {wall}");
    // Pure computation is user time.
    assert!(user >= 0.8 * (user + sys), "user {user} sys {sys}");
}

#[test]
fn peak_rss_of_an_allocation_is_within_ten_percent() {
    let s = Scratch::new(&workload("alloc", "\"alloc\", \"256\"", 2, ""));
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let (results, _) = json_results(&a);
    let rss = result(&results, "alloc")["max_rss_bytes"].as_f64().unwrap();
    let expected = 256.0 * 1024.0 * 1024.0;
    assert!(
        (rss - expected).abs() / expected < 0.10,
        "peak RSS {rss} vs {expected}"
    );
}

#[test]
fn small_peaks_below_the_tools_own_are_measured_exactly() {
    // Programs of 1-3 MiB, below the tool's own peak (5-8 MiB), which the kernel folds into a
    // child's at exec: the memory probe measures them.
    let toml = workload("none", "\"alloc\", \"0\"", 2, "")
        + &workload("two", "\"alloc\", \"2\"", 2, "")
        + &workload(
            "max",
            "\"alloc\", \"2\"",
            2,
            "[workload.thresholds]\nmax_rss = \"1MiB\"\n",
        );
    let s = Scratch::new(&toml);
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .code(1);
    let (results, _) = json_results(&a);
    let figures = |name: &str| {
        let r = result(&results, name);
        let peak = r["max_rss_bytes"].as_f64().unwrap();
        let floor = r["rss_floor_bytes"].as_f64().unwrap();
        // Exact: above the floor, which is now the probe's (well under the tool's).
        assert!(peak > floor, "{name}: peak {peak} floor {floor}: {r}");
        assert!(floor < 2.0 * 1024.0 * 1024.0, "{name}: floor {floor}: {r}");
        peak
    };
    let (none, two) = (figures("none"), figures("two"));
    assert!(
        none < 4.0 * 1024.0 * 1024.0,
        "an idle helper at {none} bytes"
    );
    let grown = two - none;
    let expected = 2.0 * 1024.0 * 1024.0;
    // The same program's own peak moves by up to a quarter of a MiB from run to run (where the
    // loader and ASLR put things: `alloc 0` measured 1712-1952 KiB over 12 runs here, `alloc 2`
    // 3632-4052 KiB), so the growth is exact to within that, not to a share of 2 MiB: a floor
    // that hid the program would show no growth at all.
    assert!(
        (grown - expected).abs() < 448.0 * 1024.0,
        "2 MiB more grew the peak by {grown} bytes ({none} -> {two})"
    );
    // A threshold below such a peak is judged on the exact figure.
    let max = result(&results, "max");
    assert_eq!(max["status"], "over-budget", "{max}");
    assert_eq!(max["budget"]["breaches"][0]["limit"], "max_rss", "{max}");
}

#[test]
fn a_crash_fails_that_workload_and_the_suite_goes_on() {
    let toml = workload("crash", "\"crash\"", 3, "") + &workload("fine", "\"sleep\", \"1\"", 2, "");
    let s = Scratch::new(&toml);
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .code(1);
    let (results, summary) = json_results(&a);
    let crash = result(&results, "crash");
    assert_eq!(crash["status"], "failed");
    assert_eq!(crash["failure"]["signal"], libc::SIGABRT);
    assert!(
        crash["failure"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("about to crash")
    );
    assert_eq!(result(&results, "fine")["status"], "passed");
    assert_eq!(
        (summary["failed"].clone(), summary["passed"].clone()),
        (1.into(), 1.into())
    );
}

#[test]
fn a_non_zero_exit_is_reported_with_the_tail_of_stderr() {
    let s = Scratch::new(&workload("fail", "\"fail\", \"3\"", 2, ""));
    let a = s.cmd(&["run", "-q"]).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("fail failed in run 1: exit code 3"), "{out}");
    assert!(out.contains("| failing on purpose with code 3"), "{out}");
    assert!(out.contains("0 passed, 0 over budget, 1 failed"), "{out}");
}

fn alive(pid: &str) -> bool {
    // A zombie has died; only a process in another state is still running.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn timeout_leaves_nothing_behind(mode: &str) {
    let pids = tempfile::tempdir().unwrap();
    let pidfile = pids.path().join("pid");
    let toml = workload(
        "hang",
        &format!("\"{mode}\", {}", toml_str(&pidfile)),
        1,
        "timeout = \"400ms\"",
    );
    let s = Scratch::new(&toml);
    let started = Instant::now();
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .code(1);
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout did not stop the run"
    );
    let (results, _) = json_results(&a);
    let r = result(&results, "hang");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["failure"]["timed_out"], true);
    assert_eq!(r["budget"]["breaches"][0]["limit"], "timeout");
    let pid = std::fs::read_to_string(&pidfile).expect("the helper wrote its child's pid");
    assert!(!alive(pid.trim()), "grandchild {pid} survived the timeout");
}

#[test]
fn a_timeout_kills_the_grandchild_in_the_group() {
    timeout_leaves_nothing_behind("grandchild");
}

#[test]
fn a_timeout_kills_a_grandchild_that_left_the_group() {
    timeout_leaves_nothing_behind("escapee");
}

#[test]
fn megabytes_on_stdout_do_not_block() {
    let s = Scratch::new(&workload("spew", "\"spew\", \"16\"", 3, ""));
    let a = s
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let (results, _) = json_results(&a);
    assert_eq!(result(&results, "spew")["n"], 3);
}

#[test]
fn shell_commands_run_through_sh() {
    let toml = "[[workload]]\nname = \"pipe\"\ncommand = \"echo a b c | wc -w | grep -q 3\"\nshell = true\nwarmup = 0\nmin_runs = 2\nmax_runs = 2\n";
    let s = Scratch::new(toml);
    s.cmd(&["run", "-q"]).assert().success();
    let failing = toml.replace("grep -q 3", "grep -q 4");
    Scratch::new(&failing).cmd(&["run", "-q"]).assert().code(1);
}

#[test]
fn progress_lines_go_to_stderr_when_it_is_not_a_terminal() {
    let s = Scratch::new(&workload("sleep", "\"sleep\", \"1\"", 4, ""));
    let a = s.cmd(&["run"]).assert().success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("[1/1] sleep: 4 runs, median"), "{err}");
    let quiet = s.cmd(&["run", "-q"]).assert().success();
    assert!(quiet.get_output().stderr.is_empty());
}

#[test]
fn json_results_stream_as_each_workload_finishes() {
    let toml = workload("fast", "\"sleep\", \"1\"", 1, "")
        + &workload("slow", "\"sleep\", \"2000\"", 1, "");
    let s = Scratch::new(&toml);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .args([
            "perf",
            "run",
            "-q",
            "--message-format",
            "json",
            "--manifest-path",
        ])
        .arg(s.path().join("Cargo.toml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["workload"]["name"], "fast");
    // The slow workload is still running: the first object did not wait for it.
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first line came only at the end"
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest[1].contains("\"reason\":\"run-finished\""));
}

#[test]
fn tens_of_megabytes_on_stderr_leave_the_tail() {
    // 40 MB on standard error, a pause (the runner trims what it holds meanwhile), a last line.
    let s = Scratch::new(
        "[[workload]]\nname = \"loud\"\nshell = true\nwarmup = 0\nmin_runs = 1\nmax_runs = 1\n\
         command = \"head -c 40000000 /dev/zero | tr '\\\\000' x >&2; sleep 0.3; echo >&2; echo the last line >&2; exit 3\"\n",
    );
    let a = s.cmd(&["run", "-q"]).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("loud failed in run 1: exit code 3"), "{out}");
    assert!(out.contains("| the last line"), "{out}");
}

#[test]
fn class_auto_reads_a_large_fixture_in_chunks() {
    use std::io::Write;
    let _turn = crate::common::measuring();
    let big = Scratch::new(
        "[[workload]]\nname = \"big\"\ncommand = [\"cat\", \"{fixture}\"]\nfixtures = \"data\"\nclass = \"auto\"\n",
    );
    std::fs::create_dir_all(big.path().join("data")).unwrap();
    // 200 MB of text: 20 million lines.
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(big.path().join("data/big.txt")).unwrap());
    let chunk = "123456789\n".repeat(100_000);
    for _ in 0..200 {
        f.write_all(chunk.as_bytes()).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    // `list` on it, measured by cargo perf itself: a child's peak RSS counts its parent's at
    // the fork, and the test process is large, cargo perf is not.
    let outer = Scratch::new(&format!(
        "[[workload]]\nname = \"list-big\"\ncommand = [{}, \"perf\", \"list\", \"--manifest-path\", {}]\n\
         warmup = 0\nmin_runs = 1\nmax_runs = 1\n",
        toml_str(std::path::Path::new(env!("CARGO_BIN_EXE_cargo-perf"))),
        toml_str(&big.path().join("Cargo.toml"))
    ));
    let a = outer
        .cmd(&["run", "--message-format", "json", "-q"])
        .assert()
        .success();
    let (results, _) = json_results(&a);
    let r = result(&results, "list-big");
    let peak_mib = r["max_rss_bytes"].as_u64().unwrap() >> 20;
    // Its peak (and cargo metadata's) is far below the file's 200 MB.
    assert!(peak_mib < 100, "peak RSS {peak_mib} MiB: {r}");
    let listed = big.cmd(&["list"]).assert().success();
    let out = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert!(out.contains("20000000 lines > 10000"), "{out}");
}
