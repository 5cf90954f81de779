//! The labelled values of the release report's chart axes: durations on the y axis in steps of
//! 1, 2 or 5 times a power of ten, commits on the x axis by number or by date. Pure: the chart
//! places the values, the template draws them.

use crate::store::rfc3339;

/// A value on an axis and what its label says.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisValue {
    pub value: f64,
    pub label: String,
}

/// A y axis of durations: the range it spans and its 3 to 5 labelled values, lowest first.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationAxis {
    pub lo_ns: f64,
    pub hi_ns: f64,
    pub values: Vec<AxisValue>,
}

/// The units a duration axis is labelled in, largest first: one unit for all of its labels.
const UNITS: [(f64, &str); 4] = [(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")];

/// The duration axis over `lo_ns..=hi_ns` (`lo_ns` not negative): the multiples of the
/// smallest 1-2-5 step that leaves 3 to 5 of them within the range, all labelled in the unit
/// of the largest. When no step does (a range of 6 steps of 2 is 2 steps of 5), the range is
/// widened to the multiples just outside it, of the step that widens it least. A range of nothing (a flat series) is first widened
/// by 1 % of its value on both sides.
pub fn duration_axis(lo_ns: f64, hi_ns: f64) -> DurationAxis {
    let (mut lo, mut hi) = if lo_ns.is_finite() && hi_ns.is_finite() && lo_ns <= hi_ns {
        (lo_ns.max(0.0), hi_ns.max(0.0))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < hi.abs() * 1e-9 || hi <= 0.0 {
        let pad = (hi.abs() * 0.01).max(1.0);
        (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    }
    // The first and last multiple of `step` within the range, and how many there are.
    let within = |step: f64| {
        let (a, b) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
        (a, b, (b - a + 1.0).max(0.0) as usize)
    };
    let mut steps = Vec::new();
    // Steps from a thousandth of the range to the whole of it, smallest first.
    let first_power = ((hi - lo).log10().floor() as i32) - 3;
    for power in first_power..=first_power + 4 {
        for m in [1.0, 2.0, 5.0] {
            steps.push(m * 10f64.powi(power));
        }
    }
    // Else the range is widened to the multiples around it, by the step that widens it least.
    let around = |step: f64| {
        let (a, b) = ((lo / step + 1e-9).floor(), (hi / step - 1e-9).ceil());
        (a, b, (b - a + 1.0) as usize)
    };
    let chosen = match steps.iter().find(|s| (3..=5).contains(&within(**s).2)) {
        Some(&step) => Some((step, within(step))),
        None => steps
            .iter()
            .filter(|s| (3..=5).contains(&around(**s).2))
            .map(|&s| (s, around(s)))
            .min_by(|x, y| ((x.1.1 - x.1.0) * x.0).total_cmp(&((y.1.1 - y.1.0) * y.0))),
    };
    let Some((step, (a, b, count))) = chosen else {
        return DurationAxis {
            lo_ns: lo,
            hi_ns: hi,
            values: vec![],
        };
    };
    let (lo, hi) = (lo.min(a * step), hi.max(b * step));
    let (scale, unit) = UNITS
        .iter()
        .copied()
        .find(|(scale, _)| b * step >= *scale)
        .unwrap_or((1.0, "ns"));
    let decimals = decimals_of(step / scale);
    let values = (0..count)
        .map(|i| {
            // From the multiple's number, so that no error adds up along the axis.
            let value = (a + i as f64) * step;
            let label = if value == 0.0 {
                "0".to_owned()
            } else {
                format!("{:.*} {unit}", decimals, value / scale)
            };
            AxisValue { value, label }
        })
        .collect();
    DurationAxis {
        lo_ns: lo,
        hi_ns: hi,
        values,
    }
}

/// The digits after the point that a step of `step` (1, 2 or 5 times a power of ten) needs.
fn decimals_of(step: f64) -> usize {
    if step >= 1.0 - 1e-9 {
        0
    } else {
        (-(step.log10()) - 1e-9).ceil().max(0.0) as usize
    }
}

/// How the commits of a chart are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitScale {
    /// By their number on the first-parent path, 0 being the report's first commit.
    Number,
    /// By their commit date (UTC), when the points span more than a day.
    Date,
}

impl CommitScale {
    /// Dates when the commit times of the points span more than a day, numbers otherwise.
    pub fn for_times(times: impl IntoIterator<Item = i64>) -> CommitScale {
        let (lo, hi) = times
            .into_iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if hi > lo && hi.saturating_sub(lo) > 86_400 {
            CommitScale::Date
        } else {
            CommitScale::Number
        }
    }

    /// What the axis shows, written under it.
    pub fn caption(self) -> &'static str {
        match self {
            CommitScale::Number => {
                "commit number on the first-parent path (0 = the first commit of the report)"
            }
            CommitScale::Date => "commit date (UTC); commits evenly spaced in first-parent order",
        }
    }
}

/// The commits labelled on an x axis over commit numbers `first..=last`: every multiple of the
/// smallest 1-2-5 step that leaves at most 6 of them (3 or more when the range has 3 commits).
/// In [`CommitScale::Date`], each is labelled with the date of its commit (`time_of` its
/// number, seconds since the epoch) and a date the value before it already shows is left out.
pub fn commit_axis(
    first: usize,
    last: usize,
    scale: CommitScale,
    time_of: &dyn Fn(usize) -> Option<i64>,
) -> Vec<(usize, String)> {
    let (first, last) = (first.min(last), first.max(last));
    let mut step = 1usize;
    'search: for power in 0..20u32 {
        for m in [1usize, 2, 5] {
            step = m.saturating_mul(10usize.saturating_pow(power));
            if (last / step).saturating_sub(first.div_ceil(step)) < 6 {
                break 'search;
            }
        }
    }
    let mut out: Vec<(usize, String)> = Vec::new();
    for n in (first.div_ceil(step)..=last / step).map(|k| k * step) {
        let label = match scale {
            CommitScale::Number => n.to_string(),
            CommitScale::Date => match time_of(n) {
                Some(t) => rfc3339(t)[..10].to_owned(),
                None => continue,
            },
        };
        if out.last().is_none_or(|(_, l)| *l != label) {
            out.push((n, label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &DurationAxis) -> Vec<&str> {
        axis.values.iter().map(|v| v.label.as_str()).collect()
    }

    #[test]
    fn a_duration_axis_has_three_to_five_values_in_1_2_5_steps() {
        // 1.0 to 1.2 ms: steps of 0.05 ms give 5 values (0.02 ms would give 11).
        let a = duration_axis(1_000_000.0, 1_200_000.0);
        assert_eq!(
            labels(&a),
            ["1.00 ms", "1.05 ms", "1.10 ms", "1.15 ms", "1.20 ms"]
        );
        assert_eq!((a.lo_ns, a.hi_ns), (1_000_000.0, 1_200_000.0));
        // 0.95 to 1.26 ms: 0.1 ms steps, the values within the range.
        let a = duration_axis(950_000.0, 1_260_000.0);
        assert_eq!(labels(&a), ["1.0 ms", "1.1 ms", "1.2 ms"]);
        assert_eq!(a.values[0].value, 1_000_000.0);
        // Microseconds, from zero.
        let a = duration_axis(0.0, 730_000.0);
        assert_eq!(labels(&a), ["0", "200 µs", "400 µs", "600 µs"]);
        // Seconds.
        let a = duration_axis(1.2e9, 4.9e9);
        assert_eq!(labels(&a), ["2 s", "3 s", "4 s"]);
        // Nanoseconds.
        let a = duration_axis(12.0, 19.0);
        assert_eq!(labels(&a), ["12 ns", "14 ns", "16 ns", "18 ns"]);
        // Across a unit: all in the unit of the largest.
        let a = duration_axis(600_000.0, 1_500_000.0);
        assert_eq!(
            labels(&a),
            ["0.6 ms", "0.8 ms", "1.0 ms", "1.2 ms", "1.4 ms"]
        );
    }

    #[test]
    fn every_range_gets_three_to_five_values_within_it() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let lo = 10f64.powf(rng.f64() * 10.0);
            let hi = lo * (1.0 + 10f64.powf(rng.f64() * 4.0 - 3.0));
            let a = duration_axis(lo, hi);
            let n = a.values.len();
            assert!((3..=5).contains(&n), "{lo} {hi}: {a:?}");
            assert!(a.lo_ns <= lo && a.hi_ns >= hi, "{lo} {hi}: {a:?}");
            assert!(
                a.values.iter().all(|v| v.value >= a.lo_ns * (1.0 - 1e-9)
                    && v.value <= a.hi_ns * (1.0 + 1e-9)),
                "{lo} {hi}: {a:?}"
            );
        }
    }

    #[test]
    fn a_flat_series_and_a_nothing_get_an_axis_around_them() {
        let a = duration_axis(2_000_000.0, 2_000_000.0);
        assert_eq!((a.lo_ns, a.hi_ns), (1_980_000.0, 2_020_000.0));
        assert_eq!(
            labels(&a),
            ["1.98 ms", "1.99 ms", "2.00 ms", "2.01 ms", "2.02 ms"]
        );
        let a = duration_axis(0.0, 0.0);
        assert_eq!(labels(&a), ["0", "0.5 ns", "1.0 ns"]);
        let a = duration_axis(f64::NAN, 3.0);
        assert_eq!(labels(&a), ["0", "0.5 ns", "1.0 ns"]);
    }

    #[test]
    fn commits_are_numbered_by_1_2_5_steps_within_the_range() {
        let none = |_: usize| None;
        let at = |first, last| -> Vec<String> {
            commit_axis(first, last, CommitScale::Number, &none)
                .into_iter()
                .map(|(_, l)| l)
                .collect()
        };
        assert_eq!(at(0, 59), ["0", "10", "20", "30", "40", "50"]);
        assert_eq!(at(3, 9), ["4", "6", "8"]);
        assert_eq!(at(0, 9_999), ["0", "2000", "4000", "6000", "8000"]);
        assert_eq!(at(0, 2), ["0", "1", "2"]);
        // A single point: its own number.
        assert_eq!(at(7, 7), ["7"]);
    }

    #[test]
    fn dates_label_commits_when_they_span_more_than_a_day() {
        // 2026-01-01T00:00:00Z, one commit an hour.
        let time = |n: usize| Some(1_767_225_600 + n as i64 * 3600);
        assert_eq!(
            CommitScale::for_times((0..24).filter_map(time)),
            CommitScale::Number
        );
        assert_eq!(
            CommitScale::for_times((0..60).filter_map(time)),
            CommitScale::Date
        );
        assert_eq!(CommitScale::for_times([5]), CommitScale::Number);
        assert_eq!(CommitScale::for_times([]), CommitScale::Number);
        let ticks = commit_axis(0, 59, CommitScale::Date, &time);
        // Commits 0, 10 and 20 are on the first day: one label for them.
        assert_eq!(
            ticks,
            [
                (0, "2026-01-01".to_owned()),
                (30, "2026-01-02".to_owned()),
                (50, "2026-01-03".to_owned())
            ]
        );
    }
}
