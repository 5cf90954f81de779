//! Load workloads end to end: `perf-helper serve` (fixtures/helpers) started by the tool on a
//! free loopback port, driven over real HTTP, stopped. Every run is bounded by its profile's
//! few seconds; nothing but the servers these tests start is ever sent a request.

use crate::common::{Scratch, helper, measuring, toml_str};
use crate::git::{commit_all, init_and_commit};

/// A `[[load]]` driving `perf-helper serve {port} OPTIONS...`, with `rest` appended.
fn load_toml(name: &str, options: &[&str], rest: &str) -> String {
    let mut argv = vec![toml_str(helper()), "\"serve\"".into(), "\"{port}\"".into()];
    argv.extend(options.iter().map(|o| format!("{o:?}")));
    format!(
        "[[load]]\nname = \"{name}\"\nservice = {{ command = [{}], ready = \"/ready\", \
         ready_timeout = \"5s\", stop_timeout = \"2s\" }}\n{rest}\n",
        argv.join(", ")
    )
}

/// The `load-finished` object of a JSON run.
fn finished(a: &assert_cmd::assert::Assert) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["reason"] == "load-finished")
        .unwrap_or_else(|| panic!("no load-finished line in {stdout}"))
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn ms(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap() / 1e6
}

/// Whether process `pid` still exists (a zombie counts as gone: it no longer runs).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn a_fixed_delay_is_measured_within_half_a_millisecond_and_the_rate_is_held() {
    let _turn = measuring();
    // The same server answering at once, then after exactly 20 ms. At 50 requests a second
    // every request finds the machine idle, and waking it costs: on this 2-core VM a round
    // trip over loopback takes 0.3-0.7 ms at that rate whatever the client (Python's
    // http.client: 0.66 ms at p50). What the generator must get right is the delay on top.
    let steady = "rate = 50\nduration = \"3s\"\nramp = \"0s\"\n";
    // The floor is taken before and after the delayed run, and their mean is the round trip
    // during it: on a loaded machine the round trip moves by a tenth of a millisecond between
    // runs a few seconds apart.
    let s = Scratch::new(&format!(
        "{}{}{}",
        load_toml("at-once", &["delay-ms", "0"], steady),
        load_toml("steady", &["delay-ms", "20"], steady),
        load_toml("at-once-after", &["delay-ms", "0"], steady)
    ));
    let a = s
        .cmd(&["run", "--message-format", "json"])
        .assert()
        .success();
    let out = stdout(&a);
    let finished: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["reason"] == "load-finished")
        .collect();
    let hold = |name: &str| {
        finished
            .iter()
            .find(|f| f["workload"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {out}"))["report"]["stages"][0]
            .clone()
    };
    let (floor, delayed) = (hold("at-once"), hold("steady"));
    assert_eq!(delayed["name"], "hold", "{delayed}");
    let fig = &delayed["figures"];
    let p50 = ms(&fig["latency"]["p50"]);
    let floor_p50 = (ms(&floor["figures"]["latency"]["p50"])
        + ms(&hold("at-once-after")["figures"]["latency"]["p50"]))
        / 2.0;
    assert!(
        ((p50 - floor_p50) - 20.0).abs() <= 0.5,
        "p50 {p50} ms, {floor_p50} ms without the delay: {fig}"
    );
    assert!((20.0..21.5).contains(&p50), "{fig}");
    // 150 arrivals in 3 s: the offered rate is held within 1 %, and all were answered.
    let offered = fig["offered_rps"].as_f64().unwrap();
    assert!((offered - 50.0).abs() <= 0.5, "{fig}");
    assert_eq!(fig["requests"], 150, "{fig}");
    assert_eq!(fig["dropped"], 0, "{fig}");
    assert_eq!(fig["errors"]["connect"], 0);
    // The service's memory and CPU were read from /proc.
    assert!(fig["rss_max"].as_u64().unwrap() > 100_000, "{fig}");
    assert!(finished.iter().all(|f| f["status"] == "passed"), "{out}");
    // A second a line in the progress, with the stage and the rate.
    assert!(stderr(&a).contains("hold: rate 50/s"), "{}", stderr(&a));
}

#[test]
fn a_stall_shows_at_p99_in_the_open_model() {
    let _turn = measuring();
    // For the last second of every ten, the service answers nothing.
    let s = Scratch::new(&load_toml(
        "stalls",
        &["stall-every-s", "10", "stall-ms", "1000"],
        "rate = 100\nduration = \"10s\"\nramp = \"0s\"\n",
    ));
    let a = s
        .cmd(&["run", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let l = &f["report"]["overall"]["latency"];
    // A tenth of the arrivals waited for the stall's end, up to a second: p99 shows it, p50
    // does not. A closed-model tool would have sent about one request during the stall.
    assert!(ms(&l["p99"]) > 800.0, "{l}");
    assert!(ms(&l["p50"]) < 20.0, "{l}");
    // And the second-by-second series places it.
    let series = f["report"]["series"].as_array().unwrap();
    let worst = series
        .iter()
        .max_by_key(|s| s["p95"].as_u64().unwrap())
        .unwrap();
    assert!(ms(&worst["p95"]) > 500.0, "{worst}");
}

#[test]
fn stress_finds_the_breaking_point_within_one_step_and_the_recovery() {
    let _turn = measuring();
    // The service answers 503 to what arrives beyond 250 a second.
    let s = Scratch::new(&load_toml(
        "stress",
        &["fail-above-rps", "250"],
        "profile = \"stress\"\nrate = 100\nstep = 100\nstep_duration = \"1500ms\"\n\
         max_rate = 600\nrecovery = \"3s\"\n",
    ));
    let a = s
        .cmd(&["run", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let stress = &f["report"]["stress"];
    let point = stress["breaking_point_rps"].as_f64().unwrap();
    assert!((point - 250.0).abs() <= 100.0, "{stress}");
    assert_eq!(stress["broke"][0], "rate < 1%", "{stress}");
    // Stepping stopped where it broke: no step above it ran.
    let stages: Vec<&str> = f["report"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(!stages.contains(&"step 5"), "{stages:?}");
    assert_eq!(stages.last(), Some(&"recovery"));
    let recovery = &stress["recovery"];
    assert_eq!(recovery["recovered"], true, "{recovery}");
    assert!(recovery["seconds"].as_f64().unwrap() <= 2.0, "{recovery}");
}

#[test]
fn a_spike_and_the_time_to_recover_from_it() {
    let _turn = measuring();
    let s = Scratch::new(&load_toml(
        "spike",
        &["fail-above-rps", "150"],
        "profile = \"spike\"\nrate = 50\nmultiple = 5\nbefore = \"1500ms\"\nhold = \"2s\"\n\
         recovery = \"3s\"\n[[load.threshold]]\nexpr = \"rate < 1%\"\nstage = \"before\"\n",
    ));
    // Recorded, so that what is stored is checked below as well.
    let commit = init_and_commit(s.path(), "spike");
    let a = hermetic_cmd(&s, &["record", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let spike = &f["report"]["stages"][1];
    assert_eq!(spike["name"], "spike");
    // At 250/s against a limit of 150/s, many failed with 503.
    assert!(
        spike["figures"]["errors"]["status"]["503"]
            .as_u64()
            .unwrap()
            > 100,
        "{spike}"
    );
    let r = &f["report"]["spike"];
    assert_eq!(r["recovered"], true, "{r}");
    assert!(r["seconds"].as_f64().unwrap() <= 2.0, "{r}");
    assert_eq!(f["report"]["thresholds"][0]["held"], true);

    // The record keeps the whole report, and `show` gives it back as it was measured.
    let shown = stdout(
        &hermetic_cmd(&s, &["show", "HEAD", "--message-format", "json"])
            .assert()
            .success(),
    );
    let record: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(record["commit"], commit.as_str());
    let w = &record["workloads"][0];
    assert_eq!(w["kind"], "load", "{w}");
    assert_eq!(w["load"]["spike"], f["report"]["spike"], "{w}");
    assert_eq!(w["load"]["stages"], f["report"]["stages"]);
    assert_eq!(
        w["summary"]["wall_ns"]["p95"].as_f64().unwrap(),
        f["report"]["overall"]["latency"]["p95"].as_f64().unwrap()
    );
    assert_eq!(w["summary"]["n"], f["report"]["overall"]["requests"]);
    let human = stdout(&hermetic_cmd(&s, &["show", "HEAD"]).assert().success());
    assert!(
        human.contains("spike: spike profile, open model"),
        "{human}"
    );
    assert!(human.contains("recovery: recovered"), "{human}");
    // `history` has its latency and throughput.
    let history = stdout(
        &hermetic_cmd(&s, &["history", "--message-format", "json"])
            .assert()
            .success(),
    );
    let point: serde_json::Value = serde_json::from_str(history.trim()).unwrap();
    let rps = point["requests_per_second"].as_f64().unwrap();
    let achieved = f["report"]["overall"]["achieved_rps"].as_f64().unwrap();
    assert!((rps - achieved).abs() < 0.01, "{point}");
    assert_eq!(point["p95_ns"], w["summary"]["wall_ns"]["p95"]);
    // The release report: the stages, what the spike found, and the latency over time.
    let report = stdout(
        &hermetic_cmd(&s, &["report", "--format", "json"])
            .assert()
            .success(),
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let load = &report["workloads"][0]["load"];
    assert_eq!(load["report"]["stages"], f["report"]["stages"], "{load}");
    assert!(
        load["findings"][0]
            .as_str()
            .unwrap()
            .starts_with("recovery: recovered"),
        "{load}"
    );
    let html = stdout(
        &hermetic_cmd(&s, &["report", "--format", "html"])
            .assert()
            .success(),
    );
    for wanted in [
        "class=\"p95\" points=\"",
        ">spike</text>",
        ">after</text>",
        "Last run (spike profile",
    ] {
        assert!(html.contains(wanted), "no {wanted} in the HTML report");
    }
    let md = stdout(&hermetic_cmd(&s, &["report"]).assert().success());
    assert!(md.contains("## Load: spike"), "{md}");
    assert!(md.contains("| spike | "), "{md}");
}

/// `cargo perf ARGS` in the scratch project with git's identity and no user configuration.
fn hermetic_cmd(s: &Scratch, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = s.cmd(args);
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

#[test]
fn soak_flags_memory_that_grows_and_not_memory_that_does_not() {
    let _turn = measuring();
    let soak = "profile = \"soak\"\nrate = 100\nduration = \"6s\"\nramp = \"0s\"\n";
    let s = Scratch::new(&format!(
        "{}{}",
        load_toml("leaks", &["leak-kib", "64"], soak),
        load_toml("steady", &[], soak)
    ));
    let a = s.cmd(&["run", "--message-format", "json"]).assert().code(1);
    let out = stdout(&a);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["reason"] == "load-finished")
        .collect();
    let by = |name: &str| {
        lines
            .iter()
            .find(|l| l["workload"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let leak = &by("leaks")["report"]["soak"];
    assert_eq!(leak["memory_grows"], true, "{leak}");
    // 64 KiB a request at 100/s: about 22 GiB an hour.
    let per_hour = leak["rss_per_hour"].as_f64().unwrap();
    assert!(per_hour > 10e9, "{leak}");
    assert_eq!(by("leaks")["status"], "failed");
    let steady = &by("steady")["report"]["soak"];
    assert_eq!(steady["memory_grows"], false, "{steady}");
    assert_eq!(by("steady")["status"], "passed");
}

#[test]
fn a_service_that_never_becomes_ready_fails_with_its_output_and_is_stopped() {
    let _turn = measuring();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let pid_path = pidfile.path().to_str().unwrap();
    let s = Scratch::new(
        &load_toml(
            "never",
            &["never-ready", "1", "pid-file", pid_path],
            "rate = 10\nduration = \"1s\"\n",
        )
        .replace("ready_timeout = \"5s\"", "ready_timeout = \"1s\""),
    );
    let a = s.cmd(&["run"]).assert().code(1);
    let out = stdout(&a);
    assert!(out.contains("never became ready"), "{out}");
    assert!(out.contains("it answered 503"), "{out}");
    assert!(out.contains("perf-helper serve: listening"), "{out}");
    let pid = std::fs::read_to_string(pid_path).unwrap();
    assert!(!running(pid.trim()), "the service {pid} is still running");

    // `check` says the same of the base's service, its output below the reason as a failed
    // command's standard error is, and stops it too.
    std::fs::remove_file(pid_path).unwrap();
    init_and_commit(s.path(), "never ready");
    commit_all(s.path(), "nothing changed");
    let a = hermetic_cmd(&s, &["check"]).assert().code(1);
    let out = stdout(&a);
    assert!(
        out.contains("never failed: the base revision: the service"),
        "{out}"
    );
    assert!(out.contains("  | perf-helper serve: listening"), "{out}");
    assert!(!out.contains("never: p50"), "{out}");
    let pid = std::fs::read_to_string(pid_path).unwrap();
    assert!(!running(pid.trim()), "the service {pid} is still running");

    // A readiness path the service does not have: said after two seconds of 404, not after
    // the whole timeout, and pointing at `ready` rather than at the port.
    let s = Scratch::new(
        &load_toml("no-path", &[], "rate = 10\nduration = \"1s\"\n")
            .replace("ready = \"/ready\"", "ready = \"/missing\"")
            .replace("ready_timeout = \"5s\"", "ready_timeout = \"60s\""),
    );
    let started = std::time::Instant::now();
    let a = s.cmd(&["run"]).assert().code(1);
    assert!(
        started.elapsed().as_secs() < 20,
        "it waited out the timeout"
    );
    let out = stdout(&a);
    assert!(out.contains("(it answered 404)"), "{out}");
    assert!(out.contains("point `service.ready` at a path"), "{out}");
}

#[test]
fn a_service_that_crashes_mid_run_is_reported() {
    let _turn = measuring();
    let s = Scratch::new(&load_toml(
        "crashes",
        &["crash-after-s", "1"],
        "rate = 20\nduration = \"5s\"\nramp = \"0s\"\n",
    ));
    let a = s.cmd(&["run"]).assert().code(1);
    let out = stdout(&a);
    assert!(
        out.contains("exited with signal 6 (SIGABRT) while under load"),
        "{out}"
    );
    assert!(out.contains("crashing on purpose"), "{out}");
}

#[test]
fn a_service_that_ignores_sigterm_is_killed_and_said_so() {
    let _turn = measuring();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let pid_path = pidfile.path().to_str().unwrap();
    let s = Scratch::new(
        &load_toml(
            "stubborn",
            &["ignore-term", "1", "pid-file", pid_path],
            "rate = 10\nduration = \"1s\"\nramp = \"0s\"\n",
        )
        .replace("stop_timeout = \"2s\"", "stop_timeout = \"300ms\""),
    );
    let a = s.cmd(&["run"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains("did not stop within 300ms of SIGTERM and was killed"),
        "{out}"
    );
    let pid = std::fs::read_to_string(pid_path).unwrap();
    assert!(!running(pid.trim()), "the service {pid} is still running");
}

#[test]
fn a_critical_threshold_aborts_when_asked_and_fails_the_run() {
    let _turn = measuring();
    let s = Scratch::new(&load_toml(
        "slow",
        &["delay-ms", "30"],
        "rate = 20\nduration = \"20s\"\nramp = \"0s\"\n\
         [[load.threshold]]\nexpr = \"p(95) < 10ms\"\nabort_on_fail = true\ndelay_abort = \"1s\"\n\
         [[load.threshold]]\nexpr = \"rps >= 1\"\nlevel = \"warning\"\n",
    ));
    let started = std::time::Instant::now();
    let a = s.cmd(&["run"]).assert().code(1);
    assert!(started.elapsed().as_secs() < 10, "it did not abort");
    let out = stdout(&a);
    assert!(
        out.contains("aborted: threshold `p(95) < 10ms` broke after"),
        "{out}"
    );
    assert!(out.contains("FAIL critical p(95) < 10ms"), "{out}");
    assert!(out.contains("ok   warning rps >= 1"), "{out}");
}

#[test]
fn a_command_run_by_concurrent_users() {
    let _turn = measuring();
    let s = Scratch::new(&format!(
        "[[load]]\nname = \"cli\"\ncommand = [{}, \"sleep\", \"10\"]\nusers = 4\nduration = \"2s\"\n\
         ramp = \"0s\"\n",
        toml_str(helper())
    ));
    let a = s
        .cmd(&["run", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let o = &f["report"]["overall"];
    assert_eq!(f["report"]["model"], "closed");
    let p50 = ms(&o["latency"]["p50"]);
    assert!((10.0..40.0).contains(&p50), "{o}");
    // Four users, each about 10 ms a process, for 2 s.
    assert!(o["requests"].as_u64().unwrap() > 100, "{o}");
    assert_eq!(o["errors"]["other"], 0, "{o}");
}

#[test]
fn list_shows_load_workloads_and_bad_thresholds_point_into_perf_toml() {
    let toml = load_toml(
        "api",
        &[],
        "profile = \"stress\"\nrate = 100\n[[load.threshold]]\nexpr = \"p(95) < 300ms\"\n",
    );
    let s = Scratch::new(&toml);
    let a = s.cmd(&["list"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains("load") && out.contains("stress (open, up to 2000/s"),
        "{out}"
    );
    let a = s
        .cmd(&["list", "--message-format", "json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(stdout(&a).lines().next().unwrap()).unwrap();
    assert_eq!(v["workload"]["kind"], "load");
    assert_eq!(v["workload"]["load"]["stages"][0]["name"], "step 1");

    // A bad expression: its line and column, and what is wrong.
    let bad = toml.replace("p(95) < 300ms", "p(95) < 3 parsecs");
    std::fs::write(s.path().join("perf.toml"), &bad).unwrap();
    let a = s.cmd(&["list"]).assert().code(2);
    let line = bad
        .lines()
        .position(|l| l.contains("parsecs"))
        .map(|i| i + 1)
        .unwrap();
    // `expr = "` is 8 characters: the value starts in column 17 of the expression.
    assert!(
        stderr(&a).contains(&format!(
            "perf.toml:{line}:17: threshold of load workload `api`"
        )),
        "{}",
        stderr(&a)
    );
    assert!(stderr(&a).contains("3 parsecs"), "{}", stderr(&a));

    // A service that is not given its port.
    let no_port = toml.replace("\"{port}\"", "\"8080\"");
    std::fs::write(s.path().join("perf.toml"), &no_port).unwrap();
    let a = s.cmd(&["list"]).assert().code(2);
    assert!(stderr(&a).contains("never uses `{port}`"), "{}", stderr(&a));
}

#[test]
fn ctrl_c_stops_the_run_and_its_service() {
    let _turn = measuring();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let pid_path = pidfile.path().to_str().unwrap().to_owned();
    let s = Scratch::new(&load_toml(
        "long",
        &["pid-file", &pid_path],
        "rate = 20\nduration = \"60s\"\nramp = \"0s\"\n",
    ));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .args(["perf", "run", "--manifest-path"])
        .arg(s.path().join("Cargo.toml"))
        .env("CARGO_PERF_CACHE_DIR", crate::common::perf_cache_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the service has written its pid and the run is under way.
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&pid_path)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            started.elapsed().as_secs() < 20,
            "the service never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        started.elapsed().as_secs() < 20,
        "the run went on after Ctrl-C"
    );
    let pid = std::fs::read_to_string(&pid_path).unwrap();
    assert!(!running(pid.trim()), "the service {pid} is still running");
}

#[test]
fn closed_model_users_each_wait_for_their_answer() {
    let _turn = measuring();
    // Four users against a service that answers after 10 ms: each sends its next request when
    // the last is answered, over a connection of its own, so about 4 / 10 ms a second.
    let s = Scratch::new(&load_toml(
        "closed",
        &["delay-ms", "10"],
        "users = 4\nduration = \"2s\"\nramp = \"0s\"\n",
    ));
    let a = s
        .cmd(&["run", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let o = &f["report"]["overall"];
    assert_eq!(f["report"]["model"], "closed");
    assert_eq!(o["errors"]["connect"], 0, "{o}");
    assert_eq!(o["errors"]["other"], 0, "{o}");
    let achieved = o["achieved_rps"].as_f64().unwrap();
    assert!((300.0..=400.0).contains(&achieved), "{o}");
    let p50 = ms(&o["latency"]["p50"]);
    assert!((10.0..12.5).contains(&p50), "{o}");
    // Every request was counted as it started and as it ended.
    assert_eq!(
        o["requests"],
        f["report"]["stages"][0]["figures"]["requests"]
    );
}

#[test]
fn the_services_own_metrics_are_scraped_and_agree_with_the_client() {
    let _turn = measuring();
    // 20 ms a request at 50 a second for 2 s: the service's histogram (buckets 5 % apart) and
    // counter against what the generator measured.
    let s = Scratch::new(&load_toml(
        "own",
        &["delay-ms", "20"],
        "rate = 50\nduration = \"2s\"\nramp = \"0s\"\n",
    ));
    let toml = std::fs::read_to_string(s.path().join("perf.toml")).unwrap();
    let toml = toml.replace(
        "stop_timeout = \"2s\" }",
        "stop_timeout = \"2s\", metrics_url = \"http://127.0.0.1:{port}/metrics\" }",
    );
    std::fs::write(s.path().join("perf.toml"), toml).unwrap();
    init_and_commit(s.path(), "first");
    let a = hermetic_cmd(&s, &["run", "--save", "--message-format", "json"])
        .assert()
        .success();
    let f = finished(&a);
    let service = &f["report"]["service"];
    let client = &f["report"]["overall"];
    assert_eq!(service["scrapes"], 2, "{service}");
    let h = service["histograms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "perf_helper_request_duration_seconds")
        .unwrap_or_else(|| panic!("no request histogram in {service}"));
    let c = &service["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "perf_helper_requests_total" && c["labels"] == "code=\"200\"")
        .unwrap_or_else(|| panic!("no request counter in {service}"))
        .clone();
    // Every request the client completed was observed once (the scrapes are not counted).
    let requests = client["requests"].as_f64().unwrap();
    assert_eq!(h["count"].as_f64(), Some(requests), "{h} {client}");
    assert_eq!(c["increase"].as_f64(), Some(requests), "{c} {client}");
    // The service's p50 excludes the loopback round trip and lies somewhere in a 5 % bucket: it
    // is at most 5 % + 1 ms from the client's.
    let (own_p50_ms, client_p50_ms) = (
        h["p50"].as_f64().unwrap() * 1e3,
        ms(&client["latency"]["p50"]),
    );
    assert!(
        (own_p50_ms - client_p50_ms).abs() <= 0.05 * client_p50_ms + 1.0 && own_p50_ms >= 19.0,
        "service p50 {own_p50_ms} ms, client p50 {client_p50_ms} ms"
    );
    // The rate is over the scrapes' span, which brackets the run: within 10 % of the client's.
    let (own_rate, client_rate) = (
        c["per_second"].as_f64().unwrap(),
        client["achieved_rps"].as_f64().unwrap(),
    );
    assert!(
        (own_rate - client_rate).abs() <= 0.1 * client_rate,
        "service {own_rate}/s, client {client_rate}/s"
    );
    // Stored with the record: `show` prints them.
    let shown = stdout(&hermetic_cmd(&s, &["show", "HEAD"]).assert().success());
    assert!(
        shown.contains("service's own metrics (http://127.0.0.1:"),
        "{shown}"
    );
    assert!(
        shown.contains("perf_helper_requests_total{code=\"200\"}: +"),
        "{shown}"
    );
}

#[test]
fn a_metrics_url_off_the_loopback_interface_is_a_config_error_naming_the_key() {
    let toml = load_toml("own", &[], "rate = 5\nduration = \"1s\"\n").replace(
        "stop_timeout = \"2s\" }",
        "stop_timeout = \"2s\", metrics_url = \"http://example.com:{port}/metrics\" }",
    );
    let s = Scratch::new(&toml);
    let a = s.cmd(&["list"]).assert().code(2);
    let err = stderr(&a);
    assert!(
        err.contains("perf.toml")
            && err.contains("`service.metrics_url`")
            && err.contains("not loopback"),
        "{err}"
    );
}
