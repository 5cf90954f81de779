//! `cargo perf accept WORKLOAD... --reason TEXT`: marks a commit's change of some workloads as
//! intended, so that `check` shows them as `accepted` instead of failing.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::{AcceptArgs, GlobalOpts, MessageFormat, PackageArgs, SamplingArgs};
use crate::config::MANIFEST_NAME;
use crate::errors::exit_codes;
use crate::report::JSON_SCHEMA_VERSION;
use crate::services::load::{load_commands, open_store, print_warnings};
use crate::store::{Repo, Store, points, short};
use crate::vocab::{ACCEPTANCE_SCHEMA, Acceptance, AcceptanceSource, check_pattern};
use crate::workspace::Workspace;

/// How far back the stored records are read for workload names (criterion benchmarks and
/// workloads perf.toml no longer declares): commits on the first-parent path.
const RECENT_COMMITS: usize = 500;

pub fn accept(global: &GlobalOpts, args: AcceptArgs, out: &mut dyn Write) -> Result<i32> {
    let reason = args.reason.trim();
    if reason.is_empty() {
        bail!(
            "--reason is empty; say why the change is intended, e.g. --reason \"the parser now \
             builds its tables up front\""
        );
    }
    for pattern in &args.workloads {
        check_pattern(pattern).map_err(anyhow::Error::msg)?;
    }
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let commit = repo.resolve(&args.rev)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), None)?;
    let known = known_workloads(global, &ws, &repo, store.as_ref(), &commit)?;
    let mut matched = Vec::new();
    for pattern in &args.workloads {
        let names: Vec<&str> = known
            .iter()
            .map(String::as_str)
            .filter(|n| crate::vocab::pattern_matches(pattern, n))
            .collect();
        if names.is_empty() {
            bail!(
                "`{pattern}` matches no workload of {MANIFEST_NAME} or of the records stored along \
                 the history of {}{}; check the name (`cargo perf list`), or use a glob such as \
                 `{pattern}*`",
                short(&commit),
                if known.is_empty() {
                    String::from(" (there are none)")
                } else {
                    format!(
                        " (known: {})",
                        known
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ) + if known.len() > 10 { ", ..." } else { "" }
                }
            );
        }
        matched.push(names.join(", "));
    }
    let author = repo.identity().unwrap_or_else(|| "unknown".to_owned());
    let time_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut stored = Vec::new();
    for pattern in &args.workloads {
        let acceptance = Acceptance {
            schema: ACCEPTANCE_SCHEMA,
            id: format!("{:016x}", fastrand::u64(..)),
            commit: commit.clone(),
            pattern: pattern.clone(),
            reason: reason.to_owned(),
            author: author.clone(),
            time_unix,
            source: AcceptanceSource::Command,
        };
        store.add_acceptance(&acceptance).with_context(|| {
            format!("storing the acceptance in {}", store.describe_acceptances())
        })?;
        stored.push(acceptance);
    }
    print_warnings(&store.take_warnings());
    for (a, names) in stored.iter().zip(&matched) {
        match global.message_format {
            MessageFormat::Human => writeln!(
                out,
                "{}",
                crate::report::escape::terminal(&format!(
                    "accepted `{}` ({names}) at {} in {}: {}",
                    a.pattern,
                    short(&a.commit),
                    store.describe_acceptances(),
                    a.reason
                ))
            )?,
            MessageFormat::Json => writeln!(
                out,
                "{}",
                json!({"reason": "acceptance-stored", "schema": JSON_SCHEMA_VERSION,
                       "acceptance": a, "matches": names.split(", ").collect::<Vec<_>>(),
                       "store": store.describe_acceptances()})
            )?,
        }
    }
    Ok(exit_codes::OK)
}

/// The names of the workloads perf.toml declares (commands and loads; criterion benchmarks
/// would need a build) and of those in the records stored along the history of `commit`.
fn known_workloads(
    global: &GlobalOpts,
    ws: &Workspace,
    repo: &Repo,
    store: &dyn Store,
    commit: &str,
) -> Result<BTreeSet<String>> {
    let mut known = BTreeSet::new();
    if ws.root.join(MANIFEST_NAME).is_file() {
        let (_, _, workloads) =
            load_commands(global, &SamplingArgs::default(), &PackageArgs::default())?;
        known.extend(workloads.into_iter().map(|w| w.name));
    }
    let walk = repo.first_parent(commit, RECENT_COMMITS)?;
    let on_path: std::collections::HashSet<&String> = walk.iter().collect();
    let mut keys = store.content_keys()?;
    keys.retain(|c, _| on_path.contains(c));
    let (found, warnings) = points(store, &keys, &walk, "")?;
    print_warnings(&warnings);
    known.extend(
        found
            .into_values()
            .flatten()
            .map(|p| p.workload.to_string()),
    );
    Ok(known)
}
