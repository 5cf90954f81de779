//! Durations (`250ms`, `30s`, `2m`) and sizes (`500MiB`) as written in `perf.toml`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// The forms a duration may take, quoted in every error about one.
pub const DURATION_FORMS: &str =
    "a number with a unit: `500us`, `250ms`, `30s`, `2m`, `1h` (also `1.5s`, `1m30s`)";
/// The forms a size may take, quoted in every error about one.
pub const SIZE_FORMS: &str =
    "a number with a unit: `512B`, `64KiB`, `500MiB`, `2GiB` (or KB/MB/GB for powers of 1000)";

/// Parses a duration such as `250ms`, `30s`, `2m`, `1.5h` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!(
            "invalid duration `{text}`: expected {DURATION_FORMS}"
        ));
    }
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let (number, unit, tail) = split_segment(rest)
            .ok_or_else(|| format!("invalid duration `{text}`: expected {DURATION_FORMS}"))?;
        let seconds_per_unit = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => {
                return Err(format!(
                    "invalid duration `{text}`: unknown unit `{unit}`; expected {DURATION_FORMS}"
                ));
            }
        };
        seconds += number * seconds_per_unit;
        rest = tail;
    }
    // Durations are kept as nanoseconds in a u64 (records, JSON, deadlines): about 584 years.
    // Anything longer is refused here rather than wrapped or overflowed later.
    if !(seconds.is_finite() && seconds * 1e9 < u64::MAX as f64) {
        return Err(format!(
            "invalid duration `{text}`: too long; the longest is 584 years (and a budget or \
             timeout of more than a few hours is rarely what you mean)"
        ));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("invalid duration `{text}`: out of range"))
}

/// Splits `"1m30s"` into `(1.0, "m", "30s")`: a number, its unit (letters), and the rest.
fn split_segment(text: &str) -> Option<(f64, &str, &str)> {
    let text = text.trim_start();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..digits].parse().ok()?;
    let after = text[digits..].trim_start();
    let unit_len = after
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(after.len());
    let unit = &after[..unit_len];
    (!unit.is_empty() && number.is_finite()).then_some((
        number,
        unit,
        after[unit_len..].trim_start(),
    ))
}

/// Parses a size such as `500MiB`, in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit, rest) = split_segment(text)
        .filter(|(_, _, rest)| rest.is_empty())
        .ok_or_else(|| format!("invalid size `{text}`: expected {SIZE_FORMS}"))?;
    debug_assert!(rest.is_empty());
    let bytes_per_unit: f64 = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => {
            return Err(format!(
                "invalid size `{text}`: unknown unit `{unit}`; expected {SIZE_FORMS}"
            ));
        }
    };
    let bytes = number * bytes_per_unit;
    if bytes > u64::MAX as f64 {
        return Err(format!("invalid size `{text}`: out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Formats nanoseconds for people: `812 µs`, `12.3 ms`, `1.50 s`, `2m 05s`.
pub fn format_ns(ns: f64) -> String {
    Ns(ns).to_string()
}

/// `v` with `decimals` digits after the point, exactly as `format!("{v:.decimals$}")` writes
/// it, for the two million figures of a long history: integer arithmetic when the value is
/// small and not within a millionth of a rounding tie, the formatter otherwise.
pub struct Fixed(pub f64, pub usize);

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Fixed(v, decimals) = *self;
        const SCALE: [f64; 3] = [1.0, 10.0, 100.0];
        if let Some(&scale) = SCALE.get(decimals)
            && v.is_sign_positive()
            && v < 1e6
            && f.width().is_none()
            && !f.sign_plus()
        {
            let scaled = v * scale;
            // The product is below 1e8, so its rounding error is below 1e-8; away from a tie,
            // rounding it gives the digits the exact value rounds to.
            let frac = scaled - scaled.floor();
            if (frac - 0.5).abs() > 1e-6 {
                let n = scaled.round() as u64;
                let unit = scale as u64;
                return match decimals {
                    0 => write!(f, "{n}"),
                    1 => write!(f, "{}.{}", n / unit, n % unit),
                    _ => write!(f, "{}.{:02}", n / unit, n % unit),
                };
            }
        }
        write!(f, "{v:.decimals$}")
    }
}

/// `v` with a sign and `decimals` digits, as `format!("{v:+.decimals$}")` writes it.
pub struct Signed(pub f64, pub usize);

impl std::fmt::Display for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Signed(v, decimals) = *self;
        if v.is_nan() {
            return write!(f, "{v:+.decimals$}");
        }
        let sign = if v.is_sign_negative() { '-' } else { '+' };
        write!(f, "{sign}{}", Fixed(v.abs(), decimals))
    }
}

/// A duration in nanoseconds as [`format_ns`] writes it, written straight into a formatter
/// (history's tables format two million of them).
pub struct Ns(pub f64);

impl std::fmt::Display for Ns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.0;
        let abs = ns.abs();
        if abs < 10.0 {
            // Criterion benchmarks can take a few nanoseconds per iteration.
            write!(f, "{} ns", Fixed(ns, 2))
        } else if abs < 100.0 {
            write!(f, "{} ns", Fixed(ns, 1))
        } else if abs < 1e3 {
            write!(f, "{} ns", Fixed(ns, 0))
        } else if abs < 1e6 {
            write!(f, "{} µs", Fixed(ns / 1e3, 1))
        } else if abs < 1e9 {
            write!(f, "{} ms", Fixed(ns / 1e6, 1))
        } else if abs < 60e9 {
            write!(f, "{} s", Fixed(ns / 1e9, 2))
        } else {
            let secs = (ns / 1e9).round() as u64;
            write!(f, "{}m {:02}s", secs / 60, secs % 60)
        }
    }
}

/// Formats a count (instructions) for people, to four significant digits or more: `9876`,
/// `12.35 k`, `123.457 M`, `1.235 G`.
pub fn format_count(n: f64) -> String {
    let abs = n.abs();
    if abs < 1e4 {
        format!("{n:.0}")
    } else if abs < 1e6 {
        format!("{:.2} k", n / 1e3)
    } else if abs < 1e9 {
        format!("{:.3} M", n / 1e6)
    } else {
        format!("{:.3} G", n / 1e9)
    }
}

/// Formats a configured duration the way it is written in `perf.toml`: `250ms`, `30s`, `2m`,
/// `1m30s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_millis() != 0 || ms < 1000 {
        if ms >= 1000 {
            return format!("{}s", d.as_secs_f64());
        }
        return if d.as_micros().is_multiple_of(1000) {
            format!("{ms}ms")
        } else {
            format!("{}us", d.as_micros())
        };
    }
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// Formats a byte count for people: `812 B`, `3.4 MiB`.
/// `1 workload`, `2 workloads`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn format_bytes(bytes: u64) -> String {
    Bytes(bytes).to_string()
}

/// A size in bytes as [`format_bytes`] writes it, written straight into a formatter.
pub struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.0;
        let b = bytes as f64;
        if b < 1024.0 {
            write!(f, "{bytes} B")
        } else if b < 1024.0 * 1024.0 {
            write!(f, "{} KiB", Fixed(b / 1024.0, 1))
        } else if b < 1024.0 * 1024.0 * 1024.0 {
            write!(f, "{} MiB", Fixed(b / (1024.0 * 1024.0), 1))
        } else {
            write!(f, "{} GiB", Fixed(b / (1024.0 * 1024.0 * 1024.0), 2))
        }
    }
}

/// Parses a percentage such as `2%` or `0.5%` into a fraction (0.02).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && (0.0..100.0).contains(n))
        .ok_or_else(|| {
            format!("invalid percentage `{text}`: expected a number from 0 to 100 with `%`, such as `2%`")
        })?;
    Ok(number / 100.0)
}

/// A serde visitor for a string in one of this module's forms, parsed by `parse`; `forms` is
/// what an error says was expected (also for a value of the wrong type, such as a bare number).
struct Parsed<T> {
    parse: fn(&str) -> Result<T, String>,
    forms: &'static str,
}

impl<T> Visitor<'_> for Parsed<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.forms)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        (self.parse)(s).map(Some).map_err(E::custom)
    }
}

/// Deserializes a duration string for serde (`#[serde(deserialize_with = ...)]`).
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_str(Parsed {
        parse: parse_duration,
        forms: DURATION_FORMS,
    })
}

/// Deserializes a size string for serde.
pub fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_str(Parsed {
        parse: parse_size,
        forms: SIZE_FORMS,
    })
}

/// Deserializes a percentage string for serde.
pub fn de_percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_str(Parsed {
        parse: parse_percent,
        forms: "a percentage such as \"2%\"",
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_and_signed_write_what_the_formatter_writes() {
        use super::{Fixed, Signed};
        // Seeded values of every size the fast path takes and beyond, and the ties.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![
            0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 1.005, 2.675, 0.125, 999_999.95,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            let magnitude = 10f64.powi((x % 14) as i32 - 4);
            values.push(unit * magnitude);
            // Values a tie or two away, of one, two and no decimals.
            values.push(((x % 100_000) as f64 + 0.5) / 100.0);
            values.push(((x % 100_000) as f64 + 0.5) / 10.0);
            values.push((x % 100_000) as f64 + 0.5);
        }
        values.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, -3.25]);
        for v in values {
            for d in 0..=3 {
                assert_eq!(Fixed(v, d).to_string(), format!("{v:.d$}"), "{v:e} {d}");
                assert_eq!(Signed(v, d).to_string(), format!("{v:+.d$}"), "{v:e} {d}");
                assert_eq!(
                    Signed(-v, d).to_string(),
                    format!("{:+.d$}", -v),
                    "{v:e} {d}"
                );
            }
        }
    }

    #[test]
    fn counts_keep_four_significant_digits() {
        use super::format_count;
        assert_eq!(format_count(9876.0), "9876");
        assert_eq!(format_count(12_345.0), "12.35 k");
        assert_eq!(format_count(123_456_789.0), "123.457 M");
        assert_eq!(format_count(1_234_567_890.0), "1.235 G");
    }

    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("20us"), Ok(Duration::from_micros(20)));
        assert_eq!(parse_duration(" 3 s "), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 2m"), Ok(Duration::from_secs(3720)));
    }

    #[test]
    fn bad_durations_name_the_accepted_forms() {
        for bad in ["30", "fast", "3 parsecs", "", "-1s", "1..2s", "1m30"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
            assert!(err.contains("250ms"), "{err}");
        }
    }

    #[test]
    fn durations_past_a_u64_of_nanoseconds_are_refused() {
        // 2^64 ns is about 584.5 years; 2.6e15 h overflowed a deadline.
        assert!(parse_duration("584y").is_err());
        let err = parse_duration("2600000000000000h").unwrap_err();
        assert!(err.contains("too long"), "{err}");
        assert!(parse_duration("5124096h").unwrap_err().contains("too long"));
        assert_eq!(
            parse_duration("5124095h"),
            Ok(Duration::from_secs(5_124_095 * 3600))
        );
    }

    #[test]
    fn sizes_binary_and_decimal() {
        assert_eq!(parse_size("500MiB"), Ok(500 * 1024 * 1024));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("0.5GiB"), Ok(512 * 1024 * 1024));
        assert!(parse_size("500").unwrap_err().contains("500MiB"));
        assert!(
            parse_size("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("2%"), Ok(0.02));
        assert_eq!(parse_percent(" 0.5 % "), Ok(0.005));
        assert!(parse_percent("2").unwrap_err().contains("`2%`"));
        assert!(parse_percent("150%").is_err());
    }

    #[test]
    fn human_formats() {
        assert_eq!(format_ns(812.0), "812 ns");
        assert_eq!(format_ns(12_345_000.0), "12.3 ms");
        assert_eq!(format_ns(1_500_000_000.0), "1.50 s");
        assert_eq!(format_ns(125e9), "2m 05s");
        assert_eq!(format_bytes(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
        for text in ["250ms", "30s", "2m", "1m30s", "10m", "1h", "1.5s", "20us"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
