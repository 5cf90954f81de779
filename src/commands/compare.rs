//! `cargo perf compare A [B]`: from stored records (indicative), or measured now.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::{CompareArgs, GlobalOpts};
use crate::config::Sampling;
use crate::discover::Workload;
use crate::gate::{GateResult, GateVerdict, apply_verdicts};
use crate::measure::Measured;
use crate::pipeline::evaluate;
use crate::report::{Progress, ProgressMode};
use crate::services::accepted::acceptances_between;
use crate::services::gate::{Outputs, report};
use crate::services::load::{load_commands, open_store, print_warnings};
use crate::services::sides::{Explain, Selection, Side, Sides, measure_sides};
use crate::stats::{compare as compare_samples, compare_exact};
use crate::store::{Machine, Record, Repo, Store, WorkloadRecord, parse_lines, short};
use crate::vocab::Sample;
use crate::workspace::Workspace;

pub fn compare(global: &GlobalOpts, args: CompareArgs, out: &mut dyn Write) -> Result<i32> {
    let outputs = Outputs::open(&args.output)?;
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let a = repo.resolve(&args.a)?;
    let b_rev = args.b.as_deref().unwrap_or("HEAD");
    let b = repo.resolve(b_rev)?;
    let (a_label, b_label) = (
        format!("{} ({})", short(&a), args.a),
        format!("{} ({b_rev})", short(&b)),
    );
    if args.measure {
        let started = std::time::Instant::now();
        let (ws, config, workloads) = load_commands(global, &args.sampling, &args.packages)?;
        let store = open_store(&repo, &ws, args.store.store.as_ref(), Some(&config))?;
        let acceptances = acceptances_between(&repo, store.as_ref(), &a, &b, false)?;
        let candidate = if b == repo.head()? && !repo.is_dirty()? {
            Side::WorkingTree
        } else {
            Side::Commit(b)
        };
        let sides = Sides {
            base: Side::Commit(a),
            candidate,
        };
        let selection = Selection {
            partition: None,
            filter: args.filter.clone(),
            threshold: args.output.threshold,
            packages: args.packages.clone(),
            stored_base: false,
            explain: if args.explain {
                Explain::All
            } else {
                Explain::Changes
            },
        };
        let mut progress = Progress::new(ProgressMode::for_stderr(global.quiet));
        let (results, mut timing, binaries) = measure_sides(
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
        return report(
            global,
            &args.output,
            outputs,
            "cargo perf compare --measure",
            a_label,
            b_label,
            Some(timing),
            Some(binaries),
            results,
            &acceptances,
            out,
        );
    }
    let manifest = crate::services::load::manifest(&ws)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), manifest.as_ref())?;
    let machine = crate::services::load::machine(global, &ws, manifest.as_ref())?;
    let base = latest_record(store.as_ref(), &a, &args.a, &machine)?;
    let new = latest_record(store.as_ref(), &b, b_rev, &machine)?;
    // Each workload's threshold: --threshold, else perf.toml's, else the default. A perf.toml
    // that does not read is an error: a silent default could flip a verdict.
    let (configured, criterion): (HashMap<String, f64>, Option<crate::config::Config>) =
        if ws.root.join(crate::config::MANIFEST_NAME).is_file() {
            let (_, config, workloads) = load_commands(global, &args.sampling, &args.packages)?;
            (
                workloads
                    .into_iter()
                    .map(|w| (w.name, w.threshold))
                    .collect(),
                Some(config),
            )
        } else {
            (HashMap::new(), None)
        };
    let threshold = |name: &str| {
        args.output
            .threshold
            .or_else(|| configured.get(name).copied())
            .or_else(|| {
                let c = criterion.as_ref()?;
                name.starts_with(crate::discover::CRITERION_PREFIX)
                    .then(|| c.criterion.threshold_for(name))
            })
            .unwrap_or(crate::config::DEFAULT_THRESHOLD)
    };
    let filter = args.filter.as_deref().unwrap_or("");
    // A stored load workload is one run a side, its blocks not paired: nothing to judge it by.
    let loads: BTreeSet<&str> = base
        .workloads
        .iter()
        .chain(&new.workloads)
        .filter(|w| w.kind == "load" && w.name.contains(filter))
        .map(|w| w.name.as_str())
        .collect();
    if !loads.is_empty() && !global.quiet {
        eprintln!(
            "note: leaving out the load workloads {}: stored records of them are one run a side, which cannot be judged; `cargo perf compare --measure` (or `check`) drives both sides in alternating blocks, and `show` or `history` give what was stored",
            loads.iter().copied().collect::<Vec<_>>().join(", ")
        );
    }
    let order = crate::services::load::workload_order(&ws, manifest.as_ref());
    let mut results = stored_results(&base, &new, filter, &threshold, &order);
    results.retain(|r| !loads.contains(r.candidate.workload.name.as_str()));
    if results.is_empty() && !loads.is_empty() {
        bail!(
            "the records of {} and {} have only load workloads in common, which stored \
             comparisons leave out; `cargo perf compare --measure {} {}` drives both sides",
            args.a,
            b_rev,
            args.a,
            b_rev
        );
    }
    if results.is_empty() {
        bail!(
            "the records of {} and {} have no workloads in common",
            args.a,
            b_rev
        );
    }
    apply_verdicts(&mut results);
    let acceptances = acceptances_between(&repo, store.as_ref(), &a, &b, false)?;
    report(
        global,
        &args.output,
        outputs,
        "cargo perf compare (stored records)",
        a_label,
        b_label,
        None,
        None,
        results,
        &acceptances,
        out,
    )
}

/// The newest record of `commit` made on this machine.
fn latest_record(store: &dyn Store, commit: &str, rev: &str, machine: &Machine) -> Result<Record> {
    let mut warnings = Vec::new();
    let text = store.read_text(commit)?.unwrap_or_default();
    let location = format!("{} of commit {}", store.describe(), short(commit));
    let records: Vec<Record> = parse_lines(&text, commit, &location, &mut warnings)?;
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);
    let others: BTreeSet<String> = records
        .iter()
        .filter(|r| r.machine.key != machine.key)
        .map(|r| r.machine.key.clone())
        .collect();
    let mine: Vec<Record> = records
        .into_iter()
        .filter(|r| r.machine.key == machine.key)
        .collect();
    // The records of several shards (or of re-recording) are one set.
    match crate::store::merge_set(&mine) {
        Some(r) => Ok(r),
        None if !others.is_empty() => bail!(
            "{rev} ({}) has records only from other machines ({}); records of different machines \
             are never compared: record it here, or use --measure",
            short(commit),
            others.into_iter().collect::<Vec<_>>().join(", ")
        ),
        None => bail!(
            "no record of {rev} ({}) in {}; run `cargo perf record` on that commit, or use --measure",
            short(commit),
            store.describe()
        ),
    }
}

/// A stored workload's samples; for a criterion benchmark, one per criterion sample with its
/// time of one iteration as the wall time.
fn samples_of(w: &WorkloadRecord) -> Vec<Sample> {
    if let Some(c) = &w.criterion {
        return per_iteration(c)
            .into_iter()
            .map(|ns| Sample {
                wall_ns: ns.round() as u64,
                user_ns: 0,
                sys_ns: 0,
                max_rss_bytes: 0,
            })
            .collect();
    }
    let s = &w.samples;
    (0..s.wall_ns.len())
        .map(|i| Sample {
            wall_ns: s.wall_ns[i],
            user_ns: s.user_ns.get(i).copied().unwrap_or(0),
            sys_ns: s.sys_ns.get(i).copied().unwrap_or(0),
            max_rss_bytes: s.max_rss_bytes.get(i).copied().unwrap_or(0),
        })
        .collect()
}

/// A criterion benchmark's time of one iteration in each of its samples, unrounded.
fn per_iteration(c: &crate::store::CriterionRecord) -> Vec<f64> {
    c.iters
        .iter()
        .zip(&c.times_ns)
        .filter(|(i, t)| **i > 0.0 && t.is_finite())
        .map(|(i, t)| t / i)
        .collect()
}

/// The figures a stored workload is compared on: its metric's, or criterion's per iteration.
fn series_of(w: &WorkloadRecord, metric: crate::vocab::Metric) -> Vec<f64> {
    match &w.criterion {
        Some(c) => per_iteration(c),
        None => crate::gate::series(&samples_of(w), metric),
    }
}

/// A workload as far as a stored record describes it: enough for summaries and the class budget.
fn workload_of(w: &WorkloadRecord) -> Workload {
    match &w.criterion {
        Some(c) => Workload::stored_benchmark(&w.name, &c.target, &c.full_id, &c.group),
        None => Workload::stored(
            &w.name,
            w.class,
            Duration::from_nanos(w.budget_ns),
            Sampling {
                metric: w.metric,
                ..Sampling::default()
            },
        ),
    }
}

/// Why two records' instruction counts differ besides the code: another compiler or another
/// valgrind counted them.
fn counted_apart(base: &Record, new: &Record) -> Vec<String> {
    let mut notes = Vec::new();
    if base.rustc != new.rustc {
        notes.push(format!(
            "counted with different toolchains ({} and {}): the change includes the compiler's",
            base.rustc, new.rustc
        ));
    }
    if base.valgrind != new.valgrind {
        notes.push(format!(
            "counted by different valgrind versions ({} and {})",
            base.valgrind.as_deref().unwrap_or("unknown"),
            new.valgrind.as_deref().unwrap_or("unknown")
        ));
    }
    notes
}

fn stored_results(
    base: &Record,
    new: &Record,
    filter: &str,
    threshold: &dyn Fn(&str) -> f64,
    order: &crate::vocab::WorkloadOrder,
) -> Vec<GateResult> {
    let mut out = Vec::new();
    let find = |r: &Record, name: &str| r.workloads.iter().find(|w| w.name == name).cloned();
    let names: BTreeSet<&str> = base
        .workloads
        .iter()
        .chain(&new.workloads)
        .map(|w| w.name.as_str())
        .filter(|n| n.contains(filter))
        .collect();
    let mut names: Vec<&str> = names.into_iter().collect();
    order.sort(&mut names, |n| n);
    for name in names {
        let (b, n) = (find(base, name), find(new, name));
        let (shown, verdict) = match (&b, &n) {
            (Some(_), Some(n)) => (n, GateVerdict::Inconclusive),
            (None, Some(n)) => (n, GateVerdict::Added),
            (Some(b), None) => (b, GateVerdict::Removed),
            (None, None) => continue,
        };
        let metric = shown.metric;
        let base_samples = b.as_ref().map(samples_of).unwrap_or_default();
        let new_samples = n.as_ref().map(samples_of).unwrap_or_default();
        let mut notes = Vec::new();
        // Stored sides were not measured in the same rounds: the comparison is unpaired. Counted
        // instructions are exact, and compare as they are.
        let comparison = if metric.is_exact() {
            let counts = (
                b.as_ref().and_then(|b| b.counts),
                n.as_ref().and_then(|n| n.counts),
            );
            if b.is_some() && n.is_some() {
                notes.extend(counted_apart(base, new));
            }
            match counts {
                (Some(b), Some(n)) => {
                    Some(compare_exact(b.instructions as f64, n.instructions as f64))
                }
                _ => None,
            }
        } else {
            b.as_ref().zip(n.as_ref()).and_then(|(b, n)| {
                compare_samples(
                    &series_of(b, metric),
                    &series_of(n, metric),
                    false,
                    crate::gate::CI_LEVEL,
                    crate::fnv::fnv1a(name.as_bytes()),
                )
            })
        };
        let candidate = match &shown.criterion {
            // A criterion benchmark: criterion's samples, and no duration budget.
            Some(c) => {
                let mut r = crate::pipeline::evaluate_criterion(
                    workload_of(shown),
                    Ok(crate::measure::criterion::BenchSample {
                        full_id: c.full_id.clone(),
                        group: c.group.clone(),
                        throughput: shown.summary.throughput,
                        iters: if n.is_some() {
                            c.iters.clone()
                        } else {
                            Vec::new()
                        },
                        times_ns: if n.is_some() {
                            c.times_ns.clone()
                        } else {
                            Vec::new()
                        },
                    }),
                );
                r.samples = if n.is_some() { new_samples } else { Vec::new() };
                r
            }
            None => evaluate(
                workload_of(shown),
                Measured {
                    samples: if n.is_some() { new_samples } else { Vec::new() },
                    failure: None,
                    rss_floor_bytes: shown.summary.rss_floor_bytes,
                    counts: n.as_ref().and_then(|n| n.counts),
                    // The stored peak: a probed one, when the samples were at the floor.
                    probed_rss_bytes: shown.summary.max_rss_bytes,
                },
            ),
        };
        let failed = n.as_ref().is_some_and(|n| n.failure.is_some());
        out.push(GateResult {
            candidate,
            base: Measured {
                samples: base_samples,
                counts: b.as_ref().and_then(|b| b.counts),
                ..Measured::default()
            },
            metric,
            threshold: threshold(name),
            comparison,
            verdict: if failed { GateVerdict::Failed } else { verdict },
            spent_ns: 0,
            notes,
            undecidable: false,
            accepted: None,
            figure: None,
            explanation: None,
        });
    }
    out
}
