//! Measuring a base and a candidate in alternation, in one invocation.
//!
//! Comparing a new run with numbers stored by an earlier invocation raised false alarms in up to
//! 87 % of A/A trials on our shared machine: the machine's state drifts between invocations, and
//! the intervals do not know it. Rounds that run A and B back to back, in random order, see the
//! same drift on both sides, and the comparison pairs them by round.

use super::runner::{RunSpec, Runner, Sample};
use super::sampler::{Measured, failure_of};
use crate::config::Sampling;
use crate::errors::MeasureError;

/// Both sides of a workload, sample `i` of each taken in round `i`.
#[derive(Debug, Clone, Default)]
pub struct Paired {
    pub base: Measured,
    pub new: Measured,
}

impl Paired {
    /// Rounds in which both sides succeeded.
    pub fn rounds(&self) -> usize {
        self.base.samples.len().min(self.new.samples.len())
    }
}

/// The first look at the samples comes after at least this many rounds: a bootstrap interval of
/// a median from fewer rounds is too narrow (it covers less often than it claims), and looking
/// at it raised A/A false alarms to 1.5 % in the gate's simulations.
pub const MIN_LOOK_ROUNDS: usize = 20;

/// What the caller decides after a look at the samples so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Continue,
    Stop,
}

/// Measures `base` and `new` in alternating rounds of random order (seeded by `seed`).
///
/// After `min_runs` rounds, `look(base, new)` is asked whether the answer is decisive, at rounds
/// spaced 20 % apart so that looking costs little; sampling also stops at `max_runs` rounds or
/// when each side has spent `time_cap` measuring. A failed run stops the workload.
pub fn measure_paired(
    runner: &mut dyn Runner,
    base: &RunSpec,
    new: &RunSpec,
    sampling: &Sampling,
    seed: u64,
    look: &mut dyn FnMut(&[Sample], &[Sample]) -> Look,
    on_round: &mut dyn FnMut(usize, usize),
) -> Result<Paired, MeasureError> {
    let mut out = Paired::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..sampling.warmup {
        for is_base in [true, false] {
            let spec = if is_base { base } else { new };
            let run = runner.run(spec)?;
            if !run.succeeded() {
                let side = if is_base { &mut out.base } else { &mut out.new };
                side.failure = Some(failure_of(&run, spec, true));
                return Ok(out);
            }
        }
    }
    let cap_ns = sampling.time_cap.as_nanos() as u64;
    let (min, max) = (sampling.min_runs as usize, sampling.max_runs as usize);
    let (mut spent_base, mut spent_new) = (0u64, 0u64);
    let mut next_look = min.max(MIN_LOOK_ROUNDS);
    for round in 1..=max {
        let base_first = rng.bool();
        let order = if base_first {
            [true, false]
        } else {
            [false, true]
        };
        for is_base in order {
            let (spec, side, spent) = if is_base {
                (base, &mut out.base, &mut spent_base)
            } else {
                (new, &mut out.new, &mut spent_new)
            };
            let run = runner.run(spec)?;
            if !run.succeeded() {
                side.failure = Some(failure_of(&run, spec, false));
                // Keep the sides paired: drop the other side's sample of this round.
                let (a, b) = (out.base.samples.len(), out.new.samples.len());
                out.base.samples.truncate(a.min(b));
                out.new.samples.truncate(a.min(b));
                return Ok(out);
            }
            *spent += run.sample.wall_ns;
            side.rss_floor_bytes = side.rss_floor_bytes.max(run.rss_floor_bytes);
            side.samples.push(run.sample);
        }
        let expected = if spent_base.min(spent_new) == 0 {
            max
        } else {
            let per_round = spent_base.max(spent_new) / round as u64;
            ((cap_ns / per_round.max(1)) as usize)
                .clamp(min, max)
                .max(round)
        };
        on_round(round, expected);
        if round >= min && round >= next_look {
            if look(&out.base.samples, &out.new.samples) == Look::Stop {
                break;
            }
            next_look = (round * 6).div_ceil(5).max(round + 1);
        }
        if round >= min && spent_base >= cap_ns && spent_new >= cap_ns {
            break;
        }
    }
    Ok(out)
}
