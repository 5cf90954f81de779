//! `cargo perf calibrate`: each command workload's noise on this machine, and the settings
//! that suit it.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::{CalibrateArgs, GlobalOpts, MessageFormat, SamplingArgs};
use crate::config::Sampling;
use crate::config::edit::set_workload_keys;
use crate::errors::exit_codes;
use crate::gate::calibrate::{Calibration, calibrate as calibrate_one};
use crate::pipeline::{Observer, Unit, command_spec};
use crate::report::{JSON_SCHEMA_VERSION, Progress, ProgressMode};
use crate::services::calibration::{self, Calibrated};
use crate::services::load::{Build, build_bins, load_commands, select};
use crate::store::{Repo, rfc3339};
use crate::vocab::Metric;
use crate::vocab::units::{format_duration, format_ns};

pub fn calibrate(global: &GlobalOpts, args: CalibrateArgs, out: &mut dyn Write) -> Result<i32> {
    let (ws, config, mut workloads) =
        load_commands(global, &SamplingArgs::default(), &args.packages)?;
    workloads.retain(|w| w.command().is_some());
    if workloads.is_empty() {
        bail!(
            "{}: no command workloads to calibrate (criterion benchmarks and load workloads are \
             not calibrated)",
            config.path.display()
        );
    }
    if let Some(filter) = &args.filter {
        select(&mut workloads, filter)?;
    }
    crate::services::load::partition(&mut workloads, args.partition)?;
    if args.time < Duration::from_millis(100) {
        bail!(
            "--time {} is too short to measure noise; give at least 1s",
            format_duration(args.time)
        );
    }
    let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
    build_bins(
        &ws,
        &mut workloads,
        &Build::of(global, None, None),
        &mut progress,
    )?;
    for w in &workloads {
        crate::services::verbose::workload(global, w, None);
    }
    let mut runner = crate::services::load::runner(global)?;
    let valgrind = crate::measure::valgrind::version().is_ok();
    let total = workloads.len();
    let mut found: Vec<(usize, Calibration)> = Vec::new();
    let mut failed = 0;
    for (i, w) in workloads.iter().enumerate() {
        let (Some(c), Some(spec)) = (w.command(), command_spec(w)) else {
            continue;
        };
        let sampling = Sampling {
            warmup: 1,
            min_runs: crate::measure::MIN_LOOK_ROUNDS as u32,
            max_runs: 100_000,
            time_cap: args.time,
            metric: w.sampling.metric,
        };
        progress.started(&w.name, i, total, sampling.min_runs as usize, Unit::Runs);
        let outcome = calibrate_one(
            runner.as_mut(),
            &w.name,
            &spec,
            &sampling,
            (
                w.sampling.time_cap.as_secs_f64(),
                w.threshold,
                w.sampling.max_runs,
            ),
            valgrind,
            &mut |d, e| progress.progressed(d, e),
        )?;
        match outcome {
            Ok(cal) => {
                progress.step_finished(&format!("{} rounds", cal.rounds));
                found.push((c.line, cal));
            }
            Err(why) => {
                failed += 1;
                progress.step_finished("not calibrated");
                eprintln!("warning: {} was not calibrated: {why}", w.name);
            }
        }
    }
    drop(progress);

    // Kept per machine, for check's warnings.
    let repo = Repo::discover(&ws.root).ok();
    if let Some(repo) = &repo {
        let mut all = calibration::load(repo);
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mine = all
            .machines
            .entry(crate::services::load::machine(global, &ws, Some(&config))?.key)
            .or_default();
        for (_, cal) in &found {
            let sigma = |m: Metric| cal.noise.iter().find(|n| n.metric == m).map(|n| n.sigma);
            mine.insert(
                cal.workload.clone(),
                Calibrated {
                    sigma_wall: sigma(Metric::Wall),
                    sigma_cpu: sigma(Metric::Cpu),
                    rounds: cal.rounds,
                    time: rfc3339(time),
                },
            );
        }
        calibration::save(repo, &all)?;
    }

    match global.message_format {
        MessageFormat::Json => {
            for (_, cal) in &found {
                let line = json!({"reason": "calibration", "schema": JSON_SCHEMA_VERSION,
                                  "calibration": cal});
                writeln!(out, "{line}")?;
            }
        }
        MessageFormat::Human => human(&found, out)?,
    }

    if args.write && !found.is_empty() {
        let text = std::fs::read_to_string(&config.path)
            .with_context(|| format!("reading {}", config.path.display()))?;
        // One proposal per `[[workload]]`: the most demanding of its fixtures'.
        let mut by_line: BTreeMap<usize, (Metric, f64, f64, Option<u32>)> = BTreeMap::new();
        for (line, cal) in &found {
            let e = by_line.entry(*line).or_insert((
                cal.metric,
                cal.time_cap_s,
                cal.threshold,
                cal.max_runs,
            ));
            if cal.metric == Metric::Instructions {
                e.0 = Metric::Instructions;
            }
            e.1 = e.1.max(cal.time_cap_s);
            e.2 = e.2.max(cal.threshold);
            e.3 = e.3.max(cal.max_runs);
        }
        let mut edited = text;
        // From the last workload up: a line added to one moves the lines of those below it.
        for (line, (metric, cap, threshold, max_runs)) in by_line.iter().rev() {
            let mut keys = vec![
                ("metric", format!("\"{}\"", metric.as_str())),
                (
                    "time_cap",
                    format!("\"{}\"", format_duration(Duration::from_secs_f64(*cap))),
                ),
                ("threshold", format!("\"{}%\"", threshold * 100.0)),
            ];
            if let Some(m) = max_runs {
                keys.push(("max_runs", m.to_string()));
            }
            edited = set_workload_keys(&edited, *line, &keys)
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.path.display()))?;
        }
        // What was written must load as before: a mistake here must not break the project.
        crate::config::resolve_text(
            &config.path,
            &config.root,
            &edited,
            &crate::config::SamplingOverrides::default(),
        )
        .map_err(|e| {
            anyhow::anyhow!("the edited perf.toml would not load ({e}); it was left alone")
        })?;
        std::fs::write(&config.path, edited)
            .with_context(|| format!("writing {}", config.path.display()))?;
        if !global.quiet {
            eprintln!(
                "Wrote metric, time_cap and threshold of {} into {}",
                crate::vocab::units::plural(by_line.len(), "workload"),
                config.path.display()
            );
        }
    }
    Ok(if failed > 0 {
        exit_codes::GATE_FAILED
    } else {
        exit_codes::OK
    })
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn secs(s: f64) -> String {
    format_ns(s * 1e9)
}

fn human(found: &[(usize, Calibration)], out: &mut dyn Write) -> Result<()> {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "workload",
        "rounds",
        "run",
        "metric",
        "noise",
        "finds now",
        "2% needs",
        "5% needs",
    ]);
    for (_, cal) in found {
        for n in &cal.noise {
            b.push_record([
                cal.workload.clone(),
                cal.rounds.to_string(),
                secs(cal.seconds_per_run),
                n.metric.as_str().to_owned(),
                pct(n.sigma),
                format!("≥ {}", pct(n.smallest_change)),
                secs(n.seconds_for_2pct),
                secs(n.seconds_for_5pct),
            ]);
        }
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp());
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "noise: how much the two runs of a round differ; finds now: the smallest change check \
         finds within the workload's time cap at its threshold; 2% and 5% need: time a side at \
         a 1% and a 2.5% threshold."
    )?;
    writeln!(out, "\nProposed:")?;
    for (_, cal) in found {
        writeln!(
            out,
            "  {}: metric = \"{}\", time_cap = \"{}\", threshold = \"{}%\"{} ({})",
            cal.workload,
            cal.metric.as_str(),
            format_duration(Duration::from_secs_f64(cal.time_cap_s)),
            cal.threshold * 100.0,
            cal.max_runs
                .map_or(String::new(), |m| format!(", max_runs = {m}")),
            cal.reason
        )?;
    }
    Ok(())
}
