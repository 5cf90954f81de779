//! Where every request's outcome goes: an HDR histogram per stage and request name (bounded
//! memory, mergeable), counters, and a histogram per second of intended start that is turned
//! into a few numbers once no request of that second can still be waiting. Memory stays flat
//! however long the run: what grows is one small `Second` per second.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::vocab::load::{Errors, Figures, Latency, Second};

/// Latency is recorded in microseconds, from 1 us to an hour, to three significant figures.
const HIGHEST_US: u64 = 3_600_000_000;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Status(u16),
    Connect,
    Timeout,
    Other,
}

fn histogram(sigfig: u8) -> Histogram<u32> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, HIGHEST_US, sigfig).expect("valid histogram bounds")
}

/// Counts and a histogram.
#[derive(Clone)]
pub struct Acc {
    pub hist: Histogram<u32>,
    pub requests: u64,
    pub errors: Errors,
    pub dropped: u64,
    pub offered: u64,
}

impl Acc {
    /// Nothing yet, to three significant figures.
    pub fn empty() -> Self {
        Acc::new(3)
    }

    fn new(sigfig: u8) -> Self {
        Acc {
            hist: histogram(sigfig),
            requests: 0,
            errors: Errors::default(),
            dropped: 0,
            offered: 0,
        }
    }

    fn record(&mut self, latency_us: u64, outcome: Outcome) {
        self.hist.saturating_record(latency_us.max(1));
        self.requests += 1;
        match outcome {
            Outcome::Ok => {}
            Outcome::Status(code) => *self.errors.status.entry(code).or_default() += 1,
            Outcome::Connect => self.errors.connect += 1,
            Outcome::Timeout => self.errors.timeout += 1,
            Outcome::Other => self.errors.other += 1,
        }
    }

    pub fn add(&mut self, other: &Acc) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.hist.add(&other.hist);
        self.requests += other.requests;
        self.errors.add(&other.errors);
        self.dropped += other.dropped;
        self.offered += other.offered;
    }

    pub fn latency(&self) -> Latency {
        let h = &self.hist;
        if h.is_empty() {
            return Latency::default();
        }
        let ns = |us: u64| us * 1000;
        Latency {
            min: ns(h.min()),
            mean: h.mean() * 1000.0,
            p50: ns(h.value_at_quantile(0.50)),
            p90: ns(h.value_at_quantile(0.90)),
            p95: ns(h.value_at_quantile(0.95)),
            p99: ns(h.value_at_quantile(0.99)),
            p999: ns(h.value_at_quantile(0.999)),
            max: ns(h.max()),
        }
    }

    /// The figures over `seconds` of wall time (CPU and memory are filled in by the caller).
    pub fn figures(&self, seconds: f64) -> Figures {
        let secs = seconds.max(1e-9);
        Figures {
            requests: self.requests,
            errors: self.errors.clone(),
            dropped: self.dropped,
            latency: self.latency(),
            offered_rps: self.offered as f64 / secs,
            achieved_rps: (self.requests - self.errors.total()) as f64 / secs,
            seconds,
            ..Figures::default()
        }
    }
}

/// One stage's accumulators: all requests, and each request name.
pub struct StageAcc {
    pub all: Acc,
    pub by_request: Vec<Acc>,
}

pub struct Recorder {
    pub stages: Vec<StageAcc>,
    /// Seconds whose requests may still be waiting, by second of intended start.
    open: BTreeMap<u64, (usize, Acc)>,
    /// Seconds closed, in order.
    pub closed: Vec<Second>,
    /// Completions since the last progress line, by time of completion.
    pub recent: Acc,
}

impl Recorder {
    pub fn new(stages: usize, requests: usize) -> Self {
        Recorder {
            stages: (0..stages)
                .map(|_| StageAcc {
                    all: Acc::new(3),
                    by_request: (0..requests.max(1)).map(|_| Acc::new(3)).collect(),
                })
                .collect(),
            open: BTreeMap::new(),
            closed: Vec::new(),
            recent: Acc::new(2),
        }
    }

    fn second(&mut self, second: u64, stage: usize) -> &mut Acc {
        &mut self
            .open
            .entry(second)
            .or_insert_with(|| (stage, Acc::new(2)))
            .1
    }

    /// An arrival of the schedule (sent or not) in `second`.
    pub fn offered(&mut self, stage: usize, second: u64) {
        self.stages[stage].all.offered += 1;
        self.second(second, stage).offered += 1;
    }

    /// An arrival that was not sent: `max_in_flight` requests were waiting.
    pub fn dropped(&mut self, stage: usize, second: u64) {
        self.stages[stage].all.dropped += 1;
        self.second(second, stage).dropped += 1;
    }

    pub fn record(
        &mut self,
        stage: usize,
        request: usize,
        second: u64,
        latency_us: u64,
        outcome: Outcome,
    ) {
        let s = &mut self.stages[stage];
        s.all.record(latency_us, outcome);
        if let Some(r) = s.by_request.get_mut(request) {
            // A request is offered when it is picked; dropped arrivals had none picked yet.
            r.offered += 1;
            r.record(latency_us, outcome);
        }
        self.second(second, stage).record(latency_us, outcome);
        self.recent.record(latency_us, outcome);
    }

    /// Closes the seconds before `before`: their histograms become numbers. `reading` gives
    /// the service's usage in a second.
    pub fn close_before(&mut self, before: u64, reading: &dyn Fn(u64) -> SecondUsage) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= before {
                break;
            }
            let t = *entry.key();
            let (stage, acc) = entry.remove();
            let l = acc.latency();
            let u = reading(t);
            self.closed.push(Second {
                t,
                stage,
                offered: acc.offered,
                completed: acc.requests,
                errors: acc.errors.total(),
                dropped: acc.dropped,
                p50: l.p50,
                p95: l.p95,
                p99: l.p99,
                max: l.max,
                cpu: u.cpu,
                rss: u.rss,
                fds: u.fds,
                generator_cpu: u.generator_cpu,
            });
        }
    }
}

/// The service's usage in one second, as the monitor read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecondUsage {
    pub cpu: Option<f64>,
    pub rss: Option<u64>,
    pub fds: Option<u64>,
    pub generator_cpu: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_to_three_figures() {
        let mut r = Recorder::new(1, 1);
        // 1..=1000 ms: p50 is 500 ms, p99 990 ms, to three significant figures.
        for ms in 1..=1000u64 {
            r.offered(0, 0);
            r.record(0, 0, 0, ms * 1000, Outcome::Ok);
        }
        r.record(0, 0, 1, 5_000, Outcome::Status(503));
        let f = r.stages[0].all.figures(2.0);
        let close = |a: u64, b: u64| (a as f64 - b as f64).abs() <= b as f64 * 0.001;
        assert!(close(f.latency.p50, 500_000_000), "{:?}", f.latency);
        assert!(close(f.latency.p99, 990_000_000), "{:?}", f.latency);
        assert_eq!(f.requests, 1001);
        assert_eq!(f.errors.status.get(&503), Some(&1));
        assert_eq!(f.achieved_rps, 500.0);
        assert_eq!(f.offered_rps, 500.0);
        // Second 0 closes, second 1 stays open.
        r.close_before(1, &|_| SecondUsage::default());
        assert_eq!(r.closed.len(), 1);
        assert_eq!(r.closed[0].completed, 1000);
        r.close_before(u64::MAX, &|_| SecondUsage::default());
        assert_eq!(r.closed[1].errors, 1);
    }
}
