//! Saving a record: where it goes (checked before anything is measured), the record itself, and
//! the store's index kept current.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::json;

use super::load::open_store;
use crate::cli::{GlobalOpts, MessageFormat, SaveArgs};
use crate::config::Config;
use crate::errors::StoreError;
use crate::pipeline::{LoadResult, WorkloadResult};
use crate::report::JSON_SCHEMA_VERSION;
use crate::store::{Machine, RECORD_SCHEMA, Record, Repo, Store, WorkloadRecord, refresh, rfc3339};
use crate::workspace::Workspace;

/// Where a record will go, checked before anything is measured.
pub struct SaveTarget {
    pub(super) store: Box<dyn Store>,
    commit: String,
    dirty: bool,
}

pub fn prepare_save(ws: &Workspace, config: &Config, args: &SaveArgs) -> Result<SaveTarget> {
    let repo = Repo::discover(&ws.root)?;
    let commit = repo.head()?;
    let dirty = repo.is_dirty()?;
    if dirty && !args.allow_dirty {
        return Err(StoreError::Dirty.into());
    }
    let store = open_store(&repo, ws, args.store.store.as_ref(), Some(config))?;
    store
        .check_writable()
        .with_context(|| format!("the store {} cannot be written", store.describe()))?;
    Ok(SaveTarget {
        store,
        commit,
        dirty,
    })
}

/// Appends `record` to the store, indexes it, and with JSON output prints its `record-stored`
/// object (with the fields of `extra` added). Returns where it went, for people.
pub fn store_record(
    global: &GlobalOpts,
    target: &SaveTarget,
    record: &Record,
    extra: serde_json::Value,
    out: &mut dyn Write,
) -> Result<String> {
    target.store.append(record)?;
    // Keeps `history` fast: only the note just written needs indexing. The record is stored
    // whatever happens here, so a failure is only a warning.
    if let Err(e) = refresh(target.store.as_ref(), std::slice::from_ref(&record.commit)) {
        eprintln!("warning: updating the history index: {e}");
    }
    super::load::print_warnings(&target.store.take_warnings());
    let where_ = target.store.describe();
    if global.message_format == MessageFormat::Json {
        let mut line = json!({"reason": "record-stored", "schema": JSON_SCHEMA_VERSION,
                              "run_id": record.run_id, "commit": record.commit,
                              "dirty": record.dirty, "store": where_});
        if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
            line.extend(extra.clone());
        }
        writeln!(out, "{line}")?;
    }
    Ok(where_)
}

pub fn new_record(
    config: &Config,
    target: &SaveTarget,
    results: &[WorkloadResult],
    loads: &[LoadResult],
    run_id: String,
    machine: Machine,
) -> Record {
    let time_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut workloads: Vec<WorkloadRecord> = results
        .iter()
        .map(Into::into)
        .chain(loads.iter().map(Into::into))
        .collect();
    // Each group's fit from every sample, which history and the report cannot redo from the
    // index's medians.
    for g in crate::pipeline::growth::fit_groups(results) {
        for w in &mut workloads {
            if let Some(growth) = w.growth.as_mut().filter(|s| s.group == g.group) {
                growth.fit = Some(crate::store::StoredFit {
                    exponent: g.exponent,
                    lower: g.ci.lower,
                    upper: g.ci.upper,
                });
            }
        }
    }
    Record {
        schema: RECORD_SCHEMA,
        run_id,
        commit: target.commit.clone(),
        dirty: target.dirty,
        time_unix,
        time: rfc3339(time_unix),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        rustc: rustc_version(),
        machine,
        partition: None,
        manifest_hash: config.manifest_hash.clone(),
        valgrind: results
            .iter()
            .any(|r| r.counts.is_some())
            .then(|| crate::measure::valgrind::version().ok())
            .flatten(),
        workloads,
    }
}

/// `rustc -V` of the toolchain cargo uses (`RUSTC` when set).
pub fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
