//! `cargo perf show REV`.

use std::io::Write;

use anyhow::{Result, bail};

use super::{open_store, print_warnings};
use crate::cli::{GlobalOpts, MachineFilter, MessageFormat, ShowArgs};
use crate::errors::exit_codes;
use crate::report::record_text;
use crate::store::{Machine, Record, Repo, parse_lines, short};
use crate::workspace::Workspace;

pub fn show(global: &GlobalOpts, args: ShowArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), None)?;
    let commit = repo.resolve(&args.rev)?;
    let machine = Machine::current();
    let keep = |r: &Record| match &args.machine {
        MachineFilter::This => r.machine.key == machine.key,
        MachineFilter::Any => true,
        MachineFilter::Key(k) => &r.machine.key == k,
    };

    let candidates = if args.nearest {
        let with_records = store.commits()?;
        repo.first_parent(&commit, usize::MAX)?
            .into_iter()
            .filter(|c| with_records.contains(c))
            .collect()
    } else {
        vec![commit.clone()]
    };
    let mut warnings = Vec::new();
    for candidate in candidates {
        let Some(text) = store.read_text(&candidate)? else {
            continue;
        };
        let location = format!("{} of commit {}", store.describe(), short(&candidate));
        let records: Vec<Record> = parse_lines(&text, &candidate, &location, &mut warnings)?;
        let records: Vec<Record> = records.into_iter().filter(keep).collect();
        warnings.extend(store.take_warnings());
        if records.is_empty() {
            continue;
        }
        print_warnings(&warnings);
        let subject = repo.subject(&candidate);
        for r in &records {
            match global.message_format {
                MessageFormat::Human => writeln!(out, "{}", record_text(r, &subject))?,
                MessageFormat::Json => writeln!(out, "{}", r.to_line())?,
            }
        }
        return Ok(exit_codes::OK);
    }
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);
    let whose = match &args.machine {
        MachineFilter::This => " from this machine",
        _ => "",
    };
    let hint = if args.nearest {
        ""
    } else {
        ", or pass --nearest for its nearest ancestor that has one"
    };
    bail!(
        "no records{whose} for `{}` ({}) in {}; run `cargo perf record` on that commit{hint}",
        args.rev,
        short(&commit),
        store.describe()
    )
}
