//! Arguments to configuration to pipeline to exit code; the one place that prints errors.

use std::io::IsTerminal;

use anyhow::Result;
use clap::Parser;

use crate::cli::{CargoCli, ColorChoice, Command, GlobalOpts, ImportCmd, MessageFormat};
use crate::commands;
use crate::config::MANIFEST_NAME;
use crate::errors::exit_codes;
use crate::report::{Exporter, Human, Json};

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
    let out = &mut std::io::stdout().lock();
    match command {
        Command::List(args) => commands::list(global, args, exporter.as_ref(), out),
        Command::Run(args) => commands::run(global, args, exporter.as_ref(), out),
        Command::Record(args) => commands::record(global, args, exporter.as_ref(), out),
        Command::History(args) => commands::history(global, args, out),
        Command::Show(args) => commands::show(global, args, out),
        Command::Sync(args) => commands::sync(global, args, out),
        Command::Check(args) => commands::check(global, args, out),
        Command::Compare(args) => commands::compare(global, args, out),
        Command::Init => commands::init(global, out),
        Command::Report(args) => commands::report(global, args, out),
        Command::Import(ImportCmd::Criterion(args)) => {
            commands::import_criterion(global, args, out)
        }
    }
}
