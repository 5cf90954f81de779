//! The search of `bisect`: which commit of a first-parent path to judge next, and what the
//! judgements found. Pure logic, so that it can be tested with a fake judge; building and
//! measuring a commit is the caller's.
//!
//! The path holds the commits after the good one, oldest first; index `i` (1-based) is its
//! `i`-th commit, index 0 the good commit and index `len` the bad one. Like `git bisect`, the
//! search assumes one change: every commit before the first bad one is good, every one after
//! it bad.

use std::collections::BTreeSet;

/// What judging one commit gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Regressed against the good commit.
    Bad,
    /// Unchanged or improved against the good commit.
    Good,
    /// Neither could be told (no build, a failed run, an inconclusive comparison): the search
    /// tries a neighbour, as `git bisect skip` does.
    Skip,
}

/// The state of a search over a path of `len` commits.
#[derive(Debug, Clone)]
pub struct Bisection {
    /// The newest index known good (0: the good commit itself).
    good: usize,
    /// The oldest index known bad (`len` at first: the bad commit).
    bad: usize,
    skipped: BTreeSet<usize>,
}

/// Where the first bad commit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// This index is the first bad commit.
    First(usize),
    /// One of these indices (oldest first) is: those between them were skipped.
    Among(Vec<usize>),
}

impl Bisection {
    /// A search whose bad end (index `len`) is known bad and whose good end (index 0) good.
    pub fn new(len: usize) -> Self {
        Bisection {
            good: 0,
            bad: len.max(1),
            skipped: BTreeSet::new(),
        }
    }

    /// Takes what judging `index` gave. A judgement that contradicts the ones before (a good
    /// commit after a bad one) is outside the range still searched and changes nothing.
    pub fn judged(&mut self, index: usize, judgement: Judgement) {
        match judgement {
            Judgement::Bad if index > self.good && index < self.bad => self.bad = index,
            Judgement::Good if index > self.good && index < self.bad => self.good = index,
            Judgement::Skip => {
                self.skipped.insert(index);
            }
            _ => {}
        }
    }

    /// The next index to judge, or `None` when the search is over. The one nearest the middle
    /// of the range still open that was not skipped (the older one of two as near), so that a
    /// skipped commit makes the search try its neighbours.
    pub fn next(&self) -> Option<usize> {
        let middle = (self.good + self.bad) as f64 / 2.0;
        self.open().min_by(|a, b| {
            let (da, db) = ((*a as f64 - middle).abs(), (*b as f64 - middle).abs());
            da.total_cmp(&db).then(a.cmp(b))
        })
    }

    /// About how many more judgements the search needs, skips aside (for progress lines).
    pub fn steps_left(&self) -> usize {
        let open = self.open().count();
        // ceil(log2(open + 1)): each judgement halves the open range.
        (usize::BITS - open.leading_zeros()) as usize
    }

    /// What the search found; meaningful once `next` is `None`.
    pub fn found(&self) -> Found {
        if self.bad == self.good + 1 {
            return Found::First(self.bad);
        }
        Found::Among(
            (self.good + 1..=self.bad)
                .filter(|i| *i == self.bad || self.skipped.contains(i))
                .collect(),
        )
    }

    /// The indices between the newest good and the oldest bad one not yet judged.
    fn open(&self) -> impl Iterator<Item = usize> + '_ {
        (self.good + 1..self.bad).filter(|i| !self.skipped.contains(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search over `len` commits whose judgements `judge` gives, and returns what it
    /// found and the indices it judged, in order.
    fn search(len: usize, judge: impl Fn(usize) -> Judgement) -> (Found, Vec<usize>) {
        let mut b = Bisection::new(len);
        let mut visited = Vec::new();
        while let Some(i) = b.next() {
            assert!(!visited.contains(&i), "judged {i} twice");
            assert!(visited.len() <= len, "no end");
            visited.push(i);
            b.judged(i, judge(i));
        }
        (b.found(), visited)
    }

    /// A path whose first bad commit is `first`, where `skip` cannot be judged.
    fn path(first: usize, skip: &[usize]) -> impl Fn(usize) -> Judgement + '_ {
        move |i| {
            if skip.contains(&i) {
                Judgement::Skip
            } else if i >= first {
                Judgement::Bad
            } else {
                Judgement::Good
            }
        }
    }

    #[test]
    fn finds_every_first_bad_commit_in_logarithmic_steps() {
        for len in 1..=40 {
            for first in 1..=len {
                let (found, visited) = search(len, path(first, &[]));
                assert_eq!(found, Found::First(first), "len {len} first {first}");
                let bound = (usize::BITS - len.leading_zeros()) as usize;
                assert!(visited.len() <= bound, "len {len}: {visited:?}");
            }
        }
    }

    #[test]
    fn a_path_of_one_commit_needs_no_judgement() {
        let (found, visited) = search(1, path(1, &[]));
        assert_eq!(found, Found::First(1));
        assert!(visited.is_empty());
    }

    #[test]
    fn a_skipped_commit_makes_the_search_try_its_neighbour() {
        // Five commits, the fourth is the first bad one, the second does not build.
        let (found, visited) = search(5, path(4, &[2]));
        assert_eq!(found, Found::First(4));
        assert_eq!(
            visited,
            vec![2, 3, 4],
            "the middle, its neighbour, then the rest"
        );
    }

    #[test]
    fn a_skip_next_to_the_first_bad_commit_leaves_both_as_candidates() {
        // The commit just before the first bad one cannot be judged: either may be the first.
        let (found, _) = search(6, path(4, &[3]));
        assert_eq!(
            found,
            Found::Among(vec![3, 4]),
            "2 is good, 3 skipped and 4 bad"
        );
        let (found, _) = search(8, path(5, &[4]));
        assert_eq!(found, Found::Among(vec![4, 5]));
    }

    #[test]
    fn skips_at_the_edges() {
        // The oldest commit of the path cannot be judged and the first bad one is the second.
        let (found, _) = search(5, path(2, &[1]));
        assert_eq!(found, Found::Among(vec![1, 2]));
        // The first commit is the first bad one; the ones after it cannot be judged.
        let (found, _) = search(5, path(1, &[2, 3, 4]));
        assert_eq!(found, Found::First(1));
        // Nothing but the bad end can be judged: any of them.
        let (found, visited) = search(4, path(2, &[1, 2, 3]));
        assert_eq!(found, Found::Among(vec![1, 2, 3, 4]));
        assert_eq!(visited.len(), 3);
        // The commit just before the bad end cannot be judged and the rest is good.
        let (found, _) = search(4, path(4, &[3]));
        assert_eq!(found, Found::Among(vec![3, 4]));
    }

    #[test]
    fn an_inconclusive_commit_is_skipped_like_one_that_does_not_build() {
        // Inconclusive comparisons come to the search as skips: commit 5 of 9 cannot be told,
        // and the first bad one is 6.
        let (found, visited) = search(9, path(6, &[5]));
        assert_eq!(found, Found::Among(vec![5, 6]));
        assert!(visited.contains(&5) && visited.contains(&6), "{visited:?}");
        // With 4 good, the same skip leaves 6 the first.
        let (found, _) = search(9, path(5, &[6]));
        assert_eq!(found, Found::First(5));
    }

    #[test]
    fn judgements_known_before_the_search_narrow_it() {
        // Stored records said 2 is good and 6 bad: only 3, 4 and 5 remain.
        let mut b = Bisection::new(8);
        b.judged(6, Judgement::Bad);
        b.judged(2, Judgement::Good);
        // A record that contradicts them (good after bad) changes nothing.
        b.judged(7, Judgement::Good);
        assert_eq!(b.steps_left(), 2);
        let mut visited = Vec::new();
        while let Some(i) = b.next() {
            visited.push(i);
            b.judged(i, path(5, &[])(i));
        }
        assert!(visited.iter().all(|i| (3..=5).contains(i)), "{visited:?}");
        assert_eq!(b.found(), Found::First(5));
    }
}
