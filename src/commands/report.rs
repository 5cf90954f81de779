//! `cargo perf report`: the release report between two revisions.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalOpts, MachineFilter, MessageFormat, ReportArgs, ReportFileFormat};
use crate::config::{self, Config, DEFAULT_THRESHOLD, MANIFEST_NAME, SamplingOverrides};
use crate::discover::CRITERION_PREFIX;
use crate::errors::exit_codes;
use crate::report::forge::commit_url_prefix;
use crate::report::release::{CommitInfo, Format, Input, build, render};
use crate::services::accepted::acceptances_of;
use crate::services::load::{open_store, print_warnings};
use crate::store::{Point, Record, Repo, Store, parse_lines, points, short};
use crate::vocab::load::LoadReport;
use crate::vocab::units::plural;
use crate::workspace::Workspace;

pub fn report(global: &GlobalOpts, args: ReportArgs, out: &mut dyn Write) -> Result<i32> {
    let format = match args.format {
        ReportFileFormat::Markdown if global.message_format == MessageFormat::Json => Format::Json,
        ReportFileFormat::Markdown => Format::Markdown,
        ReportFileFormat::Html => Format::Html,
        ReportFileFormat::Json => Format::Json,
    };
    if let Some(dir) = &args.templates {
        let name = match format {
            Format::Markdown => Some("report.md.j2"),
            Format::Html => Some("report.html.j2"),
            Format::Json => None,
        };
        if !dir.is_dir() {
            anyhow::bail!(
                "--templates {}: no such folder; give the folder that holds your report.md.j2 \
                 and/or report.html.j2 (copies of the ones in templates/ to start from)",
                dir.display()
            );
        }
        if let Some(name) = name.filter(|n| !dir.join(n).is_file())
            && !global.quiet
        {
            eprintln!(
                "note: {} has no {name}; the built-in one is used",
                dir.display()
            );
        }
    }
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let path = ws.root.join(MANIFEST_NAME);
    let config = path
        .is_file()
        .then(|| config::load(&path, &ws.root, &SamplingOverrides::default()))
        .transpose()?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), config.as_ref())?;
    if args.machine == Some(MachineFilter::Any) {
        bail!(
            "a report is for one machine: pass `--machine this` or a machine key (`cargo perf \
             history --machine any` shows the keys that have records)"
        );
    }

    let to = repo.resolve(&args.to)?;
    let history = repo.first_parent(&to, usize::MAX)?;
    let (from, from_rev) = match &args.from {
        Some(rev) => (repo.resolve(rev)?, rev.clone()),
        None => {
            // From the newest tag; when `to` is that tag, from the tag before it.
            let tag = match repo.latest_tag(&to)? {
                Some((name, commit)) if commit == to => match repo.parent(&to).ok() {
                    Some(parent) => repo.latest_tag(&parent)?,
                    None => Some((name, commit)),
                },
                other => other,
            };
            match tag {
                Some((name, commit)) => (commit, name),
                None => {
                    let root = history.last().cloned().unwrap_or_else(|| to.clone());
                    (
                        root.clone(),
                        format!("{} (first commit; no tag)", short(&root)),
                    )
                }
            }
        }
    };
    let Some(end) = history.iter().position(|c| *c == from) else {
        bail!(
            "{from_rev} ({}) is not on the first-parent history of {} ({}); pass a --from that is",
            short(&from),
            args.to,
            short(&to)
        );
    };
    let mut walk = history;
    walk.truncate(end + 1);

    let keys = store.content_keys()?;
    let on_path: HashMap<String, String> = walk
        .iter()
        .filter_map(|c| keys.get(c).map(|k| (c.clone(), k.clone())))
        .collect();
    let (by_key, warnings) = points(store.as_ref(), &on_path, &walk, "")?;
    let mut warnings = warnings;
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);

    // Oldest first.
    walk.reverse();
    let mut found = Vec::with_capacity(by_key.values().map(Vec::len).sum());
    for (i, commit) in walk.iter().enumerate() {
        if let Some(ps) = on_path.get(commit).and_then(|k| by_key.get(k)) {
            found.extend(ps.iter().map(|p| (i, p)));
        }
    }
    let this = crate::services::load::machine(global, &ws, config.as_ref())?.key;
    let mut per_machine: BTreeMap<&str, std::collections::BTreeSet<usize>> = BTreeMap::new();
    let mut last: Option<(&str, usize)> = None;
    for &(i, p) in &found {
        // A commit's points come together: its machine is counted once.
        if last != Some((&p.machine, i)) {
            per_machine.entry(&p.machine).or_default().insert(i);
            last = Some((&p.machine, i));
        }
    }
    let (machine, note) = match &args.machine {
        Some(MachineFilter::Key(k)) => (k.clone(), "chosen with --machine".to_owned()),
        Some(_) => (this.clone(), "this machine".to_owned()),
        None if per_machine.contains_key(this.as_str()) || per_machine.is_empty() => {
            (this.clone(), "this machine".to_owned())
        }
        None => {
            let (key, commits) = per_machine
                .iter()
                .max_by_key(|(_, c)| c.len())
                .map(|(k, c)| (k.to_string(), c.len()))
                .unwrap_or_default();
            (
                key,
                format!(
                    "the machine with the most records here ({}); this machine \
                     ({this}) has none",
                    plural(commits, "commit")
                ),
            )
        }
    };
    found.retain(|(_, p)| *p.machine == *machine);
    if found.is_empty() {
        let others: Vec<&str> = per_machine.keys().copied().collect();
        bail!(
            "no records of machine {machine} on the {} from {from_rev} ({}) to {} ({}); {}",
            plural(walk.len(), "commit"),
            short(&from),
            args.to,
            short(&to),
            if others.is_empty() {
                "store some with `cargo perf record` (or pass --store)".to_owned()
            } else {
                format!(
                    "machines with records there: {}; pass one with --machine",
                    others.join(", ")
                )
            }
        );
    }

    // One read of each commit on the path (10,000 for a long release); tags, abbreviations
    // and the remote only for the two ends.
    let commits: Vec<CommitInfo> = walk
        .iter()
        .map(|c| {
            let (subject, author, time_unix) = repo.summary(c);
            CommitInfo {
                id: c.clone(),
                short: short(c).to_owned(),
                subject,
                author,
                time_unix,
            }
        })
        .collect();
    let commit_url = repo.remote_url().and_then(|u| commit_url_prefix(&u));
    let loads = last_loads(store.as_ref(), &walk, &found)?;
    let threshold = |name: &str| threshold_of(config.as_ref(), name);
    let newest_first: Vec<String> = walk.iter().rev().cloned().collect();
    let index: HashMap<&str, usize> = walk
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut accepted: Vec<(usize, crate::vocab::Acceptance)> =
        acceptances_of(&repo, store.as_ref(), &newest_first)?
            .into_iter()
            .filter_map(|a| Some((*index.get(a.commit.as_str())?, a)))
            .collect();
    // Oldest first; within a commit, the order of acceptance.
    accepted.reverse();
    let report = build(Input {
        from_rev,
        to_rev: args.to.clone(),
        from_label: repo.label(&from),
        to_label: repo.label(&to),
        commit_url,
        commits,
        points: found,
        machine,
        machine_note: note,
        threshold: &threshold,
        loads,
        accepted,
        order: crate::services::load::workload_order(&ws, config.as_ref()),
    });
    let text = render(&report, format, args.templates.as_deref()).map_err(anyhow::Error::msg)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("writing the report to {}", path.display()))?;
            if !global.quiet {
                eprintln!(
                    "Wrote the report ({}, {}) to {}",
                    plural(report.workloads.len(), "workload"),
                    plural(report.commits, "commit"),
                    path.display()
                );
            }
        }
        None => out.write_all(text.as_bytes())?,
    }
    // Half a million points, and a report of as many, freed one by one would take a tenth of
    // a second; the process is ending.
    std::mem::forget(report);
    std::mem::forget(by_key);
    Ok(exit_codes::OK)
}

/// Per load workload, the full report of its last record among `found` (points with the index
/// of their commit in `walk`), read back from the store: `history`'s index keeps only the
/// summary.
fn last_loads(
    store: &dyn Store,
    walk: &[String],
    found: &[(usize, &Point)],
) -> Result<BTreeMap<String, (usize, LoadReport)>> {
    let mut last: BTreeMap<&str, (usize, &Point)> = BTreeMap::new();
    for (i, p) in found.iter().filter(|(_, p)| &*p.kind == "load") {
        // Later points of a commit are later records.
        if last.get(&*p.workload).is_none_or(|(j, _)| i >= j) {
            last.insert(&p.workload, (*i, p));
        }
    }
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    for (name, (i, point)) in last {
        let commit = &walk[i];
        let Some(text) = store.read_text(commit)? else {
            continue;
        };
        let location = format!("{} of commit {}", store.describe(), short(commit));
        let records: Vec<Record> = parse_lines(&text, commit, &location, &mut warnings)?;
        let report = records
            .into_iter()
            .filter(|r| *r.run_id == *point.run_id)
            .flat_map(|r| r.workloads)
            .find(|w| w.name == name)
            .and_then(|w| w.load);
        if let Some(report) = report {
            out.insert(name.to_owned(), (i, report));
        }
    }
    // A record that cannot be read leaves its workload's section out: say why.
    print_warnings(&warnings);
    Ok(out)
}

/// The practical threshold of a stored workload, from perf.toml: its `[[workload]]` (names
/// expanded per fixture start with it), `[criterion]`, or the default.
fn threshold_of(config: Option<&Config>, name: &str) -> f64 {
    let Some(config) = config else {
        return DEFAULT_THRESHOLD;
    };
    if name.starts_with(CRITERION_PREFIX) {
        return config.criterion.threshold_for(name);
    }
    config
        .workloads
        .iter()
        .find(|w| name == w.name || name.starts_with(&format!("{}/", w.name)))
        .map_or(config.threshold, |w| w.threshold)
}
