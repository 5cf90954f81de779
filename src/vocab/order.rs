//! The one order of workloads in every output: those `perf.toml` declares, in its order (the
//! `[[workload]]`s, each over its fixtures, then the `[[load]]`s, as `list` shows them); then
//! stored workloads it no longer declares, by name; then criterion benchmarks by bench target
//! and benchmark id. `list`, `run`, `record`, `show`, `history`, `check`, `compare`, `report`
//! and `export` all sort by it, so a workload is found in the same place in each.

use std::cmp::Ordering;
use std::collections::HashMap;

/// Every criterion workload's name starts with this: `criterion:<target>/<benchmark id>`.
pub const CRITERION_PREFIX: &str = "criterion:";

/// Where a workload goes, from the names `perf.toml` declares.
#[derive(Debug, Clone, Default)]
pub struct WorkloadOrder {
    declared: HashMap<String, usize>,
}

/// A workload's place: compare two to order them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place<'a> {
    Declared(usize),
    /// A command or load workload the configuration does not declare (any more), by name.
    Other(&'a str),
    /// A criterion benchmark, by bench target (with its package when qualified) and id.
    Criterion(&'a str, &'a str),
}

impl WorkloadOrder {
    /// The order of the workloads declared, given in declaration order. A name declared twice
    /// keeps its first place.
    pub fn new<S: AsRef<str>>(declared: impl IntoIterator<Item = S>) -> Self {
        let mut map = HashMap::new();
        for (i, name) in declared.into_iter().enumerate() {
            map.entry(name.as_ref().to_owned()).or_insert(i);
        }
        WorkloadOrder { declared: map }
    }

    pub fn place<'a>(&self, name: &'a str) -> Place<'a> {
        if let Some(&i) = self.declared.get(name) {
            return Place::Declared(i);
        }
        match name.strip_prefix(CRITERION_PREFIX) {
            Some(rest) => match rest.split_once('/') {
                Some((target, id)) => Place::Criterion(target, id),
                None => Place::Criterion(rest, ""),
            },
            None => Place::Other(name),
        }
    }

    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        self.place(a).cmp(&self.place(b))
    }

    /// Sorts `items` by the workload each names, keeping the order of items of one workload.
    pub fn sort<T>(&self, items: &mut [T], name: impl Fn(&T) -> &str) {
        items.sort_by(|a, b| self.compare(name(a), name(b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_workloads_come_first_then_others_by_name_then_criterion_by_target_and_id() {
        let order = WorkloadOrder::new(["w49", "w48", "analyse/small", "analyse/large", "serve"]);
        let mut names = vec![
            "criterion:parse/zeta",
            "criterion:fmt/b",
            "old-b",
            "analyse/large",
            "criterion:parse/alpha/10",
            "serve",
            "criterion:fmt-x/a",
            "w48",
            "old-a",
            "criterion:fmt/a",
            "analyse/small",
            "w49",
        ];
        order.sort(&mut names, |n| n);
        assert_eq!(
            names,
            [
                "w49",
                "w48",
                "analyse/small",
                "analyse/large",
                "serve",
                "old-a",
                "old-b",
                // By target, then id: `fmt` before `fmt-x` although `-` sorts before `/`.
                "criterion:fmt/a",
                "criterion:fmt/b",
                "criterion:fmt-x/a",
                "criterion:parse/alpha/10",
                "criterion:parse/zeta",
            ]
        );
    }

    #[test]
    fn without_a_configuration_commands_go_by_name_before_criterion() {
        let order = WorkloadOrder::default();
        let mut names = vec!["criterion:a/x", "zeta", "alpha", "criterion:a"];
        order.sort(&mut names, |n| n);
        assert_eq!(names, ["alpha", "zeta", "criterion:a", "criterion:a/x"]);
    }

    #[test]
    fn a_name_declared_twice_keeps_its_first_place_and_items_of_one_workload_keep_their_order() {
        let order = WorkloadOrder::new(["b", "b", "a"]);
        let mut items = vec![("a", 1), ("b", 2), ("a", 3), ("b", 4)];
        order.sort(&mut items, |(n, _)| n);
        assert_eq!(items, [("b", 2), ("b", 4), ("a", 1), ("a", 3)]);
        assert_eq!(order.place("b"), Place::Declared(0));
    }
}
