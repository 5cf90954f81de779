//! `cargo perf check`: the gate, the candidate (the working tree) against a base revision.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use crate::cli::{CheckArgs, GlobalOpts};
use crate::report::{Progress, ProgressMode};
use crate::services::accepted::acceptances_between;
use crate::services::gate::{Outputs, report};
use crate::services::load::{load_commands, open_store};
use crate::services::sides::{Selection, Side, Sides, measure_sides};
use crate::store::{Repo, short};

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
    // Read before measuring, so that an unreadable store stops the check now.
    let store = open_store(&repo, &ws, None, Some(&config))?;
    let acceptances = acceptances_between(&repo, store.as_ref(), &base, &head, dirty)?;
    let sides = Sides {
        base: Side::Commit(base),
        candidate: Side::WorkingTree,
    };
    let selection = Selection {
        filter: args.filter.clone(),
        threshold: args.output.threshold,
        packages: args.packages.clone(),
        stored_base: true,
    };
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    let (results, mut timing) = measure_sides(
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
    if !global.quiet {
        let machine = crate::store::Machine::current().key;
        for w in crate::services::calibration::noise_warnings(&repo, &machine, &results) {
            eprintln!("warning: {w}");
        }
    }
    report(
        global,
        &args.output,
        outputs,
        "cargo perf check",
        base_label,
        candidate,
        Some(timing),
        results,
        &acceptances,
        out,
    )
}
