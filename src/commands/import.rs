//! `cargo perf import criterion`: criterion's saved results as a record for HEAD.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::json;

use crate::cli::{GlobalOpts, ImportCriterionArgs, MessageFormat, SamplingArgs};
use crate::discover::Workload;
use crate::errors::exit_codes;
use crate::measure::criterion::{baselines_in, read_baseline};
use crate::pipeline::evaluate_criterion;
use crate::report::{Progress, ProgressMode};
use crate::services::load::load;
use crate::services::save::{new_record, prepare_save, store_record};
use crate::store::short;

pub fn import_criterion(
    global: &GlobalOpts,
    args: ImportCriterionArgs,
    out: &mut dyn Write,
) -> Result<i32> {
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    let (ws, config, workloads) = load(
        global,
        &SamplingArgs::default(),
        &args.packages,
        &mut progress,
    )?;
    let dir = match (&args.dir, std::env::var_os("CRITERION_HOME")) {
        (Some(d), _) => std::env::current_dir()?.join(d),
        (None, Some(home)) if !home.is_empty() => PathBuf::from(home),
        _ => ws.target_dir.join("criterion"),
    };
    if !dir.is_dir() {
        bail!(
            "{} does not exist: there are no criterion results to import; run `cargo bench` first, \
             or pass --dir",
            dir.display()
        );
    }
    let saved = read_baseline(&dir, &args.baseline)?;
    if saved.is_empty() {
        let found = baselines_in(&dir);
        bail!(
            "{} has no benchmark saved as the baseline `{}`; {}",
            dir.display(),
            args.baseline,
            if found.is_empty() {
                "it has no criterion results at all: run `cargo bench` first".to_owned()
            } else {
                format!(
                    "the baselines there are: {} (pass one with --baseline)",
                    found.join(", ")
                )
            }
        );
    }
    // Criterion does not save which bench target a result came from: the ids the targets list
    // now tell.
    let mut by_id: BTreeMap<&str, &Workload> = BTreeMap::new();
    for w in &workloads {
        if let Some(c) = w.criterion() {
            by_id.entry(c.full_id.as_str()).or_insert(w);
        }
    }
    let mut results = Vec::new();
    for (id, sample) in saved {
        match by_id.get(id.as_str()) {
            Some(w) => results.push(evaluate_criterion((*w).clone(), Ok(sample))),
            None => eprintln!(
                "warning: skipping `{id}`: no bench target of the workspace lists it now (or \
                 [criterion] include/exclude leaves it out)"
            ),
        }
    }
    if results.is_empty() {
        bail!(
            "none of the benchmarks saved in {} is listed by a bench target of this workspace; \
             nothing was stored",
            dir.display()
        );
    }
    // Checked last: nothing above writes, and a bad argument must not create the store.
    let target = prepare_save(&ws, &config, &args.save)?;
    let record = new_record(
        &config,
        &target,
        &results,
        &[],
        format!("{:016x}", fastrand::u64(..)),
        crate::services::load::machine(global, &ws, Some(&config))?,
    );
    let where_ = store_record(
        global,
        &target,
        &record,
        json!({"imported": results.len()}),
        out,
    )?;
    if global.message_format == MessageFormat::Human {
        writeln!(
            out,
            "Imported {} criterion benchmarks from {} (baseline `{}`) as record {} for commit {}{} \
             in {where_}",
            results.len(),
            dir.display(),
            args.baseline,
            record.run_id,
            short(&record.commit),
            if record.dirty { " (dirty)" } else { "" }
        )?;
    }
    Ok(exit_codes::OK)
}
