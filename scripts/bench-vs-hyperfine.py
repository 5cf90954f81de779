#!/usr/bin/env python3
"""cargo perf against hyperfine -N, in alternating blocks of one sitting.

Measures, per block and in random order of the two tools:
  * per-run overhead on /bin/true: the slope of each tool's total elapsed time between a short
    and a long run ((t[long] - t[short]) / (long - short)), so fixed start-up costs such as
    `cargo metadata` cancel out;
  * the mean /bin/true time each tool reports;
  * the dispersion (standard deviation and MAD) each tool reports for a ~50 ms CPU-bound
    command (perf-helper work N).
Prints the median over blocks of each ratio cargo-perf / hyperfine and exits 1 when a target
is missed (overhead ratio > 1.1, dispersion ratio > 1.0 on both measures).

Usage: scripts/bench-vs-hyperfine.py [--blocks N] [--cargo-perf PATH] [--json FILE]
Needs hyperfine (apt-get install hyperfine) and cargo.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def build(target):
    sh(["cargo", "build", "--release", "--quiet", "--manifest-path", str(REPO / "fixtures/helpers/Cargo.toml"),
        "--target-dir", str(target)])
    return target / "release/perf-helper"


def calibrate(helper):
    """Rounds of `perf-helper work` that take about 50 ms here."""
    n = 20
    for _ in range(6):
        t = time.perf_counter()
        sh([str(helper), "work", str(n)])
        took = time.perf_counter() - t
        n = max(1, round(n * 0.050 / took))
    return n


def hyperfine(cmd, runs, warmup, tmp):
    out = Path(tmp) / "hf.json"
    t = time.perf_counter()
    sh(["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup),
        "--export-json", str(out), cmd])
    elapsed = time.perf_counter() - t
    res = json.loads(out.read_text())["results"][0]
    return elapsed, [x * 1e9 for x in res["times"]]


def cargo_perf(exe, ws, name, runs, warmup):
    t = time.perf_counter()
    p = sh([exe, "perf", "run", name, "-q", "--message-format", "json", "--manifest-path", str(ws / "Cargo.toml"),
            "--warmup", str(warmup), "--min-runs", str(runs), "--max-runs", str(runs)])
    elapsed = time.perf_counter() - t
    line = json.loads(p.stdout.splitlines()[0])
    return elapsed, [s["wall_ns"] for s in line["samples"]]


def mad(xs):
    m = statistics.median(xs)
    return statistics.median([abs(x - m) for x in xs])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--short", type=int, default=200)
    ap.add_argument("--long", type=int, default=1200)
    ap.add_argument("--work-runs", type=int, default=30)
    ap.add_argument("--cargo-perf", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine is not installed: apt-get install hyperfine")
    exe = args.cargo_perf or shutil.which("cargo-perf") or str(REPO / "target/release/cargo-perf")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "fixture-builds"
    helper = build(target)
    n = calibrate(helper)
    work_cmd = f"{helper} work {n}"
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        (ws / "src").mkdir(parents=True)
        (ws / "Cargo.toml").write_text('[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n')
        (ws / "src/main.rs").write_text("fn main() {}\n")
        (ws / "perf.toml").write_text(
            '[[workload]]\nname = "true"\ncommand = ["/bin/true"]\n'
            f'[[workload]]\nname = "work"\ncommand = ["{helper}", "work", "{n}"]\n')
        blocks = []
        for b in range(args.blocks):
            tools = ["hyperfine", "cargo-perf"]
            rng.shuffle(tools)
            block = {}
            for tool in tools:
                if tool == "hyperfine":
                    s_el, _ = hyperfine("/bin/true", args.short, 3, tmp)
                    l_el, l_times = hyperfine("/bin/true", args.long, 3, tmp)
                    _, w_times = hyperfine(work_cmd, args.work_runs, 2, tmp)
                else:
                    s_el, _ = cargo_perf(exe, ws, "true", args.short, 3)
                    l_el, l_times = cargo_perf(exe, ws, "true", args.long, 3)
                    _, w_times = cargo_perf(exe, ws, "work", args.work_runs, 2)
                block[tool] = {
                    "per_run_ns": (l_el - s_el) / (args.long - args.short) * 1e9,
                    "true_mean_ns": statistics.mean(l_times),
                    "work_median_ns": statistics.median(w_times),
                    "work_stddev_ns": statistics.stdev(w_times),
                    "work_mad_ns": mad(w_times),
                }
            blocks.append(block)
            print(f"block {b + 1}/{args.blocks}: " + ", ".join(
                f"{t} {block[t]['per_run_ns'] / 1e3:.0f} us/run, work sd {block[t]['work_stddev_ns'] / 1e6:.2f} ms"
                for t in ("hyperfine", "cargo-perf")), file=sys.stderr)

    def ratio(key):
        return statistics.median(b["cargo-perf"][key] / b["hyperfine"][key] for b in blocks)

    def med(tool, key):
        return statistics.median(b[tool][key] for b in blocks)

    summary = {
        "blocks": args.blocks,
        "work_rounds": n,
        "per_run_overhead_us": {t: med(t, "per_run_ns") / 1e3 for t in ("hyperfine", "cargo-perf")},
        "per_run_overhead_ratio": ratio("per_run_ns"),
        "true_mean_us": {t: med(t, "true_mean_ns") / 1e3 for t in ("hyperfine", "cargo-perf")},
        "true_mean_ratio": ratio("true_mean_ns"),
        "work_median_ms": {t: med(t, "work_median_ns") / 1e6 for t in ("hyperfine", "cargo-perf")},
        "work_stddev_ratio": ratio("work_stddev_ns"),
        "work_mad_ratio": ratio("work_mad_ns"),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "blocks": blocks}, indent=2))
    missed = summary["per_run_overhead_ratio"] > 1.1 or min(summary["work_stddev_ratio"], summary["work_mad_ratio"]) > 1.0
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
