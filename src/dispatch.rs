//! Arguments to configuration to pipeline to exit code; the one place that prints errors.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{
    CargoCli, ColorChoice, Command, GlobalOpts, MessageFormat, RunArgs, SamplingArgs,
};
use crate::config::{self, Config, MANIFEST_NAME, SamplingOverrides};
use crate::discover::{Workload, discover, resolve_bins};
use crate::errors::exit_codes;
use crate::measure::{FakeRunner, ProcessRunner, Runner};
use crate::pipeline::{Status, run_all};
use crate::report::{Exporter, Human, Json, Progress, ProgressMode};
use crate::workspace::Workspace;

/// Runs `cargo perf` with the process's arguments and returns the exit code.
pub fn main_impl() -> i32 {
    let CargoCli::Perf(args) = match CargoCli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // Help and version go to stdout and exit 0; usage errors exit 2 like every other
            // error of the tool.
            let _ = e.print();
            return if e.use_stderr() {
                exit_codes::TOOL_ERROR
            } else {
                exit_codes::OK
            };
        }
    };
    let color = use_color(args.global.color);
    match dispatch(&args.global, args.command) {
        Ok(code) => code,
        Err(e) => {
            let prefix = if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{prefix}: {e:#}");
            exit_codes::TOOL_ERROR
        }
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    }
}

fn dispatch(global: &GlobalOpts, command: Command) -> Result<i32> {
    let exporter: Box<dyn Exporter> = match global.message_format {
        MessageFormat::Human => Box::new(Human {
            manifest: MANIFEST_NAME.into(),
        }),
        MessageFormat::Json => Box::new(Json),
    };
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::List => {
            let (_, _, workloads) = load(global, &SamplingArgs::default())?;
            exporter.list(&workloads, &mut stdout)?;
            Ok(exit_codes::OK)
        }
        Command::Run(args) => run(global, args, exporter.as_ref(), &mut stdout),
    }
}

/// The workspace, its configuration and its workloads.
fn load(
    global: &GlobalOpts,
    sampling: &SamplingArgs,
) -> Result<(Workspace, Config, Vec<Workload>)> {
    let overrides = overrides(sampling)?;
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let path = ws.root.join(MANIFEST_NAME);
    if !path.is_file() {
        bail!(
            "no {MANIFEST_NAME} at the workspace root {}; create one that declares your workloads \
             (the README shows an example)",
            ws.root.display()
        );
    }
    let config = config::load(&path, &ws.root, &overrides)?;
    let workloads = discover(&config, &ws.bin_names())?;
    Ok((ws, config, workloads))
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

fn run(
    global: &GlobalOpts,
    args: RunArgs,
    exporter: &dyn Exporter,
    out: &mut dyn Write,
) -> Result<i32> {
    let (ws, _, mut workloads) = load(global, &args.sampling)?;
    if let Some(filter) = &args.filter {
        let all: Vec<String> = workloads.iter().map(|w| w.name.clone()).collect();
        workloads.retain(|w| w.name.contains(filter.as_str()));
        if workloads.is_empty() {
            bail!(
                "no workload matches `{filter}`; the workloads are: {} (`cargo perf list` shows them)",
                all.join(", ")
            );
        }
    }

    let mut runner: Box<dyn Runner> = match &global.fake_runner {
        Some(path) => Box::new(FakeRunner::from_file(path)?),
        None => {
            let needed = workloads
                .iter()
                .flat_map(|w| w.bins.iter().cloned())
                .collect();
            let built = ws
                .build_bins(&needed, global.quiet)
                .context("building the workspace binaries that perf.toml names with {bin:NAME}")?;
            for w in &mut workloads {
                for arg in w.argv.iter_mut().chain(w.env.iter_mut().map(|(_, v)| v)) {
                    *arg = resolve_bins(arg, &built);
                }
            }
            Box::new(ProcessRunner::new()?)
        }
    };

    let mode = if global.quiet {
        ProgressMode::Silent
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else {
        ProgressMode::Lines
    };
    if global.verbose > 0 {
        for w in &workloads {
            eprintln!("{}: {} (in {})", w.name, w.argv.join(" "), w.cwd.display());
        }
    }
    let results = run_all(workloads, runner.as_mut(), &mut Progress::new(mode))?;
    let code = if results.iter().all(|r| r.status() == Status::Passed) {
        exit_codes::OK
    } else {
        exit_codes::GATE_FAILED
    };
    exporter.run(&results, code, out)?;
    Ok(code)
}
