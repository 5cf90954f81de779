//! What valgrind's cachegrind counts of a process tree: instructions executed and, with its
//! cache simulation, misses and an estimate of cycles.

use serde::{Deserialize, Serialize};

/// The events of every process of one run, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Instructions executed (cachegrind's `Ir`).
    pub instructions: u64,
    /// Data reads and writes (`Dr` + `Dw`).
    pub data_accesses: u64,
    /// First-level cache misses, instructions and data (`I1mr` + `D1mr` + `D1mw`).
    pub l1_misses: u64,
    /// Last-level cache misses (`ILmr` + `DLmr` + `DLmw`): the accesses that went to memory.
    pub ll_misses: u64,
    /// Processes counted (the command and every descendant that ran code).
    pub processes: u32,
    /// Whether the cache was simulated: without it (`CARGO_PERF_CACHE_SIM=no`), only
    /// instructions are counted, and the other fields are 0.
    #[serde(default = "yes")]
    pub cache_simulated: bool,
}

fn yes() -> bool {
    true
}

impl Counts {
    /// Estimated cycles, weighing each access by where it was served (the weights of iai and
    /// iai-callgrind): an L1 hit costs 1, a last-level hit 5, a memory access 35.
    pub fn estimated_cycles(&self) -> Option<u64> {
        if !self.cache_simulated {
            return None;
        }
        let accesses = self.instructions + self.data_accesses;
        let l1_hits = accesses.saturating_sub(self.l1_misses);
        let ll_hits = self.l1_misses.saturating_sub(self.ll_misses);
        Some(l1_hits + 5 * ll_hits + 35 * self.ll_misses)
    }

    /// Adds another process's counts (`cache_simulated` is the caller's to set).
    pub fn add(&mut self, other: &Counts) {
        self.instructions += other.instructions;
        self.data_accesses += other.data_accesses;
        self.l1_misses += other.l1_misses;
        self.ll_misses += other.ll_misses;
        self.processes += other.processes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_weigh_hits_by_level() {
        // 1000 instructions and 500 data accesses; 100 L1 misses of which 10 went to memory:
        // 1400 L1 hits + 5 x 90 + 35 x 10.
        let c = Counts {
            instructions: 1000,
            data_accesses: 500,
            l1_misses: 100,
            ll_misses: 10,
            processes: 1,
            cache_simulated: true,
        };
        assert_eq!(c.estimated_cycles(), Some(1400 + 450 + 350));
        let only = Counts {
            cache_simulated: false,
            ..c
        };
        assert_eq!(only.estimated_cycles(), None);
    }
}
