//! The HTML report reads at a glance: its range by tag and short id, charts with labelled
//! axes, change points labelled with their commit and linked to the forge. Checked in the HTML
//! and in a screenshot by headless Chromium.

use std::path::Path;

use crate::common::{Scratch, repo, skip};
use crate::git::{git, git_cmd};
use crate::report::{MACHINE, chromium, headless, record, workload};

/// The axes' colour in the built-in template (`svg .axis`), drawn without anti-aliasing.
const AXIS_RGB: [u8; 3] = [0x3d, 0x4f, 0x63];

/// 20 commits a day apart on a repository whose origin is on GitHub; `parse` doubles at commit
/// 10, whose subject has markup in it. Commit 0 is tagged v1.0. Returns the workspace and the
/// store folder.
fn daily_history() -> (Scratch, tempfile::TempDir) {
    let s = Scratch::new("[[workload]]\nname = \"parse\"\ncommand = [\"true\"]\n");
    let store_dir = tempfile::tempdir().unwrap();
    git(s.path(), &["init", "-q", "-b", "main"]);
    git(
        s.path(),
        &["remote", "add", "origin", "git@github.com:acme/widgets.git"],
    );
    for i in 0..20 {
        std::fs::write(s.path().join("step.txt"), format!("{i}\n")).unwrap();
        let subject = if i == 10 {
            "cache <tokens> & parse twice".to_owned()
        } else {
            format!("change {i}")
        };
        git(s.path(), &["add", "-A"]);
        let date = format!("2026-01-{:02}T12:00:00Z", i + 1);
        let out = git_cmd(s.path())
            .env("GIT_COMMITTER_DATE", &date)
            .args(["commit", "-q", "-m", &subject])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let commit = git(s.path(), &["rev-parse", "HEAD"]);
        if i == 0 {
            git(s.path(), &["tag", "v1.0"]);
        }
        // A little alternation, so that no two values tie.
        let level = if i < 10 { 1e6 } else { 2e6 } * (1.0 + 0.002 * (i % 3) as f64);
        let r = record(
            &commit,
            i,
            vec![workload("parse", level, 30_000_000_000, "passed")],
        );
        std::fs::write(
            store_dir.path().join(format!("{commit}-{i:016x}.json")),
            serde_json::to_string(&r).unwrap() + "\n",
        )
        .unwrap();
    }
    (s, store_dir)
}

/// The HTML report of `s`, written to `path`, with the templates of `templates` if given.
fn html_report(s: &Scratch, store: &Path, path: &Path, templates: Option<&Path>) {
    let store = format!("dir:{}", store.display());
    let mut args = vec![
        "report",
        "--store",
        &store,
        "--format",
        "html",
        "-o",
        path.to_str().unwrap(),
        "--machine",
        MACHINE,
    ];
    if let Some(t) = templates {
        args.extend(["--templates", t.to_str().unwrap()]);
    }
    s.cmd(&args).assert().success();
}

/// Headless Chromium's screenshot of `html`, decoded: width, height and RGB rows.
fn screenshot(chromium: &Path, html: &Path) -> (usize, usize, Vec<Vec<[u8; 3]>>) {
    let profile = tempfile::tempdir().unwrap();
    let shot = html.with_extension("png");
    let out = headless(chromium, profile.path())
        .args([
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            "--window-size=800,900",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let bytes = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = info.line_size / width;
    assert!(channels >= 3, "{info:?}");
    let rows = buf
        .chunks(info.line_size)
        .take(height)
        .map(|line| {
            line.chunks(channels)
                .take(width)
                .map(|p| [p[0], p[1], p[2]])
                .collect()
        })
        .collect();
    (width, height, rows)
}

/// The most pixels of the axes' colour in one row, and in one column.
fn axis_runs(width: usize, rows: &[Vec<[u8; 3]>]) -> (usize, usize) {
    let in_row = rows
        .iter()
        .map(|r| r.iter().filter(|p| **p == AXIS_RGB).count())
        .max()
        .unwrap_or(0);
    let in_column = (0..width)
        .map(|x| rows.iter().filter(|r| r[x] == AXIS_RGB).count())
        .max()
        .unwrap_or(0);
    (in_row, in_column)
}

#[test]
fn the_html_report_draws_labelled_axes_in_headless_chromium() {
    let (s, store_dir) = daily_history();
    let work = tempfile::tempdir().unwrap();
    let html_path = work.path().join("report.html");
    html_report(&s, store_dir.path(), &html_path, None);
    // Links are HTML-escaped (`/` as `&#x2f;`); a browser reads them back.
    let html = std::fs::read_to_string(&html_path)
        .unwrap()
        .replace("&#x2f;", "/");

    // The range: the tag of the first commit, the short id (as git abbreviates) of the last.
    let head = git(s.path(), &["rev-parse", "--short", "HEAD"]);
    assert!(
        html.contains(&format!("<h1>Performance report: v1.0 → {head}</h1>")),
        "{html}"
    );
    assert!(
        html.contains(">20 commits on the first-parent path"),
        "{html}"
    );
    // The y axis in steps of 0.5 ms between 1 and 2 ms (and their p95s, 5 % above); the x axis
    // dated (20 days), every 5th commit.
    for label in [
        ">1.0 ms</text>",
        ">1.5 ms</text>",
        ">2.0 ms</text>",
        ">2026-01-01</text>",
        ">2026-01-06</text>",
        ">2026-01-11</text>",
        ">2026-01-16</text>",
        ">commit date (UTC); commits evenly spaced in first-parent order</text>",
    ] {
        assert!(html.contains(label), "no {label}: {html}");
    }
    // The change point: short id and subject on the chart (escaped), linked to GitHub there
    // and in the list under it.
    let step = git(s.path(), &["rev-parse", "HEAD~9"]);
    let short = &step[..10];
    let link = format!("href=\"https://github.com/acme/widgets/commit/{step}\"");
    assert!(
        html.contains(&format!(
            "<a {link}><g><title>{short} cache &lt;tokens&gt; &amp; parse twice</title>"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            ">{short} cache &lt;tokens&gt; &amp; parse…</text>"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("at <a {link}><code>{short}</code></a>")),
        "{html}"
    );

    let Some(chromium) = chromium() else {
        skip(
            "the_html_report_draws_labelled_axes_in_headless_chromium",
            "chromium",
            "chromium is not installed (apt-get install chromium; .ci/run installs it)",
        );
        return;
    };
    // The plot is 560 by 160 pixels: its x axis is a row, its y axis a column of the axes'
    // colour, each nearly as long.
    let (width, height, rows) = screenshot(&chromium, &html_path);
    assert_eq!((width, height), (800, 900));
    let (in_row, in_column) = axis_runs(width, &rows);
    assert!(
        in_row >= 550 && in_column >= 155,
        "axes: {in_row} pixels in a row, {in_column} in a column"
    );

    // The same report from a copy of the template without the axes: the check sees none.
    let templates = tempfile::tempdir().unwrap();
    let builtin = std::fs::read_to_string(repo().join("templates/report.html.j2")).unwrap();
    // Every `<line class="axis" .../>` cut out; the rest (tick labels, loops) kept.
    let mut without = builtin.clone();
    while let Some(at) = without.find("<line class=\"axis\"") {
        let end = at + without[at..].find("/>").unwrap() + 2;
        without.replace_range(at..end, "");
    }
    assert!(without.len() < builtin.len());
    std::fs::write(templates.path().join("report.html.j2"), without).unwrap();
    let bare = work.path().join("bare.html");
    html_report(&s, store_dir.path(), &bare, Some(templates.path()));
    let (_, _, rows) = screenshot(&chromium, &bare);
    let (in_row, in_column) = axis_runs(width, &rows);
    assert!(
        in_row < 20 && in_column < 20,
        "without axes: {in_row} pixels in a row, {in_column} in a column"
    );
}
