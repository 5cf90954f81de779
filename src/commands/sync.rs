//! `cargo perf sync`.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::cli::{GlobalOpts, MessageFormat, SyncArgs};
use crate::errors::exit_codes;
use crate::report::JSON_SCHEMA_VERSION;
use crate::store::{ACCEPTED_REF, NOTES_REF, NotesStore, Repo, refresh};
use crate::vocab::units::plural;
use crate::workspace::Workspace;

pub fn sync(global: &GlobalOpts, args: SyncArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let store = NotesStore::new(&repo);
    let report = crate::store::sync(&repo, &store, &args.remote, args.attempts)?;
    let (acceptances_received, acceptances_pushed) =
        crate::store::sync_acceptances(&repo, &store, &args.remote, args.attempts)?;
    // Index what arrived now, so that the next `history` is fast.
    let order = match repo.head() {
        Ok(head) => repo.first_parent(&head, usize::MAX)?,
        Err(_) => Vec::new(),
    };
    if let Err(e) = refresh(&store, &order) {
        eprintln!("warning: updating the history index: {e}");
    }
    match global.message_format {
        MessageFormat::Human => {
            writeln!(
                out,
                "{NOTES_REF} with `{}`: received {} ({} merged), {}{}",
                report.remote,
                plural(report.records_received, "record"),
                plural(report.notes_merged, "note"),
                if report.pushed {
                    "pushed"
                } else {
                    "nothing to push"
                },
                match report.rejected_pushes {
                    0 => String::new(),
                    n => format!(
                        " ({} by others first: fetched, merged and pushed again)",
                        if n == 1 {
                            "once pushed".to_owned()
                        } else {
                            format!("{n} times pushed")
                        }
                    ),
                }
            )?;
            if acceptances_received > 0 || acceptances_pushed {
                writeln!(
                    out,
                    "{ACCEPTED_REF}: received {}, {}",
                    plural(acceptances_received, "acceptance"),
                    if acceptances_pushed {
                        "pushed"
                    } else {
                        "nothing to push"
                    }
                )?;
            }
        }
        MessageFormat::Json => writeln!(
            out,
            "{}",
            json!({"reason": "sync-finished", "schema": JSON_SCHEMA_VERSION, "remote": report.remote,
                   "records_received": report.records_received, "notes_merged": report.notes_merged,
                   "pushed": report.pushed, "rejected_pushes": report.rejected_pushes,
                   "acceptances_received": acceptances_received,
                   "acceptances_pushed": acceptances_pushed})
        )?,
    }
    Ok(exit_codes::OK)
}
