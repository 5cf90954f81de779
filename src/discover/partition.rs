//! `--partition count:K/N` and `--partition hash:K/N`: a deterministic share of the workloads,
//! as cargo-nextest spells it, so that a CI matrix of N jobs covers every workload exactly once.
//!
//! The unit that is shared out is a workload, except that the fixtures of one `[[workload]]`
//! stay together (a growth fit needs every size, and a reader expects them side by side). `count` deals the units, sorted
//! by name, round-robin: shares differ by at most one unit. `hash` sends each unit where the
//! FNV-1a hash of its name says: a unit's shard does not change when others are added or
//! removed, at the price of uneven shares.

use std::collections::BTreeSet;
use std::fmt;

use super::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Count,
    Hash,
}

/// Shard `index` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub scheme: Scheme,
    pub index: u32,
    pub total: u32,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Count => "count",
            Scheme::Hash => "hash",
        };
        write!(f, "{scheme}:{}/{}", self.index, self.total)
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "use `count:K/N` or `hash:K/N` with 1 <= K <= N, such as `hash:2/4`";
        let (scheme, share) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not a partition; {usage}"))?;
        let scheme = match scheme {
            "count" => Scheme::Count,
            "hash" => Scheme::Hash,
            other => {
                return Err(format!(
                    "`{other}` is not a partitioning scheme (in `{text}`); {usage}"
                ));
            }
        };
        let (k, n) = share
            .split_once('/')
            .ok_or_else(|| format!("`{text}` has no `/` between shard and total; {usage}"))?;
        let number = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("`{s}` in `{text}` is not a whole number; {usage}"))
        };
        let (index, total) = (number(k)?, number(n)?);
        if total == 0 || index == 0 || index > total {
            return Err(format!("`{text}` names shard {index} of {total}; {usage}"));
        }
        Ok(Partition {
            scheme,
            index,
            total,
        })
    }
}

/// The name of the unit a workload is shared out with: its `[[workload]]`, else itself.
fn unit(w: &Workload) -> &str {
    match w.command() {
        Some(c) if !c.declared.is_empty() => &c.declared,
        _ => &w.name,
    }
}

impl Partition {
    /// Whether the unit named `unit` is this shard's under `hash`.
    fn hashes_here(&self, unit: &str) -> bool {
        crate::fnv::fnv1a(unit.as_bytes()) % u64::from(self.total) == u64::from(self.index - 1)
    }

    /// The shard's share of `names` (unit names), whichever the scheme.
    pub fn units_here<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
        let sorted: BTreeSet<&str> = names.into_iter().collect();
        sorted
            .into_iter()
            .enumerate()
            .filter(|(i, name)| match self.scheme {
                Scheme::Count => *i as u64 % u64::from(self.total) == u64::from(self.index - 1),
                Scheme::Hash => self.hashes_here(name),
            })
            .map(|(_, name)| name)
            .collect()
    }

    /// Keeps this shard's workloads of `workloads`.
    pub fn select(&self, workloads: &mut Vec<Workload>) {
        let here: BTreeSet<String> = self
            .units_here(workloads.iter().map(unit))
            .into_iter()
            .map(str::to_owned)
            .collect();
        workloads.retain(|w| here.contains(unit(w)));
    }

    /// Whether a workload that only the base has belongs to this shard: by the hash of its
    /// name, which needs no list (the candidate's count shares do not know it).
    pub fn takes_removed(&self, name: &str) -> bool {
        self.hashes_here(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_as_nextest_spells_them() {
        assert_eq!(
            "count:2/4".parse(),
            Ok(Partition {
                scheme: Scheme::Count,
                index: 2,
                total: 4
            })
        );
        assert_eq!(
            "hash:1/1".parse::<Partition>().unwrap().to_string(),
            "hash:1/1"
        );
        for (bad, says) in [
            ("count", "not a partition"),
            ("slice:1/2", "`slice` is not a partitioning scheme"),
            ("count:12", "no `/`"),
            ("count:a/2", "`a` in `count:a/2` is not a whole number"),
            ("count:0/2", "shard 0 of 2"),
            ("hash:3/2", "shard 3 of 2"),
            ("hash:1/0", "shard 1 of 0"),
        ] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn every_unit_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..103).map(|i| format!("w{i}")).collect();
        for scheme in [Scheme::Count, Scheme::Hash] {
            for total in [1, 2, 3, 8] {
                let mut seen = Vec::new();
                let mut sizes = Vec::new();
                for index in 1..=total {
                    let p = Partition {
                        scheme,
                        index,
                        total,
                    };
                    let here = p.units_here(names.iter().map(String::as_str));
                    sizes.push(here.len());
                    seen.extend(here);
                }
                seen.sort_unstable();
                let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
                all.sort_unstable();
                assert_eq!(seen, all, "{scheme:?} {total}");
                if scheme == Scheme::Count {
                    // Round-robin: shares differ by at most one.
                    let (min, max) = (sizes.iter().min(), sizes.iter().max());
                    assert!(max.unwrap() - min.unwrap() <= 1, "{sizes:?}");
                }
            }
        }
    }

    #[test]
    fn a_hash_share_does_not_move_when_others_are_added() {
        let p = Partition {
            scheme: Scheme::Hash,
            index: 2,
            total: 3,
        };
        let few: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
        let many: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let here_few = p.units_here(few.iter().map(String::as_str));
        let here_many = p.units_here(many.iter().map(String::as_str));
        assert!(here_few.is_subset(&here_many));
        assert!(!here_few.is_empty());
        assert!(here_few.iter().all(|n| p.takes_removed(n)));
    }
}
