//! Interruption: SIGINT and SIGTERM sent to the tool in the middle of `run`, `check` and a
//! criterion run end with 130 and 143, and leave no process of the workload, no temporary
//! folder and no held lock behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Scratch, copy_dir, fixture_target_dir, helper, measuring, repo, toml_str};
use crate::git::{commit_all, init_and_commit};

/// The tool, started in the background with a private temporary folder.
fn start(args: &[&str], manifest: &Path, tmp: &Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-perf"));
    cmd.arg("perf")
        .args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .env("CARGO_PERF_CACHE_DIR", crate::common::perf_cache_dir())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("cargo-perf starts")
}

/// Waits until `path` holds a pid (the workload is running), at most a minute.
fn wait_for_pid(path: &Path, child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("the tool ended ({status}) before the workload started: {err}");
        }
        assert!(Instant::now() < deadline, "the workload never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process group of `pid`, from /proc.
fn group_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is alive");
    // Fields after the command name (which may hold spaces, in parentheses): state, ppid, pgrp.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// Processes still alive (not zombies) in process group `group`.
fn alive_in_group(group: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2].parse() == Ok(group) {
            pids.push(pid);
        }
    }
    pids
}

/// Sends `signal` to the tool, and checks its exit code, its last line, and that nothing of the
/// workload's group, and no temporary folder in `tmp`, is left.
fn interrupt_and_check(mut child: Child, signal: i32, workload: i32, tmp: &Path) {
    let group = group_of(workload);
    // SAFETY: plain integers; the child is ours and alive.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = wait_timeout(&mut child, Duration::from_secs(30));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert_eq!(status, Some(128 + signal), "{err}");
    let name = if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    assert!(
        err.contains(&format!("interrupted by {name} while running"))
            && err.contains("nothing was stored"),
        "{err}"
    );
    // The group was killed at once; give the kernel a moment to finish the exits.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !alive_in_group(group).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(alive_in_group(group), Vec::<i32>::new(), "left running");
    let left: Vec<PathBuf> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("cargo-perf"))
        })
        .collect();
    assert!(left.is_empty(), "temporary folders left: {left:?}");
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A workspace whose one workload starts a grandchild and sleeps for an hour, writing the
/// grandchild's pid to `pids/pid`.
fn sleeper(dir: &Path) -> Scratch {
    let pids = dir.join("pids");
    std::fs::create_dir_all(&pids).unwrap();
    let pidfile = pids.join("pid");
    Scratch::new(&format!(
        "[defaults]\nwarmup = 0\nmin_runs = 1\nmax_runs = 1\n\n\
         [[workload]]\nname = \"sleeper\"\ncommand = [{}, \"grandchild\", {}]\ntimeout = \"1h\"\n",
        toml_str(helper()),
        toml_str(&pidfile)
    ))
}

#[test]
fn run_interrupted_by_sigint_and_sigterm_leaves_nothing_running() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let work = tempfile::tempdir().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let s = sleeper(work.path());
        let mut child = start(&["run"], &s.path().join("Cargo.toml"), tmp.path(), &[]);
        let pid = wait_for_pid(&work.path().join("pids/pid"), &mut child);
        interrupt_and_check(child, signal, pid, tmp.path());
    }
}

#[test]
fn check_interrupted_releases_its_locks() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let s = sleeper(work.path());
    init_and_commit(s.path(), "one");
    std::fs::write(s.path().join("NOTES"), "two\n").unwrap();
    commit_all(s.path(), "two");
    let manifest = s.path().join("Cargo.toml");
    let mut child = start(&["check"], &manifest, tmp.path(), &[]);
    let pid = wait_for_pid(&work.path().join("pids/pid"), &mut child);
    interrupt_and_check(child, libc::SIGTERM, pid, tmp.path());
    // Both of the check's locks can be taken at once: the target dir's and the one of this
    // repository's folder in the cache (named after the working tree's folder).
    let mut locks: Vec<PathBuf> = vec![s.path().join("target/cargo-perf/check.lock")];
    let prefix: String = s
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    for entry in std::fs::read_dir(crate::common::perf_cache_dir())
        .unwrap()
        .flatten()
    {
        let lock = entry.path().join("check.lock");
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{prefix}-"))
            && lock.is_file()
        {
            locks.push(lock);
        }
    }
    assert_eq!(locks.len(), 2, "{locks:?}");
    for lock in locks {
        let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
        assert!(f.try_lock().is_ok(), "{} is still locked", lock.display());
    }
}

#[test]
fn a_criterion_run_interrupted_removes_its_criterion_home() {
    let _turn = measuring();
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let demo = work.path().join("demo");
    copy_dir(&repo().join("fixtures/criterion-demo"), &demo);
    let pidfile = work.path().join("bench.pid");
    let mut child = start(
        &["run", "criterion:text/explode"],
        &demo.join("Cargo.toml"),
        tmp.path(),
        &[
            ("PERF_DEMO_HANG", pidfile.to_str().unwrap()),
            ("CARGO_TARGET_DIR", fixture_target_dir().to_str().unwrap()),
        ],
    );
    let pid = wait_for_pid(&pidfile, &mut child);
    interrupt_and_check(child, libc::SIGINT, pid, tmp.path());
}
