//! Expands the declared workloads into the ones that are measured.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::classify::{classify, measure_folder};
use super::placeholders::{FixtureVars, bins_in, fill, fixture_name};
use crate::config::{
    ClassSpec, Config, LoadSpec, LoadTarget, Sampling, Thresholds, WorkloadSpec, nearest,
};
use crate::errors::ConfigError;
use crate::vocab::Class;

/// One thing to measure: what every kind has, and what only its kind has.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `name` from `perf.toml` (with `/<fixture name>` added for each fixture), or
    /// `criterion:<target>/<full id>`.
    pub name: String,
    /// The practical threshold of `check` (0.02 = 2 %).
    pub threshold: f64,
    /// How it is sampled: the runs of a command; for a criterion benchmark, the rounds of
    /// `check`.
    pub sampling: Sampling,
    /// Where it runs: a command's `cwd`; a bench executable runs in its package's folder.
    pub cwd: PathBuf,
    pub kind: Kind,
}

/// The kinds of workload, each with only the fields it has.
#[derive(Debug, Clone)]
pub enum Kind {
    /// An end-to-end process run, declared in `perf.toml`.
    Command(Command),
    /// One benchmark id of a criterion bench target: gated on change only, with no class,
    /// budget or timeout of its own.
    Criterion(CriterionBench),
    /// A service or command driven under concurrency through a profile, declared as
    /// `[[load]]`.
    Load(Box<LoadWorkload>),
}

/// A load workload: its resolved `[[load]]` (with `{bin:NAME}` filled in once built).
#[derive(Debug, Clone)]
pub struct LoadWorkload {
    pub spec: LoadSpec,
    pub bins: BTreeSet<String>,
}

/// A command workload: a process with a size class, a duration budget and a timeout.
#[derive(Debug, Clone)]
pub struct Command {
    /// The line of its `[[workload]]` in `perf.toml` (0 when read back from a record).
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
    pub thresholds: Thresholds,
    /// The workspace binaries it needs built.
    pub bins: BTreeSet<String>,
    /// One of several fixtures of one declared workload: how its time grows with their size is
    /// fitted across them.
    pub growth: Option<GrowthKey>,
    /// The name of its `[[workload]]` (`{fixture_name}` shown as `*`): the fixtures of one
    /// declared workload share it.
    pub declared: String,
}

/// Where a fixture's workload stands among its declared workload's fixtures.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthKey {
    /// The declared workload's name (`analyse`; `{fixture_name}` shown as `*`).
    pub group: String,
    /// The fixture's size: as declared in `sizes`, or its lines.
    pub size: f64,
    /// Whether `size` was declared (else it is lines).
    pub declared: bool,
}

impl Workload {
    /// The command of a command workload.
    pub fn command(&self) -> Option<&Command> {
        match &self.kind {
            Kind::Command(c) => Some(c),
            _ => None,
        }
    }

    /// The profile and target of a load workload.
    pub fn load(&self) -> Option<&LoadWorkload> {
        match &self.kind {
            Kind::Load(l) => Some(l),
            _ => None,
        }
    }

    pub fn load_mut(&mut self) -> Option<&mut LoadWorkload> {
        match &mut self.kind {
            Kind::Load(l) => Some(l),
            _ => None,
        }
    }

    pub fn command_mut(&mut self) -> Option<&mut Command> {
        match &mut self.kind {
            Kind::Command(c) => Some(c),
            _ => None,
        }
    }

    /// The benchmark of a criterion workload.
    pub fn criterion(&self) -> Option<&CriterionBench> {
        match &self.kind {
            Kind::Criterion(c) => Some(c),
            _ => None,
        }
    }

    /// The workspace binaries it needs built (none for a criterion benchmark).
    pub fn bins(&self) -> impl Iterator<Item = &String> {
        self.command()
            .into_iter()
            .flat_map(|c| c.bins.iter())
            .chain(self.load().into_iter().flat_map(|l| l.bins.iter()))
    }

    /// A command workload known only by its name, class and budget: read back from a record.
    pub fn stored(name: &str, class: Class, budget: Duration, sampling: Sampling) -> Self {
        Workload {
            name: name.into(),
            threshold: crate::config::DEFAULT_THRESHOLD,
            sampling,
            cwd: PathBuf::new(),
            kind: Kind::Command(Command {
                line: 0,
                fixture: None,
                class,
                class_reason: "stored".into(),
                budget,
                timeout: budget,
                argv: Vec::new(),
                env: Vec::new(),
                thresholds: Thresholds::default(),
                bins: BTreeSet::new(),
                growth: None,
                declared: name.to_owned(),
            }),
        }
    }

    /// A criterion benchmark known only by its target and id: read back from a record, or one
    /// only the base has.
    pub fn stored_benchmark(name: &str, target: &str, full_id: &str, group: &str) -> Self {
        Workload {
            name: name.into(),
            threshold: crate::config::DEFAULT_THRESHOLD,
            sampling: Sampling::default(),
            cwd: PathBuf::new(),
            kind: Kind::Criterion(CriterionBench {
                package: String::new(),
                package_spec: String::new(),
                target: target.into(),
                full_id: full_id.into(),
                group: group.into(),
                exe: PathBuf::new(),
            }),
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
        let first = out.len();
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
                    w.name,
                    first.command().map_or(0, |c| c.line)
                )));
            }
            out.push(w);
        }
        check_sizes(spec, &out[first..]).map_err(&error)?;
        // A size is for comparing fixtures: with one fixture there is nothing to fit.
        if out.len() - first < 2 {
            for w in &mut out[first..] {
                if let Some(c) = w.command_mut() {
                    c.growth = None;
                }
            }
        }
    }
    for spec in &config.loads {
        let w =
            expand_load(config, spec, workspace_bins).map_err(|message| ConfigError::Workload {
                path: config.path.clone(),
                line: spec.line,
                workload: spec.name.clone(),
                message,
            })?;
        out.push(w);
    }
    Ok(out)
}

/// A `[[load]]` as a workload: `{workspace}` filled, `{bin:NAME}` checked, the program found.
fn expand_load(
    config: &Config,
    spec: &LoadSpec,
    workspace_bins: &BTreeSet<String>,
) -> Result<Workload, String> {
    let vars = FixtureVars {
        path: None,
        workspace: &config.root,
    };
    let mut spec = spec.clone();
    for arg in spec.target.argv_mut() {
        *arg = fill(arg, &vars)?;
    }
    for value in spec.env.values_mut() {
        *value = fill(value, &vars)?;
    }
    let cwd = workload_cwd(config, spec.cwd.as_deref(), &vars)?;
    let env: Vec<(String, String)> = spec
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let bins = check_bins(
        spec.target.argv().iter().chain(spec.env.values()),
        workspace_bins,
    )?;
    let program = &spec.target.argv()[0];
    if bins_in(program).is_empty() {
        check_program(program, &cwd, &env)?;
    }
    if let LoadTarget::Service { argv, .. } = &spec.target
        && !argv
            .iter()
            .chain(spec.env.values())
            .any(|a| a.contains("{port}"))
    {
        return Err(
            "the service's `command` (and `env`) never uses `{port}`; pass it the port to \
             listen on, such as [\"{bin:server}\", \"--port\", \"{port}\"]: the tool picks a free \
             loopback port for every run"
                .into(),
        );
    }
    Ok(Workload {
        name: spec.name.clone(),
        threshold: spec.gate.threshold,
        sampling: config.sampling,
        cwd,
        kind: Kind::Load(Box::new(LoadWorkload { spec, bins })),
    })
}

/// A workload's folder: its `cwd` (placeholders filled) against the workspace root, or the
/// root; it must exist.
fn workload_cwd(config: &Config, cwd: Option<&str>, vars: &FixtureVars) -> Result<PathBuf, String> {
    let cwd = match cwd {
        Some(c) => config.root.join(fill(c, vars)?),
        None => config.root.clone(),
    };
    if !cwd.is_dir() {
        return Err(format!(
            "`cwd` {} is not a folder; create it or fix the path (relative paths start at the \
             workspace root)",
            cwd.display()
        ));
    }
    Ok(cwd)
}

/// The names of `{bin:NAME}` in `texts`, each a binary target of the workspace.
fn check_bins<'a>(
    texts: impl Iterator<Item = &'a String>,
    workspace_bins: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    let mut bins = BTreeSet::new();
    for name in texts.flat_map(|a| bins_in(a)) {
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
    Ok(bins)
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
    let cwd = workload_cwd(config, spec.cwd.as_deref(), &vars)?;

    let bins = check_bins(
        argv.iter().chain(env.iter().map(|(_, v)| v)),
        workspace_bins,
    )?;
    if bins_in(&argv[0]).is_empty() {
        check_program(&argv[0], &cwd, &env)?;
    }

    let mut lines = None;
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
            lines = Some(size.lines);
            classify(&size)
        }
    };
    // Its size among the fixtures of the spec: declared, or its lines (counted once).
    let growth = match &fixture {
        Some(f) if spec.fixtures.is_some() => {
            let declared = spec.sizes.get(fixture_name(f)).copied();
            let size = match (declared, lines) {
                (Some(s), _) => Some(s),
                (None, Some(l)) => Some(l as f64),
                (None, None) => measure_folder(f).ok().map(|m| m.lines as f64),
            };
            size.filter(|s| *s > 0.0).map(|size| GrowthKey {
                group: spec.name.replace("{fixture_name}", "*"),
                size,
                declared: declared.is_some(),
            })
        }
        _ => None,
    };
    let budget = config.budgets.of(class);
    Ok(Workload {
        name,
        threshold: spec.threshold,
        sampling: spec.sampling,
        cwd,
        kind: Kind::Command(Command {
            line: spec.line,
            fixture,
            class,
            class_reason,
            budget,
            timeout: spec.timeout.unwrap_or(budget),
            argv,
            env,
            thresholds: spec.thresholds,
            bins,
            growth,
            declared: spec.name.replace("{fixture_name}", "*"),
        }),
    })
}

/// `sizes` must name fixtures of the workload, with positive sizes.
fn check_sizes(spec: &WorkloadSpec, expanded: &[Workload]) -> Result<(), String> {
    if spec.sizes.is_empty() {
        return Ok(());
    }
    if spec.fixtures.is_none() {
        return Err(
            "`sizes` gives the size of each fixture, and this workload has no \
                    `fixtures`; remove `sizes` or add `fixtures`"
                .into(),
        );
    }
    let names: Vec<&str> = expanded
        .iter()
        .filter_map(|w| w.command()?.fixture.as_deref().map(fixture_name))
        .collect();
    for (name, size) in &spec.sizes {
        if !names.contains(&name.as_str()) {
            return Err(format!(
                "`sizes` names `{name}`, which is not one of its fixtures; they are: {}",
                names.join(", ")
            ));
        }
        if !(size.is_finite() && *size > 0.0) {
            return Err(format!(
                "`sizes.{name}` is {size}; give a positive number (lines, records, bytes: any \
                 measure its time grows with)"
            ));
        }
    }
    if spec.sizes.len() < names.len() {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !spec.sizes.contains_key(*n))
            .collect();
        return Err(format!(
            "`sizes` gives no size for {}; give every fixture one (sizes in one unit), or none \
             to use their lines",
            missing.join(", ")
        ));
    }
    Ok(())
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
