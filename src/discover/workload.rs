//! Expands the declared workloads into the ones that are measured.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::classify::{classify, measure_folder};
use super::placeholders::{FixtureVars, bins_in, fill, fixture_name};
use crate::config::{Class, ClassSpec, Config, Sampling, Thresholds, WorkloadSpec, nearest};
use crate::errors::ConfigError;

/// One thing to measure.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `name` from `perf.toml`, with `/<fixture name>` added for each fixture.
    pub name: String,
    /// The line of its `[[workload]]` in `perf.toml`.
    pub line: usize,
    pub fixture: Option<PathBuf>,
    pub class: Class,
    /// Why it has that class, for `list`.
    pub class_reason: String,
    pub budget: Duration,
    pub timeout: Duration,
    /// The command; `{bin:NAME}` stays until the binaries are built.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub thresholds: Thresholds,
    pub sampling: Sampling,
    /// The practical threshold of `check` (0.02 = 2 %).
    pub threshold: f64,
    /// The workspace binaries it needs built.
    pub bins: BTreeSet<String>,
    /// For a criterion benchmark: which one, and its executable. `argv` is empty then.
    pub criterion: Option<CriterionBench>,
}

impl Workload {
    /// A workload known only by its name: stored results, or a benchmark only the base has.
    pub fn named(name: &str) -> Self {
        Workload {
            name: name.into(),
            line: 0,
            fixture: None,
            class: Class::Small,
            class_reason: "stored".into(),
            budget: Duration::ZERO,
            timeout: Duration::ZERO,
            argv: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::new(),
            thresholds: Thresholds::default(),
            sampling: Sampling::default(),
            threshold: crate::config::DEFAULT_THRESHOLD,
            bins: BTreeSet::new(),
            criterion: None,
        }
    }
}

/// One benchmark id of a criterion bench target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionBench {
    /// The package's name.
    pub package: String,
    /// `name@version`, for commands people copy (a name alone may be ambiguous).
    pub package_spec: String,
    pub target: String,
    /// Criterion's `full_id` (`group/function/value`), as `--list` prints it.
    pub full_id: String,
    /// The group; from `--list` alone it is the part of the id before the first `/`.
    pub group: String,
    pub exe: PathBuf,
}

/// Expands every declared workload. `workspace_bins` are the binary targets of the workspace,
/// against which `{bin:NAME}` is checked.
pub fn discover(
    config: &Config,
    workspace_bins: &BTreeSet<String>,
) -> Result<Vec<Workload>, ConfigError> {
    let mut out: Vec<Workload> = Vec::new();
    for spec in &config.workloads {
        let error = |message: String| ConfigError::Workload {
            path: config.path.clone(),
            line: spec.line,
            workload: spec.name.clone(),
            message,
        };
        let fixtures = match &spec.fixtures {
            None => vec![None],
            Some(pattern) => expand_glob(&config.root, pattern)
                .map_err(&error)?
                .into_iter()
                .map(Some)
                .collect(),
        };
        for fixture in fixtures {
            let w = expand_one(config, spec, fixture, workspace_bins).map_err(&error)?;
            if let Some(first) = out.iter().find(|o| o.name == w.name) {
                return Err(error(format!(
                    "the name `{}` is also used by the workload on line {}; names must be unique",
                    w.name, first.line
                )));
            }
            out.push(w);
        }
    }
    Ok(out)
}

fn expand_glob(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = root.join(pattern);
    let paths = glob::glob(&full.to_string_lossy())
        .map_err(|e| format!("`fixtures = \"{pattern}\"` is not a valid glob: {e}"))?;
    let mut matches: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
    matches.sort();
    if matches.is_empty() {
        return Err(format!(
            "`fixtures = \"{pattern}\"` matches nothing under {}; check the pattern (it is relative \
             to the workspace root)",
            root.display()
        ));
    }
    Ok(matches)
}

fn expand_one(
    config: &Config,
    spec: &WorkloadSpec,
    fixture: Option<PathBuf>,
    workspace_bins: &BTreeSet<String>,
) -> Result<Workload, String> {
    let vars = FixtureVars {
        path: fixture.as_deref(),
        workspace: &config.root,
    };
    let name = match &fixture {
        Some(_) if spec.name.contains("{fixture_name}") => fill(&spec.name, &vars)?,
        Some(f) => format!("{}/{}", spec.name, fixture_name(f)),
        None => spec.name.clone(),
    };
    let mut argv = spec
        .argv
        .iter()
        .map(|a| fill(a, &vars))
        .collect::<Result<Vec<_>, _>>()?;
    if spec.shell {
        argv = vec!["sh".into(), "-c".into(), argv.join(" ")];
    }
    let env = spec
        .env
        .iter()
        .map(|(k, v)| Ok((k.clone(), fill(v, &vars)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let cwd = match &spec.cwd {
        Some(c) => config.root.join(fill(c, &vars)?),
        None => config.root.clone(),
    };
    if !cwd.is_dir() {
        return Err(format!(
            "`cwd` {} is not a folder; create it or fix the path (relative paths start at the \
             workspace root)",
            cwd.display()
        ));
    }

    let mut bins = BTreeSet::new();
    for name in argv
        .iter()
        .chain(env.iter().map(|(_, v)| v))
        .flat_map(|a| bins_in(a))
    {
        if !workspace_bins.contains(&name) {
            let hint = nearest(&name, workspace_bins.iter().map(String::as_str))
                .map(|n| format!("did you mean `{{bin:{n}}}`? "))
                .unwrap_or_default();
            let list = if workspace_bins.is_empty() {
                "the workspace has none".to_string()
            } else {
                let names: Vec<_> = workspace_bins.iter().map(|b| format!("`{b}`")).collect();
                format!("they are: {}", names.join(", "))
            };
            return Err(format!(
                "`{{bin:{name}}}` is not a binary target of the workspace; {hint}{list}"
            ));
        }
        bins.insert(name);
    }
    if bins_in(&argv[0]).is_empty() {
        check_program(&argv[0], &cwd, &env)?;
    }

    let (class, class_reason) = match spec.class {
        ClassSpec::Small => (Class::Small, "declared".to_string()),
        ClassSpec::Medium => (Class::Medium, "declared".to_string()),
        ClassSpec::Large => (Class::Large, "declared".to_string()),
        ClassSpec::Auto => {
            let folder = fixture.as_deref().unwrap_or(&cwd);
            let size = measure_folder(folder).map_err(|e| {
                format!(
                    "cannot measure {} for `class = \"auto\"`: {e}",
                    folder.display()
                )
            })?;
            classify(&size)
        }
    };
    let budget = config.budgets.of(class);
    Ok(Workload {
        name,
        line: spec.line,
        fixture,
        class,
        class_reason,
        budget,
        timeout: spec.timeout.unwrap_or(budget),
        argv,
        env,
        cwd,
        thresholds: spec.thresholds,
        sampling: spec.sampling,
        threshold: spec.threshold,
        bins,
        criterion: None,
    })
}

/// Checks that a program exists before anything is measured, so that a typo is a configuration
/// error (exit 2) and not a failed workload.
fn check_program(program: &str, cwd: &Path, env: &[(String, String)]) -> Result<(), String> {
    if program.contains('/') {
        let path = cwd.join(program);
        return if path.is_file() {
            Ok(())
        } else {
            Err(format!(
                "command `{program}` does not exist (looked for {}); fix the path or build it first",
                path.display()
            ))
        };
    }
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone().into())
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    if std::env::split_paths(&path_var).any(|dir| dir.join(program).is_file()) {
        Ok(())
    } else {
        Err(format!(
            "command `{program}` is not found in PATH; install it, give its path, or use \
             `{{bin:NAME}}` for a binary of this workspace"
        ))
    }
}
