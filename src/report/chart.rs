//! The SVG chart of a workload in the HTML report: computed here as plain coordinates, drawn
//! by the template.

use serde::Serialize;

use super::release::SeriesPoint;
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
}
