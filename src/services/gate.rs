//! Reporting a gate's results: the chosen format on standard output, the JUnit report, the job
//! summary and GitHub annotations, and the exit code (`check`, `compare`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{GlobalOpts, MessageFormat, ReportFormat};
use crate::errors::exit_codes;
use crate::gate::{GateResult, GateTiming, SideBinaries};
use crate::report::{CheckReport, GateOutput, Human, Json, Markdown, github_annotations, junit};
use crate::vocab::Acceptance;

/// Where a check's report goes besides standard output, opened before anything is measured so
/// that an unwritable path is an error (exit 2) then, not after minutes of measuring.
pub struct Outputs {
    junit: Option<(PathBuf, std::fs::File)>,
    summary: Option<(String, std::fs::File)>,
}

impl Outputs {
    /// Opens `--junit PATH` (without emptying it yet) and `$GITHUB_STEP_SUMMARY` (to append).
    pub fn open(output: &crate::cli::GateOutput) -> Result<Self> {
        let junit = match &output.junit {
            Some(path) => Some((
                path.clone(),
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .with_context(|| {
                        format!(
                            "the JUnit report cannot be written to {}; give --junit a path in a \
                             folder you can write to",
                            path.display()
                        )
                    })?,
            )),
            None => None,
        };
        let summary = match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            Some(path) => {
                let shown = path.to_string_lossy().into_owned();
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| {
                        format!(
                            "$GITHUB_STEP_SUMMARY ({shown}) cannot be opened to append the \
                             report; unset it or point it at a writable file"
                        )
                    })?;
                Some((shown, file))
            }
            None => None,
        };
        Ok(Outputs { junit, summary })
    }
}

/// Prints the report in the chosen format (`timing` and `binaries`, each side's executables,
/// are `None` for stored comparisons), writes
/// the JUnit report, the job summary and GitHub annotations, and returns the exit code.
/// `acceptances` (newest first) turn the regressions and budget breaches they cover into
/// `accepted`; one that names no workload of the results is warned about.
#[allow(clippy::too_many_arguments)]
pub fn report(
    global: &GlobalOpts,
    output: &crate::cli::GateOutput,
    outputs: Outputs,
    title: &str,
    base: String,
    candidate: String,
    timing: Option<GateTiming>,
    binaries: Option<SideBinaries>,
    mut results: Vec<GateResult>,
    acceptances: &[Acceptance],
    out: &mut dyn Write,
) -> Result<i32> {
    let unused = crate::gate::apply_acceptances(&mut results, acceptances);
    if !global.quiet {
        for a in unused {
            eprintln!(
                "warning: {}",
                crate::report::escape::terminal(&format!(
                    "the acceptance `{}` of {} ({}) names no workload of this comparison",
                    a.pattern,
                    crate::store::short(&a.commit),
                    a.reason
                ))
            );
        }
    }
    // Growth is judged on paired rounds: not on stored records.
    let growth = if timing.is_some() {
        crate::gate::growth_findings(&results)
    } else {
        Vec::new()
    };
    let exit_code = if results.iter().any(|r| r.fails(output.strict))
        || growth
            .iter()
            .any(|g| g.verdict == crate::gate::GrowthVerdict::Raised)
    {
        exit_codes::GATE_FAILED
    } else {
        exit_codes::OK
    };
    let report = CheckReport {
        title: title.into(),
        base,
        candidate,
        stored: timing.is_none(),
        timing,
        binaries,
        results,
        growth,
        strict: output.strict,
        exit_code,
    };
    let rendering: &dyn GateOutput = match (global.message_format, output.format) {
        (MessageFormat::Json, _) => &Json,
        (_, ReportFormat::Markdown) => &Markdown,
        (_, ReportFormat::Table) => &Human,
    };
    rendering.gate(&report, out)?;
    if let Some((path, mut file)) = outputs.junit {
        let xml = junit(&report);
        file.set_len(0)
            .and_then(|()| file.write_all(xml.as_bytes()))
            .with_context(|| format!("writing the JUnit report to {}", path.display()))?;
    }
    // Workflow commands go to standard error: standard output may be the Markdown a later step
    // posts as a comment.
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        eprint!("{}", github_annotations(&report));
    }
    if let Some((shown, mut file)) = outputs.summary {
        let mut text = Vec::new();
        Markdown.gate(&report, &mut text)?;
        text.push(b'\n');
        file.write_all(&text)
            .with_context(|| format!("appending to $GITHUB_STEP_SUMMARY ({shown})"))?;
    }
    Ok(report.exit_code)
}
