//! `cargo perf check`: the gate, the candidate (the working tree) against a base revision.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use crate::cli::{CheckArgs, GlobalOpts};
use crate::report::{Progress, ProgressMode};
use crate::services::accepted::acceptances_between;
use crate::services::gate::{Outputs, report};
use crate::services::load::{load_commands, open_store};
use crate::services::sides::{Explain, Selection, Side, Sides, measure_sides};
use crate::store::{LastCheck, Repo, save_last_check, short};

pub fn check(global: &GlobalOpts, args: CheckArgs, out: &mut dyn Write) -> Result<i32> {
    let started = Instant::now();
    let outputs = Outputs::open(&args.output)?;
    let (ws, config, workloads) = load_commands(global, &args.sampling, &args.packages)?;
    let repo = Repo::discover(&ws.root)?;
    let head = repo.head()?;
    let dirty = repo.is_dirty()?;
    let (base, base_label) = match &args.base {
        Some(rev) => repo.base_for(rev, &head)?,
        None if dirty => (head.clone(), format!("{} (HEAD)", short(&head))),
        None => {
            let parent = repo.parent(&head)?;
            (parent.clone(), format!("{} (HEAD~1)", short(&parent)))
        }
    };
    let candidate = if dirty {
        format!("working tree (HEAD {} with changes)", short(&head))
    } else {
        format!("{} (HEAD)", short(&head))
    };
    let base_commit = base.clone();
    // Read before measuring, so that an unreadable store stops the check now.
    let store = open_store(&repo, &ws, None, Some(&config))?;
    let acceptances = acceptances_between(&repo, store.as_ref(), &base, &head, dirty)?;
    let sides = Sides {
        base: Side::Commit(base),
        candidate: Side::WorkingTree,
    };
    let selection = Selection {
        filter: args.filter.clone(),
        partition: args.partition,
        threshold: args.output.threshold,
        packages: args.packages.clone(),
        stored_base: true,
        explain: if args.explain {
            Explain::All
        } else {
            Explain::Changes
        },
    };
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    let (results, mut timing, binaries) = measure_sides(
        global,
        &ws,
        &repo,
        &config,
        workloads,
        &sides,
        &selection,
        &mut progress,
    )?;
    timing.total_ns = started.elapsed().as_nanos() as u64;
    let machine = crate::services::load::machine(global, &ws, Some(&config))?.key;
    if !global.quiet {
        for w in crate::services::calibration::noise_warnings(&repo, &machine, &results) {
            eprintln!("warning: {w}");
        }
    }
    let mut verdicts = LastCheck::from_results(&head, dirty, &base_commit, 0, &results);
    let exit_code = report(
        global,
        &args.output,
        outputs,
        &match args.partition {
            Some(p) => format!("cargo perf check (shard {p})"),
            None => "cargo perf check".to_owned(),
        },
        base_label,
        candidate,
        Some(timing),
        Some(binaries),
        results,
        &acceptances,
        out,
    )?;
    // `cargo perf export` publishes these; a check whose verdicts cannot be kept still judged.
    verdicts.exit_code = exit_code;
    if let Err(e) = save_last_check(&repo, &machine, verdicts) {
        eprintln!("warning: the verdicts were not kept for `cargo perf export`: {e}");
    }
    Ok(exit_code)
}
