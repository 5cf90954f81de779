//! `-v`: the one place that prints what [`Shown`] words, on standard error (standard output
//! may be JSON), for every command that builds or measures.

use std::path::Path;

use crate::cli::GlobalOpts;
use crate::config::{LoadSpec, LoadTarget};
use crate::discover::Workload;
use crate::measure::criterion::{CriterionSettings, Suite, suite_argv};
use crate::vocab::Shown;

/// Prints `fact` when `-v` was given.
pub fn show(global: &GlobalOpts, fact: Shown) {
    if global.verbose > 0 {
        print(fact);
    }
}

/// Prints `fact`, for a caller that knows `-v` was given.
pub fn print(fact: Shown) {
    eprintln!("{}", crate::report::escape::terminal(&fact.to_string()));
}

/// A cargo invocation, before cargo's own lines (the builds call it only under `-v`).
pub fn cargo(command: &str, dir: &Path) {
    print(Shown::Cargo { command, dir });
}

/// A command or load workload as it is run on `side` (`None` in a command that measures one
/// side): its command line, and for a load workload what it sends traffic to. Criterion
/// benchmarks are shown by [`benches`], one line a bench executable.
pub fn workload(global: &GlobalOpts, w: &Workload, side: Option<&str>) {
    if let Some(c) = w.command() {
        show(
            global,
            Shown::Command {
                workload: &w.name,
                side,
                argv: &c.argv,
                cwd: &w.cwd,
            },
        );
    } else if let Some(l) = w.load() {
        load(global, &w.name, side, &l.spec, &w.cwd);
    }
}

/// A load workload as it is run on `side`: its service's (or command's) command line, and what
/// it sends traffic to.
pub fn load(global: &GlobalOpts, name: &str, side: Option<&str>, spec: &LoadSpec, cwd: &Path) {
    show(
        global,
        Shown::Command {
            workload: name,
            side,
            argv: spec.target.argv(),
            cwd,
        },
    );
    let target = match &spec.target {
        LoadTarget::Service { .. } => {
            let requests: Vec<String> = if spec.requests.is_empty() {
                vec!["GET /".to_owned()]
            } else {
                spec.requests
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect()
            };
            format!(
                "http://127.0.0.1:{{port}}, {} (a free port each run)",
                requests.join(", ")
            )
        }
        LoadTarget::Command { .. } => "the command above, one run a request".to_owned(),
    };
    show(
        global,
        Shown::Drives {
            workload: name,
            side,
            target: &target,
        },
    );
}

/// The criterion benchmarks among `workloads`: per bench executable, the command line that
/// runs them (`run_id` as the baseline name it saves under).
pub fn benches(
    global: &GlobalOpts,
    workloads: &[Workload],
    settings: &CriterionSettings,
    run_id: &str,
    side: Option<&str>,
) {
    if global.verbose == 0 {
        return;
    }
    let mut exes: Vec<(&Path, &Path, &str, Vec<String>)> = Vec::new();
    for w in workloads {
        let Some(c) = w.criterion() else { continue };
        match exes.iter_mut().find(|(exe, ..)| *exe == c.exe.as_path()) {
            Some((.., ids)) => ids.push(c.full_id.clone()),
            None => exes.push((&c.exe, &w.cwd, &c.target, vec![c.full_id.clone()])),
        }
    }
    for (exe, cwd, target, ids) in exes {
        let argv = suite_argv(&Suite {
            name: target,
            exe,
            cwd,
            ids: &ids,
            settings,
            run_id,
        });
        print(Shown::Command {
            workload: &format!("{}{target}", crate::discover::CRITERION_PREFIX),
            side,
            argv: &argv,
            cwd,
        });
    }
}
