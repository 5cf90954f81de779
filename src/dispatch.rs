//! Arguments to configuration to pipeline to exit code; the one place that prints errors.

use std::io::IsTerminal;

use anyhow::Result;
use clap::Parser;

use crate::cli::{CargoCli, ColorChoice, Command, GlobalOpts, ImportCmd};
use crate::commands;
use crate::errors::exit_codes;

/// Runs `cargo perf` with the process's arguments and returns the exit code.
pub fn main_impl() -> i32 {
    // The memory probe is this executable started by itself: it must do as little as it can
    // before it forks the workload, so it is told apart before anything else runs.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == crate::measure::probe::ARG)
    {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        return crate::measure::probe::probe_main(&args);
    }
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
    crate::interrupt::install();
    let result = dispatch(&args.global, args.command);
    if let Some(signal) = crate::interrupt::interrupted() {
        // Whatever the command was doing unwound: temporary folders are gone, locks released,
        // and the workload's process group was killed.
        eprintln!(
            "{}; nothing was stored",
            crate::interrupt::Interrupted(signal)
        );
        return crate::interrupt::exit_code(signal);
    }
    match result {
        Ok(code) => code,
        // A reader that closed the pipe (`cargo perf show | head -1`) wanted no more: that is
        // not an error, as with `git log | head`.
        Err(e) if is_broken_pipe(&e) => exit_codes::OK,
        // An empty shard of a CI matrix did what was asked: nothing.
        Err(e) if e.downcast_ref::<crate::errors::EmptyShard>().is_some() => {
            if !args.global.quiet {
                eprintln!("note: {e}");
            }
            exit_codes::OK
        }
        Err(e) => {
            let prefix = if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!(
                "{prefix}: {}",
                crate::report::escape::terminal(&error_message(&e))
            );
            exit_codes::TOOL_ERROR
        }
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text its error already
/// shows (an I/O error wrapped with its own message would read twice).
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
    let out = &mut std::io::stdout().lock();
    match command {
        Command::List(args) => commands::list(global, args, out),
        Command::Run(args) => commands::run(global, args, out),
        Command::Record(args) => commands::record(global, args, out),
        Command::History(args) => commands::history(global, args, out),
        Command::Show(args) => commands::show(global, args, out),
        Command::Sync(args) => commands::sync(global, args, out),
        Command::Check(args) => commands::check(global, args, out),
        Command::Compare(args) => commands::compare(global, args, out),
        Command::Bisect(args) => commands::bisect(global, args, out),
        Command::Calibrate(args) => commands::calibrate(global, args, out),
        Command::Init(args) => commands::init(global, args, out),
        Command::Report(args) => commands::report(global, args, out),
        Command::Export(args) => commands::export(global, args, out),
        Command::Accept(args) => commands::accept(global, args, out),
        Command::Import(ImportCmd::Criterion(args)) => {
            commands::import_criterion(global, args, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_shows_each_cause_once() {
        let io = std::io::Error::from_raw_os_error(libc::EROFS);
        let shown = io.to_string();
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::EROFS))
            .context(format!("/x/y: {shown}"))
            .context("the store dir:/x cannot be written");
        assert_eq!(
            error_message(&e),
            format!("the store dir:/x cannot be written: /x/y: {shown}")
        );
        let broken = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the table");
        assert!(is_broken_pipe(&broken));
        assert!(!is_broken_pipe(&e));
    }
}
