//! The command line. Cargo runs `cargo perf x` as `cargo-perf perf x`, so the top level is an
//! enum with the single variant `Perf`, named `cargo`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::vocab::units::parse_duration;

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::Styles::styled())]
pub enum CargoCli {
    /// Performance regression testing: measure workloads, check budgets.
    Perf(PerfArgs),
}

#[derive(Debug, Args)]
#[command(
    version,
    about = "Performance regression testing for Rust projects",
    long_about = "Measures the workloads declared in perf.toml at the workspace root \
                  (end-to-end commands over fixtures), checks each against its duration budget \
                  and thresholds, stores results keyed by git commit, and gates changes by \
                  measuring base and candidate interleaved.",
    after_help = "Exit codes: 0 passed, 1 the gate failed (a workload failed, regressed, or broke a \
                  budget or threshold), 2 the tool could not do its job (bad arguments or \
                  configuration, not a git repository, build failure).\n\n\
                  Examples:\n  cargo perf list\n  cargo perf run\n  cargo perf check\n  \
                  cargo perf check --base origin/main --format markdown\n  cargo perf record && cargo perf history"
)]
pub struct PerfArgs {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Path to the workspace's Cargo.toml (default: found from the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Output format of results on standard output.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,

    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print no progress and pass --quiet to cargo.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Show what is built and run, on standard error: each cargo invocation, each binary's
    /// path, each workload's resolved command (both sides' in a comparison).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Record and read records under this machine key instead of the detected one: a class of
    /// machine, such as `ubuntu-4core`, whose runners pool their history (overrides `[store]
    /// machine`).
    #[arg(long, global = true, value_name = "KEY", env = "CARGO_PERF_MACHINE_KEY", value_parser = parse_machine_key)]
    pub machine_key: Option<String>,

    /// Testing aid: report the durations in this JSON file instead of running processes.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub fake_runner: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Tables for people.
    Human,
    /// One JSON object per line (schema in docs/json.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the workloads (perf.toml's and criterion benchmarks): name, kind, class, budget, where declared.
    #[command(
        after_help = "Examples:\n  cargo perf list\n  cargo perf list --message-format json\n  \
                      cargo perf list --workspace --exclude my-xtask"
    )]
    List(ListArgs),

    /// Measure workloads and print their summaries and budget status.
    #[command(
        after_help = "A workload is over budget when its p95 wall time exceeds its class \
                            budget or any run timed out, or when it breaks one of its thresholds.\n\n\
                            Load workloads (`[[load]]` in perf.toml) start their service on a free \
                            loopback port, drive it through their profile (load, stress, spike, \
                            soak) with a progress line each second, and fail the run when a \
                            critical threshold breaks; the sampling flags do not apply to them.\n\n\
                            Examples:\n  cargo perf run\n  cargo perf run analyse/large --min-runs 20\n  \
                            cargo perf run serve/stress\n  \
                            cargo perf run --message-format json > results.jsonl"
    )]
    Run(RunArgs),

    /// Measure the workloads at HEAD and store the record (`run --save`).
    #[command(
        after_help = "Records go to git notes (refs/notes/perf) unless `--store dir:PATH` or \
                            `[store] dir` in perf.toml says otherwise. A dirty working tree is refused \
                            unless --allow-dirty, which marks the record dirty.\n\n\
                            Examples:\n  cargo perf record\n  cargo perf record --store dir:perf-records\n  \
                            git push origin refs/notes/perf"
    )]
    Record(RecordCmd),

    /// Show stored results along first-parent history, with the change from point to point.
    #[command(
        after_help = "Examples:\n  cargo perf history\n  cargo perf history analyse/large -n 20\n  \
                            cargo perf history --from v1.2.0 --machine any --message-format json"
    )]
    History(HistoryArgs),

    /// Print the stored records of one revision.
    #[command(
        after_help = "Examples:\n  cargo perf show HEAD\n  cargo perf show main~3 --message-format json\n  \
                            cargo perf show HEAD --nearest"
    )]
    Show(ShowArgs),

    /// The gate: build the base revision, measure base and candidate interleaved, judge each workload.
    #[command(
        after_help = "Base: HEAD when the working tree has changes, else HEAD's parent; --base REV \
                            takes any revision, and for a branch (origin/main) the merge-base with HEAD, as \
                            a PR gate needs. The base is built in a git worktree under the target dir, \
                            kept between calls.\n\n\
                            A workload regressed when the whole 95 % interval of its change (the \
                            Hodges-Lehmann estimate of the rounds' ratios) lies above +threshold (default \
                            2 %) and the Benjamini-Hochberg adjusted signed-rank p is below 0.05; with \
                            metric = \"instructions\", when the counted ratio is above it.\n\n\
                            A regression or budget breach that an acceptance covers (`cargo perf \
                            accept`, or a `Perf-Accepted: <glob>: <reason>` line in the message of a \
                            commit after the base) is shown as `accepted` with its reason and passes.\n\n\
                            Each regressed or improved command workload (every one with --explain) is \
                            explained: both binaries run once under valgrind's cachegrind, and the change \
                            is `more work` (instructions moved with the time; the functions are named), \
                            `layout` (same instructions: where the code landed), `memory` (same \
                            instructions, cache misses moved) or `unexplained`. A layout regression passes \
                            unless perf.toml has `[gate] layout = \"fail\"`.\n\n\
                            Exit codes: 0 passed, 1 a regression, budget breach or failed workload \
                            (inconclusive too with --strict), 2 the tool could not run.\n\n\
                            Examples:\n  cargo perf check\n  cargo perf check --base origin/main --format markdown\n  \
                            cargo perf check --junit perf.xml --strict\n  cargo perf check --explain parse"
    )]
    Check(CheckArgs),

    /// Compare two revisions from stored records, or measure both now with --measure.
    #[command(
        after_help = "Without --measure, the records stored for A and B (by this machine) are \
                            compared; they were measured in separate invocations, so timing differences are \
                            indicative only. --measure builds both and measures them interleaved, as check \
                            does.\n\n\
                            Examples:\n  cargo perf compare v1.2.0\n  cargo perf compare v1.2.0 v1.3.0 --measure\n  \
                            cargo perf compare v1.2.0 --measure --explain"
    )]
    Compare(CompareArgs),

    /// Find the first commit on the first-parent path where a workload regressed.
    #[command(
        after_help = "Walks the first parents from --bad back to --good. Each commit the search \
                            visits is built (in the worktree and target dir check uses) and measured \
                            interleaved with the good commit, and judged as check judges: regressed is \
                            bad, unchanged or improved good. A commit that does not build, whose run \
                            fails, or that stays inconclusive up to the workload's time_cap and \
                            max_runs is skipped, and the search tries a neighbour, as `git bisect \
                            skip` does. With metric = \"instructions\", stored records of the path \
                            whose counts fit (as check's stored base) decide before anything is \
                            built. The workloads come from the working tree's perf.toml; criterion \
                            benchmarks and load workloads are not bisected.\n\n\
                            Exit codes: 0 the first bad commit was found, or --bad is not slower than \
                            --good; 2 it cannot be decided (the bad commit could not be judged, or \
                            skipped commits leave several candidates, listed) or the tool could not \
                            run.\n\n\
                            Examples:\n  cargo perf bisect parse/large --good v1.2.0 --bad v1.3.0\n  \
                            cargo perf bisect startup --good HEAD~20 --threshold 5%\n  \
                            cargo perf bisect startup --good v1.2.0 --message-format json"
    )]
    Bisect(BisectArgs),

    /// Measure each workload's noise on this machine and propose its metric, time cap and threshold.
    #[command(
        after_help = "Each command workload runs against itself in A/A rounds, interleaved as \
                            check runs base and candidate, for --time a side. From the spread of the \
                            rounds' ratios it reports, per metric (wall, cpu), the smallest change check \
                            would find within the workload's time cap, and the time a side it needs to \
                            find 2 % (at a 1 % threshold) and 5 % (at 2.5 %); then proposes the metric, \
                            time_cap and threshold: the smallest threshold whose doubled change is \
                            found within 30 s a side, or the instructions metric when none is. The \
                            calibration is kept per machine (in the git dir), and check warns when a \
                            workload's noise is far above it.\n\n\
                            --write sets `metric`, `time_cap` and `threshold` in each workload's \
                            `[[workload]]` of perf.toml, keeping its comments and layout (a workload over \
                            several fixtures gets the most demanding of their proposals).\n\n\
                            Examples:\n  cargo perf calibrate\n  cargo perf calibrate analyse --time 10s\n  \
                            cargo perf calibrate --write"
    )]
    Calibrate(CalibrateArgs),

    /// Write a commented perf.toml and a GitHub Actions workflow into this project.
    #[command(
        after_help = "Refuses to overwrite either file. With --shards N the workflow gates and \
                      records over a matrix of N jobs, each with its share of the workloads \
                      (`--partition hash:K/N`), and a job that merges the shards' summaries into \
                      one pull-request comment.\n\nExamples:\n  cargo perf init\n  \
                      cargo perf init --shards 4"
    )]
    Init(InitArgs),

    /// Fetch and push refs/notes/perf, keeping the records of both sides.
    #[command(
        after_help = "Runs `git fetch` and `git push` of refs/notes/perf (and of \
                            refs/notes/perf-accepted, the accepted changes) with your git credentials. \
                            Where both sides added records to the same commit, both are kept. When \
                            another job pushed in between (a CI matrix recording at once), the \
                            exchange is tried again after a random pause, up to --attempts times.\n\n\
                            Examples:\n  cargo perf sync\n  cargo perf sync --remote upstream"
    )]
    Sync(SyncArgs),

    /// The release report: trends, change points and budgets between two revisions.
    #[command(
        after_help = "Reads the records along the first-parent path from --from to --to (both \
                            included) for one machine, finds the commits where each workload's level \
                            moved, and renders the report from templates/ (report.md.j2, \
                            report.html.j2; --templates DIR to restyle). The HTML report is one \
                            self-contained file with an SVG chart per workload: durations on one \
                            axis, commits by date or number on the other, each change point named \
                            by its commit (linked when the origin remote is on github.com, \
                            gitlab.com, codeberg.org or bitbucket.org).\n\n\
                            Examples:\n  cargo perf report\n  \
                            cargo perf report --from v1.2.0 --to v1.3.0 --format html -o report.html\n  \
                            cargo perf report --format json --machine 0123456789abcdef"
    )]
    Report(ReportArgs),

    /// Mark a change as intended: check shows the workloads as `accepted` instead of failing.
    #[command(
        after_help = "The acceptance belongs to a commit (--rev, default HEAD) and is kept beside \
                            the records (refs/notes/perf-accepted, or accepted/ in a dir store; `cargo \
                            perf sync` exchanges it). `check` and `compare` show a workload that \
                            regressed or broke its budget as `accepted`, with the reason, when an \
                            acceptance naming it is on a commit between the base (left out) and the \
                            candidate (included; HEAD too for a working tree with changes). A failed \
                            run is never accepted. WORKLOAD is a name or a glob (`*` and `?` match \
                            any characters, `/` included) and must match a workload of perf.toml or \
                            of the stored records.\n\n\
                            A commit can say the same in its message, one line per glob:\n  \
                            Perf-Accepted: parse/*: the parser now builds its tables up front\n\n\
                            Examples:\n  cargo perf accept parse/large --reason \"tables built up front\"\n  \
                            cargo perf accept 'parse/*' 'criterion:lexer/*' --rev abc1234 --reason \"new lexer\""
    )]
    Accept(AcceptArgs),

    /// Turn results you already have into a record for HEAD.
    #[command(subcommand)]
    Import(ImportCmd),

    /// Write the latest stored figures and the last check's verdicts for Prometheus.
    #[command(
        after_help = "For each workload and machine, the figures of its newest record along \
                            HEAD's first-parent history (percentiles, CPU, peak RSS, throughput, \
                            status), and the verdicts of the last `cargo perf check` on each machine, \
                            as OpenMetrics gauges named cargo_perf_* with workload, class, kind, \
                            machine and commit labels.\n\n\
                            --push sends them to a Prometheus Pushgateway (PUT, which replaces the \
                            metrics of the job and grouping key) in the Prometheus text format.\n\n\
                            Examples:\n  cargo perf export --format openmetrics -o perf.prom\n  \
                            cargo perf export --push http://127.0.0.1:9091\n  \
                            cargo perf export --push http://pushgateway:9091 --job ci --grouping branch=main"
    )]
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OpenMetrics text (Prometheus reads it).
    Openmetrics,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format written.
    #[arg(long, value_enum, default_value_t = ExportFormat::Openmetrics)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Records of which machine: `any` (default), `this`, or a machine key.
    #[arg(long, value_name = "MACHINE", default_value = "any", value_parser = parse_machine)]
    pub machine: MachineFilter,
    /// Send the metrics to the Pushgateway at this http:// URL instead of standard output.
    #[arg(long, value_name = "URL")]
    pub push: Option<String>,
    /// The Pushgateway job.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "cargo-perf",
        requires = "push"
    )]
    pub job: String,
    /// A label of the Pushgateway's grouping key besides the job (repeat for more).
    #[arg(long, value_name = "LABEL=VALUE", value_parser = parse_grouping, requires = "push")]
    pub grouping: Vec<(String, String)>,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_grouping(text: &str) -> Result<(String, String), String> {
    let Some((label, value)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not LABEL=VALUE (for example branch=main)"
        ));
    };
    let valid = label
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if label.is_empty() || !valid || label.starts_with("__") {
        return Err(format!(
            "`{label}` is not a Prometheus label name; use letters, digits and `_`, not starting \
             with a digit or `__`"
        ));
    }
    if label == "job" {
        return Err("the job is set with --job, not --grouping".into());
    }
    // The gateway refuses a push whose metrics carry a grouping label with another value.
    if [
        "workload", "class", "kind", "machine", "commit", "status", "verdict", "instance",
    ]
    .contains(&label)
    {
        return Err(format!(
            "`{label}` is a label of the exported metrics (or the gateway's own); give the \
             grouping key another name, such as `branch` or `runner`"
        ));
    }
    Ok((label.to_string(), value.to_string()))
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write a workflow that splits the workloads over a matrix of this many jobs (2 to 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=64))]
    pub shards: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFileFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The older end [default: the newest tag reachable from --to, else the first commit].
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// The newer end.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub to: String,
    /// Whose records: `this` or a machine key [default: this machine, or the machine with the
    /// most records on the path when this one has none].
    #[arg(long, value_name = "MACHINE", value_parser = parse_machine)]
    pub machine: Option<MachineFilter>,
    /// Markdown (for a release page), one self-contained HTML file with charts, or JSON (the
    /// templates' context; also with --message-format json).
    #[arg(long, value_enum, default_value_t = ReportFileFormat::Markdown)]
    pub format: ReportFileFormat,
    /// Write the report to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A folder with report.md.j2 and/or report.html.j2 to use instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Store criterion's saved results (target/criterion/**/<BASELINE>/) as a record for HEAD.
    #[command(
        after_help = "Reads benchmark.json and sample.json of every benchmark saved under the \
                            baseline (criterion saves `base` unless told `--save-baseline NAME`). Each \
                            benchmark becomes the workload criterion:<bench target>/<full id>; the bench \
                            targets are built and listed to learn which target each id belongs to.\n\n\
                            Examples:\n  cargo bench && cargo perf import criterion\n  \
                            cargo perf import criterion --baseline main"
    )]
    Criterion(ImportCriterionArgs),
}

#[derive(Debug, Args)]
pub struct ImportCriterionArgs {
    /// The criterion baseline to import.
    #[arg(long, default_value = "base", value_name = "NAME")]
    pub baseline: String,
    /// Criterion's output folder [default: $CRITERION_HOME, else <target dir>/criterion].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub save: SaveArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table for the terminal.
    Table,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// What `check` and `compare` report, and how.
#[derive(Debug, Args)]
pub struct GateOutput {
    /// Fail on inconclusive workloads too.
    #[arg(long)]
    pub strict: bool,
    /// Table for the terminal or Markdown for a PR comment (also appended to
    /// $GITHUB_STEP_SUMMARY when that is set). --message-format json overrides it.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write a JUnit XML report here (a regression is a failed test case).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// The practical threshold for every workload, such as 1% (overrides perf.toml).
    #[arg(long, value_name = "PCT", value_parser = crate::vocab::units::parse_percent)]
    pub threshold: Option<f64>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only workloads whose name contains this text.
    pub filter: Option<String>,
    /// Only this shard of the workloads: `count:K/N` (dealt round-robin by name) or `hash:K/N`
    /// (by the hash of the name), as cargo-nextest spells it, for a CI matrix of N jobs. The
    /// fixtures of a workload measured for growth stay together.
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<crate::discover::Partition>,
    /// The base revision; for a branch, its merge-base with HEAD.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Explain every workload's change under valgrind's cachegrind (more work, code layout or
    /// memory), not only the regressions and improvements.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub output: GateOutput,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Calibrate only workloads whose name contains this text.
    pub filter: Option<String>,
    /// Only this shard of the workloads: `count:K/N` (dealt round-robin by name) or `hash:K/N`
    /// (by the hash of the name), as cargo-nextest spells it, for a CI matrix of N jobs. The
    /// fixtures of a workload measured for growth stay together.
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<crate::discover::Partition>,
    /// Measuring time a side for each workload's A/A rounds, e.g. 5s, 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub time: Duration,
    /// Write the proposals into perf.toml, keeping its comments and layout.
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub packages: PackageArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base revision.
    pub a: String,
    /// The candidate revision (default HEAD).
    pub b: Option<String>,
    /// Build and measure both now, interleaved, instead of reading stored records.
    #[arg(long)]
    pub measure: bool,
    /// Explain every workload's change under valgrind's cachegrind (more work, code layout or
    /// memory), not only the regressions and improvements. Needs --measure.
    #[arg(long, requires = "measure")]
    pub explain: bool,
    /// Compare only workloads whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub output: GateOutput,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

#[derive(Debug, Args)]
pub struct BisectArgs {
    /// The workload: its name, or text that only its name contains.
    pub workload: String,
    /// A commit where the workload was not slow.
    #[arg(long, value_name = "REV")]
    pub good: String,
    /// A commit where it is slower than at --good, a first-parent descendant of it.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub bad: String,
    /// The practical threshold, such as 5% (overrides perf.toml).
    #[arg(long, value_name = "PCT", value_parser = crate::vocab::units::parse_percent)]
    pub threshold: Option<f64>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

/// Where records are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// Git notes under refs/notes/perf.
    Notes,
    /// One JSON file per record in a folder.
    Dir(PathBuf),
}

fn parse_store(text: &str) -> Result<StoreSpec, String> {
    match text {
        "notes" | "git-notes" => Ok(StoreSpec::Notes),
        _ => match text.strip_prefix("dir:") {
            Some(path) if !path.is_empty() => Ok(StoreSpec::Dir(path.into())),
            _ => Err(format!(
                "`{text}` is not a store; use `notes` or `dir:PATH`"
            )),
        },
    }
}

#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Records")]
pub struct StoreArgs {
    /// Where records are kept: `notes` (git notes, the default) or `dir:PATH`.
    #[arg(long, value_name = "STORE", value_parser = parse_store)]
    pub store: Option<StoreSpec>,
}

#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Records")]
pub struct SaveArgs {
    /// Store a record even though the working tree has uncommitted changes (marked dirty).
    #[arg(long)]
    pub allow_dirty: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct RecordCmd {
    /// Measure only workloads whose name contains this text.
    pub filter: Option<String>,
    /// Only this shard of the workloads: `count:K/N` (dealt round-robin by name) or `hash:K/N`
    /// (by the hash of the name), as cargo-nextest spells it, for a CI matrix of N jobs. The
    /// fixtures of a workload measured for growth stay together.
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<crate::discover::Partition>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub save: SaveArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

/// Which machines' records to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineFilter {
    This,
    Any,
    Key(String),
}

fn parse_machine(text: &str) -> Result<MachineFilter, String> {
    match text {
        "this" => Ok(MachineFilter::This),
        "any" => Ok(MachineFilter::Any),
        // Detected keys are hexadecimal, and shown in lower case.
        key if key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(MachineFilter::Key(key.to_ascii_lowercase()))
        }
        key => match crate::vocab::check_machine_key(key) {
            Ok(()) => Ok(MachineFilter::Key(key.to_owned())),
            Err(e) => Err(format!(
                "{e}; --machine takes `this`, `any` or a machine key (`cargo perf history \
                 --machine any` lists them)"
            )),
        },
    }
}

fn parse_machine_key(text: &str) -> Result<String, String> {
    crate::vocab::check_machine_key(text)
        .map(|()| text.to_owned())
        .map_err(|e| format!("{e} (given with --machine-key or CARGO_PERF_MACHINE_KEY)"))
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show only workloads whose name contains this text.
    pub workload: Option<String>,
    /// Start from this revision instead of HEAD.
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// Records of which machine: `this` (default), `any`, or a machine key.
    #[arg(long, value_name = "MACHINE", default_value = "this", value_parser = parse_machine)]
    pub machine: MachineFilter,
    /// At most this many commits with records.
    #[arg(short = 'n', long, value_name = "N")]
    pub max_count: Option<usize>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The revision: a commit id, branch, tag or `HEAD~2`.
    pub rev: String,
    /// If REV has no record, show its nearest first-parent ancestor that has one.
    #[arg(long)]
    pub nearest: bool,
    /// Records of which machine: `any` (default), `this`, or a machine key.
    #[arg(long, value_name = "MACHINE", default_value = "any", value_parser = parse_machine)]
    pub machine: MachineFilter,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The workloads whose change is intended: names or globs (`parse/*`).
    #[arg(required = true, value_name = "WORKLOAD")]
    pub workloads: Vec<String>,
    /// Why the change is intended (required; shown by check and the release report).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The commit that makes the change.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The git remote to exchange notes with.
    #[arg(long, value_name = "NAME", default_value = "origin")]
    pub remote: String,
    /// Tries of the exchange while other writers' pushes get in between (each after a random,
    /// growing pause).
    #[arg(long, value_name = "N", default_value_t = crate::store::SYNC_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Measure only workloads whose name contains this text.
    pub filter: Option<String>,
    /// Only this shard of the workloads: `count:K/N` (dealt round-robin by name) or `hash:K/N`
    /// (by the hash of the name), as cargo-nextest spells it, for a CI matrix of N jobs. The
    /// fixtures of a workload measured for growth stay together.
    #[arg(long, value_name = "SCHEME:K/N")]
    pub partition: Option<crate::discover::Partition>,

    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// Store a record of the run for HEAD, as `cargo perf record` does.
    #[arg(long)]
    pub save: bool,

    #[command(flatten)]
    pub save_args: SaveArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
}

/// Which members of the workspace, as `cargo bench` and `cargo nextest` take them. They select
/// whose criterion benches are discovered and whose `{bin:NAME}` binaries are built.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Package Selection")]
pub struct PackageArgs {
    /// A package whose benches and binaries to use (repeatable): a name, a glob of names,
    /// `name@version`, or a package id [default: the root package, or every member of a virtual
    /// workspace].
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Every member of the workspace.
    #[arg(long)]
    pub workspace: bool,
    /// Leave these packages out (with --workspace; repeatable).
    #[arg(long, value_name = "SPEC", requires = "workspace")]
    pub exclude: Vec<String>,
}

impl PackageArgs {
    pub fn selection(&self) -> crate::workspace::PackageSelection {
        crate::workspace::PackageSelection {
            packages: self.package.clone(),
            workspace: self.workspace,
            exclude: self.exclude.clone(),
        }
    }
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    #[command(flatten)]
    pub packages: PackageArgs,
}

/// Overrides of the sampling settings of every workload.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Sampling (override perf.toml for every workload)")]
pub struct SamplingArgs {
    /// Warm-up runs before measuring a command workload. Criterion benchmarks warm up for a
    /// time instead: `[criterion] warm_up_time`.
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,
    /// Runs always taken. Criterion benchmarks: the least samples in `run` and `record` (at
    /// least 10), the least rounds in `check` and `compare`.
    #[arg(long, value_name = "N")]
    pub min_runs: Option<u32>,
    /// Runs never exceeded. Criterion benchmarks: the most samples in `run` and `record`, the
    /// most rounds in `check` and `compare`.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u32>,
    /// After min-runs, stop once this much time was spent measuring, e.g. 500ms, 10s.
    /// Criterion benchmarks: criterion's measurement time in `run` and `record`, the time per
    /// side in `check` and `compare`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_cap: Option<Duration>,
    /// The metric of command workloads: `wall`, `cpu`, or `instructions` (counted under
    /// valgrind's cachegrind, one run per side, exact; default threshold 1 %). Criterion
    /// benchmarks and load workloads keep wall time.
    #[arg(long, value_name = "METRIC", value_parser = parse_metric)]
    pub metric: Option<crate::vocab::Metric>,
}

fn parse_metric(s: &str) -> Result<crate::vocab::Metric, String> {
    use crate::vocab::Metric;
    [Metric::Wall, Metric::Cpu, Metric::Instructions]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a metric; use `wall`, `cpu` or `instructions`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        CargoCli::command().debug_assert();
    }

    #[test]
    fn parses_as_cargo_calls_it() {
        let CargoCli::Perf(args) =
            CargoCli::try_parse_from(["cargo-perf", "perf", "run", "abc", "--min-runs", "3"])
                .unwrap();
        let Command::Run(run) = args.command else {
            panic!("not run")
        };
        assert_eq!(run.filter.as_deref(), Some("abc"));
        assert_eq!(run.sampling.min_runs, Some(3));
    }

    #[test]
    fn explain_is_for_check_and_measured_comparisons() {
        let CargoCli::Perf(args) =
            CargoCli::try_parse_from(["cargo", "perf", "check", "--explain"]).unwrap();
        assert!(matches!(args.command, Command::Check(c) if c.explain));
        let CargoCli::Perf(args) =
            CargoCli::try_parse_from(["cargo", "perf", "compare", "v1", "--measure", "--explain"])
                .unwrap();
        assert!(matches!(args.command, Command::Compare(c) if c.explain && c.measure));
        // Stored records have no binaries to run.
        let err = CargoCli::try_parse_from(["cargo", "perf", "compare", "v1", "--explain"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--measure"), "{err}");
    }

    #[test]
    fn global_options_go_after_the_subcommand_too() {
        let CargoCli::Perf(args) =
            CargoCli::try_parse_from(["cargo", "perf", "list", "--message-format", "json", "-q"])
                .unwrap();
        assert_eq!(args.global.message_format, MessageFormat::Json);
        assert!(args.global.quiet);
    }

    #[test]
    fn stores_and_machines_parse() {
        assert_eq!(parse_store("notes"), Ok(StoreSpec::Notes));
        assert_eq!(parse_store("dir:out"), Ok(StoreSpec::Dir("out".into())));
        assert!(parse_store("dir:").is_err());
        assert!(
            parse_store("s3://x")
                .unwrap_err()
                .contains("`notes` or `dir:PATH`")
        );
        assert_eq!(parse_machine("any"), Ok(MachineFilter::Any));
        assert_eq!(
            parse_machine("0123456789ABCDEF"),
            Ok(MachineFilter::Key("0123456789abcdef".into()))
        );
        assert_eq!(
            parse_machine("ubuntu-4core"),
            Ok(MachineFilter::Key("ubuntu-4core".into()))
        );
        assert!(parse_machine("my laptop").is_err());
    }

    #[test]
    fn bad_duration_is_refused() {
        let err = CargoCli::try_parse_from(["cargo", "perf", "run", "--time-cap", "3"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("250ms"), "{err}");
    }
}
