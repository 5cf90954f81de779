//! Markdown: the PR comment of `check` (also what goes to `$GITHUB_STEP_SUMMARY`).

use std::io::{self, Write};

use super::check::{
    CheckReport, budget_cell, change_cell, failure_line, median_cells, metric_word, p_cell,
    undecided_line,
};

/// Markdown tables.
pub struct Markdown;

/// Table cells and lines may hold user text: it can neither break the table nor render as
/// markup, links, images or mentions.
fn cell(text: &str) -> String {
    super::escape::markdown(text)
}

impl super::GateOutput for Markdown {
    fn gate(&self, report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
        let undecided = report.undecided().len();
        let mark = if !report.passed() {
            "❌ failed".to_owned()
        } else if undecided > 0 {
            format!("⚠️ passed, {undecided} not decided")
        } else if report.nothing_compared() {
            "⚠️ passed, nothing compared".to_owned()
        } else {
            "✅ passed".to_owned()
        };
        writeln!(out, "## {}: {mark}\n", report.title)?;
        writeln!(
            out,
            "Base {} → candidate {}. {}.\n",
            cell(&report.base),
            cell(&report.candidate),
            report.counts()
        )?;
        if let Some(caveat) = report.stored_caveat() {
            writeln!(out, "> Stored comparison: {caveat}.\n")?;
        }
        writeln!(
            out,
            "| workload | metric | base | new | change (95% CI) | p | verdict | budget |\n\
             |---|---|--:|--:|--:|--:|---|---|"
        )?;
        for r in &report.results {
            let (base, new) = median_cells(r);
            let verdict = super::explain::verdict_cell(r);
            let verdict = if failure_line(r, report.strict).is_some() {
                format!("**{verdict}**")
            } else {
                verdict
            };
            writeln!(
                out,
                "| {} | {} | {base} | {new} | {} | {} | {verdict} | {} |",
                cell(&r.candidate.workload.name),
                metric_word(r),
                change_cell(r),
                p_cell(r),
                budget_cell(r)
            )?;
        }
        let failures: Vec<String> = report
            .results
            .iter()
            .filter_map(|r| failure_line(r, report.strict))
            .collect();
        if !failures.is_empty() {
            writeln!(out)?;
            for f in failures {
                writeln!(out, "- {}", cell(&f))?;
            }
        }
        let explained: Vec<String> = report
            .results
            .iter()
            .filter_map(super::explain::explanation_line)
            .collect();
        if !explained.is_empty() {
            writeln!(
                out,
                "\n**Explained** (each side's binary once under cachegrind):\n"
            )?;
            for line in explained {
                writeln!(out, "- {}", cell(&line))?;
            }
        }
        let accepted: Vec<String> = report
            .results
            .iter()
            .filter_map(super::check::accepted_line)
            .collect();
        if !accepted.is_empty() {
            writeln!(
                out,
                "\n**Accepted** (intended changes, not failing the gate):\n"
            )?;
            for line in accepted {
                writeln!(out, "- {}", cell(&line))?;
            }
        }
        if !report.growth.is_empty() {
            writeln!(out, "\n**Growth with fixture size** (time ~ n^k):\n")?;
            for g in &report.growth {
                let mark = if g.verdict == crate::gate::GrowthVerdict::Raised {
                    "❌ "
                } else {
                    ""
                };
                writeln!(out, "- {mark}{}", cell(&super::check::growth_line(g)))?;
            }
        }
        let undecided: Vec<String> = report.results.iter().filter_map(undecided_line).collect();
        if !undecided.is_empty() {
            writeln!(out, "\n**Not decided** (`--strict` fails on these):\n")?;
            for line in undecided {
                writeln!(out, "- {}", cell(&line))?;
            }
        }
        let notes: Vec<String> = super::check::grouped_notes(&report.results)
            .into_iter()
            .map(|(names, text)| format!("{names}: {text}"))
            .collect();
        if !notes.is_empty() {
            writeln!(out, "\n**Notes**\n")?;
            for n in notes {
                writeln!(out, "- {}", cell(&n))?;
            }
        }
        Ok(())
    }
}
