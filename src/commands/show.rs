//! `cargo perf show REV`.

use std::io::Write;

use anyhow::{Result, bail};

use crate::cli::{GlobalOpts, MachineFilter, MessageFormat, ShowArgs};
use crate::errors::exit_codes;
use crate::report::{Human, Json, RecordOutput};
use crate::services::load::{open_store, print_warnings};
use crate::store::{Record, Repo, parse_lines, short};
use crate::workspace::Workspace;

pub fn show(global: &GlobalOpts, args: ShowArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let manifest = crate::services::load::manifest(&ws)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), manifest.as_ref())?;
    let commit = repo.resolve(&args.rev)?;
    let machine = crate::services::load::machine(global, &ws, manifest.as_ref())?;
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
        let output: &dyn RecordOutput = match global.message_format {
            MessageFormat::Human => &Human,
            MessageFormat::Json => &Json,
        };
        match global.message_format {
            // The stored lines themselves.
            MessageFormat::Json => {
                for r in &records {
                    output.record(r, &subject, out)?;
                }
            }
            // One set per machine: the records of a CI matrix's shards (or of recording again)
            // together, each workload from the newest record that has it.
            MessageFormat::Human => {
                let order = crate::services::load::workload_order(&ws, manifest.as_ref());
                let mut machines: Vec<&str> = Vec::new();
                for r in &records {
                    if !machines.contains(&r.machine.key.as_str()) {
                        machines.push(&r.machine.key);
                    }
                }
                for key in machines {
                    let mine: Vec<Record> = records
                        .iter()
                        .filter(|r| r.machine.key == key)
                        .cloned()
                        .collect();
                    if let Some(mut set) = crate::store::merge_set(&mine) {
                        order.sort(&mut set.workloads, |w| &w.name);
                        output.record(&set, &subject, out)?;
                    }
                }
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
