//! Generates a repository with a large record store, for the store's benchmarks:
//!
//!     cargo run --release --example gen_store -- DIR [COMMITS] [WORKLOADS] [UNRECORDED]
//!
//! DIR gets a git repository (a minimal cargo package) with COMMITS + UNRECORDED first-parent
//! commits on `main`; each of the first COMMITS has one record of WORKLOADS workloads
//! (`w00`, `w01`, ...) of 10 samples each, measured on this machine; the newest UNRECORDED
//! commits have none, so that looking up the nearest recorded ancestor has to walk. Defaults:
//! 10,000 commits, 50 workloads, 50 unrecorded. Every fifth workload steps up 20 % at commit
//! 300 + 7 w. Everything is written in one `git fast-import`
//! stream; the samples are seeded, so the store is the same every time.

use std::io::Write;
use std::process::{Command, Stdio};

use cargo_perf::stats::summarize;
use cargo_perf::store::{
    Machine, RECORD_SCHEMA, Record, StoredSamples, StoredSummary, WorkloadRecord, rfc3339,
};
use cargo_perf::vocab::{Class, Metric, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: gen_store DIR [COMMITS] [WORKLOADS] [UNRECORDED]".into());
    };
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (commits, workloads, unrecorded) = (arg(1, 10_000), arg(2, 50), arg(3, 50));
    std::fs::create_dir_all(dir)?;
    let status = Command::new("git")
        .args(["init", "-q", "-b", "main", dir])
        .status()?;
    if !status.success() {
        return Err("git init failed".into());
    }
    let machine = Machine::current();
    let mut rng = fastrand::Rng::with_seed(42);
    let t0: i64 = 1_767_225_600; // 2026-01-01
    let total = commits + unrecorded;

    // First the commits, then (knowing their ids) the notes, each in one fast-import stream.
    fast_import(dir, |out| {
        let manifest = "[package]\nname = \"store-bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";
        write_blob(out, 1, manifest)?;
        write_blob(out, 2, "fn main() {}\n")?;
        for i in 0..total {
            let message = format!("commit {i}");
            writeln!(out, "commit refs/heads/main")?;
            writeln!(
                out,
                "committer Bench <bench@example.com> {} +0000",
                t0 + i as i64 * 600
            )?;
            writeln!(out, "data {}\n{message}", message.len())?;
            if i == 0 {
                writeln!(out, "M 100644 :1 Cargo.toml\nM 100644 :2 src/main.rs")?;
            }
            let log = format!("{i}\n");
            writeln!(
                out,
                "M 100644 inline history.txt\ndata {}\n{log}",
                log.len()
            )?;
        }
        Ok(())
    })?;
    let ids = Command::new("git")
        .args(["rev-list", "--first-parent", "--reverse", "refs/heads/main"])
        .current_dir(dir)
        .output()?;
    let ids: Vec<String> = String::from_utf8(ids.stdout)?
        .lines()
        .map(str::to_owned)
        .collect();
    if ids.len() != total {
        return Err(format!("expected {total} commits, found {}", ids.len()).into());
    }
    // One notes commit holding every record; fast-import lays the notes tree out with fan-out.
    fast_import(dir, |out| {
        writeln!(out, "commit refs/notes/perf")?;
        writeln!(
            out,
            "committer Bench <bench@example.com> {} +0000",
            t0 + total as i64 * 600
        )?;
        writeln!(out, "data 14\ngenerate store")?;
        for (i, id) in ids.iter().take(commits).enumerate() {
            let record = record(id, i, t0 + i as i64 * 600, workloads, &machine, &mut rng);
            let line = format!("{}\n", record.to_line());
            writeln!(out, "N inline {id}\ndata {}\n{line}", line.len())?;
        }
        Ok(())
    })?;
    Command::new("git")
        .args(["checkout", "-q", "main"])
        .current_dir(dir)
        .status()?;
    eprintln!("{dir}: {total} commits, {commits} records of {workloads} workloads");
    Ok(())
}

/// Runs `git fast-import` in `dir` on what `write` writes.
fn fast_import(
    dir: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()?;
    let mut out = std::io::BufWriter::new(child.stdin.take().ok_or("no stdin")?);
    write(&mut out)?;
    drop(out);
    if !child.wait()?.success() {
        return Err("git fast-import failed".into());
    }
    Ok(())
}

fn write_blob(out: &mut dyn Write, mark: usize, text: &str) -> std::io::Result<()> {
    writeln!(out, "blob\nmark :{mark}\ndata {}\n{text}", text.len())
}

fn record(
    commit: &str,
    i: usize,
    time: i64,
    workloads: usize,
    machine: &Machine,
    rng: &mut fastrand::Rng,
) -> Record {
    let workloads = (0..workloads)
        .map(|w| {
            // Each workload has its own level, with a step every 1,000 commits and 3 % noise;
            // every fifth workload also steps up 20 % at commit 300 + 7 w (so that a report
            // over the first 1,000 commits has change points to find).
            let own_step = if w % 5 == 0 && i >= 300 + 7 * w {
                1.2
            } else {
                1.0
            };
            let level = 1e6 * (1.0 + w as f64) * (1.0 + 0.05 * (i / 1000) as f64) * own_step;
            let wall: Vec<u64> = (0..10)
                .map(|_| (level * (1.0 + 0.03 * (rng.f64() - 0.5))) as u64)
                .collect();
            let user: Vec<u64> = wall.iter().map(|w| w * 9 / 10).collect();
            let sys: Vec<u64> = wall.iter().map(|w| w / 20).collect();
            let rss: Vec<u64> = (0..10).map(|_| 8 << 20 | rng.u64(0..1 << 20)).collect();
            let as_f64 = |v: &[u64]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
            let cpu: Vec<u64> = user.iter().zip(&sys).map(|(u, s)| u + s).collect();
            WorkloadRecord {
                name: format!("w{w:02}"),
                kind: "command".into(),
                class: Class::Small,
                status: Status::Passed,
                metric: Metric::Wall,
                budget_ns: 30_000_000_000,
                summary: StoredSummary {
                    n: wall.len(),
                    wall_ns: summarize(&as_f64(&wall), 1).as_ref().map(Into::into),
                    cpu_ns: summarize(&as_f64(&cpu), 1).as_ref().map(Into::into),
                    max_rss_bytes: rss.iter().max().copied(),
                    rss_floor_bytes: 4 << 20,
                    throughput: None,
                    rps: None,
                },
                samples: StoredSamples {
                    wall_ns: wall,
                    user_ns: user,
                    sys_ns: sys,
                    max_rss_bytes: rss,
                },
                failure: None,
                criterion: None,
                load: None,
                counts: None,
                growth: None,
            }
        })
        .collect();
    Record {
        partition: None,
        schema: RECORD_SCHEMA,
        run_id: format!("{:016x}", rng.u64(..)),
        commit: commit.to_owned(),
        dirty: false,
        time_unix: time,
        time: rfc3339(time),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        rustc: "rustc 1.95.0".into(),
        machine: machine.clone(),
        manifest_hash: "0".repeat(16),
        valgrind: None,
        workloads,
    }
}
