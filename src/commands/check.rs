//! `cargo perf check` (the gate), and what `compare --measure` shares with it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{Build, discover_criterion, load_commands, select};
use crate::cli::{CheckArgs, GateOutput, GlobalOpts, MessageFormat, PackageArgs, ReportFormat};
use crate::config::Config;
use crate::discover::{Workload, resolve_bins};
use crate::errors::exit_codes;
use crate::gate::{
    BenchGate, BenchPlan, GateResult, GateTiming, GateWorkload, run_gate, run_gate_with_benches,
};
use crate::measure::criterion::CriterionSettings;
use crate::measure::{FakeRunner, ProcessRunner};
use crate::report::{
    CheckReport, Exporter, Human, Json, Markdown, Progress, ProgressMode, github_annotations, junit,
};
use crate::store::{Repo, short};
use crate::workspace::{Workspace, checkout_worktree, remove_legacy_worktree, repo_cache_dir};

pub fn check(global: &GlobalOpts, args: CheckArgs, out: &mut dyn Write) -> Result<i32> {
    let started = Instant::now();
    let outputs = Outputs::open(&args.output)?;
    let (ws, config, workloads) = load_commands(global, &args.sampling, &args.packages)?;
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
        packages: args.packages.clone(),
    };
    let (results, mut timing) =
        measure_sides(global, &ws, &repo, &config, workloads, &sides, &selection)?;
    timing.total_ns = started.elapsed().as_nanos() as u64;
    report(
        global,
        &args.output,
        outputs,
        "cargo perf check",
        base_label,
        candidate,
        Some(timing),
        results,
        out,
    )
}

/// `--threshold` beats perf.toml.
pub fn override_threshold(workloads: &mut [Workload], threshold: Option<f64>) {
    if let Some(t) = threshold {
        workloads.iter_mut().for_each(|w| w.threshold = t);
    }
}

/// Where a side of the comparison comes from.
pub enum Side {
    /// The working tree as it is, built in the usual target dir.
    WorkingTree,
    /// A commit, checked out in a worktree in the repository's cache folder.
    Commit(String),
}

pub struct Sides {
    pub base: Side,
    pub candidate: Side,
}

/// Which workloads of a side are gated: the command line's filter, `--threshold` and package
/// selection.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub filter: Option<String>,
    pub threshold: Option<f64>,
    pub packages: PackageArgs,
}

/// Builds both sides' binaries and measures every workload, interleaved. `workloads` are the
/// candidate's command workloads; its criterion benchmarks are discovered here, after its
/// binaries are built, so that build output comes side by side in order.
pub fn measure_sides(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    config: &Config,
    mut workloads: Vec<Workload>,
    sides: &Sides,
    selection: &Selection,
) -> Result<(Vec<GateResult>, GateTiming)> {
    let mode = ProgressMode::for_stderr(global.quiet);
    if let Some(path) = &global.fake_runner {
        // Exact tests of the verdicts: nothing is built; both sides run the same command.
        if let Some(filter) = &selection.filter {
            select(&mut workloads, filter)?;
        }
        override_threshold(&mut workloads, selection.threshold);
        let mut runner = FakeRunner::from_file(path)?;
        let gated = workloads
            .into_iter()
            .map(|w| GateWorkload {
                base_argv: Some(w.argv.clone()),
                base_env: w.env.clone(),
                workload: w,
            })
            .collect();
        return Ok(run_gate(gated, &mut runner, &mut Progress::new(mode))?);
    }
    let workdir = repo
        .workdir()
        .context("the repository has no working tree to build in")?;
    let cache = repo_cache_dir(repo.repo.commondir(), &workdir)?;
    // One check at a time per repository (they share the worktrees of the sides) and per target
    // dir (they share the target dirs of the sides). Taken in this order by every check.
    let _worktrees = lock_waiting(&cache.join("check.lock"), "this repository's worktrees")?;
    let cargo_perf_dir = ws.target_dir.join("cargo-perf");
    std::fs::create_dir_all(&cargo_perf_dir)
        .with_context(|| format!("creating {}", cargo_perf_dir.display()))?;
    let _targets = lock_waiting(&cargo_perf_dir.join("check.lock"), "the target dir")?;
    for name in ["base", "candidate"] {
        let legacy = cargo_perf_dir.join(format!("{name}-worktree"));
        if remove_legacy_worktree(&workdir, &legacy) && !global.quiet {
            eprintln!(
                "note: removed {}, where an earlier cargo-perf kept the {name} revision; \
                 revisions are now checked out in {}",
                legacy.display(),
                cache.display()
            );
        }
    }
    let build_started = Instant::now();
    let needed: BTreeSet<String> = workloads
        .iter()
        .flat_map(|w| w.bins.iter().cloned())
        .collect();
    let new_side = side_workspace(
        global,
        ws,
        &workdir,
        &cache,
        &sides.candidate,
        "candidate",
        selection,
    )?;
    let new_bins = build_side(global, &new_side, &needed)?;
    let new_benches = side_benches(global, config, &new_side)?;
    let base_side = side_workspace(global, ws, &workdir, &cache, &sides.base, "base", selection)?;
    let base_bins = build_side(global, &base_side, &needed)?;
    let base_benches = side_benches(global, config, &base_side)?;
    let build_ns = build_started.elapsed().as_nanos() as u64;

    // The filter applies to commands and benchmarks together; it must match something.
    let mut candidate_all = workloads;
    let commands = candidate_all.len();
    candidate_all.extend(new_benches);
    if let Some(filter) = &selection.filter {
        select(&mut candidate_all, filter)?;
    } else if candidate_all.is_empty() {
        bail!(super::no_workloads(config));
    }
    override_threshold(&mut candidate_all, selection.threshold);
    let (new_benches, workloads): (Vec<Workload>, Vec<Workload>) = candidate_all
        .into_iter()
        .partition(|w| w.criterion.is_some());
    debug_assert!(workloads.len() <= commands);
    let mut base_benches = base_benches;
    if let Some(filter) = &selection.filter {
        base_benches.retain(|w| w.name.contains(filter.as_str()));
    }
    override_threshold(&mut base_benches, selection.threshold);
    let bench_gates = pair_benches(new_benches, base_benches);

    let gated: Vec<GateWorkload> = workloads
        .into_iter()
        .map(|mut w| {
            let base_argv: Option<Vec<String>> = w
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
            if global.verbose > 0 {
                eprintln!("{} (candidate): {}", w.name, w.argv.join(" "));
                if let Some(argv) = &base_argv {
                    eprintln!("{} (base): {}", w.name, argv.join(" "));
                }
            }
            GateWorkload {
                workload: w,
                base_argv,
                base_env,
            }
        })
        .collect();
    let mut runner = ProcessRunner::new()?;
    let round = config.criterion.round_time;
    let plan = BenchPlan {
        settings: CriterionSettings {
            warm_up_time: round / 2,
            measurement_time: round,
            sample_size: 10,
            quick: true,
        },
        sampling: &config.sampling,
    };
    // The locks are held until both sides are measured.
    let (results, mut timing) = run_gate_with_benches(
        gated,
        bench_gates,
        Some(plan),
        &mut runner,
        &mut Progress::new(mode),
    )?;
    timing.build_ns = build_ns;
    Ok((results, timing))
}

/// Opens and exclusively locks `path`, saying what it waits for when another process has it.
fn lock_waiting(path: &Path, what: &str) -> Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!(
            "Waiting for another cargo perf check using {what} ({})",
            path.display()
        );
        lock.lock()
            .with_context(|| format!("locking {}", path.display()))?;
    }
    Ok(lock)
}

/// A side's workspace, and the target dir its builds go to (`None`: the workspace's own).
pub struct SideWorkspace {
    ws: Workspace,
    target: Option<PathBuf>,
    /// `the base revision abc1234`, `the candidate (working tree)`.
    label: String,
}

/// The workspace of one side: the working tree as it is, or a commit checked out in a worktree
/// in the repository's cache folder (built in a target dir of its own), with the packages
/// selected as on the candidate.
fn side_workspace(
    global: &GlobalOpts,
    ws: &Workspace,
    workdir: &Path,
    cache: &Path,
    side: &Side,
    name: &str,
    selection: &Selection,
) -> Result<SideWorkspace> {
    let Side::Commit(commit) = side else {
        return Ok(SideWorkspace {
            ws: ws.clone(),
            target: None,
            label: format!("the {name} (working tree)"),
        });
    };
    let worktree = cache.join(name);
    checkout_worktree(workdir, &worktree, commit)?;
    // The workspace may sit in a subfolder of the repository.
    let relative = ws.root.strip_prefix(workdir).unwrap_or(Path::new(""));
    let root = worktree.join(relative);
    let manifest = root.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "the {name} revision {} has no {}; pass another --base",
            short(commit),
            relative.join("Cargo.toml").display()
        );
    }
    let label = format!("the {name} revision {}", short(commit));
    let mut side_ws =
        Workspace::load(Some(&manifest)).with_context(|| format!("reading {label}"))?;
    // The same packages as the candidate's: the flags if given, else the members the candidate
    // selected by default (the base may not have them all: a package only the candidate has
    // gives `added` workloads).
    let packages = if selection.packages.selection().is_default() {
        crate::workspace::PackageSelection {
            packages: ws
                .members
                .iter()
                .filter(|m| m.selected)
                .map(|m| m.name.clone())
                .collect(),
            ..Default::default()
        }
    } else {
        selection.packages.selection()
    };
    side_ws.select(&packages, true)?;
    if global.verbose > 0 {
        eprintln!("{label} is checked out in {}", worktree.display());
    }
    Ok(SideWorkspace {
        label,
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
    needed: &BTreeSet<String>,
) -> Result<BTreeMap<String, PathBuf>> {
    let have: BTreeSet<String> = needed
        .iter()
        .filter(|b| side.ws.bins.contains_key(*b))
        .cloned()
        .collect();
    let build = Build::of(global, side.target.as_deref(), Some(&side.label));
    if !have.is_empty() {
        let names: Vec<&str> = have.iter().map(String::as_str).collect();
        build.announce(&format!("the binaries {}", names.join(", ")));
    }
    let built = side
        .ws
        .build_bins(&have, build.opts)
        .with_context(|| format!("building {}", side.label))?;
    if global.verbose > 0 {
        for (name, exe) in &built {
            eprintln!("{name} of {}: {}", side.label, exe.display());
        }
    }
    Ok(built)
}

/// The criterion workloads of one side, selected by `[criterion]`.
fn side_benches(
    global: &GlobalOpts,
    config: &Config,
    side: &SideWorkspace,
) -> Result<Vec<Workload>> {
    let build = Build::of(global, side.target.as_deref(), Some(&side.label));
    discover_criterion(&side.ws, config, &build)
        .with_context(|| format!("the criterion benches of {}", side.label))
}

/// The bench targets of both sides, paired by package and target name.
fn pair_benches(new: Vec<Workload>, base: Vec<Workload>) -> Vec<BenchGate> {
    // Paired by package and target; named by the label in the workload's name (the target, or
    // `package::target` where two packages have a target of that name).
    let key = |w: &Workload| {
        let label = w
            .criterion
            .as_ref()
            .and_then(|c| {
                w.name
                    .strip_prefix(crate::discover::CRITERION_PREFIX)?
                    .strip_suffix(&format!("/{}", c.full_id))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let package = w
            .criterion
            .as_ref()
            .map(|c| c.package.clone())
            .unwrap_or_default();
        (package, label)
    };
    let mut gates: Vec<((String, String), BenchGate)> = Vec::new();
    for w in new {
        let k = key(&w);
        match gates.iter_mut().find(|(gk, _)| *gk == k) {
            Some((_, g)) => g.workloads.push(w),
            None => gates.push((
                k.clone(),
                BenchGate {
                    target: k.1,
                    workloads: vec![w],
                    base: None,
                    base_ids: Vec::new(),
                },
            )),
        }
    }
    for w in base {
        let k = key(&w);
        let Some(c) = w.criterion else { continue };
        let i = match gates.iter().position(|(gk, _)| *gk == k) {
            Some(i) => i,
            None => {
                gates.push((
                    k.clone(),
                    BenchGate {
                        target: k.1,
                        workloads: Vec::new(),
                        base: None,
                        base_ids: Vec::new(),
                    },
                ));
                gates.len() - 1
            }
        };
        let g = &mut gates[i].1;
        g.base = Some((c.exe, w.cwd));
        g.base_ids.push(c.full_id);
    }
    gates.into_iter().map(|(_, g)| g).collect()
}

/// Where a check's report goes besides standard output, opened before anything is measured so
/// that an unwritable path is an error (exit 2) then, not after minutes of measuring.
pub struct Outputs {
    junit: Option<(PathBuf, std::fs::File)>,
    summary: Option<(String, std::fs::File)>,
}

impl Outputs {
    /// Opens `--junit PATH` (without emptying it yet) and `$GITHUB_STEP_SUMMARY` (to append).
    pub fn open(output: &GateOutput) -> Result<Self> {
        let junit = match &output.junit {
            Some(path) => Some((
                path.clone(),
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .with_context(|| {
                        format!(
                            "the JUnit report cannot be written to {}; give --junit a path in a \
                             folder you can write to",
                            path.display()
                        )
                    })?,
            )),
            None => None,
        };
        let summary = match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            Some(path) => {
                let shown = path.to_string_lossy().into_owned();
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| {
                        format!(
                            "$GITHUB_STEP_SUMMARY ({shown}) cannot be opened to append the \
                             report; unset it or point it at a writable file"
                        )
                    })?;
                Some((shown, file))
            }
            None => None,
        };
        Ok(Outputs { junit, summary })
    }
}

/// Prints the report in the chosen format (`timing` is `None` for stored comparisons), writes
/// the JUnit report, the job summary and GitHub annotations, and returns the exit code.
#[allow(clippy::too_many_arguments)]
pub fn report(
    global: &GlobalOpts,
    output: &GateOutput,
    outputs: Outputs,
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
    if let Some((path, mut file)) = outputs.junit {
        let xml = junit(&report);
        file.set_len(0)
            .and_then(|()| file.write_all(xml.as_bytes()))
            .with_context(|| format!("writing the JUnit report to {}", path.display()))?;
    }
    // Workflow commands go to standard error: standard output may be the Markdown a later step
    // posts as a comment.
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        eprint!("{}", github_annotations(&report));
    }
    if let Some((shown, mut file)) = outputs.summary {
        let mut text = Vec::new();
        Markdown.check(&report, &mut text)?;
        text.push(b'\n');
        file.write_all(&text)
            .with_context(|| format!("appending to $GITHUB_STEP_SUMMARY ({shown})"))?;
    }
    Ok(report.exit_code)
}
