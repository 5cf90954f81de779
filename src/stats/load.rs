//! What a load workload's figures say: whether thresholds held, where a stress profile broke,
//! how fast a service recovered, and how a soak drifted. Pure functions over the figures.

use crate::config::{LoadMetric, ThresholdSpec};
use crate::vocab::load::{Drift, Figures, Recovery, Second};

/// The value of `metric` in `figures`, in the metric's base unit; `None` when it was not
/// measured (CPU and memory of a command target).
pub fn metric_value(metric: LoadMetric, figures: &Figures) -> Option<f64> {
    let l = &figures.latency;
    Some(match metric {
        LoadMetric::Percentile(p) => match l.percentile(p) {
            Some(v) => v as f64,
            None => return None,
        },
        LoadMetric::Mean => l.mean,
        LoadMetric::Min => l.min as f64,
        LoadMetric::ErrorRate => figures.error_rate(),
        LoadMetric::Throughput => figures.achieved_rps,
        LoadMetric::Cpu => figures.cpu_mean?,
        LoadMetric::CpuMax => figures.cpu_max?,
        LoadMetric::Rss => figures.rss_max? as f64,
    })
}

/// Whether `threshold` held on `figures`, and the value it was judged on. A span with no
/// request holds every latency threshold (nothing was slow) and no throughput floor.
pub fn judge(threshold: &ThresholdSpec, figures: &Figures) -> (bool, Option<f64>) {
    match metric_value(threshold.metric, figures) {
        Some(v) => (threshold.op.holds(v, threshold.value), Some(v)),
        // Not measured: it cannot have broken.
        None => (true, None),
    }
}

/// When the service recovered, counting from `from` (an index into `series`, the first second
/// after the load went down): the first second from which no request failed or was dropped to
/// the end, which itself had p95 back near `baseline_p95`, and after which the median of the
/// seconds' p95 stayed near it. Near is within `factor` times, or within 2 ms for a service that
/// answers in less (a fraction of a millisecond moves with the machine's noise). The median
/// keeps one disturbed second of a shared machine from hiding a recovery; p95 that stays high
/// still shows. Seconds in which nothing completed are left out.
pub fn recovery(series: &[Second], from: usize, baseline_p95: u64, factor: f64) -> Recovery {
    let limit = (baseline_p95 as f64 * factor).max(baseline_p95 as f64 + 2e6);
    let after: Vec<&Second> = series
        .get(from..)
        .unwrap_or(&[])
        .iter()
        .filter(|s| s.completed > 0 || s.errors > 0 || s.dropped > 0)
        .collect();
    let clean = |s: &&Second| s.errors == 0 && s.dropped == 0;
    let start = (0..after.len()).find(|&i| {
        let rest = &after[i..];
        if !rest.iter().all(clean) || after[i].p95 as f64 > limit {
            return false;
        }
        let mut p95: Vec<u64> = rest.iter().map(|s| s.p95).collect();
        p95.sort_unstable();
        // The lower median: two seconds, one disturbed, still count as back.
        (p95[(p95.len() - 1) / 2] as f64) <= limit
    });
    Recovery {
        recovered: start.is_some(),
        seconds: start.map(|i| after[i].t.saturating_sub(after[0].t) as f64),
        baseline_p95,
        factor,
    }
}

/// Least-squares slope and coefficient of determination of `y` over `x`.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        // A flat line explains a flat series perfectly, with a slope of zero.
        1.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some((slope, r2))
}

/// The drift of a soak over `series` (its soak stage's seconds). The first fifth is left out:
/// a service fills its caches and pools as traffic begins, which is growth that stops.
///
/// Memory "grows without bound" when the straight line explains most of the RSS's movement
/// (R^2 >= 0.8), it grew over the span by more than 10 % of where it started and by more than
/// 1 MiB, and the last quarter is above the first: steady growth, not a step.
pub fn drift(series: &[Second]) -> Option<Drift> {
    let skip = series.len() / 5;
    let span = &series[skip.min(series.len())..];
    if span.len() < 5 {
        return None;
    }
    let hours = |s: &Second| s.t as f64 / 3600.0;
    let p95: Vec<(f64, f64)> = span
        .iter()
        .filter(|s| s.completed > 0)
        .map(|s| (hours(s), s.p95 as f64))
        .collect();
    let rss: Vec<(f64, f64)> = span
        .iter()
        .filter_map(|s| s.rss.map(|r| (hours(s), r as f64)))
        .collect();
    let fds: Vec<(f64, f64)> = span
        .iter()
        .filter_map(|s| s.fds.map(|f| (hours(s), f as f64)))
        .collect();
    let rss_fit = linear_fit(&rss);
    let quarter = (rss.len() / 4).max(1);
    let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len().max(1) as f64;
    let (rss_start, rss_end) = if rss.is_empty() {
        (None, None)
    } else {
        (
            Some(mean(&rss[..quarter]) as u64),
            Some(mean(&rss[rss.len() - quarter..]) as u64),
        )
    };
    let memory_grows = match (rss_fit, rss_start, rss_end, rss.first(), rss.last()) {
        (Some((slope, r2)), Some(start), Some(end), Some(first), Some(last)) => {
            let grown = slope * (last.0 - first.0);
            r2 >= 0.8
                && slope > 0.0
                && grown > 0.1 * start as f64
                && grown > 1024.0 * 1024.0
                && end > start
        }
        _ => false,
    };
    Some(Drift {
        p95_per_hour: linear_fit(&p95).map_or(0.0, |f| f.0),
        rss_per_hour: rss_fit.map(|f| f.0),
        fds_per_hour: linear_fit(&fds).map(|f| f.0),
        rss_fit: rss_fit.map(|f| f.1),
        memory_grows,
        rss_start,
        rss_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t: u64, p95: u64, errors: u64, rss: u64) -> Second {
        Second {
            t,
            completed: 100,
            offered: 100,
            errors,
            p95,
            rss: Some(rss),
            fds: Some(10),
            ..Second::default()
        }
    }

    #[test]
    fn a_straight_line_is_fitted_exactly() {
        // y = 3x + 2: slope 3, and the line explains all of it.
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 2.0)).collect();
        let (slope, r2) = linear_fit(&points).unwrap();
        assert!((slope - 3.0).abs() < 1e-12);
        assert!((r2 - 1.0).abs() < 1e-12);
        // Known values (as numpy.polyfit and scipy.stats.linregress give them):
        // x = 1..5, y = [2, 4, 5, 4, 5]: slope 0.6, r = 0.7746, r^2 = 0.6.
        let points = [(1.0, 2.0), (2.0, 4.0), (3.0, 5.0), (4.0, 4.0), (5.0, 5.0)];
        let (slope, r2) = linear_fit(&points).unwrap();
        assert!((slope - 0.6).abs() < 1e-12, "{slope}");
        assert!((r2 - 0.6).abs() < 1e-12, "{r2}");
    }

    #[test]
    fn recovery_starts_where_the_good_seconds_run_to_the_end() {
        let ms = 1_000_000;
        let mut series: Vec<Second> = (0..10).map(|t| second(t, 5 * ms, 0, 1)).collect();
        // After the drop at index 3: two bad seconds (errors, then slow), then good.
        series[3].errors = 4;
        series[4].p95 = 50 * ms;
        let r = recovery(&series, 3, 5 * ms, 1.5);
        assert!(r.recovered);
        assert_eq!(r.seconds, Some(2.0));
        // One slow second near the end of a shared machine's run does not undo it...
        series[8].p95 = 40 * ms;
        let r = recovery(&series, 3, 5 * ms, 1.5);
        assert_eq!(r.seconds, Some(2.0));
        // ...but p95 that stays high does.
        for s in &mut series[6..] {
            s.p95 = 40 * ms;
        }
        assert!(!recovery(&series, 3, 5 * ms, 1.5).recovered);
        series[6..].iter_mut().for_each(|s| s.p95 = 5 * ms);
        // A failure in the last second: not recovered.
        series[9].errors = 1;
        let r = recovery(&series, 3, 5 * ms, 1.5);
        assert!(!r.recovered);
        assert_eq!(r.seconds, None);
    }

    #[test]
    fn steady_growth_is_a_leak_and_a_plateau_is_not() {
        let mib = 1024 * 1024;
        // 20 MiB plus 1 MiB a second: a leak.
        let leak: Vec<Second> = (0..60)
            .map(|t| second(t, 1000, 0, 20 * mib + t * mib))
            .collect();
        let d = drift(&leak).unwrap();
        assert!(d.memory_grows, "{d:?}");
        assert!((d.rss_per_hour.unwrap() - 3600.0 * mib as f64).abs() < 1.0);
        // Growing in the first seconds, then flat with noise: not a leak.
        let flat: Vec<Second> = (0..60)
            .map(|t| {
                let base = 20 * mib + t.min(5) * mib;
                second(t, 1000, 0, base + (t * 7919 % 13) * 4096)
            })
            .collect();
        let d = drift(&flat).unwrap();
        assert!(!d.memory_grows, "{d:?}");
    }
}
