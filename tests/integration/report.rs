//! `cargo perf report` over a generated history: 60 commits in a temporary repository, with
//! records of known levels written to a directory store.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Scratch, repo};
use crate::git::{commit_all, git};

pub(crate) const MACHINE: &str = "00000000000000aa";

/// Standard normal numbers (Box-Muller) from a seeded generator.
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let (u1, u2) = (rng.f64().max(1e-12), rng.f64());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A stored workload entry with median `median` ns (p95 5 % above, p99 8 % above).
pub(crate) fn workload(name: &str, median: f64, budget_ns: u64, status: &str) -> Value {
    let stats = |m: f64| {
        json!({"mean": m, "stddev": m * 0.02, "min": m * 0.95, "max": m * 1.1, "median": m,
               "p90": m * 1.04, "p95": m * 1.05, "p99": m * 1.08, "mad": m * 0.01})
    };
    json!({
        "name": name, "kind": "command", "class": "small", "status": status, "metric": "wall",
        "budget_ns": budget_ns,
        "summary": {"n": 10, "wall_ns": stats(median), "cpu_ns": stats(median * 0.9),
                    "max_rss_bytes": 8_388_608u64, "rss_floor_bytes": 4_194_304u64},
        "samples": {"wall_ns": [], "user_ns": [], "sys_ns": [], "max_rss_bytes": []},
        "failure": null
    })
}

pub(crate) fn record(commit: &str, i: usize, workloads: Vec<Value>) -> Value {
    json!({
        "schema": 1, "run_id": format!("{i:016x}"), "commit": commit, "dirty": false,
        "time_unix": 1_767_225_600 + i as i64 * 3600, "time": "2026-01-01T00:00:00Z",
        "tool_version": "0.1.0", "rustc": "rustc 1.95.0",
        "machine": {"key": MACHINE, "cpu": "Test CPU", "cores": 2, "memory_bytes": 25_769_803_776u64,
                    "os": "Test OS x86_64"},
        "manifest_hash": "0000000000000000", "workloads": workloads
    })
}

/// 60 commits; `parse` steps +20 % at commit 25 and -10 % at commit 45 (1.5 % noise), `steady`
/// is noise only and inside its budget, `grow` ends over its budget. Commit 0 is tagged v1.0.
/// Returns the workspace and the store folder.
fn history(extra_name: Option<&str>, subject_25: &str) -> (Scratch, tempfile::TempDir) {
    let s = Scratch::new("[[workload]]\nname = \"parse\"\ncommand = [\"true\"]\n");
    // Outside the repository, so that the commits hold only what this function writes.
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path();
    git(s.path(), &["init", "-q", "-b", "main"]);
    let mut rng = fastrand::Rng::with_seed(42);
    for i in 0..60 {
        std::fs::write(s.path().join("step.txt"), format!("{i}\n")).unwrap();
        let subject = if i == 25 {
            subject_25.to_owned()
        } else {
            format!("change {i}")
        };
        let commit = commit_all(s.path(), &subject);
        if i == 0 {
            git(s.path(), &["tag", "v1.0"]);
        }
        let level = match i {
            0..25 => 1_000_000.0,
            25..45 => 1_200_000.0,
            _ => 1_080_000.0,
        };
        let mut ws = vec![
            workload(
                "parse",
                level * (1.0 + 0.015 * normal(&mut rng)),
                30_000_000_000,
                "passed",
            ),
            workload(
                "steady",
                5e6 * (1.0 + 0.015 * normal(&mut rng)),
                10_000_000,
                "passed",
            ),
        ];
        let grow_status = if i == 59 { "over-budget" } else { "passed" };
        let grow = if i < 40 { 1.5e7 } else { 2.1e7 };
        ws.push(workload(
            "grow",
            grow * (1.0 + 0.01 * normal(&mut rng)),
            20_000_000,
            grow_status,
        ));
        if let Some(name) = extra_name {
            ws.push(workload(
                name,
                3e6 * (1.0 + 0.01 * normal(&mut rng)),
                30_000_000_000,
                "passed",
            ));
        }
        let r = record(&commit, i, ws);
        std::fs::write(
            store.join(format!("{commit}-{i:016x}.json")),
            serde_json::to_string(&r).unwrap() + "\n",
        )
        .unwrap();
    }
    (s, store_dir)
}

fn report(s: &Scratch, store: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = s.cmd(&["report", "--store", &format!("dir:{}", store.display())]);
    cmd.args(args);
    cmd.assert()
}

/// `report --format html -o path` for the test machine.
fn html_report(s: &Scratch, store: &Path, path: &Path) {
    report(
        s,
        store,
        &[
            "--format",
            "html",
            "-o",
            path.to_str().unwrap(),
            "--machine",
            MACHINE,
        ],
    )
    .success();
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn short_of(s: &Scratch, rev: &str) -> String {
    git(s.path(), &["rev-parse", "--short=10", rev])
}

#[test]
fn finds_both_steps_at_their_commits_and_no_others() {
    let (s, store_dir) = history(None, "make parsing slower");
    let store = store_dir.path();
    let a = report(&s, store, &["--format", "json", "--machine", MACHINE]).success();
    let r: Value = serde_json::from_str(&stdout(&a)).unwrap();
    // Defaults: from the latest tag (v1.0, commit 0) to HEAD.
    assert_eq!(r["from_rev"], "v1.0");
    assert_eq!(r["commits"], 60);
    assert_eq!(r["recorded_commits"], 60);
    let by_name = |n: &str| -> Value {
        r["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == n)
            .unwrap()
            .clone()
    };
    let parse = by_name("parse");
    let at: Vec<&str> = parse["change_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"]["short"].as_str().unwrap())
        .collect();
    assert_eq!(
        at,
        [short_of(&s, "HEAD~34"), short_of(&s, "HEAD~14")],
        "{parse}"
    );
    let steps: Vec<f64> = parse["change_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_f64().unwrap())
        .collect();
    assert!(
        (steps[0] - 0.20).abs() < 0.02 && (steps[1] + 0.10).abs() < 0.02,
        "{steps:?}"
    );
    assert_eq!(
        parse["change_points"][0]["commit"]["subject"],
        "make parsing slower"
    );
    assert_eq!(parse["change_points"][0]["commit"]["author"], "Test Author");
    assert_eq!(parse["verdict"], "regressed", "net +8 %");
    assert!(
        by_name("steady")["change_points"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(by_name("steady")["verdict"], "unchanged");
    // Budgets: steady's last p95 (about 5.25 ms) leaves about 47 % of its 10 ms budget.
    assert_eq!(by_name("steady")["budget_status"], "ok");
    let headroom = by_name("steady")["headroom"].as_f64().unwrap();
    assert!((0.40..0.55).contains(&headroom), "{headroom}");
    assert_eq!(by_name("grow")["budget_status"], "over");
    assert_eq!(r["summary"]["over_budget"], 1);
    assert_eq!(r["summary"]["regressed"], 2, "parse and grow");
    assert_eq!(r["machine"], MACHINE);
}

/// Compares `text` with the file in tests/snapshots, or writes it with UPDATE_SNAPSHOTS=1.
fn snapshot(name: &str, text: &str) {
    let path = repo().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no {}; run with UPDATE_SNAPSHOTS=1", path.display()));
    assert!(
        expected == text,
        "{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept):\n{text}"
    );
}

/// Commit ids change with the temporary folder's content only through the files committed,
/// which are fixed; dates and identities are fixed by the hermetic git. So the output is stable.
#[test]
fn markdown_and_json_match_their_snapshots() {
    let (s, store_dir) = history(None, "make parsing slower");
    let store = store_dir.path();
    let md = stdout(&report(&s, store, &["--machine", MACHINE]).success());
    snapshot(
        "report.md",
        &md.replace(env!("CARGO_PKG_VERSION"), "VERSION"),
    );
    let json = stdout(&report(&s, store, &["--format", "json", "--machine", MACHINE]).success());
    snapshot(
        "report.json",
        &json.replace(env!("CARGO_PKG_VERSION"), "VERSION"),
    );
}

#[test]
fn user_text_is_escaped_in_html_and_markdown() {
    let evil = "<script>alert('w')</script>";
    let (s, store_dir) = history(Some(evil), "<script>alert('subject')</script> speed-up");
    let store = store_dir.path();
    let out = s.path().join("report.html");
    html_report(&s, store, &out);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script"), "a raw <script> in the HTML");
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the name is shown, escaped"
    );
    assert!(html.contains("<svg"), "charts");
    let md = stdout(&report(&s, store, &["--machine", MACHINE]).success());
    assert!(!md.contains("<script"), "a raw <script> in the Markdown");
    assert!(md.contains("&lt;script&gt;"));
}

#[test]
fn templates_can_be_replaced() {
    let (s, store_dir) = history(None, "x");
    let store = store_dir.path();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.md.j2"),
        "{% for w in workloads %}{{ w.name }}={{ w.change_points|length }};{% endfor %}",
    )
    .unwrap();
    let templates = dir.path().to_str().unwrap();
    let args = ["--machine", MACHINE, "--templates", templates];
    let a = report(&s, store, &args).success();
    // `parse` is declared in perf.toml: it comes first, the others by name.
    assert_eq!(stdout(&a), "parse=2;grow=1;steady=0;");
    // A broken template is an error naming the file, exit 2.
    std::fs::write(dir.path().join("report.md.j2"), "{% for %}").unwrap();
    let a = report(&s, store, &args).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("report.md.j2"), "{err}");
}

#[test]
fn bad_ranges_and_machines_are_clear_errors() {
    let (s, store_dir) = history(None, "x");
    let store = store_dir.path();
    let err = |a: assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    let e = err(report(&s, store, &["--from", "nope"]).code(2));
    assert!(e.contains("nope"), "{e}");
    let e = err(report(&s, store, &["--machine", "00000000000000bb"]).code(2));
    assert!(e.contains("no records of machine 00000000000000bb"), "{e}");
    assert!(
        e.contains(MACHINE),
        "names the machine that has records: {e}"
    );
    let e = err(report(&s, store, &["--machine", "any"]).code(2));
    assert!(e.contains("one machine"), "{e}");
    // Without --machine, this machine has no records: the one with the most is chosen, and
    // the report says so.
    let a = report(&s, store, &["--format", "json"]).success();
    let r: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(r["machine"], MACHINE);
    assert!(r["machine_note"].as_str().unwrap().contains("most records"));
}

/// The headless Chromium of Debian's `chromium` package, or `None` (the test says why it skips).
pub(crate) fn chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Chromium with the flags this machine needs (no sandbox as root, no background networking,
/// which stalls on refused connections) and a fresh profile.
pub(crate) fn headless(chromium: &Path, profile: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The HTML report in a real browser: the charts are drawn (every SVG has a size, its median
/// line and band have points on screen), a screenshot is taken, and the `<script>` in a
/// workload name and a commit subject never runs.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        crate::common::skip(
            "the_html_report_renders_in_headless_chromium",
            "chromium",
            "chromium is not installed (apt-get install chromium; .ci/run installs it)",
        );
        return;
    };
    let evil = "<script>window.__xss = 'name'</script>";
    let (s, store_dir) = history(Some(evil), "<script>window.__xss = 'subject'</script>");
    let store = store_dir.path();
    let work = tempfile::tempdir().unwrap();
    let html_path = work.path().join("report.html");
    html_report(&s, store, &html_path);
    let html = std::fs::read_to_string(&html_path).unwrap();
    // A probe appended by the test (the report itself has no script): it measures what the
    // browser drew and whether any script of the report ran.
    let probe = r#"<script>
      const svgs = [...document.querySelectorAll('svg.chart')];
      const size = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
      document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + JSON.stringify({
        charts: svgs.map(s => ({svg: size(s),
          median: size(s.querySelector('.median')), band: size(s.querySelector('.band')),
          marks: s.querySelectorAll('.mark').length})),
        scripts: document.scripts.length,
        xss: window.__xss || null,
      }) + '</pre>');
    </script>"#;
    let probe_path = work.path().join("probe.html");
    std::fs::write(
        &probe_path,
        html.replace("</body>", &format!("{probe}</body>")),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = headless(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", probe_path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.rfind("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "no probe output; chromium said: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json = &dom[start + 16..];
    let json = &json[..json.find("</pre>").unwrap()];
    let json = json.replace("&quot;", "\"").replace("&amp;", "&");
    let probe: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(probe["xss"], Value::Null, "a script from user text ran");
    assert_eq!(probe["scripts"], 1, "only the probe is a script");
    let charts = probe["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 4, "a chart per workload: {probe}");
    for c in charts {
        for part in ["svg", "median", "band"] {
            let (w, h) = (c[part][0].as_f64().unwrap(), c[part][1].as_f64().unwrap());
            assert!(w > 100.0 && h > 10.0, "{part} is {w}x{h}: {probe}");
        }
    }
    assert!(
        charts.iter().any(|c| c["marks"] == 2),
        "parse's two change points: {probe}"
    );

    let shot = work.path().join("report.png");
    let status = headless(&chromium, profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", html_path.display()))
        .output()
        .unwrap();
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&status.stderr)));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1200);
    // A blank page compresses to a few kilobytes; text, tables and charts do not.
    assert!(png.len() > 30_000, "the screenshot is {} bytes", png.len());
}

#[test]
fn a_report_over_one_recorded_commit_says_one_point_not_unchanged() {
    let s = Scratch::new("[[workload]]\nname = \"parse\"\ncommand = [\"true\"]\n");
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path();
    git(s.path(), &["init", "-q", "-b", "main"]);
    let commit = commit_all(s.path(), "the only commit");
    let r = record(
        &commit,
        0,
        vec![workload("parse", 1e6, 30_000_000_000, "passed")],
    );
    std::fs::write(
        store.join(format!("{commit}-{:016x}.json", 0)),
        serde_json::to_string(&r).unwrap() + "\n",
    )
    .unwrap();
    let md = stdout(&report(&s, store, &["--machine", MACHINE]).success());
    let row = md.lines().find(|l| l.starts_with("| parse |")).unwrap();
    assert!(
        row.starts_with("| parse | one point | 1.0 ms | 1.0 ms | - |"),
        "{md}"
    );
    assert!(!md.contains("unchanged |\n"), "{md}");
    let json = stdout(&report(&s, store, &["--format", "json", "--machine", MACHINE]).success());
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["workloads"][0]["verdict"], "single-point", "{json}");
    assert!(v["workloads"][0]["change"].is_null(), "{json}");
    assert_eq!(v["summary"]["single_point"], 1, "{json}");
    assert_eq!(v["summary"]["unchanged"], 0, "{json}");
}
