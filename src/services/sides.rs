//! Building and measuring two sides: the base revision and the candidate, each checked out and
//! built as itself, then measured interleaved (`check`, `compare --measure`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::load::{Build, discover_criterion, override_threshold, resolve_load_bins, select};
use super::verbose::show;
use crate::cli::{GlobalOpts, PackageArgs};
use crate::config::Config;
use crate::discover::{Workload, resolve_bins};
use crate::gate::{
    BenchGate, BenchPlan, ExplainPlan, GateResult, GateTiming, GateWorkload, LoadGate,
    SideBinaries, run_gate_with_benches,
};
use crate::measure::criterion::CriterionSettings;
use crate::pipeline::Observer;
use crate::store::{Record, Repo, parse_lines, short};
use crate::vocab::{Counts, Shown};
use crate::workspace::{Workspace, checkout_worktree, remove_legacy_worktree, repo_cache_dir};

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
    /// `--partition`: this shard's share of the (filtered) workloads.
    pub partition: Option<crate::discover::Partition>,
    pub threshold: Option<f64>,
    pub packages: PackageArgs,
    /// Use the base's stored instruction counts when they fit (`check`), rather than building
    /// and counting it (`compare --measure`).
    pub stored_base: bool,
    /// Which verdicts are explained under cachegrind.
    pub explain: Explain,
}

/// Which command workloads a measured comparison explains.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// None (`bisect`, which judges many commits).
    #[default]
    Off,
    /// Those it calls `regressed` or `improved` (`check`, `compare --measure`).
    Changes,
    /// Every one compared (`--explain`).
    All,
}

/// Builds both sides' binaries and measures every workload, interleaved; returns the results,
/// where the time went and each side's executables. `workloads` are the candidate's command
/// workloads; its criterion benchmarks are discovered here, after its binaries are built, so
/// that build output comes side by side in order.
#[allow(clippy::too_many_arguments)]
pub fn measure_sides(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    config: &Config,
    workloads: Vec<Workload>,
    sides: &Sides,
    selection: &Selection,
    observer: &mut dyn Observer,
) -> Result<(Vec<GateResult>, GateTiming, SideBinaries)> {
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
    super::load::require_valgrind(&workloads)?;
    let build_started = Instant::now();
    let needed: BTreeSet<String> = workloads.iter().flat_map(|w| w.bins().cloned()).collect();
    let new_side = side_workspace(
        global,
        ws,
        &workdir,
        &cache,
        &sides.candidate,
        "candidate",
        selection,
    )?;
    let new_bins = build_side(global, &new_side, &needed, observer)?;
    let new_benches = side_benches(global, config, &new_side, observer)?;

    // The filter applies to commands and benchmarks together; it must match something.
    let mut candidate_all = workloads;
    let commands = candidate_all.len();
    candidate_all.extend(new_benches);
    if let Some(filter) = &selection.filter {
        select(&mut candidate_all, filter)?;
    } else if candidate_all.is_empty() {
        bail!(super::load::no_workloads(config));
    }
    let candidate_names: BTreeSet<String> = candidate_all.iter().map(|w| w.name.clone()).collect();
    // An empty shard is judged as a gate with nothing in it, so that its Markdown, JUnit and
    // JSON are whole (a CI matrix reads every shard's).
    if let Err(e) = super::load::partition(&mut candidate_all, selection.partition) {
        if !global.quiet {
            eprintln!("note: {e}");
        }
        return Ok((Vec::new(), GateTiming::default(), SideBinaries::default()));
    }
    override_threshold(&mut candidate_all, selection.threshold);
    let (new_benches, workloads): (Vec<Workload>, Vec<Workload>) = candidate_all
        .into_iter()
        .partition(|w| w.criterion().is_some());
    let (loads, workloads): (Vec<Workload>, Vec<Workload>) =
        workloads.into_iter().partition(|w| w.load().is_some());
    let (loads, unchecked): (Vec<Workload>, Vec<Workload>) = loads
        .into_iter()
        .partition(|w| w.load().is_some_and(|l| l.spec.gate.check));
    if !unchecked.is_empty() && !global.quiet {
        let names: Vec<&str> = unchecked.iter().map(|w| w.name.as_str()).collect();
        eprintln!(
            "note: leaving out {} (`check = false` in its `[load.gate]`)",
            names.join(", ")
        );
    }
    if config.sampling.metric.is_exact() && !new_benches.is_empty() && !global.quiet {
        eprintln!(
            "note: the instructions metric is for command workloads; criterion benchmarks are \
             gated on their time per iteration"
        );
    }
    // Counted instructions of the base may be stored already: then the base is not built.
    let stored = match &sides.base {
        Side::Commit(commit)
            if selection.stored_base && new_benches.is_empty() && loads.is_empty() =>
        {
            stored_counts(global, ws, repo, config, commit, &workloads)?
        }
        _ => None,
    };
    let (base_bins, base_benches) = if stored.is_some() {
        (BTreeMap::new(), Vec::new())
    } else {
        let base_side =
            side_workspace(global, ws, &workdir, &cache, &sides.base, "base", selection)?;
        let base_bins = build_side(global, &base_side, &needed, observer)?;
        let base_benches = side_benches(global, config, &base_side, observer)?;
        (base_bins, base_benches)
    };
    let build_ns = build_started.elapsed().as_nanos() as u64;
    let paths = |bins: &BTreeMap<String, PathBuf>| {
        bins.iter()
            .map(|(name, exe)| (name.clone(), exe.to_string_lossy().into_owned()))
            .collect()
    };
    let binaries = SideBinaries {
        candidate: paths(&new_bins),
        base: stored.is_none().then(|| paths(&base_bins)),
    };
    debug_assert!(workloads.len() + loads.len() <= commands);
    let mut base_benches = base_benches;
    if let Some(filter) = &selection.filter {
        base_benches.retain(|w| w.name.contains(filter.as_str()));
    }
    // The shard's benchmarks, and those only the base has that hash to it.
    if let Some(p) = selection.partition {
        let here: BTreeSet<&str> = new_benches.iter().map(|w| w.name.as_str()).collect();
        base_benches.retain(|w| {
            here.contains(w.name.as_str())
                || (!candidate_names.contains(&w.name) && p.takes_removed(&w.name))
        });
    }
    override_threshold(&mut base_benches, selection.threshold);
    let round = config.criterion.round_time;
    let bench_settings = CriterionSettings {
        warm_up_time: round / 2,
        measurement_time: round,
        sample_size: 10,
        quick: true,
    };
    // Each round runs the benchmarks still undecided, saved under its own baseline name
    // (`cargo-perf-round-<n>`, see `gate::criterion`): shown with N for the round.
    let run_id = "cargo-perf-round-N";
    super::verbose::benches(
        global,
        &new_benches,
        &bench_settings,
        run_id,
        Some("candidate"),
    );
    super::verbose::benches(global, &base_benches, &bench_settings, run_id, Some("base"));
    let bench_gates = pair_benches(new_benches, base_benches);

    let gated: Vec<GateWorkload> = workloads
        .into_iter()
        .filter_map(|mut w| {
            let name = w.name.clone();
            let cwd = w.cwd.clone();
            let c = w.command_mut()?;
            let base_argv: Option<Vec<String>> = c
                .bins
                .iter()
                .all(|b| base_bins.contains_key(b))
                .then(|| c.argv.iter().map(|a| resolve_bins(a, &base_bins)).collect());
            let base_env = c
                .env
                .iter()
                .map(|(k, v)| (k.clone(), resolve_bins(v, &base_bins)))
                .collect();
            for arg in c.argv.iter_mut().chain(c.env.iter_mut().map(|(_, v)| v)) {
                *arg = resolve_bins(arg, &new_bins);
            }
            let shown = |side, argv| Shown::Command {
                workload: &name,
                side: Some(side),
                argv,
                cwd: &cwd,
            };
            show(global, shown("candidate", &c.argv));
            if let (Some(argv), None) = (&base_argv, &stored) {
                show(global, shown("base", argv));
            }
            let stored_base = stored
                .as_ref()
                .and_then(|(commit, counts)| Some((commit.clone(), *counts.get(&name)?)));
            Some(GateWorkload {
                workload: w,
                base_argv: if stored_base.is_some() {
                    None
                } else {
                    base_argv
                },
                base_env,
                stored_base,
            })
        })
        .collect();
    let load_gates: Vec<LoadGate> = loads
        .into_iter()
        .filter_map(|mut w| {
            let name = w.name.clone();
            let cwd = w.cwd.clone();
            let l = w.load_mut()?;
            let base = l.bins.iter().all(|b| base_bins.contains_key(b)).then(|| {
                let mut spec = l.spec.clone();
                resolve_load_bins(&mut spec, &base_bins);
                spec
            });
            resolve_load_bins(&mut l.spec, &new_bins);
            super::verbose::load(global, &name, Some("candidate"), &l.spec, &cwd);
            if let Some(spec) = &base {
                super::verbose::load(global, &name, Some("base"), spec, &cwd);
            }
            Some(LoadGate { workload: w, base })
        })
        .collect();
    // The fake runner of the tests replaces the process runner only: what comes before (locks,
    // worktrees, builds, discovery) is the same as in a real check.
    let mut runner = super::load::runner(global)?;
    let plan = BenchPlan {
        settings: bench_settings,
        sampling: &config.sampling,
    };
    // Explanations run the real binaries. Scripted timings (`--fake-runner`) are explained
    // only when `--explain` asks: a test of the timing logic alone gets no explanation that
    // contradicts its script.
    let explain = match (selection.explain, global.fake_runner.is_some()) {
        (Explain::Off, _) | (Explain::Changes, true) => None,
        (explain, _) => Some(explain),
    };
    let mut explain_runner = match explain {
        Some(_) => Some(crate::measure::ProcessRunner::new()?),
        None => None,
    };
    let explain = explain
        .zip(explain_runner.as_mut())
        .map(|(explain, runner)| ExplainPlan {
            all: explain == Explain::All,
            layout: config.layout,
            runner,
        });
    // The locks are held until both sides are measured.
    let (results, mut timing) = run_gate_with_benches(
        gated,
        bench_gates,
        Some(plan),
        load_gates,
        explain,
        runner.as_mut(),
        observer,
    )?;
    timing.build_ns = build_ns;
    Ok((results, timing, binaries))
}

/// The base's counted instructions of every workload, from the newest stored record of `commit`
/// that counted them all with this toolchain and valgrind, from the same `perf.toml`, and was
/// not dirty; `None` when there is none (the base is then built and counted).
fn stored_counts(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    config: &Config,
    commit: &str,
    workloads: &[Workload],
) -> Result<Option<(String, BTreeMap<String, Counts>)>> {
    if workloads.is_empty() || !workloads.iter().all(|w| w.sampling.metric.is_exact()) {
        return Ok(None);
    }
    let setup = CountingSetup::current()?;
    match counts_in_records(ws, repo, config, &setup, commit, workloads)? {
        Ok(found) => {
            show(
                global,
                Shown::NotBuilt {
                    side: &format!("the base revision {}", short(commit)),
                    why: &format!("its record {} counted the instructions", found.run_id),
                },
            );
            if !global.quiet {
                eprintln!(
                    "Base {}: the instructions counted in its record {} ({}, {}); the base is \
                     not built",
                    short(commit),
                    found.run_id,
                    found.rustc,
                    found.valgrind
                );
            }
            Ok(Some((short(commit).to_owned(), found.counts)))
        }
        // Said when the base has records that could have served (or with -v in any case).
        Err(missing) => {
            if (missing.had_records && !global.quiet) || global.verbose > 0 {
                eprintln!(
                    "note: the base {} is built and counted: {}",
                    short(commit),
                    missing.why
                );
            }
            Ok(None)
        }
    }
}

/// Counted instructions of every workload read from a stored record.
pub struct StoredCounts {
    pub run_id: String,
    pub rustc: String,
    pub valgrind: String,
    pub counts: BTreeMap<String, Counts>,
}

/// Why no stored record could stand for counting a commit.
pub struct NoStoredCounts {
    /// In words, with what to do about it.
    pub why: String,
    /// Whether the commit has records at all.
    pub had_records: bool,
}

/// The toolchain and valgrind that count here: a stored record's counts stand for a run only
/// when they counted it.
pub struct CountingSetup {
    /// `rustc -V`.
    pub rustc: String,
    /// `valgrind --version`.
    pub valgrind: String,
}

impl CountingSetup {
    /// Asks rustc and valgrind (once: `bisect` reads the records of many commits).
    pub fn current() -> Result<Self> {
        Ok(CountingSetup {
            rustc: super::save::rustc_version(),
            valgrind: crate::measure::valgrind::version()?,
        })
    }
}

/// The counted instructions of every workload in the newest stored record of `commit` that
/// counted them all with `setup`'s toolchain and valgrind, from the same `perf.toml`, and was
/// not dirty: then the counts stand for a run of that commit, exactly. Otherwise why not.
pub fn counts_in_records(
    ws: &Workspace,
    repo: &Repo,
    config: &Config,
    setup: &CountingSetup,
    commit: &str,
    workloads: &[Workload],
) -> Result<Result<StoredCounts, NoStoredCounts>> {
    let missing = |why: String, had_records: bool| Ok(Err(NoStoredCounts { why, had_records }));
    let store = match super::load::open_store(repo, ws, None, Some(config)) {
        Ok(store) => store,
        Err(e) => return missing(format!("the store cannot be opened ({e})"), false),
    };
    let Some(text) = store.read_text(commit)? else {
        return missing("it has no stored record".into(), false);
    };
    let mut warnings = Vec::new();
    let location = format!("{} of commit {}", store.describe(), short(commit));
    let records: Vec<Record> = parse_lines(&text, commit, &location, &mut warnings)?;
    super::load::print_warnings(&warnings);
    let (rustc, valgrind) = (setup.rustc.clone(), setup.valgrind.clone());
    let fits = |r: &Record| {
        !r.dirty
            && r.rustc == rustc
            && r.valgrind.as_deref() == Some(valgrind.as_str())
            && r.manifest_hash == config.manifest_hash
    };
    // The fitting records of several shards are one set.
    let fitting: Vec<Record> = records.iter().filter(|r| fits(r)).cloned().collect();
    if let Some(record) = crate::store::merge_set(&fitting) {
        let record = &record;
        let counts: Option<BTreeMap<String, Counts>> = workloads
            .iter()
            .map(|w| {
                let stored = record.workloads.iter().find(|s| s.name == w.name)?;
                let counts = stored.counts.filter(|_| stored.failure.is_none())?;
                Some((w.name.clone(), counts))
            })
            .collect();
        if let Some(counts) = counts {
            return Ok(Ok(StoredCounts {
                run_id: record.run_id.clone(),
                rustc,
                valgrind,
                counts,
            }));
        }
    }
    // The newest record's miss, so that the reader knows what to change.
    let reason = match records.last() {
        None => "it has no stored record".to_owned(),
        Some(r) if r.manifest_hash != config.manifest_hash => {
            "its record was taken with another perf.toml (any edit counts)".to_owned()
        }
        Some(r) if r.rustc != rustc => format!("its record was built with {}", r.rustc),
        Some(r) if r.valgrind.as_deref() != Some(valgrind.as_str()) => format!(
            "its record was counted by {}",
            r.valgrind
                .as_deref()
                .unwrap_or("no valgrind (not with the instructions metric)")
        ),
        Some(r) if r.dirty => "its record is of a dirty working tree".to_owned(),
        Some(_) => "its record has no counts for every workload checked".to_owned(),
    };
    missing(
        format!("{reason}; `cargo perf record` on it with this setup saves the build"),
        !records.is_empty(),
    )
}

/// An error in reading or building one side's revision (its manifest does not read, cargo
/// failed on its sources), told apart from the tool's own errors: `bisect` skips a commit
/// whose candidate side fails this way, as `git bisect skip` would.
#[derive(Debug)]
pub struct SideError {
    /// Whether it is the candidate's side.
    pub candidate: bool,
    pub message: String,
}

impl std::fmt::Display for SideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SideError {}

/// Opens and exclusively locks `path`, saying what it waits for when another process has it.
pub fn lock_waiting(path: &Path, what: &str) -> Result<std::fs::File> {
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

/// A side's workspace, the target dir its builds go to, and the root of its sources.
pub struct SideWorkspace {
    ws: Workspace,
    target: PathBuf,
    /// The repository's root on this side (the working tree, or the revision's worktree).
    source_root: PathBuf,
    /// `the base revision abc1234`, `the candidate (working tree)`.
    label: String,
    /// Whether this is the candidate's side.
    candidate: bool,
}

/// The workspace of one side: the working tree as it is, or a commit checked out in a worktree
/// in the repository's cache folder (built in a target dir of its own), with the packages
/// selected as on the candidate.
pub fn side_workspace(
    global: &GlobalOpts,
    ws: &Workspace,
    workdir: &Path,
    cache: &Path,
    side: &Side,
    name: &str,
    selection: &Selection,
) -> Result<SideWorkspace> {
    // Both sides build into target dirs of their own, with their sources remapped to one
    // fixed path: two builds of the same sources are then the same binary, wherever the
    // sources are (and the candidate's remapped build does not replace your usual one).
    //
    // Their names have one length (`base`, `cand`): an executable's path is copied onto its
    // stack (argv[0], AT_EXECFN), and a few bytes more on one side shift every stack address of
    // that side. On base64's suite, identical binaries run from `base-target` and
    // `candidate-target` gave 6 and 16 of 55 benchmarks `regressed` in two A/A checks.
    let dir_name = if name == "candidate" { "cand" } else { name };
    let target = ws
        .target_dir
        .join("cargo-perf")
        .join(format!("{dir_name}-target"));
    let Side::Commit(commit) = side else {
        let label = format!("the {name} (working tree)");
        // git gives the working tree with a trailing `/`; shown as a path is written.
        let dir: PathBuf = workdir.components().collect();
        show(
            global,
            Shown::CheckedOut {
                side: &label,
                dir: &dir,
            },
        );
        return Ok(SideWorkspace {
            ws: ws.clone(),
            target,
            source_root: workdir.to_owned(),
            label,
            candidate: name == "candidate",
        });
    };
    let worktree = cache.join(name);
    checkout_worktree(workdir, &worktree, commit)?;
    // The workspace may sit in a subfolder of the repository.
    let relative = ws.root.strip_prefix(workdir).unwrap_or(Path::new(""));
    let root = worktree.join(relative);
    let manifest = root.join("Cargo.toml");
    let candidate = name == "candidate";
    if !manifest.is_file() {
        return Err(SideError {
            candidate,
            message: format!(
                "the {name} revision {} has no {}; pass another --base",
                short(commit),
                relative.join("Cargo.toml").display()
            ),
        }
        .into());
    }
    let label = format!("the {name} revision {}", short(commit));
    let mut side_ws = Workspace::load(Some(&manifest)).map_err(|e| {
        anyhow::Error::new(e).context(SideError {
            candidate,
            message: format!("reading {label}"),
        })
    })?;
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
    show(
        global,
        Shown::CheckedOut {
            side: &label,
            dir: &worktree,
        },
    );
    Ok(SideWorkspace {
        label,
        ws: side_ws,
        target,
        source_root: worktree,
        candidate,
    })
}

/// How a side is built: into its own target dir, its sources remapped.
fn side_build<'a>(global: &GlobalOpts, side: &'a SideWorkspace) -> Build<'a> {
    let mut build = Build::of(global, Some(&side.target), Some(&side.label));
    build.opts.remap_root = Some(&side.source_root);
    build
}

/// Builds the binaries `needed` of one side and returns those it has.
pub fn build_side(
    global: &GlobalOpts,
    side: &SideWorkspace,
    needed: &BTreeSet<String>,
    observer: &mut dyn Observer,
) -> Result<BTreeMap<String, PathBuf>> {
    let have: BTreeSet<String> = needed
        .iter()
        .filter(|b| side.ws.bins.contains_key(*b))
        .cloned()
        .collect();
    let build = side_build(global, side);
    if !have.is_empty() {
        let names: Vec<&str> = have.iter().map(String::as_str).collect();
        build.announce(&format!("the binaries {}", names.join(", ")), observer);
    }
    let built = side.ws.build_bins(&have, build.opts).map_err(|e| {
        anyhow::Error::new(e).context(SideError {
            candidate: side.candidate,
            message: format!("building {}", side.label),
        })
    })?;
    for (name, exe) in &built {
        build.show_built(name, exe);
    }
    Ok(built)
}

/// The criterion workloads of one side, selected by `[criterion]`.
pub fn side_benches(
    global: &GlobalOpts,
    config: &Config,
    side: &SideWorkspace,
    observer: &mut dyn Observer,
) -> Result<Vec<Workload>> {
    let build = side_build(global, side);
    discover_criterion(&side.ws, config, &build, observer)
        .with_context(|| format!("the criterion benches of {}", side.label))
}

/// The bench targets of both sides, paired by package and target name.
pub fn pair_benches(new: Vec<Workload>, base: Vec<Workload>) -> Vec<BenchGate> {
    // Paired by package and target; named by the label in the workload's name (the target, or
    // `package::target` where two packages have a target of that name).
    let key = |w: &Workload| {
        let label = w
            .criterion()
            .and_then(|c| {
                w.name
                    .strip_prefix(crate::discover::CRITERION_PREFIX)?
                    .strip_suffix(&format!("/{}", c.full_id))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let package = w.criterion().map(|c| c.package.clone()).unwrap_or_default();
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
        let crate::discover::Kind::Criterion(c) = w.kind else {
            continue;
        };
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
