//! `cargo perf export --format openmetrics [--push URL]`.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::cli::{ExportArgs, GlobalOpts, MachineFilter};
use crate::errors::exit_codes;
use crate::report::openmetrics::{Dialect, Latest, render};
use crate::services::load::{open_store, print_warnings};
use crate::services::push::{parse_http_url, push};
use crate::store::{Record, Repo, load_last_checks, parse_lines, points, short};
use crate::workspace::Workspace;

pub fn export(global: &GlobalOpts, args: ExportArgs, out: &mut dyn Write) -> Result<i32> {
    // A bad URL is an error before anything is read.
    if let Some(url) = &args.push {
        parse_http_url(url)?;
    }
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let manifest = crate::services::load::manifest(&ws)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), manifest.as_ref())?;
    let head = repo.resolve("HEAD")?;
    let this = crate::services::load::machine(global, &ws, manifest.as_ref())?.key;
    let keep = |key: &str| match &args.machine {
        MachineFilter::This => key == this,
        MachineFilter::Any => true,
        MachineFilter::Key(k) => key == k,
    };

    // The newest record of each (workload, machine) along HEAD's first parents, found through
    // the history index; only the notes that hold one are then read whole.
    let keys = store.content_keys()?;
    let walk = repo.first_parent(&head, usize::MAX)?;
    let (mut by_key, mut warnings) = points(store.as_ref(), &keys, &walk, "")?;
    let mut newest: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for commit in &walk {
        let Some(found) = keys.get(commit).and_then(|k| by_key.remove(k)) else {
            continue;
        };
        // Later lines of a note are later records.
        for p in found.into_iter().rev().filter(|p| keep(&p.machine)) {
            let key = (p.workload.to_string(), p.machine.to_string());
            if !newest.contains_key(&key) {
                newest.insert(key.clone(), (commit.clone(), p.run_id.to_string()));
                order.push(key);
            }
        }
    }
    let mut records: HashMap<String, Vec<Record>> = HashMap::new();
    let commits: HashSet<&String> = newest.values().map(|(c, _)| c).collect();
    for commit in commits {
        let Some(text) = store.read_text(commit)? else {
            continue;
        };
        let location = format!("{} of commit {}", store.describe(), short(commit));
        records.insert(
            commit.clone(),
            parse_lines(&text, commit, &location, &mut warnings)?,
        );
    }
    let mut latest = Vec::new();
    for key in &order {
        let (commit, run_id) = &newest[key];
        let found = records.get(commit).and_then(|rs| {
            let r = rs.iter().find(|r| &r.run_id == run_id)?;
            let w = r.workloads.iter().find(|w| w.name == key.0)?;
            Some((r, w))
        });
        if let Some((r, w)) = found {
            latest.push(Latest {
                machine: r.machine.key.clone(),
                commit: r.commit.clone(),
                time_unix: r.time_unix,
                workload: w.clone(),
            });
        }
    }
    let (checks, warning) = load_last_checks(&repo);
    warnings.extend(warning);
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);
    let checks: Vec<_> = checks
        .machines
        .into_iter()
        .filter(|(machine, _)| keep(machine))
        .collect();

    if latest.is_empty() && checks.is_empty() {
        let what = format!(
            "no records along the first-parent history of {} in {}{} and no check's verdicts",
            short(&head),
            store.describe(),
            match &args.machine {
                MachineFilter::This => format!(" from this machine (key {this})"),
                MachineFilter::Any => String::new(),
                MachineFilter::Key(k) => format!(" from machine {k}"),
            }
        );
        if args.push.is_some() {
            // An empty PUT would wipe what the gateway holds for the job.
            bail!("{what}; nothing was pushed. Store some with `cargo perf record` first");
        }
        if !global.quiet {
            eprintln!("warning: {what}; store some with `cargo perf record`");
        }
    }

    if let Some(url) = &args.push {
        let body = render(&latest, &checks, Dialect::Prometheus);
        let target = push(url, &args.job, &args.grouping, &body)?;
        if !global.quiet {
            eprintln!(
                "pushed the figures of {} workload record(s) and {} check(s) to {target}",
                latest.len(),
                checks.len()
            );
        }
    }
    let text = render(&latest, &checks, Dialect::OpenMetrics);
    match (&args.output, &args.push) {
        (Some(path), _) => std::fs::write(path, text).with_context(|| {
            format!(
                "the metrics cannot be written to {}; give -o a path in a folder you can write \
                 to",
                path.display()
            )
        })?,
        (None, None) => out.write_all(text.as_bytes())?,
        (None, Some(_)) => {}
    }
    Ok(exit_codes::OK)
}
