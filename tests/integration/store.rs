//! Records keyed by commit: git notes and directory stores, history, show, sync, and the
//! store's reliability under concurrency and SIGKILL. Records are measured with the fake runner,
//! so the figures are exact; the stores and git are real.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Scratch, cargo_perf};
use crate::git::{commit_all, git, git_cmd, hermetic, init_and_commit};

const PERF_TOML: &str = "[defaults]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n\
                         [[workload]]\nname = \"w\"\ncommand = [\"true\"]\n\
                         [[workload]]\nname = \"v\"\ncommand = [\"true\"]\n";

/// A committed workspace (a scratch one, or a clone) and a fake-runner script kept outside it.
struct Project {
    root: PathBuf,
    _owned: Option<tempfile::TempDir>,
    script_dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let Scratch { dir } = Scratch::new(PERF_TOML);
        init_and_commit(dir.path(), "first");
        Project::at(dir.path().to_owned(), Some(dir))
    }

    /// The project in `root`, which must be a committed copy of a `new()` project.
    fn at(root: PathBuf, owned: Option<tempfile::TempDir>) -> Self {
        let p = Project {
            root,
            _owned: owned,
            script_dir: tempfile::tempdir().unwrap(),
        };
        p.set_wall_ms(10.0);
        p
    }

    fn path(&self) -> &Path {
        &self.root
    }

    fn script(&self) -> PathBuf {
        self.script_dir.path().join("fake.json")
    }

    /// Every later run of `w` takes `ms` of wall time; `v` always 5 ms.
    fn set_wall_ms(&self, ms: f64) {
        std::fs::write(
            self.script(),
            format!(
                "{{\"w\": [{{\"wall_ms\": {ms}, \"cpu_ms\": {ms}}}], \"v\": [{{\"wall_ms\": 5}}]}}"
            ),
        )
        .unwrap();
    }

    /// `cargo perf ARGS` in this project, hermetic for git.
    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = cargo_perf();
        cmd.args(args)
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        cmd
    }

    /// `cargo perf record` with the fake runner.
    fn record(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        let script = self.script();
        let mut args = vec!["record", "-q", "--fake-runner", script.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.cmd(&args).assert()
    }

    fn note(&self, rev: &str) -> String {
        git(self.path(), &["notes", "--ref=perf", "show", rev])
    }

    fn head(&self) -> String {
        git(self.path(), &["rev-parse", "HEAD"])
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn record_writes_a_readable_json_line_to_the_note_of_head() {
    let p = Project::new();
    p.record(&[]).success();
    let lines = json_lines(&p.note("HEAD"));
    assert_eq!(lines.len(), 1);
    let r = &lines[0];
    assert_eq!(r["schema"], 1);
    assert_eq!(r["commit"], p.head());
    assert_eq!(r["dirty"], false);
    assert_eq!(r["machine"]["key"].as_str().unwrap().len(), 16);
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(r["rustc"].as_str().unwrap().starts_with("rustc "));
    assert_eq!(r["manifest_hash"].as_str().unwrap().len(), 16);
    let w = &r["workloads"][0];
    assert_eq!(w["name"], "w");
    assert_eq!(w["summary"]["n"], 3);
    assert_eq!(
        w["summary"]["wall_ns"]["median"].as_f64(),
        Some(10_000_000.0)
    );
    assert_eq!(
        w["samples"]["wall_ns"],
        serde_json::json!([10_000_000, 10_000_000, 10_000_000])
    );
    // A second record is appended to the same note.
    p.record(&[]).success();
    assert_eq!(json_lines(&p.note("HEAD")).len(), 2);
}

#[test]
fn a_dirty_tree_is_refused_unless_allowed_and_then_marked() {
    let p = Project::new();
    std::fs::write(p.path().join("src/main.rs"), "fn main() { }\n").unwrap();
    let a = p.record(&[]).code(2);
    assert!(stderr(&a).contains("--allow-dirty"), "{}", stderr(&a));
    assert!(
        git_cmd(p.path())
            .args(["notes", "--ref=perf", "show", "HEAD"])
            .output()
            .unwrap()
            .stdout
            .is_empty()
    );
    p.record(&["--allow-dirty"]).success();
    assert_eq!(json_lines(&p.note("HEAD"))[0]["dirty"], true);
    // `run --save` is the same thing.
    let script = p.script();
    p.cmd(&[
        "run",
        "--save",
        "-q",
        "--fake-runner",
        script.to_str().unwrap(),
    ])
    .assert()
    .code(2);
    p.cmd(&[
        "run",
        "--save",
        "--allow-dirty",
        "-q",
        "--fake-runner",
        script.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(json_lines(&p.note("HEAD")).len(), 2);
    // Without --save, --allow-dirty means nothing and is refused.
    p.cmd(&["run", "--allow-dirty"]).assert().code(2);
}

#[test]
fn a_detached_head_is_recorded_for_its_commit() {
    let p = Project::new();
    let first = p.head();
    commit_all(p.path(), "second");
    git(p.path(), &["checkout", "-q", "--detach", &first]);
    p.record(&[]).success();
    assert_eq!(json_lines(&p.note(&first))[0]["commit"], first);
}

#[test]
fn the_directory_store_writes_one_file_per_record() {
    let p = Project::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("records");
    let spec = format!("dir:{}", dir.display());
    p.record(&["--store", &spec]).success();
    p.record(&["--store", &spec]).success();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&p.head()) && n.ends_with(".json")),
        "{names:?}"
    );
    // Nothing went to the notes.
    assert!(
        !git_cmd(p.path())
            .args(["notes", "--ref=perf", "show", "HEAD"])
            .status()
            .unwrap()
            .success()
    );
    let a = p
        .cmd(&["history", "--store", &spec, "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a)).len(), 4); // two records of two workloads
}

#[test]
fn store_dir_in_perf_toml() {
    let p = Project::new();
    let toml = format!("{PERF_TOML}[store]\ndir = \"perf-records\"\n");
    std::fs::write(p.path().join("perf.toml"), toml).unwrap();
    std::fs::write(p.path().join(".gitignore"), "perf-records/\n").unwrap();
    commit_all(p.path(), "store in a folder");
    p.record(&[]).success();
    assert_eq!(
        std::fs::read_dir(p.path().join("perf-records"))
            .unwrap()
            .count(),
        1
    );
    let a = p
        .cmd(&["show", "HEAD", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a))[0]["commit"], p.head());
}

#[test]
fn an_unwritable_store_is_an_error_before_anything_is_measured() {
    let p = Project::new();
    let file = p.script_dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let spec = format!("dir:{}/records", file.display());
    let a = p.record(&["--store", &spec]).code(2);
    let err = stderr(&a);
    assert!(
        err.contains("cannot be written") && err.contains("a-file"),
        "{err}"
    );
    assert!(
        !stdout(&a).contains("workloads:"),
        "measured before failing"
    );
}

#[test]
fn history_walks_first_parent_with_the_change_between_points() {
    let p = Project::new();
    let first = p.head();
    p.record(&[]).success();
    commit_all(p.path(), "second, not recorded");
    let third = commit_all(p.path(), "third");
    p.set_wall_ms(12.0);
    p.record(&[]).success();

    let a = p
        .cmd(&["history", "w", "--message-format", "json"])
        .assert()
        .success();
    let points = json_lines(&stdout(&a));
    let w: Vec<&serde_json::Value> = points.iter().filter(|p| p["workload"] == "w").collect();
    assert_eq!(w.len(), 2);
    assert_eq!(w[0]["commit"], third);
    assert_eq!(w[1]["commit"], first);
    assert_eq!(w[0]["median_ns"].as_f64(), Some(12_000_000.0));
    assert!((w[0]["change"].as_f64().unwrap() - 0.2).abs() < 1e-12);
    assert!(w[1]["change"].is_null());
    assert_eq!(w[0]["subject"], "third");

    let a = p
        .cmd(&["history", "-n", "1", "--message-format", "json"])
        .assert()
        .success();
    assert!(json_lines(&stdout(&a)).iter().all(|p| p["commit"] == third));
    let a = p
        .cmd(&["history", "--from", &first, "--message-format", "json"])
        .assert()
        .success();
    assert!(json_lines(&stdout(&a)).iter().all(|p| p["commit"] == first));
    let a = p.cmd(&["history", "w"]).assert().success();
    assert!(stdout(&a).contains("+20.0%"), "{}", stdout(&a));
    // Records of another machine are not shown unless asked for.
    let other = p
        .cmd(&["history", "--machine", "0000000000000000"])
        .assert()
        .success();
    assert!(stdout(&other).is_empty());
    assert!(stderr(&other).contains("no records on machine 0000000000000000"));
}

#[test]
fn show_prints_one_revision_and_nearest_finds_an_ancestor() {
    let p = Project::new();
    let first = p.head();
    p.record(&[]).success();
    commit_all(p.path(), "second");
    let a = p.cmd(&["show", "HEAD~1"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains("of commit") && out.contains("first") && out.contains("10.0 ms"),
        "{out}"
    );
    let a = p.cmd(&["show", "HEAD"]).assert().code(2);
    assert!(
        stderr(&a).contains("no records for `HEAD`"),
        "{}",
        stderr(&a)
    );
    assert!(stderr(&a).contains("--nearest"));
    let a = p
        .cmd(&["show", "HEAD", "--nearest", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a))[0]["commit"], first);
}

#[test]
fn a_hand_edited_corrupt_line_is_skipped_with_a_warning() {
    let p = Project::new();
    p.record(&[]).success();
    git(
        p.path(),
        &[
            "notes",
            "--ref=perf",
            "append",
            "-m",
            "{this is not json",
            "HEAD",
        ],
    );
    p.record(&[]).success();
    let a = p
        .cmd(&["history", "w", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a)).len(), 2);
    let err = stderr(&a);
    let short = &p.head()[..10];
    assert!(
        err.contains(&format!(
            "refs/notes/perf of commit {short}, line 3: not a valid record"
        )),
        "{err}"
    );
}

#[test]
fn a_damaged_history_index_is_rebuilt() {
    let p = Project::new();
    p.record(&[]).success();
    p.record(&[]).success();
    let before = stdout(
        &p.cmd(&["history", "--message-format", "json"])
            .assert()
            .success(),
    );
    assert_eq!(json_lines(&before).len(), 4);
    let index = p.path().join(".git/cargo-perf/index-v5");
    let mut damaged = 0;
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("w-")
        {
            // What a process killed in the middle of a write leaves.
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            std::io::Write::write_all(&mut f, b"[\"12").unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 2);
    let after = stdout(
        &p.cmd(&["history", "--message-format", "json"])
            .assert()
            .success(),
    );
    assert_eq!(after, before);
}

/// The rows of the history index's workload files, by content key.
fn index_rows(p: &Project) -> Vec<String> {
    let index = p.path().join(".git/cargo-perf/index-v5");
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("w-") && name.ends_with(".jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                keys.push(row[0].as_str().unwrap().to_owned());
            }
        }
    }
    keys
}

#[test]
fn recording_a_commit_again_compacts_the_history_index() {
    let p = Project::new();
    for ms in [10.0, 20.0, 30.0] {
        p.set_wall_ms(ms);
        p.record(&[]).success();
    }
    // The note's blob id is the content key of its records.
    let key = String::from_utf8(
        std::process::Command::new("git")
            .args(["notes", "--ref=perf", "list", "HEAD"])
            .current_dir(p.path())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    // Three records of two workloads, all under the note's current key: the points of the
    // two notes it replaced are gone.
    let rows = index_rows(&p);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.iter().all(|k| *k == key), "{rows:?} != {key}");
    let a = p
        .cmd(&["history", "w", "--message-format", "json"])
        .assert()
        .success();
    let medians: Vec<f64> = json_lines(&stdout(&a))
        .iter()
        .map(|l| l["median_ns"].as_f64().unwrap())
        .collect();
    assert_eq!(medians, [30e6, 20e6, 10e6]);
}

#[test]
fn a_newer_schema_is_refused() {
    let p = Project::new();
    git(
        p.path(),
        &[
            "notes",
            "--ref=perf",
            "add",
            "-m",
            "{\"schema\": 9, \"from\": \"the future\"}",
            "HEAD",
        ],
    );
    let a = p.cmd(&["show", "HEAD"]).assert().code(2);
    assert!(
        stderr(&a).contains("schema 9, newer than this cargo-perf reads (1)"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn git_errors_are_clear() {
    // Not a repository.
    let s = Scratch::new(PERF_TOML);
    let a = s.cmd(&["history"]).assert().code(2);
    assert!(
        stderr(&a).contains("is not in a git repository"),
        "{}",
        stderr(&a)
    );
    // A repository without a commit.
    git(s.path(), &["init", "-q"]);
    let a = s
        .cmd(&["record", "--fake-runner", "/nonexistent"])
        .assert()
        .code(2);
    assert!(
        stderr(&a).contains("HEAD has no commit yet"),
        "{}",
        stderr(&a)
    );
    // A commit that does not exist.
    let p = Project::new();
    let a = p
        .cmd(&["show", "0123456789abcdef0123456789abcdef01234567"])
        .assert()
        .code(2);
    assert!(
        stderr(&a).contains("no commit `0123456789abcdef0123456789abcdef01234567`"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_shallow_clone_without_the_commit_says_how_to_fetch_it() {
    let p = Project::new();
    commit_all(p.path(), "second");
    commit_all(p.path(), "third");
    let first = git(p.path(), &["rev-parse", "HEAD~2"]);
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", p.path().display());
    git(
        clones.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = clones.path().join("shallow");
    let mut cmd = cargo_perf();
    cmd.args(["show", &first, "--manifest-path"])
        .arg(shallow.join("Cargo.toml"));
    let a = cmd.assert().code(2);
    let err = stderr(&a);
    assert!(
        err.contains(&format!("no commit `{first}`")) && err.contains("git fetch --unshallow"),
        "{err}"
    );
    // History in a shallow clone ends where the clone does, without an error.
    let mut cmd = cargo_perf();
    cmd.args(["history", "--manifest-path"])
        .arg(shallow.join("Cargo.toml"));
    cmd.assert().success();
}

/// A `cargo-perf perf record` process for the SIGKILL and concurrency tests.
fn record_process(p: &Project) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-perf"));
    cmd.args(["perf", "record", "--fake-runner"])
        .arg(p.script())
        .arg("--manifest-path")
        .arg(p.path().join("Cargo.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    hermetic(&mut cmd);
    cmd
}

fn run_ids(p: &Project) -> BTreeSet<String> {
    let out = git_cmd(p.path())
        .args(["notes", "--ref=perf", "show", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["run_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn eight_concurrent_records_are_all_stored() {
    // Without the store's lock, 8 writers at once lose a record in about two races of three;
    // four races make a miss of that bug unlikely.
    let p = Project::new();
    let mut reported = BTreeSet::new();
    for _ in 0..4 {
        let children: Vec<_> = (0..8)
            .map(|_| record_process(&p).spawn().unwrap())
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let err = String::from_utf8_lossy(&out.stderr);
            let id = err
                .split("Stored record ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            reported.insert(id.to_owned());
        }
    }
    assert_eq!(reported.len(), 32);
    assert_eq!(run_ids(&p), reported);
}

#[test]
fn records_killed_at_random_points_never_corrupt_the_store() {
    let p = Project::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut reported = BTreeSet::new();
    // How long a whole record takes here; the note is written at its very end.
    let started = std::time::Instant::now();
    let out = record_process(&p).output().unwrap();
    assert!(out.status.success());
    let whole = started.elapsed().as_micros() as u64;
    let err = String::from_utf8_lossy(&out.stderr);
    reported.insert(
        err.split("Stored record ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned(),
    );
    for i in 0..50 {
        let mut child = record_process(&p).spawn().unwrap();
        // Every tenth record finishes; of the others, half are killed anywhere in their life and
        // half in its last part, where the note is read, extended and written.
        if i % 10 != 9 {
            let at = if i % 2 == 0 {
                rng.u64(0..whole)
            } else {
                rng.u64(whole * 65 / 100..whole * 130 / 100)
            };
            std::thread::sleep(Duration::from_micros(at));
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if let Some(rest) = err.split("Stored record ").nth(1) {
            reported.insert(rest.split(' ').next().unwrap().to_owned());
        }
        // The store always reads back, and holds every record that was reported stored.
        let show = p
            .cmd(&["show", "HEAD", "--message-format", "json"])
            .assert();
        assert_eq!(
            show.get_output().status.code(),
            Some(0),
            "kill {i}: {}",
            stderr(&show)
        );
        assert!(
            !stderr(&show).contains("warning"),
            "kill {i}: {}",
            stderr(&show)
        );
        let stored = run_ids(&p);
        assert!(
            reported.is_subset(&stored),
            "kill {i}: {reported:?} not in {stored:?}"
        );
        // The history index (which a killed record may have left half-written) agrees: two
        // workloads per stored record.
        let history = p
            .cmd(&["history", "--message-format", "json"])
            .assert()
            .success();
        assert_eq!(
            json_lines(&stdout(&history)).len(),
            2 * stored.len(),
            "kill {i}"
        );
    }
    eprintln!(
        "{} of 50 records (45 of them killed) had been stored",
        reported.len() - 1
    );
}

/// A bare clone of `p` in a new temporary folder (which clones of it can share), and its path.
fn bare_remote(p: &Project) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            p.path().to_str().unwrap(),
            "remote.git",
        ],
    );
    (tmp, remote)
}

#[test]
fn sync_keeps_the_records_of_both_clones() {
    let p = Project::new();
    let commit = p.head();
    let (tmp, remote) = bare_remote(&p);
    for name in ["a", "b"] {
        git(tmp.path(), &["clone", "-q", remote.to_str().unwrap(), name]);
    }
    let a = Project::at(tmp.path().join("a"), None);
    let b = Project::at(tmp.path().join("b"), None);
    a.record(&[]).success();
    b.record(&[]).success();
    let out = a.cmd(&["sync"]).assert().success();
    assert!(
        stdout(&out).contains("received 0 records (0 notes merged), pushed"),
        "{}",
        stdout(&out)
    );
    let out = b.cmd(&["sync"]).assert().success();
    assert!(
        stdout(&out).contains("received 1 record (1 note merged), pushed"),
        "{}",
        stdout(&out)
    );
    a.cmd(&["sync"]).assert().success();
    let both = run_ids(&a);
    assert_eq!(both.len(), 2);
    assert_eq!(run_ids(&b), both);
    let remote_note = git(&remote, &["notes", "--ref=perf", "show", &commit]);
    assert_eq!(remote_note.lines().count(), 2);
    // A remote that does not exist is a clear error.
    let err = a.cmd(&["sync", "--remote", "nowhere"]).assert().code(2);
    assert!(
        stderr(&err).contains("no git remote named `nowhere`"),
        "{}",
        stderr(&err)
    );
}

#[test]
fn an_index_that_cannot_be_written_falls_back_to_the_notes() {
    let p = Project::new();
    p.record(&[]).success();
    // Where the index would go, a file: as on a read-only repository, it cannot be created
    // (chmod does not stop root, a file in the way does).
    let index = p.path().join(".git/cargo-perf");
    let _ = std::fs::remove_dir_all(&index);
    std::fs::write(&index, "in the way\n").unwrap();
    for args in [
        &["history", "--message-format", "json"][..],
        &["report", "--from", "HEAD", "--format", "json"],
    ] {
        let a = p.cmd(args).assert().success();
        assert!(
            stderr(&a).contains("the history index in") && stderr(&a).contains("cannot be used"),
            "{args:?}: {}",
            stderr(&a)
        );
    }
    let a = p
        .cmd(&["history", "--message-format", "json"])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a)).len(), 2);
}

#[test]
fn a_bad_file_in_a_directory_store_is_skipped_not_fatal() {
    let p = Project::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("records");
    let spec = format!("dir:{}", dir.display());
    p.record(&["--store", &spec]).success();
    let head = p.head();
    // Not UTF-8, and a folder, both named like records of HEAD.
    std::fs::write(
        dir.join(format!("{head}-bad.json")),
        [0xff, 0xfe, b'{', b'\n'],
    )
    .unwrap();
    std::fs::create_dir_all(dir.join(format!("{head}-folder.json"))).unwrap();
    for args in [
        &["show", "HEAD", "--message-format", "json"][..],
        &["history", "--message-format", "json"],
        &["report", "--from", "HEAD", "--format", "json"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--store", &spec]);
        let a = p.cmd(&all).assert().success();
        let err = stderr(&a);
        assert!(
            err.contains("not UTF-8 text, so not a record; skipped")
                && err.contains("named like a record but not a file; skipped"),
            "{args:?}: {err}"
        );
    }
    let a = p
        .cmd(&["show", "HEAD", "--message-format", "json", "--store", &spec])
        .assert()
        .success();
    assert_eq!(json_lines(&stdout(&a)).len(), 1);
}

#[test]
fn history_n_0_shows_nothing_and_a_closed_pipe_ends_quietly() {
    let p = Project::new();
    p.record(&[]).success();
    let a = p.cmd(&["history", "-n", "0"]).assert().success();
    assert_eq!(stdout(&a), "");
    assert_eq!(stderr(&a), "");
    // Enough output to fill a pipe: many records of many samples.
    std::fs::write(
        p.script(),
        "{\"w\": [{\"wall_ms\": 1}], \"v\": [{\"wall_ms\": 1}]}",
    )
    .unwrap();
    for _ in 0..8 {
        p.record(&["--min-runs", "500", "--max-runs", "500"])
            .success();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .args([
            "perf",
            "show",
            "HEAD",
            "--message-format",
            "json",
            "--manifest-path",
        ])
        .arg(p.path().join("Cargo.toml"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with('{'), "{first}");
        // The reader goes away, as `head -1` does.
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn stored_compare_of_criterion_records_compares_their_samples() {
    let p = Project::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("records");
    let spec = format!("dir:{}", dir.display());
    p.record(&["--store", &spec]).success();
    std::fs::write(p.path().join("NOTES"), "two\n").unwrap();
    commit_all(p.path(), "two");
    p.record(&["--store", &spec]).success();
    // Turn both records' `w` into a criterion benchmark: 30 samples of 10 ns per iteration, and
    // 12 ns on the newer commit.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let newer = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&p.head());
        let mut r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let per = if newer { 12.0 } else { 10.0 };
        let iters: Vec<f64> = (1..=30).map(|i| 100.0 * i as f64).collect();
        let times: Vec<f64> = iters
            .iter()
            .enumerate()
            .map(|(i, n)| n * per * (1.0 + (i % 3) as f64 * 0.001))
            .collect();
        let w = &mut r["workloads"][0];
        assert_eq!(w["name"], "w");
        w["kind"] = "criterion".into();
        w["budget_ns"] = 0.into();
        w["criterion"] = serde_json::json!({"target": "t", "full_id": "w", "group": "w",
                                            "iters": iters, "times_ns": times});
        std::fs::write(&path, format!("{r}\n")).unwrap();
    }
    let a = p
        .cmd(&[
            "compare",
            "HEAD~1",
            "--store",
            &spec,
            "--message-format",
            "json",
        ])
        .assert()
        .code(1);
    let lines = json_lines(&stdout(&a));
    let w = lines.iter().find(|l| l["workload"]["name"] == "w").unwrap();
    assert_eq!(w["verdict"], "regressed", "{w}");
    assert!(
        (w["comparison"]["ratio"].as_f64().unwrap() - 1.2).abs() < 0.01,
        "{w}"
    );
    assert_eq!(w["budget"]["breaches"], serde_json::json!([]), "{w}");
}

#[test]
fn a_machine_class_pools_records_and_the_detected_key_ignores_cpu_affinity() {
    let p = Project::new();
    let machines = |p: &Project| -> Vec<serde_json::Value> {
        json_lines(&p.note("HEAD"))
            .into_iter()
            .map(|r| r["machine"].clone())
            .collect()
    };
    p.record(&[]).success();
    // Pinned to one CPU, the machine is the same machine.
    if Command::new("taskset").arg("--version").output().is_ok() {
        let mut pinned = Command::new("taskset");
        pinned
            .args([
                "-c",
                "0",
                env!("CARGO_BIN_EXE_cargo-perf"),
                "perf",
                "record",
                "-q",
            ])
            .arg("--fake-runner")
            .arg(p.script())
            .arg("--manifest-path")
            .arg(p.path().join("Cargo.toml"));
        hermetic(&mut pinned);
        let out = pinned.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let m = machines(&p);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], m[1], "taskset changed the machine");
    } else {
        crate::common::skip(
            "a_machine_class_pools_records_and_the_detected_key_ignores_cpu_affinity",
            "taskset",
            "the affinity half is skipped",
        );
    }
    let detected = machines(&p)[0]["key"].as_str().unwrap().to_owned();
    assert_eq!(detected.len(), 16);

    // A class from perf.toml; the flag and the environment override it.
    let manifest = p.path().join("perf.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("[store]\nmachine = \"ci-4core\"\n{text}"),
    )
    .unwrap();
    commit_all(p.path(), "record under a machine class");
    p.record(&[]).success();
    p.record(&["--machine-key", "other-class"]).success();
    p.cmd(&[
        "record",
        "-q",
        "--fake-runner",
        p.script().to_str().unwrap(),
    ])
    .env("CARGO_PERF_MACHINE_KEY", "env-class")
    .assert()
    .success();
    let m = machines(&p);
    let keys: Vec<&str> = m.iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["ci-4core", "other-class", "env-class"]);
    // The class keeps what the machine is.
    assert_eq!(m[0]["cpu"], machines_of_first(&p)["cpu"]);

    // `this` machine is the class: history shows the class's records of both commits' worth.
    let history = |extra: &[&str]| {
        let mut args = vec!["history", "--message-format", "json"];
        args.extend_from_slice(extra);
        json_lines(&stdout(&p.cmd(&args).assert().success()))
    };
    let class = history(&[]);
    assert!(!class.is_empty());
    assert!(
        class.iter().all(|l| l["machine"] == "ci-4core"),
        "{class:?}"
    );
    let first_commit = history(&["--machine", &detected]);
    assert!(!first_commit.is_empty());
    assert!(
        first_commit
            .iter()
            .all(|l| l["machine"] == detected.as_str())
    );

    // The report says which machine it drew on.
    let report: serde_json::Value = serde_json::from_str(&stdout(
        &p.cmd(&["report", "--format", "json"]).assert().success(),
    ))
    .unwrap();
    assert_eq!(report["machine"], "ci-4core");
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    let cpu = m[0]["cpu"].as_str().unwrap();
    assert!(
        hosts[0]["host"].as_str().unwrap().starts_with(cpu),
        "{hosts:?}"
    );
    assert_eq!(hosts[0]["commits"], 1);
    let md = stdout(&p.cmd(&["report"]).assert().success());
    assert!(md.contains(&format!("Measured on {cpu}")), "{md}");

    // A bad key is refused where it is written.
    std::fs::write(
        &manifest,
        format!("[store]\nmachine = \"my laptop\"\n{text}"),
    )
    .unwrap();
    let err = p.cmd(&["history"]).assert().code(2);
    assert!(
        stderr(&err).contains("perf.toml:2") && stderr(&err).contains("` ` is not allowed"),
        "{}",
        stderr(&err)
    );
    let err = p.cmd(&["history", "--machine-key", "a/b"]).assert().code(2);
    assert!(
        stderr(&err).contains("`/` is not allowed"),
        "{}",
        stderr(&err)
    );
}

/// The machine of the first record of HEAD's parent.
fn machines_of_first(p: &Project) -> serde_json::Value {
    json_lines(&p.note("HEAD~1"))[0]["machine"].clone()
}

#[test]
fn eight_clones_syncing_at_once_all_land() {
    // Two commits; four clones record the first, four the second, and all eight sync at once
    // through one bare remote. Each push that lost the race is fetched, merged and pushed again.
    let p = Project::new();
    std::fs::write(p.path().join("second.txt"), "2").unwrap();
    let second = commit_all(p.path(), "second");
    let first = git(p.path(), &["rev-parse", "HEAD~1"]).trim().to_owned();
    let (tmp, remote) = bare_remote(&p);
    let clones: Vec<Project> = (0..8)
        .map(|i| {
            let name = format!("c{i}");
            git(
                tmp.path(),
                &["clone", "-q", remote.to_str().unwrap(), &name],
            );
            if i % 2 == 0 {
                git(
                    &tmp.path().join(&name),
                    &["checkout", "-q", "--detach", "HEAD~1"],
                );
            }
            Project::at(tmp.path().join(name), None)
        })
        .collect();
    for c in &clones {
        c.record(&[]).success();
    }
    let ids_of = |c: &Project| -> BTreeSet<String> {
        [&first, &second]
            .iter()
            .flat_map(|commit| {
                let out = git_cmd(c.path())
                    .args(["notes", "--ref=perf", "show", commit])
                    .output()
                    .unwrap();
                json_lines(&String::from_utf8_lossy(&out.stdout))
                    .into_iter()
                    .map(|r| r["run_id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let all: BTreeSet<String> = clones.iter().flat_map(ids_of).collect();
    assert_eq!(all.len(), 8);

    let children: Vec<_> = clones
        .iter()
        .map(|c| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-perf"));
            cmd.args([
                "perf",
                "sync",
                "--message-format",
                "json",
                "--manifest-path",
            ])
            .arg(c.path().join("Cargo.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            hermetic(&mut cmd);
            cmd.spawn().unwrap()
        })
        .collect();
    let mut rejected = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = json_lines(&String::from_utf8_lossy(&out.stdout)).remove(0);
        assert_eq!(line["pushed"], true, "{line}");
        rejected += line["rejected_pushes"].as_u64().unwrap();
    }
    eprintln!("8 concurrent syncs: {rejected} pushes had to be retried");
    // The remote has every record; a final sync brings them all to every clone.
    let in_remote: BTreeSet<String> = [&first, &second]
        .iter()
        .flat_map(|commit| {
            json_lines(&git(&remote, &["notes", "--ref=perf", "show", commit]))
                .into_iter()
                .map(|r| r["run_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(in_remote, all);
    for c in &clones {
        c.cmd(&["sync", "-q"]).assert().success();
        assert_eq!(ids_of(c), all);
    }

    // A remote that loses every race: after --attempts tries, a clear error, and nothing lost.
    let hook = remote.join("hooks/update");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho \"error: cannot lock ref '$1': reference already exists\" >&2\nexit 1\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    let late = &clones[0];
    late.record(&[]).success();
    let err = late.cmd(&["sync", "--attempts", "2"]).assert().code(2);
    assert!(
        stderr(&err).contains("rejected the push of refs/notes/perf 2 times")
            && stderr(&err).contains("cannot lock ref"),
        "{}",
        stderr(&err)
    );
    assert_eq!(ids_of(late).len(), 9);
    // A hook that refuses for another reason is not retried.
    std::fs::write(&hook, "#!/bin/sh\necho no notes here >&2\nexit 1\n").unwrap();
    let err = late.cmd(&["sync", "--attempts", "5"]).assert().code(2);
    assert!(
        stderr(&err).contains("hook declined") && !stderr(&err).contains("5 times"),
        "{}",
        stderr(&err)
    );
}
