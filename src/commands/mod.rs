//! One module per command; what they share is here.

mod check;
mod compare;
mod history;
mod import;
mod init;
mod report;
mod run;
mod show;
mod sync;

pub use check::check;
pub use compare::compare;
pub use history::history;
pub use import::import_criterion;
pub use init::init;
pub use report::report;
pub use run::{list, record, run};
pub use show::show;
pub use sync::sync;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalOpts, SamplingArgs, StoreSpec};
use crate::config::{self, Config, MANIFEST_NAME, SamplingOverrides};
use crate::discover::{Workload, criterion_workloads, discover};
use crate::store::{DirStore, NotesStore, Repo, Store};
use crate::workspace::Workspace;

/// The workspace, its configuration and its workloads.
fn load(
    global: &GlobalOpts,
    sampling: &SamplingArgs,
) -> Result<(Workspace, Config, Vec<Workload>)> {
    let overrides = overrides(sampling)?;
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let path = ws.root.join(MANIFEST_NAME);
    let config = if path.is_file() {
        config::load(&path, &ws.root, &overrides)?
    } else if !ws.benches.is_empty() {
        // Criterion benches need no configuration.
        config::absent(&path, &ws.root, &overrides)
    } else {
        bail!(
            "no {MANIFEST_NAME} at the workspace root {}, and no bench target that uses criterion; \
             create a {MANIFEST_NAME} that declares your workloads (`cargo perf init` writes one)",
            ws.root.display()
        );
    };
    let mut workloads = discover(&config, &ws.bin_names())?;
    workloads.extend(discover_criterion(&ws, &config, None, global.quiet)?);
    if workloads.is_empty() {
        bail!(
            "{}: no workloads: add a `[[workload]]` with a `name` and a `command` (see the README \
             for an example), or criterion benches{}",
            config.path.display(),
            if config.criterion.enabled {
                ""
            } else {
                " (`[criterion] enabled = false` turns them off)"
            }
        );
    }
    Ok((ws, config, workloads))
}

/// The criterion workloads of the workspace: its bench targets that use criterion are built
/// (`cargo bench --no-run`, into `target_dir` if given) and their benchmark ids listed.
fn discover_criterion(
    ws: &Workspace,
    config: &Config,
    target_dir: Option<&std::path::Path>,
    quiet: bool,
) -> Result<Vec<Workload>> {
    if !config.criterion.enabled || ws.benches.is_empty() {
        return Ok(Vec::new());
    }
    if !quiet {
        let names: Vec<&str> = ws.benches.iter().map(|b| b.name.as_str()).collect();
        eprintln!("Building the criterion benches {}", names.join(", "));
    }
    let exes = ws
        .build_benches(&ws.benches, quiet, target_dir)
        .context("building the bench targets that use criterion (`cargo bench --no-run`)")?;
    let mut out = Vec::new();
    for target in &ws.benches {
        let Some(exe) = exes.get(&target.name) else {
            continue;
        };
        let ids = crate::measure::criterion::list_ids(exe, &target.package_dir)?;
        out.extend(criterion_workloads(config, target, exe, &ids));
    }
    Ok(out)
}

/// The store that `--store`, or else `[store]` in perf.toml, or else the default names.
/// `perf.toml` is read only for its `[store]` when the command does not otherwise need it.
fn open_store(
    repo: &Repo,
    ws: &Workspace,
    spec: Option<&StoreSpec>,
    config: Option<&Config>,
) -> Result<Box<dyn Store>> {
    let from_config = match config {
        Some(c) => c.store_dir.clone(),
        None => {
            let path = ws.root.join(MANIFEST_NAME);
            if path.is_file() {
                config::load(&path, &ws.root, &SamplingOverrides::default())?.store_dir
            } else {
                None
            }
        }
    };
    Ok(match (spec, from_config) {
        (Some(StoreSpec::Dir(path)), _) => Box::new(DirStore {
            path: std::env::current_dir()?.join(path),
        }),
        (Some(StoreSpec::Notes), _) | (None, None) => Box::new(NotesStore::new(repo)),
        (None, Some(path)) => Box::new(DirStore { path }),
    })
}

fn overrides(args: &SamplingArgs) -> Result<SamplingOverrides> {
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
        metric: None,
    })
}

/// Keeps the workloads whose name contains `filter`; none is an error.
pub(crate) fn select(workloads: &mut Vec<Workload>, filter: &str) -> Result<()> {
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

/// Prints the warnings a read collected (corrupt lines and the like) on standard error.
fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
