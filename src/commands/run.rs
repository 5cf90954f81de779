//! `list`, `run` and `record` (`run --save`).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Build, load, open_store, select};
use crate::cli::{
    GlobalOpts, ListArgs, MessageFormat, PackageArgs, RecordCmd, RunArgs, SamplingArgs, SaveArgs,
};
use crate::config::Config;
use crate::discover::{Workload, resolve_bins};
use crate::errors::{StoreError, exit_codes};
use crate::measure::criterion::CriterionSettings;
use crate::measure::{FakeRunner, ProcessRunner, Runner};
use crate::pipeline::{Status, WorkloadResult, run_all, run_criterion};
use crate::report::{Exporter, JSON_SCHEMA_VERSION, Progress, ProgressMode};
use crate::store::{Machine, RECORD_SCHEMA, Record, Repo, Store, refresh, rfc3339, short};
use crate::workspace::Workspace;

pub fn list(
    global: &GlobalOpts,
    args: ListArgs,
    exporter: &dyn Exporter,
    out: &mut dyn Write,
) -> Result<i32> {
    let (_, _, workloads) = load(global, &SamplingArgs::default(), &args.packages)?;
    exporter.list(&workloads, out)?;
    Ok(exit_codes::OK)
}

pub fn run(
    global: &GlobalOpts,
    args: RunArgs,
    exporter: &dyn Exporter,
    out: &mut dyn Write,
) -> Result<i32> {
    if !args.save && (args.save_args.allow_dirty || args.save_args.store.store.is_some()) {
        bail!("--allow-dirty and --store apply only with --save (or use `cargo perf record`)");
    }
    let save = args.save.then_some(&args.save_args);
    measure(
        global,
        args.filter.as_deref(),
        &args.sampling,
        &args.packages,
        save,
        exporter,
        out,
    )
}

pub fn record(
    global: &GlobalOpts,
    args: RecordCmd,
    exporter: &dyn Exporter,
    out: &mut dyn Write,
) -> Result<i32> {
    measure(
        global,
        args.filter.as_deref(),
        &args.sampling,
        &args.packages,
        Some(&args.save),
        exporter,
        out,
    )
}

/// Where a record will go, checked before anything is measured.
pub(super) struct SaveTarget {
    pub(super) store: Box<dyn Store>,
    commit: String,
    dirty: bool,
}

pub(super) fn prepare_save(ws: &Workspace, config: &Config, args: &SaveArgs) -> Result<SaveTarget> {
    let repo = Repo::discover(&ws.root)?;
    let commit = repo.head()?;
    let dirty = repo.is_dirty()?;
    if dirty && !args.allow_dirty {
        return Err(StoreError::Dirty.into());
    }
    let store = open_store(&repo, ws, args.store.store.as_ref(), Some(config))?;
    store
        .check_writable()
        .with_context(|| format!("the store {} cannot be written", store.describe()))?;
    Ok(SaveTarget {
        store,
        commit,
        dirty,
    })
}

fn measure(
    global: &GlobalOpts,
    filter: Option<&str>,
    sampling: &SamplingArgs,
    packages: &PackageArgs,
    save: Option<&SaveArgs>,
    exporter: &dyn Exporter,
    out: &mut dyn Write,
) -> Result<i32> {
    let (ws, config, mut workloads) = load(global, sampling, packages)?;
    if let Some(filter) = filter {
        select(&mut workloads, filter)?;
    }
    // Everything that could stop the record from being stored is checked before measuring.
    let target = save.map(|s| prepare_save(&ws, &config, s)).transpose()?;

    let mut runner: Box<dyn Runner> = match &global.fake_runner {
        Some(path) => Box::new(FakeRunner::from_file(path)?),
        None => {
            build_bins(&ws, &mut workloads, &Build::of(global, None, None))?;
            Box::new(ProcessRunner::new()?)
        }
    };
    let mode = ProgressMode::for_stderr(global.quiet);
    if global.verbose > 0 {
        for w in &workloads {
            eprintln!("{}: {} (in {})", w.name, w.argv.join(" "), w.cwd.display());
        }
    }
    let run_id = format!("{:016x}", fastrand::u64(..));
    let (benches, commands): (Vec<Workload>, Vec<Workload>) =
        workloads.into_iter().partition(|w| w.criterion.is_some());
    // Checked before anything is measured: a sampling flag criterion cannot follow stops here.
    let settings = if benches.is_empty() {
        None
    } else {
        Some(criterion_settings(&config, sampling, global.quiet)?)
    };
    let mut streamed = Ok(());
    let mut progress = Progress::new(mode);
    let mut on_result = |r: &WorkloadResult| {
        if streamed.is_ok() {
            streamed = exporter.workload_finished(r, out);
        }
    };
    let mut results = run_all(commands, runner.as_mut(), &mut progress, &mut on_result)?;
    if let Some(settings) = &settings {
        results.extend(run_criterion(
            benches,
            settings,
            &run_id,
            runner.as_mut(),
            &mut progress,
            &mut on_result,
        )?);
    }
    streamed?;
    let code = if results.iter().all(|r| r.status() == Status::Passed) {
        exit_codes::OK
    } else {
        exit_codes::GATE_FAILED
    };
    exporter.run(&results, code, out)?;

    if let Some(target) = target {
        let record = new_record(&config, &target, &results, run_id);
        let where_ = store_record(global, &target, &record, json!({}), out)?;
        if global.message_format == MessageFormat::Human && (!global.quiet || global.verbose > 0) {
            eprintln!(
                "Stored record {} for commit {}{} in {where_}",
                record.run_id,
                short(&record.commit),
                if record.dirty { " (dirty)" } else { "" }
            );
        }
    }
    Ok(code)
}

/// Appends `record` to the store, indexes it, and with JSON output prints its `record-stored`
/// object (with the fields of `extra` added). Returns where it went, for people.
pub(super) fn store_record(
    global: &GlobalOpts,
    target: &SaveTarget,
    record: &Record,
    extra: serde_json::Value,
    out: &mut dyn Write,
) -> Result<String> {
    target.store.append(record)?;
    // Keeps `history` fast: only the note just written needs indexing. The record is stored
    // whatever happens here, so a failure is only a warning.
    if let Err(e) = refresh(target.store.as_ref(), std::slice::from_ref(&record.commit)) {
        eprintln!("warning: updating the history index: {e}");
    }
    super::print_warnings(&target.store.take_warnings());
    let where_ = target.store.describe();
    if global.message_format == MessageFormat::Json {
        let mut line = json!({"reason": "record-stored", "schema": JSON_SCHEMA_VERSION,
                              "run_id": record.run_id, "commit": record.commit,
                              "dirty": record.dirty, "store": where_});
        if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
            line.extend(extra.clone());
        }
        writeln!(out, "{line}")?;
    }
    Ok(where_)
}

fn build_bins(ws: &Workspace, workloads: &mut [Workload], build: &Build) -> Result<()> {
    let needed: std::collections::BTreeSet<String> = workloads
        .iter()
        .flat_map(|w| w.bins.iter().cloned())
        .collect();
    if !needed.is_empty() {
        let names: Vec<&str> = needed.iter().map(String::as_str).collect();
        build.announce(&format!("the binaries {}", names.join(", ")));
    }
    let built = ws
        .build_bins(&needed, build.opts)
        .context("building the workspace binaries that perf.toml names with {bin:NAME}")?;
    for w in workloads {
        for arg in w.argv.iter_mut().chain(w.env.iter_mut().map(|(_, v)| v)) {
            *arg = resolve_bins(arg, &built);
        }
    }
    Ok(())
}

/// What `[criterion]` says about measuring for `run` and `record`, with the command line's
/// sampling flags applied: `--time-cap` is criterion's measurement time, `--min-runs` and
/// `--max-runs` bound its sample size. `--warmup` counts runs, which criterion has no notion
/// of: a note says what to set instead.
pub(super) fn criterion_settings(
    config: &Config,
    sampling: &SamplingArgs,
    quiet: bool,
) -> Result<CriterionSettings> {
    let c = &config.criterion;
    let mut sample_size = c.sample_size;
    if let Some(min) = sampling.min_runs {
        sample_size = sample_size.max(min);
    }
    if let Some(max) = sampling.max_runs {
        sample_size = sample_size.min(max);
    }
    if sample_size < MIN_CRITERION_SAMPLES {
        bail!(
            "--max-runs {} would give criterion benchmarks {sample_size} samples, and criterion \
             takes at least {MIN_CRITERION_SAMPLES}; pass --max-runs {MIN_CRITERION_SAMPLES} or \
             more, or leave criterion benchmarks out with a filter",
            sampling.max_runs.unwrap_or_default()
        );
    }
    if sampling.warmup.is_some() && !quiet {
        eprintln!(
            "note: --warmup counts runs of command workloads; criterion benchmarks warm up for a \
             time, `[criterion] warm_up_time` in perf.toml ({})",
            crate::config::units::format_duration(c.warm_up_time)
        );
    }
    Ok(CriterionSettings {
        warm_up_time: c.warm_up_time,
        measurement_time: sampling.time_cap.unwrap_or(c.measurement_time),
        sample_size,
        // `run` and `record` measure as `cargo bench` does.
        quick: false,
    })
}

/// Criterion refuses fewer samples than this.
const MIN_CRITERION_SAMPLES: u32 = 10;

pub(super) fn new_record(
    config: &Config,
    target: &SaveTarget,
    results: &[WorkloadResult],
    run_id: String,
) -> Record {
    let time_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Record {
        schema: RECORD_SCHEMA,
        run_id,
        commit: target.commit.clone(),
        dirty: target.dirty,
        time_unix,
        time: rfc3339(time_unix),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        rustc: rustc_version(),
        machine: Machine::current(),
        manifest_hash: config.manifest_hash.clone(),
        workloads: results.iter().map(Into::into).collect(),
    }
}

/// `rustc -V` of the toolchain cargo uses (`RUSTC` when set).
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
