//! The command gate's two candidate statistics on the same seeded rounds: the bootstrap of the
//! median ratio that resamples whole rounds with a Mann-Whitney p-value (`stats::compare`,
//! paired), and the per-round log ratios with the Wilcoxon signed-rank test and the
//! Hodges-Lehmann interval (`stats::compare_paired_ratios`). Each check samples rounds and
//! looks as `check` does (first at 20 rounds, then 20 % apart, up to a cap), under three noise
//! models, and counts A/A false alarms and how often +5 % is found.
//!
//! `cargo run --release --example gate_power [CHECKS]`

use cargo_perf::stats::{Verdict, compare, compare_paired_ratios, decide};

/// How each round's two figures are made: `base * drift * (1 + noise)`, `drift` shared by the
/// pair.
#[derive(Clone, Copy)]
struct Noise {
    name: &'static str,
    /// Standard deviation of each figure's own noise (0.05 = 5 %).
    own: f64,
    /// Standard deviation of the machine's speed, shared by both figures of a round.
    drift: f64,
    /// Chance that a figure is hit by a disturbance of +30 % to +80 %.
    spikes: f64,
}

fn normal(rng: &mut fastrand::Rng) -> f64 {
    let (u1, u2) = (1.0 - rng.f64(), rng.f64());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn figure(rng: &mut fastrand::Rng, level: f64, drift: f64, noise: Noise) -> f64 {
    let spike = if rng.f64() < noise.spikes {
        1.3 + 0.5 * rng.f64()
    } else {
        1.0
    };
    (level * drift * (1.0 + noise.own * normal(rng)) * spike).max(1e-3)
}

#[derive(Clone, Copy, PartialEq)]
enum Statistic {
    Bootstrap,
    SignedRank,
}

/// One check: returns its verdict and rounds.
fn check(
    seed: u64,
    shift: f64,
    noise: Noise,
    statistic: Statistic,
    cap: usize,
) -> (Verdict, usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut base, mut new) = (Vec::new(), Vec::new());
    let mut next_look = 20;
    let threshold = 0.02;
    let judge = |b: &[f64], n: &[f64]| {
        let c = match statistic {
            Statistic::Bootstrap => compare(b, n, true, 0.95, seed),
            Statistic::SignedRank => compare_paired_ratios(b, n, 0.95),
        }?;
        Some(decide(&c.ci, c.p, threshold, 0.05))
    };
    for round in 1..=cap {
        let drift = (noise.drift * normal(&mut rng)).exp();
        base.push(figure(&mut rng, 50.0, drift, noise));
        new.push(figure(&mut rng, 50.0 * (1.0 + shift), drift, noise));
        if round >= next_look {
            next_look = (round * 6).div_ceil(5).max(round + 1);
            if let Some(v) = judge(&base, &new).filter(|v| *v != Verdict::Inconclusive) {
                return (v, round);
            }
        }
    }
    (judge(&base, &new).unwrap_or(Verdict::Inconclusive), cap)
}

fn main() {
    let checks: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let models = [
        Noise {
            name: "5 % own noise",
            own: 0.05,
            drift: 0.0,
            spikes: 0.0,
        },
        Noise {
            name: "3 % own, 10 % shared drift",
            own: 0.03,
            drift: 0.10,
            spikes: 0.0,
        },
        Noise {
            name: "4 % own, 5 % drift, 5 % spikes",
            own: 0.04,
            drift: 0.05,
            spikes: 0.05,
        },
    ];
    // 40 rounds: about 2 s a side of a 50 ms workload.
    let cap = 40;
    println!(
        "{checks} checks per cell, threshold 2 %, looks from round 20, at most {cap} rounds\n"
    );
    println!(
        "| noise | statistic | A/A flagged | A/A unchanged | +5 % found | +5 % rounds (mean) |"
    );
    println!("|---|---|--:|--:|--:|--:|");
    for noise in models {
        for (statistic, label) in [
            (Statistic::Bootstrap, "bootstrap + Mann-Whitney"),
            (Statistic::SignedRank, "signed rank + Hodges-Lehmann"),
        ] {
            let (mut flagged, mut unchanged, mut found, mut rounds) = (0, 0, 0, 0);
            for i in 0..checks {
                let (v, _) = check(i, 0.0, noise, statistic, cap);
                flagged += usize::from(matches!(v, Verdict::Regressed | Verdict::Improved));
                unchanged += usize::from(v == Verdict::Unchanged);
                let (v, r) = check(1_000_000 + i, 0.05, noise, statistic, cap);
                found += usize::from(v == Verdict::Regressed);
                rounds += r;
            }
            let pct = |n: usize| 100.0 * n as f64 / checks as f64;
            println!(
                "| {} | {label} | {:.1} % | {:.1} % | {:.1} % | {:.1} |",
                noise.name,
                pct(flagged),
                pct(unchanged),
                pct(found),
                rounds as f64 / checks as f64
            );
        }
    }
}
