//! `cargo perf export` against a real Prometheus Pushgateway and a real Prometheus (Debian's
//! `prometheus-pushgateway` and `prometheus`), both started here on free loopback ports with
//! their storage in a temporary folder and killed afterwards. Prometheus scrapes the gateway and,
//! as OpenMetrics, the exported file served by this test, so its own parsers judge both formats.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Scratch, measuring, skip};
use crate::git::{commit_all, init_and_commit};

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n\
                         [[workload]]\nname = \"tiny\"\ncommand = [\"true\"]\n";

/// The servers a test started, killed and reaped when it ends, also when it panics.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A GET of `path` on 127.0.0.1:`port`: the status and the body, or `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    // Prometheus answers small JSON unchunked; a chunked body is read by its first chunk.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split_once("\r\n")?
            .1
            .rsplit_once("\r\n0\r\n")?
            .0
            .to_string()
    } else {
        body.to_string()
    };
    Some((status, body))
}

/// Polls `what` every 200 ms for at most `limit`.
fn wait_for<T>(limit: Duration, mut what: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(v) = what() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query that returns exactly one series, once Prometheus has it.
fn query_one(port: u16, query: &str) -> Option<f64> {
    let (status, body) = get(port, &format!("/api/v1/query?query={}", encode(query)))?;
    assert_eq!(status, 200, "Prometheus refused `{query}`: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let result = v["data"]["result"].as_array()?;
    assert!(
        result.len() <= 1,
        "`{query}` matched several series: {body}"
    );
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Serves `file` to every GET on `listener` as OpenMetrics, for Prometheus to scrape.
fn serve_openmetrics(listener: TcpListener, file: std::path::PathBuf) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = std::fs::read(&file).unwrap_or_default();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; \
                 charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
}

fn start(servers: &mut Servers, program: &str, args: &[String], dir: &Path) {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{program}.log"))).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    servers.0.push(child);
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn exported_figures_and_verdicts_reach_prometheus_through_a_pushgateway() {
    const TEST: &str = "exported_figures_and_verdicts_reach_prometheus_through_a_pushgateway";
    for (program, package) in [
        ("prometheus-pushgateway", "prometheus-pushgateway"),
        ("prometheus", "prometheus"),
    ] {
        if !installed(program) {
            skip(
                TEST,
                program,
                &format!("{program} is not installed (Debian package {package})"),
            );
            return;
        }
    }
    let _turn = measuring();
    let s = Scratch::new(PERF_TOML);
    init_and_commit(s.path(), "first");
    std::fs::write(s.path().join("notes.txt"), "second\n").unwrap();
    commit_all(s.path(), "second");
    s.cmd(&["record"]).assert().success();
    let check = s
        .cmd(&["check", "--message-format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(check.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let verdict = String::from_utf8_lossy(&check.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["reason"] == "check-workload" && v["workload"]["name"] == "tiny")
        .map(|v| v["verdict"].as_str().unwrap().to_string())
        .expect("check judged tiny");
    let shown = s
        .cmd(&["show", "HEAD", "--message-format", "json"])
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&shown.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let stored = &record["workloads"][0]["summary"];
    let (commit, machine) = (
        record["commit"].as_str().unwrap().to_string(),
        record["machine"]["key"].as_str().unwrap().to_string(),
    );

    let work = tempfile::tempdir().unwrap();
    let exported = work.path().join("perf.om");
    let output = format!("--output={}", exported.display());
    s.cmd(&["export", "--format", "openmetrics", &output])
        .assert()
        .success();
    let file_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let file_port = file_listener.local_addr().unwrap().port();
    serve_openmetrics(file_listener, exported.clone());

    let (gateway, prometheus) = (free_port(), free_port());
    std::fs::write(
        work.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n\
             - job_name: gateway\n  honor_labels: true\n  static_configs:\n\
             \x20   - targets: ['127.0.0.1:{gateway}']\n\
             - job_name: file\n  static_configs:\n\
             \x20   - targets: ['127.0.0.1:{file_port}']\n"
        ),
    )
    .unwrap();
    let mut servers = Servers(Vec::new());
    start(
        &mut servers,
        "prometheus-pushgateway",
        &[format!("--web.listen-address=127.0.0.1:{gateway}")],
        work.path(),
    );
    start(
        &mut servers,
        "prometheus",
        &[
            format!(
                "--config.file={}",
                work.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", work.path().join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{prometheus}"),
        ],
        work.path(),
    );
    let limit = Duration::from_secs(30);
    wait_for(limit, || {
        get(gateway, "/-/ready").filter(|(s, _)| *s == 200)
    })
    .expect("the Pushgateway became ready within 30 s");

    // A grouping value with a `/` goes base64-encoded; the gateway gives it back as the label.
    s.cmd(&["export", "--push", &format!("http://127.0.0.1:{gateway}")])
        .args(["--job", "perf-ci", "--grouping", "branch=feat/x"])
        .assert()
        .success();
    let selector = format!(
        "workload=\"tiny\",kind=\"command\",class=\"small\",machine=\"{machine}\",\
         commit=\"{commit}\""
    );
    let pushed = format!("job=\"perf-ci\",branch=\"feat/x\",{selector}");
    let p50 = wait_for(limit, || {
        query_one(
            prometheus,
            &format!("cargo_perf_wall_p50_seconds{{{pushed}}}"),
        )
    })
    .expect("Prometheus had the pushed p50 within 30 s");
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= want.abs() * 1e-9,
            "{what}: Prometheus has {got}, show says {want}"
        );
    };
    let seconds = |v: &serde_json::Value| v.as_f64().expect("a stored figure") / 1e9;
    close(p50, seconds(&stored["wall_ns"]["median"]), "p50");
    for (figure, want) in [
        ("wall_p95_seconds", seconds(&stored["wall_ns"]["p95"])),
        ("cpu_p50_seconds", seconds(&stored["cpu_ns"]["median"])),
        ("peak_rss_bytes", stored["max_rss_bytes"].as_f64().unwrap()),
    ] {
        let got = query_one(prometheus, &format!("cargo_perf_{figure}{{{pushed}}}"))
            .unwrap_or_else(|| panic!("no {figure} in Prometheus"));
        close(got, want, figure);
    }
    let state = query_one(
        prometheus,
        &format!("cargo_perf_check_verdict{{{pushed},verdict=\"{verdict}\"}}"),
    )
    .expect("the check's verdict in Prometheus");
    assert_eq!(state, 1.0, "verdict {verdict}");
    let others = query_one(
        prometheus,
        &format!("sum(cargo_perf_check_verdict{{{pushed}}})"),
    );
    assert_eq!(others, Some(1.0), "one verdict state is set");

    // The file, scraped as OpenMetrics: Prometheus's parser accepted it when the figure is there.
    let scraped = wait_for(limit, || {
        query_one(
            prometheus,
            &format!("cargo_perf_wall_p50_seconds{{job=\"file\",{selector}}}"),
        )
    });
    let up = query_one(prometheus, "up{job=\"file\"}");
    assert_eq!(
        (scraped, up),
        (Some(p50), Some(1.0)),
        "the OpenMetrics file was not scraped (see the targets' lastError at \
         /api/v1/targets): {}",
        get(prometheus, "/api/v1/targets").map_or(String::new(), |(_, b)| b)
    );
}

#[test]
fn a_push_to_a_non_http_url_or_nothing_to_push_is_refused_with_exit_2() {
    let s = Scratch::new(PERF_TOML);
    init_and_commit(s.path(), "first");
    let out = s
        .cmd(&["export", "--push", "https://127.0.0.1:1"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("not an http:// URL"), "{err}");
    let out = s
        .cmd(&["export", "--push", "http://127.0.0.1:1"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("nothing was pushed"), "{err}");
    let out = s
        .cmd(&[
            "export",
            "--push",
            "http://127.0.0.1:1",
            "--grouping",
            "job=x",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("set with --job"), "{err}");
    let out = s
        .cmd(&[
            "export",
            "--push",
            "http://127.0.0.1:1",
            "--grouping",
            "machine=x",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("`machine` is a label of the exported metrics"),
        "{err}"
    );
}
