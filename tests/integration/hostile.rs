//! Hostile names through every output: workload names (which come from pull requests) with
//! Markdown images and links, mentions, table pipes, carriage returns and newlines, terminal
//! escape sequences, GitHub workflow commands, HTML and XML-illegal characters.

use serde_json::Value;

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, init_and_commit};

const HOSTILE: [&str; 8] = [
    "![x](http://evil.example/p.png)",
    "[click](http://evil.example)",
    "ping @octocat and www.evil.example",
    "pipe|cell\rreturn",
    "esc\u{1b}]0;pwned\u{7}title\u{1b}[2J",
    "nl\n::add-mask::secret",
    "<script>alert(1)</script>",
    "amp&ctl\u{1}\u{fffe}",
];

/// A repository with two commits of a perf.toml whose workloads have the hostile names, and a
/// fake-runner script that makes the first of them 20 % slower on the candidate.
fn hostile_repo() -> (Scratch, std::path::PathBuf, tempfile::TempDir) {
    let mut toml = String::from("[defaults]\nwarmup = 0\nmin_runs = 20\nmax_runs = 20\n\n");
    for name in HOSTILE {
        toml.push_str(&format!(
            "[[workload]]\nname = {}\ncommand = [\"true\"]\n\n",
            toml::Value::String(name.into())
        ));
    }
    let s = Scratch::new(&toml);
    init_and_commit(s.path(), "one");
    std::fs::write(s.path().join("NOTES"), "two\n").unwrap();
    commit_all(s.path(), "two");
    let mut script = serde_json::Map::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        script.insert(name.to_string(), serde_json::json!([{"wall_ms": 10}]));
        if i == 0 {
            script.insert(format!("{name}@new"), serde_json::json!([{"wall_ms": 12}]));
            script.insert(format!("{name}@base"), serde_json::json!([{"wall_ms": 10}]));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.json");
    std::fs::write(&path, Value::Object(script).to_string()).unwrap();
    (s, path, dir)
}

fn cmd(s: &Scratch, script: &std::path::Path, args: &[&str]) -> assert_cmd::Command {
    let mut c = cargo_perf();
    c.args(args)
        .arg("--fake-runner")
        .arg(script)
        .arg("--manifest-path")
        .arg(s.path().join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// No control character but newlines (and the tab of a table? none is used) in what a terminal
/// or a CI log gets.
fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.char_indices() {
        assert!(
            c == '\n' || !c.is_control(),
            "{what}: raw control character {c:?} at byte {i}: {:?}",
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        );
    }
}

#[test]
fn the_terminal_and_ci_logs_get_no_raw_control_characters() {
    let (s, script, _d) = hostile_repo();
    for args in [&["list"][..], &["run"], &["check"]] {
        let out = cmd(&s, &script, args).output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}");
        assert_no_raw_controls(&format!("{args:?} stdout"), &out.stdout);
        assert_no_raw_controls(&format!("{args:?} stderr"), &out.stderr);
    }
    // GitHub annotations: every workflow command line is cargo perf's own error line.
    let out = cmd(&s, &script, &["check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let commands: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "{err}");
    assert!(
        commands[0].starts_with("::error title=cargo perf::"),
        "{err}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("::")),
        "stdout has a workflow command"
    );
}

#[test]
fn json_keeps_every_name_exactly() {
    let (s, script, _d) = hostile_repo();
    let out = cmd(&s, &script, &["check", "--message-format", "json"])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter_map(|v| v["workload"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, HOSTILE);
}

#[test]
fn markdown_renders_no_image_link_mention_html_or_extra_row() {
    let (s, script, _d) = hostile_repo();
    let out = cmd(&s, &script, &["check", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    let html = comrak::markdown_to_html(&md, &options);
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a "), "{html}");
    assert!(!html.contains("<script"), "{html}");
    // A header row and one row per workload, and every row has the header's eight cells.
    let rows = html.matches("<tr>").count();
    assert_eq!(rows, HOSTILE.len() + 1, "{html}");
    for row in html.split("<tr>").skip(1) {
        let row = row.split("</tr>").next().unwrap();
        let cells = row.matches("<td").count() + row.matches("<th").count();
        assert_eq!(cells, 8, "{row}");
    }
    // GitHub mentions `@name`: the text has no `@` right before a letter.
    let text = html.replace(['\u{2060}'], "#");
    assert!(!text.contains("@octocat"), "{html}");
    // And what the job summary gets is the same Markdown.
    let summary_dir = tempfile::tempdir().unwrap();
    let summary = summary_dir.path().join("summary.md");
    cmd(&s, &script, &["check"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1);
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert!(appended.contains(&md.lines().nth(4).unwrap_or_default().to_owned()));
}

#[test]
fn the_junit_report_parses() {
    let (s, script, _d) = hostile_repo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perf.xml");
    cmd(&s, &script, &["check", "--junit", path.to_str().unwrap()])
        .assert()
        .code(1);
    let xml = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let cases: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(cases.len(), HOSTILE.len());
    // Names survive except for what XML cannot hold, which is shown escaped.
    assert_eq!(cases[0], HOSTILE[0]);
    assert_eq!(cases[5], HOSTILE[5]);
    assert_eq!(cases[7], "amp&ctl\\u{1}\\u{fffe}");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        1
    );
}

#[test]
fn the_html_report_keeps_names_inert() {
    let (s, script, _d) = hostile_repo();
    let store = tempfile::tempdir().unwrap();
    let store_arg = format!("dir:{}", store.path().display());
    cmd(&s, &script, &["record", "--store", &store_arg])
        .assert()
        .success();
    let out = cmd(
        &s,
        &script,
        &[
            "report", "--format", "html", "--store", &store_arg, "--from", "HEAD~1",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(!html.contains("<script>alert"), "the name became a script");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
    let md = cmd(
        &s,
        &script,
        &["report", "--store", &store_arg, "--from", "HEAD~1"],
    )
    .output()
    .unwrap();
    let rendered = comrak::markdown_to_html(
        &String::from_utf8_lossy(&md.stdout),
        &comrak::Options::default(),
    );
    assert!(
        !rendered.contains("<img") && !rendered.contains("<script"),
        "{rendered}"
    );
}
