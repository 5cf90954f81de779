//! `list`, `run` and `record` (`run --save`).

use std::io::Write;

use anyhow::{Result, bail};
use serde_json::json;

use crate::cli::{
    GlobalOpts, ListArgs, MessageFormat, PackageArgs, RecordCmd, RunArgs, SamplingArgs, SaveArgs,
};
use crate::config::Config;
use crate::discover::Workload;
use crate::errors::exit_codes;
use crate::measure::criterion::CriterionSettings;
use crate::pipeline::{Both, run_all, run_criterion, run_loads};
use crate::report::{Human, Json, ListOutput, Progress, ProgressMode, RunOutput, Stream};
use crate::services::load::{Build, build_bins, load, select};
use crate::services::save::{new_record, prepare_save, store_record};
use crate::store::short;
use crate::vocab::Status;

pub fn list(global: &GlobalOpts, args: ListArgs, out: &mut dyn Write) -> Result<i32> {
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    let (_, _, workloads) = load(
        global,
        &SamplingArgs::default(),
        &args.packages,
        &mut progress,
    )?;
    let output: &dyn ListOutput = match global.message_format {
        MessageFormat::Human => &Human,
        MessageFormat::Json => &Json,
    };
    output.list(&workloads, out)?;
    Ok(exit_codes::OK)
}

pub fn run(global: &GlobalOpts, args: RunArgs, out: &mut dyn Write) -> Result<i32> {
    if !args.save && (args.save_args.allow_dirty || args.save_args.store.store.is_some()) {
        bail!("--allow-dirty and --store apply only with --save (or use `cargo perf record`)");
    }
    let save = args.save.then_some(&args.save_args);
    measure(
        global,
        args.filter.as_deref(),
        args.partition,
        &args.sampling,
        &args.packages,
        save,
        out,
    )
}

pub fn record(global: &GlobalOpts, args: RecordCmd, out: &mut dyn Write) -> Result<i32> {
    measure(
        global,
        args.filter.as_deref(),
        args.partition,
        &args.sampling,
        &args.packages,
        Some(&args.save),
        out,
    )
}

fn measure(
    global: &GlobalOpts,
    filter: Option<&str>,
    partition: Option<crate::discover::Partition>,
    sampling: &SamplingArgs,
    packages: &PackageArgs,
    save: Option<&SaveArgs>,
    out: &mut dyn Write,
) -> Result<i32> {
    let output: &dyn RunOutput = match global.message_format {
        MessageFormat::Human => &Human,
        MessageFormat::Json => &Json,
    };
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    let (ws, config, mut workloads) = load(global, sampling, packages, &mut progress)?;
    if let Some(filter) = filter {
        select(&mut workloads, filter)?;
    }
    crate::services::load::partition(&mut workloads, partition)?;
    // Everything that could stop the record from being stored is checked before measuring.
    let target = save.map(|s| prepare_save(&ws, &config, s)).transpose()?;
    crate::services::load::require_valgrind(&workloads)?;
    if config.sampling.metric.is_exact()
        && workloads.iter().any(|w| w.criterion().is_some())
        && !global.quiet
    {
        eprintln!(
            "note: the instructions metric is for command workloads; criterion benchmarks are \
             measured in time per iteration"
        );
    }

    build_bins(
        &ws,
        &mut workloads,
        &Build::of(global, None, None),
        &mut progress,
    )?;
    // The fake runner of the tests replaces the process runner only.
    let mut runner = crate::services::load::runner(global)?;
    for w in &workloads {
        crate::services::verbose::workload(global, w, None);
    }
    let run_id = format!("{:016x}", fastrand::u64(..));
    let (loads, workloads): (Vec<Workload>, Vec<Workload>) =
        workloads.into_iter().partition(|w| w.load().is_some());
    let (benches, commands): (Vec<Workload>, Vec<Workload>) =
        workloads.into_iter().partition(|w| w.criterion().is_some());
    // Checked before anything is measured: a sampling flag criterion cannot follow stops here.
    let settings = if benches.is_empty() {
        None
    } else {
        Some(criterion_settings(&config, sampling, global.quiet)?)
    };
    if let Some(settings) = &settings {
        crate::services::verbose::benches(global, &benches, settings, &run_id, None);
    }
    // Progress on standard error; the results streamed to standard output as they come.
    let mut stream = Stream {
        output,
        out: &mut *out,
        error: Ok(()),
    };
    let mut observer = Both(&mut progress, &mut stream);
    let mut results = run_all(commands, runner.as_mut(), &mut observer)?;
    if let Some(settings) = &settings {
        results.extend(run_criterion(
            benches,
            settings,
            &run_id,
            runner.as_mut(),
            &mut observer,
        )?);
    }
    let steps = results.len();
    let total = steps + loads.len();
    let load_results = run_loads(loads, steps, total, &mut observer)?;
    stream.error?;
    let code = if results.iter().all(|r| r.status() == Status::Passed)
        && load_results.iter().all(|r| r.status() == Status::Passed)
    {
        exit_codes::OK
    } else {
        exit_codes::GATE_FAILED
    };
    output.run(&results, &load_results, code, out)?;

    if let Some(target) = target {
        let machine = crate::services::load::machine(global, &ws, Some(&config))?;
        let mut record = new_record(&config, &target, &results, &load_results, run_id, machine);
        record.partition = partition.map(|p| p.to_string());
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
            crate::vocab::units::format_duration(c.warm_up_time)
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
