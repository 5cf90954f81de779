//! Which explanation fits a change of time, given what cachegrind counted on each side: the
//! rule of the README's "Explanations", in one place.

use crate::vocab::{Explanation, ExplanationKind, FunctionChange, Profile, SideFigures};

/// Instructions that changed by no more than this share (0.1 %) are the same work: a compiler
/// that moved code without changing it still adds or drops a few instructions (padding jumps,
/// a different register spill), never a thousandth of a run.
pub const SAME_INSTRUCTIONS: f64 = 0.001;

/// More work explains a change of time when the instructions moved the same way by at least
/// this share of it (half): instructions are not all equally costly, so they rarely move by
/// exactly as much as the time, but a change of half or more is the bulk of it.
pub const MORE_WORK_SHARE: f64 = 0.5;

/// Memory explains a change of time with the same instructions when the cache misses moved the
/// same way as the time by at least this share (10 %) ...
pub const MEMORY_MISSES: f64 = 0.10;

/// ... and cachegrind's estimated cycles, which weigh each miss by what it costs, moved the same
/// way by at least this share (0.5 %): a few more misses in a run that has almost none cannot
/// have moved its time.
pub const MEMORY_CYCLES: f64 = 0.005;

/// How many functions an explanation names.
pub const TOP_FUNCTIONS: usize = 5;

/// `new` over `base`, minus one; a count that appears from nothing is +100 %.
pub fn change(base: u64, new: u64) -> f64 {
    match (base, new) {
        (0, 0) => 0.0,
        (0, _) => 1.0,
        _ => new as f64 / base as f64 - 1.0,
    }
}

/// Explains a change of time (`time_change`, 0.05: 5 % slower) by the two sides' profiles.
pub fn explain(time_change: f64, base: &Profile, new: &Profile) -> Explanation {
    let (b, n) = (SideFigures::of(base), SideFigures::of(new));
    let instructions_change = change(b.instructions, n.instructions);
    let cycles_change = change(b.estimated_cycles, n.estimated_cycles);
    let cache_misses_change = change(b.l1_misses + b.ll_misses, n.l1_misses + n.ll_misses);
    let branch_misses_change = change(b.branch_misses, n.branch_misses);
    let same_way = |c: f64| c * time_change > 0.0;
    let kind = if instructions_change.abs() <= SAME_INSTRUCTIONS {
        if same_way(cache_misses_change)
            && cache_misses_change.abs() >= MEMORY_MISSES
            && same_way(cycles_change)
            && cycles_change.abs() >= MEMORY_CYCLES
        {
            ExplanationKind::Memory
        } else {
            ExplanationKind::Layout
        }
    } else if same_way(instructions_change)
        && instructions_change.abs() >= MORE_WORK_SHARE * time_change.abs()
    {
        ExplanationKind::MoreWork
    } else {
        ExplanationKind::Unexplained
    };
    Explanation {
        kind,
        time_change,
        instructions_change,
        cycles_change,
        cache_misses_change,
        branch_misses_change,
        base: b,
        new: n,
        functions: top_functions(base, new, TOP_FUNCTIONS),
        excused: false,
    }
}

/// The `n` functions whose instruction counts changed most either way, largest first (ties by
/// name), leaving out those that did not change.
pub fn top_functions(base: &Profile, new: &Profile, n: usize) -> Vec<FunctionChange> {
    let mut all: Vec<FunctionChange> = base
        .functions
        .keys()
        .chain(
            new.functions
                .keys()
                .filter(|k| !base.functions.contains_key(*k)),
        )
        .map(|name| FunctionChange {
            name: name.clone(),
            base: base.functions.get(name).copied().unwrap_or(0),
            new: new.functions.get(name).copied().unwrap_or(0),
        })
        .filter(|f| f.base != f.new)
        .collect();
    all.sort_by(|a, b| {
        b.change()
            .unsigned_abs()
            .cmp(&a.change().unsigned_abs())
            .then_with(|| a.name.cmp(&b.name))
    });
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Counts;

    /// A profile of `instructions`, with data accesses a third of them, `l1` and `ll` misses.
    fn profile(instructions: u64, l1: u64, ll: u64, functions: &[(&str, u64)]) -> Profile {
        Profile {
            counts: Counts {
                instructions,
                data_accesses: instructions / 3,
                l1_misses: l1,
                ll_misses: ll,
                processes: 1,
                cache_simulated: true,
            },
            branches: instructions / 5,
            branch_misses: 1000,
            functions: functions.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn instructions_that_moved_with_the_time_are_more_work_and_name_the_functions() {
        // Time +5 %, instructions +4.8 %: 10,000,000 -> 10,480,000, all of it in `checksum`.
        let base = profile(
            10_000_000,
            5000,
            1000,
            &[("app::checksum", 2_000_000), ("app::parse", 8_000_000)],
        );
        let new = profile(
            10_480_000,
            5000,
            1000,
            &[("app::checksum", 2_480_000), ("app::parse", 8_000_000)],
        );
        let e = explain(0.05, &base, &new);
        assert_eq!(e.kind, ExplanationKind::MoreWork);
        assert!((e.instructions_change - 0.048).abs() < 1e-12);
        assert_eq!(e.functions.len(), 1);
        assert_eq!(e.functions[0].name, "app::checksum");
        assert_eq!(e.functions[0].change(), 480_000);
        // Fewer instructions and less time: more work too (an improvement).
        assert_eq!(explain(-0.05, &new, &base).kind, ExplanationKind::MoreWork);
        // Just over half the time change is the bulk of it; just under half is not.
        let half = profile(10_260_000, 5000, 1000, &[]);
        assert_eq!(explain(0.05, &base, &half).kind, ExplanationKind::MoreWork);
        let under = profile(10_240_000, 5000, 1000, &[]);
        assert_eq!(
            explain(0.05, &base, &under).kind,
            ExplanationKind::Unexplained
        );
    }

    #[test]
    fn the_same_instructions_and_misses_under_a_time_change_are_layout() {
        // Time +5 %, instructions +0.02 % (2,000 of 10,000,000), misses flat.
        let base = profile(10_000_000, 5000, 1000, &[("app::hot", 9_000_000)]);
        let new = profile(10_002_000, 5000, 1000, &[("app::hot", 9_000_000)]);
        let e = explain(0.05, &base, &new);
        assert_eq!(e.kind, ExplanationKind::Layout);
        assert!(e.functions.is_empty(), "{:?}", e.functions);
        // The edge: 0.1 % is still the same work, 0.11 % is not (and is too little for +5 %).
        let edge = profile(10_010_000, 5000, 1000, &[]);
        assert_eq!(explain(0.05, &base, &edge).kind, ExplanationKind::Layout);
        let over = profile(10_011_000, 5000, 1000, &[]);
        assert_eq!(
            explain(0.05, &base, &over).kind,
            ExplanationKind::Unexplained
        );
    }

    #[test]
    fn the_same_instructions_with_misses_that_moved_with_the_time_are_memory() {
        // Instructions +0.02 %, L1 and LL misses +30 %: 100,000 + 20,000 -> 130,000 + 26,000.
        // Estimated cycles: 13,333,333 accesses; base 13,233,333 + 5 x 80,000 + 35 x 20,000 =
        // 14,333,333; new 13,336,000 - 130,000 + 5 x 104,000 + 35 x 26,000 = 14,636,000, +2.1 %.
        let base = profile(10_000_000, 100_000, 20_000, &[]);
        let new = profile(10_002_000, 130_000, 26_000, &[]);
        let e = explain(0.05, &base, &new);
        assert_eq!(e.kind, ExplanationKind::Memory);
        assert!((e.cache_misses_change - 0.30).abs() < 1e-12);
        assert!(
            e.cycles_change > 0.02 && e.cycles_change < 0.022,
            "{}",
            e.cycles_change
        );
        // Misses that moved against the time do not explain it.
        assert_eq!(explain(-0.05, &base, &new).kind, ExplanationKind::Layout);
        // +30 % of a handful of misses is not enough to move the cycles.
        let few = profile(10_000_000, 100, 20, &[]);
        let few_more = profile(10_000_000, 130, 26, &[]);
        assert_eq!(explain(0.05, &few, &few_more).kind, ExplanationKind::Layout);
    }

    #[test]
    fn instructions_that_moved_too_little_or_the_other_way_are_unexplained() {
        // Instructions +1.5 % and time +8 %.
        let base = profile(10_000_000, 5000, 1000, &[]);
        let new = profile(10_150_000, 5000, 1000, &[]);
        let e = explain(0.08, &base, &new);
        assert_eq!(e.kind, ExplanationKind::Unexplained);
        assert!((e.instructions_change - 0.015).abs() < 1e-12);
        // Fewer instructions but more time.
        assert_eq!(
            explain(0.08, &new, &base).kind,
            ExplanationKind::Unexplained
        );
    }

    #[test]
    fn functions_are_ranked_by_the_size_of_their_change_either_way() {
        let base = profile(
            0,
            0,
            0,
            &[
                ("a", 100),
                ("b", 1000),
                ("c", 50),
                ("gone", 30),
                ("same", 7),
            ],
        );
        let new = profile(
            0,
            0,
            0,
            &[("a", 400), ("b", 500), ("c", 60), ("new", 30), ("same", 7)],
        );
        let top = top_functions(&base, &new, 4);
        let names: Vec<(&str, i64)> = top.iter().map(|f| (f.name.as_str(), f.change())).collect();
        assert_eq!(names, [("b", -500), ("a", 300), ("gone", -30), ("new", 30)]);
        assert_eq!(top_functions(&base, &new, 10).len(), 5);
        assert_eq!(change(0, 0), 0.0);
        assert_eq!(change(0, 5), 1.0);
    }
}
