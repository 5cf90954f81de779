//! The SVG chart of a workload in the HTML report: computed here as plain coordinates, drawn
//! by the template.

use serde::Serialize;

use super::release::SeriesPoint;
use crate::vocab::load::Second;
use crate::vocab::units::format_ns;

/// An SVG chart, computed here and drawn by the template: coordinates are plain numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    /// `x,y x,y ...` of the median.
    pub median: String,
    /// The polygon between the median and the p95.
    pub band: String,
    /// The y of the budget line, when the budget is within the chart.
    pub budget_y: Option<String>,
    pub budget_label: Option<String>,
    pub marks: Vec<Mark>,
    pub y_top_label: String,
    pub y_bottom_label: String,
    pub x_first_label: String,
    pub x_last_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub x: String,
    pub label: String,
}

/// Lays out the median line, the p95 band, the change points and the budget line.
pub fn chart(points: &[SeriesPoint], changes: &[usize], budget_ns: Option<u64>) -> Chart {
    let (width, height, left, right, top, bottom) = (640u32, 200u32, 70u32, 630u32, 12u32, 172u32);
    let medians: Vec<f64> = points.iter().map(|p| p.median_ns).collect();
    let highs: Vec<f64> = points
        .iter()
        .map(|p| p.p95_ns.unwrap_or(p.median_ns).max(p.median_ns))
        .collect();
    let mut lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = highs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // The budget line is drawn when it does not flatten the data: within twice the highest p95.
    let budget = budget_ns
        .map(|b| b as f64)
        .filter(|b| *b <= hi * 2.0 && b.is_finite());
    if let Some(b) = budget {
        hi = hi.max(b);
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.005).max(1e-9);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let n = points.len();
    let x = |i: usize| -> f64 {
        if n <= 1 {
            f64::from(left + right) / 2.0
        } else {
            f64::from(left) + i as f64 * f64::from(right - left) / (n - 1) as f64
        }
    };
    let y = |v: f64| -> f64 { f64::from(bottom) - (v - lo) / (hi - lo) * f64::from(bottom - top) };
    let xy = |i: usize, v: f64| format!("{:.1},{:.1}", x(i), y(v));
    let median: Vec<String> = medians.iter().enumerate().map(|(i, &v)| xy(i, v)).collect();
    let upper: Vec<String> = highs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, &v)| xy(i, v))
        .collect();
    let band = median
        .iter()
        .chain(&upper)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    Chart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        median: median.join(" "),
        band,
        budget_y: budget.map(|b| format!("{:.1}", y(b))),
        budget_label: budget_ns.map(|b| format!("budget {}", format_ns(b as f64))),
        marks: changes
            .iter()
            .filter(|&&i| i < n)
            .map(|&i| Mark {
                x: format!("{:.1}", x(i)),
                label: points[i].commit.clone(),
            })
            .collect(),
        y_top_label: format_ns(hi),
        y_bottom_label: format_ns(lo),
        x_first_label: points.first().map(|p| p.commit.clone()).unwrap_or_default(),
        x_last_label: points.last().map(|p| p.commit.clone()).unwrap_or_default(),
    }
}

/// A labelled value on an axis: where it goes and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub at: String,
    pub label: String,
}

/// The latency-over-time chart of a load workload: p50, p95 and p99 of each second (or span of
/// seconds in a long stored series), the stages marked where they begin.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyChart {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    pub p50: String,
    pub p95: String,
    pub p99: String,
    /// Stage starts (x) and names.
    pub stages: Vec<Mark>,
    /// Latency values on the y axis, from 0 to the top.
    pub y_ticks: Vec<Tick>,
    /// Seconds on the x axis.
    pub x_ticks: Vec<Tick>,
}

/// Lays out the latency chart of `series`, whose stages are named by `stage_names`.
pub fn latency_chart(series: &[Second], stage_names: &[String]) -> Option<LatencyChart> {
    let shown: Vec<&Second> = series
        .iter()
        .filter(|s| s.completed + s.errors > 0)
        .collect();
    if shown.is_empty() {
        return None;
    }
    let (width, height, left, right, top, bottom) = (640u32, 220u32, 70u32, 630u32, 12u32, 192u32);
    let hi = shown
        .iter()
        .map(|s| s.p99.max(s.p95))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let hi = nice_ceiling(hi * 1.05);
    let t_last = series.last().map_or(1, |s| s.t).max(1) as f64;
    let x = |t: u64| f64::from(left) + t as f64 / t_last * f64::from(right - left);
    let y = |v: f64| f64::from(bottom) - v / hi * f64::from(bottom - top);
    let line = |f: fn(&Second) -> u64| {
        shown
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.t), y(f(s) as f64)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut stages = Vec::new();
    let mut last_stage = usize::MAX;
    for s in series {
        if s.stage != last_stage {
            last_stage = s.stage;
            stages.push(Mark {
                x: format!("{:.1}", x(s.t)),
                label: stage_names.get(s.stage).cloned().unwrap_or_default(),
            });
        }
    }
    let y_ticks = (0..=4)
        .map(|i| {
            let v = hi * f64::from(i) / 4.0;
            Tick {
                at: format!("{:.1}", y(v)),
                label: if i == 0 { "0".into() } else { format_ns(v) },
            }
        })
        .collect();
    let step = nice_ceiling(t_last / 6.0).max(1.0);
    let x_ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= t_last)
        .map(|t| Tick {
            at: format!("{:.1}", x(t as u64)),
            label: format!("{t:.0} s"),
        })
        .collect();
    Some(LatencyChart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        p50: line(|s| s.p50),
        p95: line(|s| s.p95),
        p99: line(|s| s.p99),
        stages,
        y_ticks,
        x_ticks,
    })
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_coordinates_stay_inside_the_plot() {
        let points: Vec<SeriesPoint> = (0..5)
            .map(|i| SeriesPoint {
                commit: format!("c{i}"),
                median_ns: 100.0 + i as f64,
                p95_ns: Some(110.0 + i as f64),
            })
            .collect();
        let c = chart(&points, &[2], Some(150));
        for pair in c.band.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (70.0..=630.0).contains(&x) && (12.0..=172.0).contains(&y),
                "{pair}"
            );
        }
        assert_eq!(c.marks[0].x, "350.0");
        assert!(c.budget_y.is_some());
        // A budget far above the data is named but not drawn.
        assert!(chart(&points, &[], Some(1_000_000)).budget_y.is_none());
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(7_300_000.0), 10_000_000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn the_latency_chart_spans_the_run_and_marks_each_stage() {
        let series: Vec<Second> = (0..30)
            .map(|t| Second {
                t,
                stage: usize::from(t >= 10) + usize::from(t >= 20),
                completed: 100,
                p50: 1_000_000,
                p95: 2_000_000,
                p99: if t == 15 { 900_000_000 } else { 3_000_000 },
                ..Second::default()
            })
            .collect();
        let names = vec!["before".to_string(), "spike".into(), "after".into()];
        let c = latency_chart(&series, &names).unwrap();
        let labels: Vec<&str> = c.stages.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["before", "spike", "after"]);
        assert_eq!(c.stages[1].x, format!("{:.1}", 70.0 + 10.0 / 29.0 * 560.0));
        // The stall sets the top: 900 ms * 1.05 rounds up to 1 s.
        assert_eq!(c.y_ticks.last().unwrap().label, "1.00 s");
        assert_eq!(c.y_ticks[0].label, "0");
        // Seconds every 5 (29 / 6 rounds up to 5), from 0 to 25.
        let xs: Vec<&str> = c.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(xs, ["0 s", "5 s", "10 s", "15 s", "20 s", "25 s"]);
        for pair in c.p99.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (70.0..=630.0).contains(&x) && (12.0..=192.0).contains(&y),
                "{pair}"
            );
        }
        // Nothing answered: no chart.
        assert!(latency_chart(&[Second::default()], &names).is_none());
    }
}
