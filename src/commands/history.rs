//! `cargo perf history [WORKLOAD]`.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;

use crate::cli::{GlobalOpts, HistoryArgs, MachineFilter, MessageFormat};
use crate::errors::exit_codes;
use crate::report::{HistoryOutput, HistoryPoint, Human, Json};
use crate::services::load::{open_store, print_warnings};
use crate::store::{Machine, Repo, points, short};
use crate::workspace::Workspace;

pub fn history(global: &GlobalOpts, args: HistoryArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), None)?;
    let from = repo.resolve(args.from.as_deref().unwrap_or("HEAD"))?;
    let machine = Machine::current();
    let keep = |key: &str| match &args.machine {
        MachineFilter::This => key == machine.key,
        MachineFilter::Any => true,
        MachineFilter::Key(k) => key == k,
    };
    let filter = args.workload.as_deref().unwrap_or("");

    let keys = store.content_keys()?;
    let walk = repo.first_parent(&from, usize::MAX)?;
    let (mut by_key, warnings) = points(store.as_ref(), &keys, &walk, filter)?;
    let mut warnings = warnings;
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);
    let mut out_points = Vec::new();
    let mut commits_shown = 0;
    for commit in walk {
        // `-n 0` shows nothing, as `git log -n 0` does.
        if args.max_count.is_some_and(|n| commits_shown >= n) {
            break;
        }
        let Some(found) = keys.get(&commit).and_then(|k| by_key.remove(k)) else {
            continue;
        };
        let before = out_points.len();
        let subject = repo.subject(&commit);
        // Newest first: later lines of a note are later records.
        for point in found.into_iter().rev().filter(|p| keep(&p.machine)) {
            out_points.push(HistoryPoint {
                commit: commit.clone(),
                subject: subject.clone(),
                point,
                change: None,
            });
        }
        if out_points.len() > before {
            commits_shown += 1;
        }
    }
    let mut points = out_points;
    set_changes(&mut points);
    if args.max_count == Some(0) {
        return Ok(exit_codes::OK);
    }

    if points.is_empty() && global.message_format == MessageFormat::Human {
        let whose = match &args.machine {
            MachineFilter::This => format!(" on this machine (key {})", machine.key),
            MachineFilter::Any => String::new(),
            MachineFilter::Key(k) => format!(" on machine {k}"),
        };
        eprintln!(
            "no records{whose} along the first-parent history of {}{}; store some with \
             `cargo perf record`{}",
            short(&from),
            if filter.is_empty() {
                String::new()
            } else {
                format!(" for `{filter}`")
            },
            if args.machine == MachineFilter::This {
                ", or pass --machine any"
            } else {
                ""
            }
        );
        return Ok(exit_codes::OK);
    }
    let output: &dyn HistoryOutput = match global.message_format {
        MessageFormat::Human => &Human,
        MessageFormat::Json => &Json,
    };
    output.history(&points, args.machine == MachineFilter::Any, out)?;
    Ok(exit_codes::OK)
}

/// The change of each point's median wall time from the previous (older) point of the same
/// workload on the same machine. Points are newest first.
fn set_changes(points: &mut [HistoryPoint]) {
    let mut previous: HashMap<(String, String), f64> = HashMap::new();
    for p in points.iter_mut().rev() {
        let Some(median) = p.point.median_ns else {
            continue;
        };
        let key = (p.point.workload.clone(), p.point.machine.clone());
        if let Some(&before) = previous.get(&key)
            && before > 0.0
        {
            p.change = Some(median / before - 1.0);
        }
        previous.insert(key, median);
    }
}
