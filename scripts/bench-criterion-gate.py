#!/usr/bin/env python3
"""The criterion gate on this machine: A/A checks and checks of a 20 % slower benchmark.

Copies fixtures/criterion-demo to a temporary git repository (5 benchmarks: `explode` is left
out), then runs `cargo perf check` N times with no change to the code (a commit that touches a
text file) and M times with `checksum` made 20 % slower (CHECKSUM_PASSES 5 -> 6, uncommitted).
Counts the verdicts per benchmark. Exits 1 when an A/A check flags anything, or a slowdown check
misses `checksum/fnv` or flags another benchmark.

Usage: scripts/bench-criterion-gate.py [--cargo-perf PATH] [--aa N] [--slow M]
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                            GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b"))


def check(perf, cwd, env):
    out = subprocess.run([perf, "perf", "check", "-q", "--message-format", "json"], cwd=cwd,
                         capture_output=True, text=True, env=env)
    verdicts = {}
    for line in out.stdout.splitlines():
        v = json.loads(line)
        if v.get("reason") == "check-workload":
            verdicts[v["workload"]["name"]] = v["verdict"]
    if not verdicts:
        sys.exit(f"check gave no verdicts: {out.stderr}")
    return verdicts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default="cargo-perf")
    ap.add_argument("--aa", type=int, default=5)
    ap.add_argument("--slow", type=int, default=3)
    args = ap.parse_args()
    if os.sep in args.cargo_perf:
        args.cargo_perf = str(Path(args.cargo_perf).resolve())
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target/fixture-builds"))
    env.pop("PERF_DEMO_PANIC", None)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        # Fresh modification times: cargo would take old ones, at a new path in a shared target
        # dir, for an up-to-date build of another copy.
        shutil.copytree(REPO / "fixtures/criterion-demo", demo, ignore=shutil.ignore_patterns("target"),
                        copy_function=shutil.copy)
        (demo / "perf.toml").write_text('[criterion]\nexclude = ["*explode*"]\n')
        git(demo, "init", "-q", "-b", "main")
        git(demo, "add", "-A")
        git(demo, "commit", "-q", "-m", "demo")
        counts = collections.Counter()
        for i in range(args.aa):
            (demo / "NOTES.md").write_text(f"note {i}\n")
            git(demo, "add", "-A")
            git(demo, "commit", "-q", "-m", f"note {i}")
            v = check(args.cargo_perf, demo, env)
            print(f"A/A {i + 1}: {v}", file=sys.stderr)
            counts.update(v.values())
            failed |= any(x in ("regressed", "improved") for x in v.values())
        print(json.dumps({"aa_checks": args.aa, "aa_verdicts": counts}))
        lib = demo / "src/lib.rs"
        lib.write_text(lib.read_text().replace("PASSES: u32 = 5", "PASSES: u32 = 6"))
        found, others = 0, collections.Counter()
        for i in range(args.slow):
            v = check(args.cargo_perf, demo, env)
            print(f"+20 % {i + 1}: {v}", file=sys.stderr)
            found += v.get("criterion:demo/checksum/fnv") == "regressed"
            others.update(x for k, x in v.items() if k != "criterion:demo/checksum/fnv")
        failed |= found < args.slow or others["regressed"] > 0
        print(json.dumps({"slow_checks": args.slow, "checksum_regressed": found,
                          "other_verdicts": others}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
