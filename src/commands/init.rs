//! `cargo perf init`: a commented perf.toml and a GitHub Actions workflow.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalOpts, InitArgs};
use crate::config::MANIFEST_NAME;
use crate::errors::exit_codes;
use crate::workspace::Workspace;

const PERF_TOML: &str = include_str!("../../templates/perf.toml");
const WORKFLOW: &str = include_str!("../../templates/github-workflow.yml");
const SHARDED_WORKFLOW: &str = include_str!("../../templates/github-workflow-sharded.yml");

/// The workflow for `shards` jobs (one job without).
fn workflow(shards: Option<u32>) -> String {
    let text = match shards {
        None => WORKFLOW.to_owned(),
        Some(n) => {
            let list: Vec<String> = (1..=n).map(|k| k.to_string()).collect();
            SHARDED_WORKFLOW
                .replace("@SHARDS@", &n.to_string())
                .replace("@SHARD_LIST@", &list.join(", "))
        }
    };
    text.replace("@VERSION@", env!("CARGO_PKG_VERSION"))
}

pub fn init(global: &GlobalOpts, args: InitArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let manifest = ws.root.join(MANIFEST_NAME);
    let workflow = ws.root.join(".github/workflows/perf.yml");
    for path in [&manifest, &workflow] {
        if path.exists() {
            bail!(
                "{} already exists; cargo perf init does not overwrite files: edit it, or move it \
                 away and run init again",
                path.display()
            );
        }
    }
    let bin = ws.bins.keys().next().map_or("your-binary", String::as_str);
    std::fs::write(&manifest, PERF_TOML.replace("@BIN@", bin))
        .with_context(|| format!("writing {}", manifest.display()))?;
    if let Some(dir) = workflow.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&workflow, self::workflow(args.shards))
        .with_context(|| format!("writing {}", workflow.display()))?;
    writeln!(
        out,
        "Wrote {} and {}.\nNext: edit the workloads, then `cargo perf list` and `cargo perf run`.",
        manifest.display(),
        workflow.display()
    )?;
    Ok(exit_codes::OK)
}
