//! `cargo perf check` (the gate), and what `compare --measure` shares with it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{load, select};
use crate::cli::{CheckArgs, GateOutput, GlobalOpts, MessageFormat, ReportFormat};
use crate::discover::{Workload, resolve_bins};
use crate::errors::exit_codes;
use crate::gate::{GateResult, GateTiming, GateWorkload, run_gate};
use crate::measure::{FakeRunner, ProcessRunner, Runner};
use crate::report::{
    CheckReport, Exporter, Human, Json, Markdown, Progress, ProgressMode, github_annotations, junit,
};
use crate::store::{Repo, short};
use crate::workspace::{Workspace, checkout_worktree};

pub fn check(global: &GlobalOpts, args: CheckArgs, out: &mut dyn Write) -> Result<i32> {
    let (ws, _, mut workloads) = load(global, &args.sampling)?;
    if let Some(filter) = &args.filter {
        select(&mut workloads, filter)?;
    }
    override_threshold(&mut workloads, &args.output);
    let repo = Repo::discover(&ws.root)?;
    let head = repo.head()?;
    let dirty = repo.is_dirty()?;
    let (base, base_label) = match &args.base {
        Some(rev) => repo.base_for(rev, &head)?,
        None if dirty => (head.clone(), format!("{} (HEAD)", short(&head))),
        None => {
            let parent = repo.parent(&head)?;
            (parent.clone(), format!("{} (HEAD~1)", short(&parent)))
        }
    };
    let candidate = if dirty {
        format!("working tree (HEAD {} with changes)", short(&head))
    } else {
        format!("{} (HEAD)", short(&head))
    };
    let sides = Sides {
        base: Side::Commit(base),
        candidate: Side::WorkingTree,
    };
    let (results, timing) = measure_sides(global, &ws, &repo, workloads, &sides)?;
    report(
        global,
        &args.output,
        "cargo perf check",
        base_label,
        candidate,
        Some(timing),
        results,
        out,
    )
}

/// `--threshold` beats perf.toml.
pub fn override_threshold(workloads: &mut [Workload], output: &GateOutput) {
    if let Some(t) = output.threshold {
        workloads.iter_mut().for_each(|w| w.threshold = t);
    }
}

/// Where a side of the comparison comes from.
pub enum Side {
    /// The working tree as it is, built in the usual target dir.
    WorkingTree,
    /// A commit, checked out in a worktree under the target dir.
    Commit(String),
}

pub struct Sides {
    pub base: Side,
    pub candidate: Side,
}

/// Builds both sides' binaries and measures every workload, interleaved.
pub fn measure_sides(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    workloads: Vec<Workload>,
    sides: &Sides,
) -> Result<(Vec<GateResult>, GateTiming)> {
    let mode = ProgressMode::for_stderr(global.quiet);
    let mut runner: Box<dyn Runner>;
    let gated: Vec<GateWorkload>;
    if let Some(path) = &global.fake_runner {
        // Exact tests of the verdicts: nothing is built; both sides run the same command.
        runner = Box::new(FakeRunner::from_file(path)?);
        gated = workloads
            .into_iter()
            .map(|w| GateWorkload {
                base_argv: Some(w.argv.clone()),
                base_env: w.env.clone(),
                workload: w,
            })
            .collect();
    } else {
        // One check at a time per target dir: they share the worktrees of the sides.
        let lock_dir = ws.target_dir.join("cargo-perf");
        std::fs::create_dir_all(&lock_dir)
            .with_context(|| format!("creating {}", lock_dir.display()))?;
        let lock_path = lock_dir.join("check.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            eprintln!(
                "Waiting for another cargo perf check using {}",
                lock_dir.display()
            );
            lock.lock()
                .with_context(|| format!("locking {}", lock_path.display()))?;
        }
        let needed = workloads
            .iter()
            .flat_map(|w| w.bins.iter().cloned())
            .collect();
        let new_bins = build_side(global, ws, repo, &sides.candidate, "candidate", &needed)?;
        let base_bins = build_side(global, ws, repo, &sides.base, "base", &needed)?;
        gated = workloads
            .into_iter()
            .map(|mut w| {
                let base_argv = w
                    .bins
                    .iter()
                    .all(|b| base_bins.contains_key(b))
                    .then(|| w.argv.iter().map(|a| resolve_bins(a, &base_bins)).collect());
                let base_env = w
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), resolve_bins(v, &base_bins)))
                    .collect();
                for arg in w.argv.iter_mut().chain(w.env.iter_mut().map(|(_, v)| v)) {
                    *arg = resolve_bins(arg, &new_bins);
                }
                GateWorkload {
                    workload: w,
                    base_argv,
                    base_env,
                }
            })
            .collect();
        runner = Box::new(ProcessRunner::new()?);
        // The lock is held until both sides are measured.
        let measured = run_gate(gated, runner.as_mut(), &mut Progress::new(mode))?;
        drop(lock);
        return Ok(measured);
    }
    Ok(run_gate(gated, runner.as_mut(), &mut Progress::new(mode))?)
}

/// Builds the binaries `needed` of one side and returns those it has.
fn build_side(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    side: &Side,
    name: &str,
    needed: &std::collections::BTreeSet<String>,
) -> Result<BTreeMap<String, PathBuf>> {
    match side {
        Side::WorkingTree => Ok(ws
            .build_bins(needed, global.quiet, None)
            .context("building the candidate's binaries that perf.toml names with {bin:NAME}")?),
        Side::Commit(commit) => {
            let workdir = repo
                .workdir()
                .context("the repository has no working tree to build in")?;
            let worktree = ws
                .target_dir
                .join("cargo-perf")
                .join(format!("{name}-worktree"));
            checkout_worktree(&workdir, &worktree, commit)?;
            // The workspace may sit in a subfolder of the repository.
            let relative = ws.root.strip_prefix(&workdir).unwrap_or(Path::new(""));
            let root = worktree.join(relative);
            let manifest = root.join("Cargo.toml");
            if !manifest.is_file() {
                bail!(
                    "the {name} revision {} has no {}; pass another --base",
                    short(commit),
                    relative.join("Cargo.toml").display()
                );
            }
            let side_ws = Workspace::load(Some(&manifest))
                .with_context(|| format!("reading the {name} revision {}", short(commit)))?;
            let have: std::collections::BTreeSet<String> = needed
                .iter()
                .filter(|b| side_ws.bins.contains_key(*b))
                .cloned()
                .collect();
            let target = ws
                .target_dir
                .join("cargo-perf")
                .join(format!("{name}-target"));
            if !global.quiet {
                eprintln!(
                    "Building the {name} revision {} in {}",
                    short(commit),
                    worktree.display()
                );
            }
            Ok(side_ws
                .build_bins(&have, global.quiet, Some(&target))
                .with_context(|| format!("building the {name} revision {}", short(commit)))?)
        }
    }
}

/// Prints the report in the chosen format (`timing` is `None` for stored comparisons), writes JUnit and GitHub outputs, and returns the
/// exit code.
#[allow(clippy::too_many_arguments)]
pub fn report(
    global: &GlobalOpts,
    output: &GateOutput,
    title: &str,
    base: String,
    candidate: String,
    timing: Option<GateTiming>,
    results: Vec<GateResult>,
    out: &mut dyn Write,
) -> Result<i32> {
    let exit_code = if results.iter().any(|r| r.fails(output.strict)) {
        exit_codes::GATE_FAILED
    } else {
        exit_codes::OK
    };
    let report = CheckReport {
        title: title.into(),
        base,
        candidate,
        stored: timing.is_none(),
        timing,
        results,
        strict: output.strict,
        exit_code,
    };
    let exporter: Box<dyn Exporter> = match (global.message_format, output.format) {
        (MessageFormat::Json, _) => Box::new(Json),
        (_, ReportFormat::Markdown) => Box::new(Markdown),
        (_, ReportFormat::Table) => Box::new(Human {
            manifest: crate::config::MANIFEST_NAME.into(),
        }),
    };
    exporter.check(&report, out)?;
    if let Some(path) = &output.junit {
        std::fs::write(path, junit(&report))
            .with_context(|| format!("writing the JUnit report to {}", path.display()))?;
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
        && global.message_format != MessageFormat::Json
    {
        write!(out, "{}", github_annotations(&report))?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let mut text = Vec::new();
        Markdown.check(&report, &mut text)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| {
                format!(
                    "opening $GITHUB_STEP_SUMMARY ({})",
                    summary.to_string_lossy()
                )
            })?;
        file.write_all(&text)?;
        writeln!(file)?;
    }
    Ok(report.exit_code)
}
