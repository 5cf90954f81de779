//! `cargo perf bisect WORKLOAD --good REV --bad REV`: the first commit on the first-parent path
//! where the workload regressed.

use std::io::Write;

use anyhow::Result;

use crate::cli::{BisectArgs, GlobalOpts, MessageFormat};
use crate::services::bisect::{Request, bisect as search};

pub fn bisect(global: &GlobalOpts, args: BisectArgs, out: &mut dyn Write) -> Result<i32> {
    let report = search(
        global,
        &Request {
            workload: &args.workload,
            good: &args.good,
            bad: &args.bad,
            threshold: args.threshold,
            sampling: &args.sampling,
            packages: &args.packages,
        },
    )?;
    match global.message_format {
        MessageFormat::Json => crate::report::bisect::json(&report, out)?,
        MessageFormat::Human => crate::report::bisect::human(&report, out)?,
    }
    Ok(report.exit_code)
}
