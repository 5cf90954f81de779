//! Loading a side: its workspace, its configuration and its workloads, and the store records go
//! to. Shared by the commands; nothing here prints but notes that the commands would print the
//! same way.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalOpts, PackageArgs, SamplingArgs, StoreSpec};
use crate::config::{self, Config, MANIFEST_NAME, SamplingOverrides};
use crate::discover::{Workload, criterion_workloads, discover, resolve_bins};
use crate::pipeline::Observer;
use crate::store::{DirStore, Machine, NotesStore, Repo, Store};
use crate::workspace::{BuildOptions, Workspace};

/// The workspace, its configuration and its workloads.
pub fn load(
    global: &GlobalOpts,
    sampling: &SamplingArgs,
    packages: &PackageArgs,
    observer: &mut dyn Observer,
) -> Result<(Workspace, Config, Vec<Workload>)> {
    let (ws, config, mut workloads) = load_commands(global, sampling, packages)?;
    workloads.extend(discover_criterion(
        &ws,
        &config,
        &Build::of(global, None, None),
        observer,
    )?);
    if workloads.is_empty() {
        bail!(no_workloads(&config));
    }
    Ok((ws, config, workloads))
}

/// The workspace, its configuration and the command workloads of `perf.toml`, without building
/// anything. Commands whose `{bin:NAME}` belongs to a package that `-p`/`--exclude` leave out
/// are left out too, with a note.
pub fn load_commands(
    global: &GlobalOpts,
    sampling: &SamplingArgs,
    packages: &PackageArgs,
) -> Result<(Workspace, Config, Vec<Workload>)> {
    let overrides = overrides(sampling)?;
    let mut ws = Workspace::load(global.manifest_path.as_deref())?;
    print_warnings(&ws.select(&packages.selection(), false)?);
    let path = ws.root.join(MANIFEST_NAME);
    let config = if path.is_file() {
        config::load(&path, &ws.root, &overrides)?
    } else if !ws.benches().is_empty() {
        // Criterion benches need no configuration.
        config::absent(&path, &ws.root, &overrides)
    } else {
        bail!(
            "no {MANIFEST_NAME} at the workspace root {}, and no bench target that uses criterion{}; \
             create a {MANIFEST_NAME} that declares your workloads (`cargo perf init` writes one)",
            ws.root.display(),
            if ws.explicit_selection {
                " in the selected packages"
            } else {
                ""
            }
        );
    };
    let mut workloads = discover(&config, &ws.bin_names())?;
    if ws.explicit_selection {
        let selected = |bin: &String| ws.bin_package(bin).is_some_and(|m| m.selected);
        let (kept, left): (Vec<Workload>, Vec<Workload>) =
            workloads.into_iter().partition(|w| w.bins().all(selected));
        if !left.is_empty() && !global.quiet {
            let names: Vec<&str> = left.iter().map(|w| w.name.as_str()).collect();
            eprintln!(
                "note: leaving out {} whose {{bin:NAME}} belongs to a package not selected: {}",
                crate::vocab::units::plural(names.len(), "workload"),
                names.join(", ")
            );
        }
        workloads = kept;
    }
    Ok((ws, config, workloads))
}

/// The runner of a command: real processes, or the tests' fake (`--fake-runner FILE`), which
/// replaces the process runner only: what comes before (locks, worktrees, builds, discovery)
/// is the same as in a real run.
pub fn runner(global: &GlobalOpts) -> Result<Box<dyn crate::measure::Runner>> {
    Ok(match &global.fake_runner {
        Some(path) => Box::new(crate::measure::FakeRunner::from_file(path)?),
        None => Box::new(crate::measure::ProcessRunner::new()?),
    })
}

/// Stops before anything is built when a command workload counts instructions and valgrind
/// cannot be run.
pub fn require_valgrind(workloads: &[Workload]) -> Result<()> {
    if workloads
        .iter()
        .any(|w| w.command().is_some() && w.sampling.metric.is_exact())
    {
        crate::measure::valgrind::version()?;
    }
    Ok(())
}

pub fn no_workloads(config: &Config) -> String {
    format!(
        "{}: no workloads: add a `[[workload]]` with a `name` and a `command` (see the README \
         for an example), or criterion benches{}",
        config.path.display(),
        if config.criterion.enabled {
            ""
        } else {
            " (`[criterion] enabled = false` turns them off)"
        }
    )
}

/// How a side is built: cargo's options and the side's name for the lines that announce it.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    pub opts: BuildOptions<'a>,
    /// `the candidate (working tree)`, `the base revision abc1234`; `None` outside a comparison.
    pub side: Option<&'a str>,
    /// `-v`: show what is built and where it is.
    pub verbose: bool,
}

impl<'a> Build<'a> {
    pub fn of(global: &GlobalOpts, target_dir: Option<&'a Path>, side: Option<&'a str>) -> Self {
        Build {
            opts: BuildOptions {
                quiet: global.quiet,
                show_command: (global.verbose > 0)
                    .then_some(super::verbose::cargo as fn(&str, &Path)),
                target_dir,
                remap_root: None,
            },
            side,
            verbose: global.verbose > 0,
        }
    }

    /// `-v`: where a built executable is.
    pub fn show_built(&self, name: &str, exe: &Path) {
        if self.verbose {
            super::verbose::print(crate::vocab::Shown::Binary {
                name,
                side: self.side,
                path: exe,
            });
        }
    }

    /// Announces a build (before cargo's own lines).
    pub fn announce(&self, what: &str, observer: &mut dyn Observer) {
        let what = match self.side {
            Some(side) => format!("{what} of {side}"),
            None => what.to_owned(),
        };
        crate::interrupt::doing(format!("building {what}"));
        observer.building(&what);
    }
}

/// The criterion workloads of the workspace: the bench targets of the selected members that use
/// criterion are built (`cargo bench --no-run`) and their benchmark ids listed.
pub fn discover_criterion(
    ws: &Workspace,
    config: &Config,
    build: &Build,
    observer: &mut dyn Observer,
) -> Result<Vec<Workload>> {
    let targets = ws.benches();
    if !config.criterion.enabled || targets.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = targets.iter().map(|b| b.name.as_str()).collect();
    build.announce(
        &format!("the criterion benches {}", names.join(", ")),
        observer,
    );
    let exes = ws
        .build_benches(&targets, build.opts)
        .context("building the bench targets that use criterion (`cargo bench --no-run`)")?;
    // Two selected packages may have bench targets of one name: their workloads are then
    // named by package too.
    let mut seen = std::collections::BTreeMap::new();
    for t in &targets {
        *seen.entry(t.name.as_str()).or_insert(0) += 1;
    }
    let mut out = Vec::new();
    for target in &targets {
        let Some(exe) = exes.get(&(target.package_id.clone(), target.name.clone())) else {
            continue;
        };
        build.show_built(&format!("bench target {}", target.name), exe);
        let ids = crate::measure::criterion::list_ids(exe, &target.package_dir)?;
        let qualified = seen.get(target.name.as_str()).copied().unwrap_or(0) > 1;
        out.extend(criterion_workloads(config, target, exe, &ids, qualified));
    }
    // By target and id, as every output lists them (criterion lists ids as they were added).
    crate::vocab::WorkloadOrder::default().sort(&mut out, |w| &w.name);
    Ok(out)
}

/// The store that `--store`, or else `[store]` in perf.toml, or else the default names.
/// `perf.toml` is read only for its `[store]` when the command does not otherwise need it.
pub fn open_store(
    repo: &Repo,
    ws: &Workspace,
    spec: Option<&StoreSpec>,
    config: Option<&Config>,
) -> Result<Box<dyn Store>> {
    let from_config = match config {
        Some(c) => c.store_dir.clone(),
        None => manifest(ws)?.and_then(|c| c.store_dir),
    };
    Ok(match (spec, from_config) {
        (Some(StoreSpec::Dir(path)), _) => {
            Box::new(DirStore::new(std::env::current_dir()?.join(path)))
        }
        (Some(StoreSpec::Notes), _) | (None, None) => Box::new(NotesStore::new(repo)),
        (None, Some(path)) => Box::new(DirStore::new(path)),
    })
}

/// The workspace's perf.toml with no command-line overrides, if it has one: what the commands
/// that read records need of it (`[store]`, thresholds). Load it once and pass it to
/// [`open_store`] and [`machine`].
pub fn manifest(ws: &Workspace) -> Result<Option<Config>> {
    let path = ws.root.join(MANIFEST_NAME);
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(config::load(
        &path,
        &ws.root,
        &SamplingOverrides::default(),
    )?))
}

/// The one order of workloads in every output (see [`crate::vocab::WorkloadOrder`]): the
/// workloads of `config` as `list` shows them; without a configuration, by name. A perf.toml
/// whose workloads cannot be expanded here (a fixture folder gone, a program not installed)
/// still orders by the names it declares.
pub fn workload_order(ws: &Workspace, config: Option<&Config>) -> crate::vocab::WorkloadOrder {
    use crate::vocab::WorkloadOrder;
    let Some(config) = config else {
        return WorkloadOrder::default();
    };
    match discover(config, &ws.bin_names()) {
        Ok(workloads) => WorkloadOrder::new(workloads.iter().map(|w| w.name.as_str())),
        Err(_) => WorkloadOrder::new(
            config
                .workloads
                .iter()
                .map(|s| s.name.as_str())
                .chain(config.loads.iter().map(|l| l.name.as_str())),
        ),
    }
}

/// The machine records are stored and read under: this machine, keyed by `--machine-key`
/// (or `CARGO_PERF_MACHINE_KEY`), else by `[store] machine`, else by what it is.
pub fn machine(global: &GlobalOpts, ws: &Workspace, config: Option<&Config>) -> Result<Machine> {
    let detected = Machine::current();
    let key = match (&global.machine_key, config) {
        (Some(key), _) => Some(key.clone()),
        (None, Some(c)) => c.machine_key.clone(),
        (None, None) => manifest(ws)?.and_then(|c| c.machine_key),
    };
    Ok(match key {
        Some(key) => detected.with_key(&key),
        None => detected,
    })
}

pub fn overrides(args: &SamplingArgs) -> Result<SamplingOverrides> {
    if args.min_runs == Some(0) || args.max_runs == Some(0) {
        bail!("--min-runs and --max-runs must be at least 1");
    }
    if let (Some(min), Some(max)) = (args.min_runs, args.max_runs)
        && max < min
    {
        bail!("--max-runs {max} is below --min-runs {min}; raise --max-runs or lower --min-runs");
    }
    Ok(SamplingOverrides {
        warmup: args.warmup,
        min_runs: args.min_runs,
        max_runs: args.max_runs,
        time_cap: args.time_cap,
        metric: args.metric,
    })
}

/// Keeps the shard's workloads of `workloads`; an empty shard is an [`EmptyShard`] error.
///
/// [`EmptyShard`]: crate::errors::EmptyShard
pub fn partition(
    workloads: &mut Vec<Workload>,
    partition: Option<crate::discover::Partition>,
) -> Result<(), crate::errors::EmptyShard> {
    let Some(p) = partition else { return Ok(()) };
    let units = workloads.len();
    p.select(workloads);
    if workloads.is_empty() {
        return Err(crate::errors::EmptyShard {
            partition: p.to_string(),
            units,
        });
    }
    Ok(())
}

/// Keeps the workloads whose name contains `filter`; none is an error.
pub fn select(workloads: &mut Vec<Workload>, filter: &str) -> Result<()> {
    let all: Vec<String> = workloads.iter().map(|w| w.name.clone()).collect();
    workloads.retain(|w| w.name.contains(filter));
    if workloads.is_empty() {
        bail!(
            "no workload matches `{filter}`; the workloads are: {} (`cargo perf list` shows them)",
            all.join(", ")
        );
    }
    Ok(())
}

/// `--threshold` beats perf.toml.
pub fn override_threshold(workloads: &mut [Workload], threshold: Option<f64>) {
    if let Some(t) = threshold {
        workloads.iter_mut().for_each(|w| w.threshold = t);
    }
}

/// Builds the binaries the workloads name with `{bin:NAME}` and puts their paths in.
pub fn build_bins(
    ws: &Workspace,
    workloads: &mut [Workload],
    build: &Build,
    observer: &mut dyn Observer,
) -> Result<()> {
    let needed: std::collections::BTreeSet<String> =
        workloads.iter().flat_map(|w| w.bins().cloned()).collect();
    if !needed.is_empty() {
        let names: Vec<&str> = needed.iter().map(String::as_str).collect();
        build.announce(&format!("the binaries {}", names.join(", ")), observer);
    }
    let built = ws
        .build_bins(&needed, build.opts)
        .context("building the workspace binaries that perf.toml names with {bin:NAME}")?;
    for (name, exe) in &built {
        build.show_built(name, exe);
    }
    for w in workloads {
        if let Some(l) = w.load_mut() {
            resolve_load_bins(&mut l.spec, &built);
            continue;
        }
        let Some(c) = w.command_mut() else { continue };
        for arg in c.argv.iter_mut().chain(c.env.iter_mut().map(|(_, v)| v)) {
            *arg = resolve_bins(arg, &built);
        }
    }
    Ok(())
}

/// Puts the paths of `bins` in for `{bin:NAME}` in a load workload's argv and environment.
pub fn resolve_load_bins(
    spec: &mut crate::config::LoadSpec,
    bins: &std::collections::BTreeMap<String, std::path::PathBuf>,
) {
    for arg in spec
        .target
        .argv_mut()
        .iter_mut()
        .chain(spec.env.values_mut())
    {
        *arg = resolve_bins(arg, bins);
    }
}

/// Prints the warnings a read collected (corrupt lines and the like) on standard error, with
/// control characters from names and notes shown escaped.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {}", crate::report::escape::terminal(w));
    }
}
