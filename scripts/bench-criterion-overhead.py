#!/usr/bin/env python3
"""`cargo perf run` on a criterion suite against `cargo bench` with the same settings.

Runs fixtures/criterion-demo (6 benchmarks in two bench targets) with criterion's settings
that cargo perf uses by default (--warm-up-time 0.5 --measurement-time 1 --sample-size 30
--noplot), alternating the two tools in random order for --blocks blocks. Both start from a
built suite (cargo's up-to-date check is part of both), and `cargo bench` writes to a private
CRITERION_HOME so the two do the same file work. Prints the median wall time of each and the
overhead of cargo perf beyond cargo bench; exits 1 when it is 5 % or more.

Usage: scripts/bench-criterion-overhead.py [--blocks N] [--cargo-perf PATH] [--json FILE]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "fixtures/criterion-demo/Cargo.toml"
SETTINGS = ["--warm-up-time", "0.5", "--measurement-time", "1", "--sample-size", "30", "--noplot"]


def timed(cmd, env):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--cargo-perf", default="cargo-perf")
    ap.add_argument("--json")
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PERF_DEMO_PANIC", None)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target/fixture-builds"))
    subprocess.run(["cargo", "bench", "--no-run", "--quiet", "--manifest-path", str(DEMO)],
                   check=True, env=env)
    bench, perf = [], []
    rng = random.Random(7)
    for block in range(args.blocks):
        with tempfile.TemporaryDirectory() as home:
            bench_env = dict(env, CRITERION_HOME=home)
            runs = [
                ("bench", ["cargo", "bench", "--quiet", "--manifest-path", str(DEMO), "--"] + SETTINGS,
                 bench_env),
                ("perf", [args.cargo_perf, "perf", "run", "-q", "--manifest-path", str(DEMO)], env),
            ]
            rng.shuffle(runs)
            for name, cmd, e in runs:
                t = timed(cmd, e)
                (bench if name == "bench" else perf).append(t)
                print(f"block {block + 1}: {name} {t:.2f} s", file=sys.stderr)
    b, p = statistics.median(bench), statistics.median(perf)
    overhead = p / b - 1
    result = {"cargo_bench_s": b, "cargo_perf_s": p, "overhead": overhead, "blocks": args.blocks}
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"cargo bench {b:.2f} s, cargo perf run {p:.2f} s: overhead {overhead * 100:+.1f} % "
          f"(target < 5 %)")
    return 0 if overhead < 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
