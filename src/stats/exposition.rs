//! The part of the Prometheus text format (0.0.4, and OpenMetrics' counters) a service's
//! figures need, and the arithmetic on two scrapes: counters' rates and histograms' quantiles.
//!
//! What is read: `# TYPE <name> counter|gauge|histogram` and the samples after it,
//! `<name>{<label>="<value>",...} <value> [<timestamp>]`. A counter's samples are named `<name>`
//! or `<name>_total` (OpenMetrics' `_created` is skipped) and kept under the sample's name; a histogram's are `<name>_bucket`
//! (with `le`), `<name>_sum` and `<name>_count`. Samples of other types, comments and `# HELP`
//! are skipped; a line that does not parse is an error naming it.

use std::collections::BTreeMap;

use crate::vocab::service_metrics::{CounterRate, GaugeValue, HistogramFigures};

/// One scrape: each series of each type, keyed by name and labels (without `le`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub counters: BTreeMap<(String, String), f64>,
    pub gauges: BTreeMap<(String, String), f64>,
    pub histograms: BTreeMap<(String, String), Histogram>,
}

/// A histogram series: cumulative bucket counts by upper bound, the sum and the count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, in the order read; `le` may be `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Type {
    Counter,
    Gauge,
    Histogram,
}

/// Parses one scrape.
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut types: BTreeMap<String, Type> = BTreeMap::new();
    let mut scrape = Scrape::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            if words.next() == Some("TYPE")
                && let (Some(name), Some(kind)) = (words.next(), words.next())
            {
                let kind = match kind {
                    "counter" => Type::Counter,
                    "gauge" => Type::Gauge,
                    "histogram" => Type::Histogram,
                    _ => continue,
                };
                types.insert(name.to_string(), kind);
            }
            continue;
        }
        let (name, labels, value) =
            sample(line).map_err(|why| format!("line {}: {why}: `{line}`", i + 1))?;
        let family = |suffix: &str| name.strip_suffix(suffix).map(str::to_string);
        let typed = |n: &str| types.get(n).copied();
        if typed(&name) == Some(Type::Gauge) {
            scrape.gauges.insert((name, join(&labels, None)), value);
        } else if typed(&name) == Some(Type::Counter) {
            scrape.counters.insert((name, join(&labels, None)), value);
        } else if family("_total").is_some_and(|f| typed(&f) == Some(Type::Counter)) {
            // Keyed by the sample's name (`x_total`), which is what PromQL queries.
            scrape.counters.insert((name, join(&labels, None)), value);
        } else if let Some(f) = family("_bucket").filter(|f| typed(f) == Some(Type::Histogram)) {
            let le = labels
                .iter()
                .find(|(k, _)| k == "le")
                .ok_or_else(|| format!("line {}: a bucket without `le`: `{line}`", i + 1))?;
            let le = number(&le.1)
                .ok_or_else(|| format!("line {}: `le` is not a number: `{line}`", i + 1))?;
            let h = scrape
                .histograms
                .entry((f, join(&labels, Some("le"))))
                .or_default();
            h.buckets.push((le, value));
        } else if let Some(f) = family("_sum").filter(|f| typed(f) == Some(Type::Histogram)) {
            let key = (f, join(&labels, None));
            scrape.histograms.entry(key).or_default().sum = value;
        } else if let Some(f) = family("_count").filter(|f| typed(f) == Some(Type::Histogram)) {
            let key = (f, join(&labels, None));
            scrape.histograms.entry(key).or_default().count = value;
        }
    }
    Ok(scrape)
}

/// The labels but `skip`, as Prometheus writes them.
fn join(labels: &[(String, String)], skip: Option<&str>) -> String {
    labels
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != skip)
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn number(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// A sample line's name, labels and value.
type Sample = (String, Vec<(String, String)>, f64);

/// A sample line: its name, labels and value.
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err("no metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut key = String::new();
        let closed = loop {
            let Some((i, c)) = chars.next() else {
                return Err("an unclosed `{`".into());
            };
            match c {
                '}' => break i,
                ',' | ' ' if key.is_empty() => {}
                '=' => {
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err(format!("label `{key}` has no quoted value"));
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            None => return Err("an unclosed label value".into()),
                            Some((_, '"')) => break,
                            Some((_, '\\')) => match chars.next() {
                                Some((_, 'n')) => value.push('\n'),
                                Some((_, c)) => value.push(c),
                                None => return Err("an unclosed label value".into()),
                            },
                            Some((_, c)) => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                c => key.push(c),
            }
        };
        rest = &inner[closed + 1..];
    }
    let value = rest.split_whitespace().next().ok_or("no value")?;
    let value = number(value).ok_or_else(|| format!("`{value}` is not a number"))?;
    Ok((name.to_string(), labels, value))
}

/// The `q` quantile (0 to 1) of observations given as cumulative bucket counts sorted by upper
/// bound, interpolated linearly within the bucket it falls in, as PromQL's
/// `histogram_quantile` does: the lowest bucket starts at 0 (unless its bound is not above 0),
/// and a quantile in the `+Inf` bucket is the highest finite bound. `None` without
/// observations or buckets.
pub fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|(_, c)| *c >= rank)?;
    let (upper, count) = buckets[i];
    if upper.is_infinite() {
        return Some(if i == 0 { 0.0 } else { buckets[i - 1].0 });
    }
    let (lower, below) = if i == 0 {
        (if upper > 0.0 { 0.0 } else { upper }, 0.0)
    } else {
        buckets[i - 1]
    };
    if i == 0 && upper <= 0.0 {
        return Some(upper);
    }
    let inside = count - below;
    if inside <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / inside)
}

/// Each histogram's quantiles and mean over what it observed between `first` and `last`, each
/// counter's increase and rate over `seconds`, each gauge's last value. A series that went down
/// (the service restarted) counts from zero, as PromQL's `increase` does.
pub fn between(
    first: &Scrape,
    last: &Scrape,
    seconds: f64,
) -> (Vec<HistogramFigures>, Vec<CounterRate>, Vec<GaugeValue>) {
    let delta = |before: Option<f64>, after: f64| match before {
        Some(b) if after >= b => after - b,
        _ => after,
    };
    let mut histograms = Vec::new();
    for ((name, labels), h) in &last.histograms {
        let before = first.histograms.get(&(name.clone(), labels.clone()));
        let reset = before.is_some_and(|b| h.count < b.count);
        let before = before.filter(|_| !reset);
        let mut buckets: Vec<(f64, f64)> = h
            .buckets
            .iter()
            .map(|(le, c)| {
                let was = before.and_then(|b| b.buckets.iter().find(|(l, _)| l == le));
                (*le, delta(was.map(|(_, c)| *c), *c))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count = delta(before.map(|b| b.count), h.count);
        let sum = h.sum - before.map_or(0.0, |b| b.sum);
        let q = |q: f64| bucket_quantile(q, &buckets);
        histograms.push(HistogramFigures {
            name: name.clone(),
            labels: labels.clone(),
            count,
            mean: (count > 0.0).then(|| sum / count),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
        });
    }
    let counters = last
        .counters
        .iter()
        .map(|(key, after)| {
            let increase = delta(first.counters.get(key).copied(), *after);
            CounterRate {
                name: key.0.clone(),
                labels: key.1.clone(),
                increase,
                per_second: if seconds > 0.0 {
                    increase / seconds
                } else {
                    0.0
                },
            }
        })
        .collect();
    let gauges = last
        .gauges
        .iter()
        .map(|((name, labels), value)| GaugeValue {
            name: name.clone(),
            labels: labels.clone(),
            value: *value,
        })
        .collect();
    (histograms, counters, gauges)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "\
# HELP http_request_duration_seconds Time to answer.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{path=\"/\",le=\"0.01\"} 10
http_request_duration_seconds_bucket{path=\"/\",le=\"0.02\"} 20
http_request_duration_seconds_bucket{path=\"/\",le=\"0.05\"} 20
http_request_duration_seconds_bucket{path=\"/\",le=\"+Inf\"} 20
http_request_duration_seconds_sum{path=\"/\"} 0.3
http_request_duration_seconds_count{path=\"/\"} 20
# TYPE http_requests counter
http_requests_total{code=\"200\"} 100 1700000000000
http_requests_created{code=\"200\"} 1700000000
# TYPE in_flight gauge
in_flight 3
# TYPE build_info untyped
build_info{version=\"1\"} 1
";

    const LAST: &str = "\
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{path=\"/\",le=\"0.01\"} 10
http_request_duration_seconds_bucket{path=\"/\",le=\"0.02\"} 70
http_request_duration_seconds_bucket{path=\"/\",le=\"0.05\"} 110
http_request_duration_seconds_bucket{path=\"/\",le=\"+Inf\"} 120
http_request_duration_seconds_sum{path=\"/\"} 3.3
http_request_duration_seconds_count{path=\"/\"} 120
# TYPE http_requests counter
http_requests_total{code=\"200\"} 400
# TYPE in_flight gauge
in_flight 7
";

    #[test]
    fn types_series_and_labels_are_read() {
        let s = parse(FIRST).unwrap();
        let key = |n: &str, l: &str| (n.to_string(), l.to_string());
        assert_eq!(
            s.counters[&key("http_requests_total", "code=\"200\"")],
            100.0
        );
        assert_eq!(s.counters.len(), 1, "_created is not a counter sample");
        assert_eq!(s.gauges[&key("in_flight", "")], 3.0);
        let h = &s.histograms[&key("http_request_duration_seconds", "path=\"/\"")];
        assert_eq!(
            h.buckets,
            vec![
                (0.01, 10.0),
                (0.02, 20.0),
                (0.05, 20.0),
                (f64::INFINITY, 20.0)
            ]
        );
        assert_eq!((h.sum, h.count), (0.3, 20.0));
        assert!(!s.gauges.contains_key(&key("build_info", "version=\"1\"")));
    }

    #[test]
    fn escaped_label_values_and_bad_lines() {
        let s = parse("# TYPE g gauge\ng{a=\"x\\\"y\\\\z\\n\",b=\"\"} -1.5e3\n").unwrap();
        assert_eq!(
            s.gauges[&("g".to_string(), r#"a="x\"y\\z\n",b="""#.to_string())],
            -1500.0
        );
        let e = parse("# TYPE g gauge\ng{a=\"x} 1\n").unwrap_err();
        assert!(e.starts_with("line 2: an unclosed label value"), "{e}");
        let e = parse("g one\n").unwrap_err();
        assert!(e.contains("`one` is not a number"), "{e}");
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_as_histogram_quantile_does() {
        // 100 observations: 10 up to 0.01, 60 in (0.01, 0.02], 30 in (0.02, 0.05].
        let b = [
            (0.01, 10.0),
            (0.02, 70.0),
            (0.05, 100.0),
            (f64::INFINITY, 100.0),
        ];
        // p50: rank 50, 40 into the 60 of (0.01, 0.02]: 0.01 + 0.01 * 40/60.
        assert!((bucket_quantile(0.5, &b).unwrap() - (0.01 + 0.01 * 40.0 / 60.0)).abs() < 1e-12);
        // p5: rank 5 in the first bucket, which starts at 0: 0.01 * 5/10.
        assert!((bucket_quantile(0.05, &b).unwrap() - 0.005).abs() < 1e-12);
        // p90: rank 90, 20 into the 30 of (0.02, 0.05]: 0.02 + 0.03 * 20/30 = 0.04.
        assert!((bucket_quantile(0.9, &b).unwrap() - 0.04).abs() < 1e-12);
        // In the +Inf bucket: the highest finite bound.
        let tail = [(0.01, 1.0), (f64::INFINITY, 10.0)];
        assert_eq!(bucket_quantile(0.5, &tail), Some(0.01));
        assert_eq!(
            bucket_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        assert_eq!(bucket_quantile(0.5, &[]), None);
    }

    #[test]
    fn two_scrapes_give_the_deltas_quantiles_and_rates() {
        let (first, last) = (parse(FIRST).unwrap(), parse(LAST).unwrap());
        let (h, c, g) = between(&first, &last, 3.0);
        // Between them: 0 up to 0.01, 50 in (0.01, 0.02], 40 in (0.02, 0.05], 10 above.
        let h = &h[0];
        assert_eq!(
            (h.name.as_str(), h.labels.as_str()),
            ("http_request_duration_seconds", "path=\"/\"")
        );
        assert_eq!(h.count, 100.0);
        assert!((h.mean.unwrap() - 0.03).abs() < 1e-12);
        // p50: rank 50 is the last of (0.01, 0.02]: 0.02.
        assert!((h.p50.unwrap() - 0.02).abs() < 1e-12);
        // p90: rank 90 is the last of (0.02, 0.05]: 0.05; p95 and p99 are in +Inf: 0.05.
        assert!((h.p90.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(h.p99, Some(0.05));
        assert_eq!(c[0].increase, 300.0);
        assert_eq!(c[0].per_second, 100.0);
        assert_eq!(g[0].value, 7.0);
    }

    #[test]
    fn a_restarted_service_counts_from_zero() {
        let first = parse("# TYPE r counter\nr_total 500\n").unwrap();
        let last = parse("# TYPE r counter\nr_total 40\n").unwrap();
        let (_, c, _) = between(&first, &last, 2.0);
        assert_eq!((c[0].increase, c[0].per_second), (40.0, 20.0));
    }
}
