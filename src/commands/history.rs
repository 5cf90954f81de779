//! `cargo perf history [WORKLOAD]`.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;

use crate::cli::{GlobalOpts, HistoryArgs, MachineFilter, MessageFormat};
use crate::errors::exit_codes;
use crate::report::{HistoryOutput, HistoryPoint, Human, Json};
use crate::services::accepted::acceptances_with;
use crate::services::load::{open_store, print_warnings};
use crate::store::{Repo, short};
use crate::workspace::Workspace;

pub fn history(global: &GlobalOpts, args: HistoryArgs, out: &mut dyn Write) -> Result<i32> {
    let ws = Workspace::load(global.manifest_path.as_deref())?;
    let repo = Repo::discover(&ws.root)?;
    let manifest = crate::services::load::manifest(&ws)?;
    let store = open_store(&repo, &ws, args.store.store.as_ref(), manifest.as_ref())?;
    let from = repo.resolve(args.from.as_deref().unwrap_or("HEAD"))?;
    let machine = crate::services::load::machine(global, &ws, manifest.as_ref())?;
    let keep = |key: &str| match &args.machine {
        MachineFilter::This => key == machine.key,
        MachineFilter::Any => true,
        MachineFilter::Key(k) => key == k,
    };
    let filter = args.workload.as_deref().unwrap_or("");

    let keys = store.content_keys()?;
    let ((walk, mut subjects), (mut by_key, warnings)) =
        walk_and_read(&repo, store.as_ref(), &keys, &from, filter, args.max_count)?;
    let mut warnings = warnings;
    warnings.extend(store.take_warnings());
    print_warnings(&warnings);
    // The commits shown, newest first, each with its subject and points.
    let mut shown: Vec<(&str, String, Vec<crate::store::Point>)> = Vec::new();
    // Their messages, for the acceptances in trailers: read with the subjects.
    let mut infos: HashMap<&str, crate::store::CommitInfo> = HashMap::new();
    for (commit, subject) in walk.iter().zip(&mut subjects) {
        // `-n 0` shows nothing, as `git log -n 0` does.
        if args.max_count.is_some_and(|n| shown.len() >= n) {
            break;
        }
        let Some(found) = keys.get(commit).and_then(|k| by_key.remove(k)) else {
            continue;
        };
        if found.iter().any(|p| keep(&p.machine)) {
            let subject = match subject.take() {
                Some((subject, info)) => {
                    if let Some(info) = info {
                        infos.insert(commit.as_str(), info);
                    }
                    subject
                }
                None => repo.subject(commit),
            };
            shown.push((commit, subject, found));
        }
    }
    // Sized first: 500,000 points grown by doubling were copied twice over.
    let mut points: Vec<HistoryPoint<'_>> =
        Vec::with_capacity(shown.iter().map(|(_, _, found)| found.len()).sum());
    let mut ranks = Ranks::new(crate::services::load::workload_order(
        &ws,
        manifest.as_ref(),
    ));
    for (commit, subject, found) in &shown {
        // Newest record first (records of a note come in the order they were added), each
        // with its workloads in the one order of every output.
        // A record's place among the note's records: the how-manieth point of its workload
        // (records are appended, so later lines are later records; records made in the same
        // second have the same time).
        let mut at: Vec<(usize, u32, crate::vocab::Place<'_>)> = Vec::with_capacity(found.len());
        for (i, p) in found.iter().enumerate() {
            if keep(&p.machine) {
                let (place, nth) = ranks.of(&p.workload);
                at.push((i, nth, place));
            }
        }
        ranks.next_commit();
        at.sort_by(|&(a, na, ra), &(b, nb, rb)| {
            (found[b].time.as_ref(), nb, ra).cmp(&(found[a].time.as_ref(), na, rb))
        });
        points.extend(at.into_iter().map(|(i, ..)| HistoryPoint {
            commit,
            subject,
            point: &found[i],
            change: None,
            accepted: None,
        }));
    }
    set_changes(&mut points);
    mark_accepted(&repo, store.as_ref(), &infos, &mut points)?;
    if args.max_count == Some(0) {
        return Ok(exit_codes::OK);
    }

    if points.is_empty() && global.message_format == MessageFormat::Human {
        let whose = match &args.machine {
            MachineFilter::This => format!(" on this machine (key {})", machine.key),
            MachineFilter::Any => String::new(),
            MachineFilter::Key(k) => format!(" on machine {k}"),
        };
        eprintln!(
            "no records{whose} along the first-parent history of {}{}; store some with \
             `cargo perf record`{}",
            short(&from),
            if filter.is_empty() {
                String::new()
            } else {
                format!(" for `{filter}`")
            },
            if args.machine == MachineFilter::This {
                ", or pass --machine any"
            } else {
                ""
            }
        );
        return Ok(exit_codes::OK);
    }
    let output: &dyn HistoryOutput = match global.message_format {
        MessageFormat::Human => &Human,
        MessageFormat::Json => &Json,
    };
    // Hundreds of thousands of lines: written in blocks, not a write per line.
    let mut out = std::io::BufWriter::new(out);
    output.history(&points, args.machine == MachineFilter::Any, &mut out)?;
    growth(global, &points, &mut out)?;
    out.flush()?;
    // Half a million points freed one by one take a tenth of a second; the process is ending.
    std::mem::forget(points);
    std::mem::forget(shown);
    Ok(exit_codes::OK)
}

/// The commits (newest first), and the subjects and messages of some.
type Walk = (
    Vec<String>,
    Vec<Option<(String, Option<crate::store::CommitInfo>)>>,
);

/// The first-parent history from `from` (newest first) with the subjects of its first `limit`
/// commits that have notes, and the points of `keys` whose workload contains `filter`: the
/// history walked and the subjects read on a thread of their own while the index is read (each
/// takes a tenth of a second over 10,000 commits), unless the index needs the walk to read new
/// notes.
fn walk_and_read(
    repo: &Repo,
    store: &dyn crate::store::Store,
    keys: &HashMap<String, String>,
    from: &str,
    filter: &str,
    limit: Option<usize>,
) -> Result<(Walk, crate::store::Found)> {
    use crate::errors::StoreError;
    let git_dir = repo.git_dir();
    let walk_here = || -> Result<Walk, StoreError> {
        let repo = Repo::discover(&git_dir)?;
        let walk = repo.first_parent(from, usize::MAX)?;
        let mut left = limit.unwrap_or(usize::MAX);
        let subjects = walk
            .iter()
            .map(|c| {
                (left > 0 && keys.contains_key(c)).then(|| {
                    left -= 1;
                    repo.subject_and_info(c)
                })
            })
            .collect();
        Ok((walk, subjects))
    };
    std::thread::scope(|scope| {
        let walker = scope.spawn(walk_here);
        let walker = std::sync::Mutex::new(Some(walker));
        let walked: std::sync::OnceLock<Result<Walk, StoreError>> = std::sync::OnceLock::new();
        let join = || {
            walked.get_or_init(|| {
                let handle = walker.lock().ok().and_then(|mut w| w.take());
                match handle.map(|h| h.join()) {
                    Some(Ok(walk)) => walk,
                    _ => Err(StoreError::Invalid(
                        "the thread walking the history stopped".into(),
                    )),
                }
            })
        };
        let order = || match join() {
            Ok((walk, _)) => Ok(walk.clone()),
            Err(e) => Err(StoreError::Invalid(e.to_string())),
        };
        let found = crate::store::points_in(store, keys, &order, filter)?;
        join();
        let walk = walked
            .into_inner()
            .unwrap_or_else(|| Err(StoreError::Invalid("the history was not walked".into())))?;
        Ok((walk, found))
    })
}

/// Marks each point whose commit has an acceptance that covers its workload (the newest).
fn mark_accepted(
    repo: &Repo,
    store: &dyn crate::store::Store,
    infos: &HashMap<&str, crate::store::CommitInfo>,
    points: &mut [HistoryPoint],
) -> Result<()> {
    let mut commits: Vec<String> = Vec::new();
    for p in points.iter() {
        if commits.last().map(String::as_str) != Some(p.commit) {
            commits.push(p.commit.to_owned());
        }
    }
    let info = |c: &str| infos.get(c).cloned().or_else(|| repo.commit_info(c));
    let acceptances = acceptances_with(store, &commits, &info)?;
    for p in points.iter_mut() {
        p.accepted = acceptances
            .iter()
            .find(|a| a.commit == p.commit && a.covers(&p.point.workload))
            .map(|a| a.reason.clone());
    }
    Ok(())
}

/// Per commit and machine, the growth exponent of each declared workload whose fixtures it
/// recorded at two or more sizes (from their medians), newest first.
fn growth(global: &GlobalOpts, points: &[HistoryPoint<'_>], out: &mut dyn Write) -> Result<()> {
    // (commit, machine, group) in the order met, with each fixture's (name, size, median, fit).
    type Fixtures = Vec<(String, f64, f64, Option<crate::store::StoredFit>)>;
    let mut found: Vec<((String, String, String), bool, Fixtures)> = Vec::new();
    for p in points {
        let (Some(g), Some(median)) = (&p.point.growth, p.point.median_ns) else {
            continue;
        };
        let key = (
            p.commit.to_owned(),
            p.point.machine.to_string(),
            g.group.clone(),
        );
        let entry = match found.iter_mut().find(|(k, _, _)| *k == key) {
            Some(e) => e,
            None => {
                found.push((key, g.declared, Vec::new()));
                found.last_mut().expect("just pushed")
            }
        };
        // Newest first within a commit: keep a fixture's newest record.
        if !entry.2.iter().any(|(w, ..)| **w == *p.point.workload) {
            entry
                .2
                .push((p.point.workload.to_string(), g.size, median, g.fit));
        }
    }
    let fitted: Vec<_> = found
        .into_iter()
        .filter_map(|((commit, machine, group), declared, members)| {
            let fixtures: Vec<_> = members.iter().map(|(_, s, m, f)| (*s, *m, *f)).collect();
            let (k, fit) = crate::store::stored_exponent(&fixtures)?;
            Some((commit, machine, group, declared, fixtures.len(), k, fit))
        })
        .collect();
    if fitted.is_empty() {
        return Ok(());
    }
    match global.message_format {
        MessageFormat::Json => {
            for (commit, machine, group, declared, fixtures, k, fit) in &fitted {
                let line = serde_json::json!({
                    "reason": "history-growth", "schema": crate::report::JSON_SCHEMA_VERSION,
                    "commit": commit, "machine": machine, "group": group,
                    "size_unit": if *declared { "declared" } else { "lines" },
                    "fixtures": fixtures, "exponent": k,
                    "lower": fit.map(|f| f.lower), "upper": fit.map(|f| f.upper),
                });
                writeln!(out, "{line}")?;
            }
        }
        MessageFormat::Human => {
            writeln!(
                out,
                "\nGrowth with fixture size (time ~ n^k, 95% interval):"
            )?;
            for (commit, _, group, _, fixtures, k, fit) in &fitted {
                writeln!(
                    out,
                    "  {} {}: n^{k:.2}{} over {fixtures} fixtures",
                    short(commit),
                    crate::report::escape::terminal(group),
                    fit.map_or(" (from the medians)".to_owned(), |f| format!(
                        " [{:.2}, {:.2}]",
                        f.lower, f.upper
                    ))
                )?;
            }
        }
    }
    Ok(())
}

/// The change of each point's median wall time from the previous (older) point of the same
/// workload on the same machine. Points are newest first.
fn set_changes(points: &mut [HistoryPoint<'_>]) {
    let mut changes = vec![None; points.len()];
    // Each workload and machine by a number, found from the address of its shared text (a
    // workload's name is one text for all its points, a machine's one per record) and by the
    // text only for an address not seen yet: 500,000 points need 20,000 text lookups. The
    // previous median of a pair is then at `previous[workload][machine]`.
    let (mut workloads, mut machines) = (Ids::default(), Ids::default());
    let mut previous: Vec<Vec<f64>> = Vec::new();
    for (i, p) in points.iter().enumerate().rev() {
        let Some(median) = p.point.median_ns else {
            continue;
        };
        let (w, m) = (
            workloads.of(&p.point.workload) as usize,
            machines.of(&p.point.machine) as usize,
        );
        if previous.len() <= w {
            previous.resize_with(w + 1, Vec::new);
        }
        if previous[w].len() <= m {
            previous[w].resize(m + 1, f64::NAN);
        }
        let before = &mut previous[w][m];
        if *before > 0.0 {
            changes[i] = Some(median / *before - 1.0);
        }
        *before = median;
    }
    for (p, change) in points.iter_mut().zip(changes) {
        p.change = change;
    }
}

/// The place of each workload in the one order, found once per workload: by the address of
/// its shared name (a workload's points share one text), not by 500,000 lookups of its text.
struct Ranks<'a> {
    order: crate::vocab::WorkloadOrder,
    ids: Ids<'a>,
    /// Per id of `ids`, its place, and how many of its points the current commit had so far.
    places: Vec<(crate::vocab::Place<'a>, u32)>,
    touched: Vec<usize>,
}

impl<'a> Ranks<'a> {
    fn new(order: crate::vocab::WorkloadOrder) -> Self {
        Ranks {
            order,
            ids: Ids::default(),
            places: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// The place of a point's workload, and how many points of it came before in its commit.
    fn of(&mut self, name: &'a crate::store::Shared) -> (crate::vocab::Place<'a>, u32) {
        let id = self.ids.of(name) as usize;
        if id >= self.places.len() {
            self.places.push((self.order.place(name), 0));
        }
        let (place, seen) = &mut self.places[id];
        if *seen == 0 {
            self.touched.push(id);
        }
        *seen += 1;
        (*place, *seen - 1)
    }

    fn next_commit(&mut self) {
        for id in self.touched.drain(..) {
            self.places[id].1 = 0;
        }
    }
}

/// Numbers for texts, looked up by the address of a shared text first: the last one's, then a
/// map's.
#[derive(Default)]
struct Ids<'a> {
    last: Option<(usize, u32)>,
    by_address: HashMap<usize, u32, crate::fnv::Build>,
    by_text: HashMap<&'a str, u32, crate::fnv::Build>,
}

impl<'a> Ids<'a> {
    fn of(&mut self, text: &'a crate::store::Shared) -> u32 {
        let address = std::sync::Arc::as_ptr(text) as *const u8 as usize;
        if let Some((a, id)) = self.last
            && a == address
        {
            return id;
        }
        let id = self.look_up(address, text);
        self.last = Some((address, id));
        id
    }

    fn look_up(&mut self, address: usize, text: &'a str) -> u32 {
        if let Some(&id) = self.by_address.get(&address) {
            return id;
        }
        let next = self.by_text.len() as u32;
        let id = *self.by_text.entry(text).or_insert(next);
        self.by_address.insert(address, id);
        id
    }
}
