//! `cargo perf check` (the gate), and what `compare --measure` shares with it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{load, select};
use crate::cli::{CheckArgs, GateOutput, GlobalOpts, MessageFormat, ReportFormat};
use crate::config::Config;
use crate::discover::{Workload, resolve_bins};
use crate::errors::exit_codes;
use crate::gate::{
    BenchGate, BenchPlan, GateResult, GateTiming, GateWorkload, run_gate, run_gate_with_benches,
};
use crate::measure::criterion::CriterionSettings;
use crate::measure::{FakeRunner, ProcessRunner, Runner};
use crate::report::{
    CheckReport, Exporter, Human, Json, Markdown, Progress, ProgressMode, github_annotations, junit,
};
use crate::store::{Repo, short};
use crate::workspace::{Workspace, checkout_worktree};

pub fn check(global: &GlobalOpts, args: CheckArgs, out: &mut dyn Write) -> Result<i32> {
    let (ws, config, mut workloads) = load(global, &args.sampling)?;
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
    let selection = Selection {
        filter: args.filter.clone(),
        threshold: args.output.threshold,
    };
    let (results, timing) =
        measure_sides(global, &ws, &repo, &config, workloads, &sides, &selection)?;
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
    config: &Config,
    workloads: Vec<Workload>,
    sides: &Sides,
    selection: &Selection,
) -> Result<(Vec<GateResult>, GateTiming)> {
    let mode = ProgressMode::for_stderr(global.quiet);
    let (benches, workloads): (Vec<Workload>, Vec<Workload>) =
        workloads.into_iter().partition(|w| w.criterion.is_some());
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
        let new_side = side_workspace(global, ws, repo, &sides.candidate, "candidate")?;
        let base_side = side_workspace(global, ws, repo, &sides.base, "base")?;
        let new_bins = build_side(global, &new_side, "candidate", &needed)?;
        let base_bins = build_side(global, &base_side, "base", &needed)?;
        let bench_gates = if config.criterion.enabled && !ws.benches.is_empty() {
            let new_benches = match sides.candidate {
                // `load` built and listed the working tree's benches already.
                Side::WorkingTree => benches,
                Side::Commit(_) => side_benches(global, config, &new_side, "candidate", selection)?,
            };
            let base_benches = side_benches(global, config, &base_side, "base", selection)?;
            pair_benches(new_benches, base_benches)
        } else {
            Vec::new()
        };
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
        let round = config.criterion.round_time;
        let plan = BenchPlan {
            settings: CriterionSettings {
                warm_up_time: round / 2,
                measurement_time: round,
                sample_size: 10,
            },
            sampling: &config.sampling,
        };
        // The lock is held until both sides are measured.
        let measured = run_gate_with_benches(
            gated,
            bench_gates,
            Some(plan),
            runner.as_mut(),
            &mut Progress::new(mode),
        )?;
        drop(lock);
        return Ok(measured);
    }
    Ok(run_gate(gated, runner.as_mut(), &mut Progress::new(mode))?)
}

/// Which workloads of a side are gated: the command line's filter and `--threshold`.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub filter: Option<String>,
    pub threshold: Option<f64>,
}

/// A side's workspace, and the target dir its builds go to (`None`: the workspace's own).
pub struct SideWorkspace {
    ws: Workspace,
    target: Option<PathBuf>,
    /// `the base revision abc1234`, for errors.
    label: Option<String>,
}

/// The workspace of one side: the working tree as it is, or a commit checked out in a worktree
/// under the target dir (built in a target dir of its own).
fn side_workspace(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    side: &Side,
    name: &str,
) -> Result<SideWorkspace> {
    let Side::Commit(commit) = side else {
        return Ok(SideWorkspace {
            ws: ws.clone(),
            target: None,
            label: None,
        });
    };
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
    if !global.quiet {
        eprintln!(
            "Building the {name} revision {} in {}",
            short(commit),
            worktree.display()
        );
    }
    Ok(SideWorkspace {
        label: Some(format!("the {name} revision {}", short(commit))),
        ws: side_ws,
        target: Some(
            ws.target_dir
                .join("cargo-perf")
                .join(format!("{name}-target")),
        ),
    })
}

/// Builds the binaries `needed` of one side and returns those it has.
fn build_side(
    global: &GlobalOpts,
    side: &SideWorkspace,
    name: &str,
    needed: &std::collections::BTreeSet<String>,
) -> Result<BTreeMap<String, PathBuf>> {
    let have: std::collections::BTreeSet<String> = needed
        .iter()
        .filter(|b| side.ws.bins.contains_key(*b))
        .cloned()
        .collect();
    side.ws
        .build_bins(&have, global.quiet, side.target.as_deref())
        .with_context(|| match &side.label {
            Some(label) => format!("building {label}"),
            None => {
                format!("building the {name}'s binaries that perf.toml names with {{bin:NAME}}")
            }
        })
}

/// The criterion workloads of one side, selected by `[criterion]` and the command line.
fn side_benches(
    global: &GlobalOpts,
    config: &Config,
    side: &SideWorkspace,
    name: &str,
    selection: &Selection,
) -> Result<Vec<Workload>> {
    let mut benches =
        super::discover_criterion(&side.ws, config, side.target.as_deref(), global.quiet)
            .with_context(|| match &side.label {
                Some(label) => format!("the criterion benches of {label}"),
                None => format!("the {name}'s criterion benches"),
            })?;
    if let Some(filter) = &selection.filter {
        benches.retain(|w| w.name.contains(filter.as_str()));
    }
    if let Some(t) = selection.threshold {
        benches.iter_mut().for_each(|w| w.threshold = t);
    }
    Ok(benches)
}

/// The bench targets of both sides, paired by target name.
fn pair_benches(new: Vec<Workload>, base: Vec<Workload>) -> Vec<BenchGate> {
    let target = |w: &Workload| {
        w.criterion
            .as_ref()
            .map(|c| c.target.clone())
            .unwrap_or_default()
    };
    let mut gates: Vec<BenchGate> = Vec::new();
    for w in new {
        let t = target(&w);
        match gates.iter_mut().find(|g| g.target == t) {
            Some(g) => g.workloads.push(w),
            None => gates.push(BenchGate {
                target: t,
                workloads: vec![w],
                base: None,
                base_ids: Vec::new(),
            }),
        }
    }
    for w in base {
        let t = target(&w);
        let Some(c) = w.criterion else { continue };
        let g = match gates.iter_mut().position(|g| g.target == t) {
            Some(i) => &mut gates[i],
            None => {
                gates.push(BenchGate {
                    target: t,
                    workloads: Vec::new(),
                    base: None,
                    base_ids: Vec::new(),
                });
                let last = gates.len() - 1;
                &mut gates[last]
            }
        };
        g.base = Some((c.exe, w.cwd));
        g.base_ids.push(c.full_id);
    }
    gates
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
