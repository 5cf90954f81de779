#!/usr/bin/env python3
"""What a check costs beyond building and measuring, on fixtures/textkit (a crate shaped like a
published library), from a cold target dir and cache, then again against the same base.

Copies the fixture into a temporary git repository with two commits (the second touches only a
text file), then runs `cargo perf check FILTER` twice with a fresh target dir and cache folder.
From the check's JSON timing it prints, for each check: the whole command, the time spent
building both sides (cargo, bench listing included), the measuring (every run's wall time), and
the rest: worktree checkout, cargo metadata, discovery, statistics, output. The second check
must compile nothing (`Compiling` in cargo's output is counted).

Usage: scripts/bench-check-overhead.py [--cargo-perf PATH] [--filter text/] [--repeat N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = dict(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, **GIT_ENV))


def check(perf, cwd, env, filt):
    out = subprocess.run([perf, "perf", "check", filt, "--message-format", "json"], cwd=cwd,
                         env=env, capture_output=True, text=True)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    done = next((l for l in lines if l.get("reason") == "check-finished"), None)
    if done is None or done["timing"] is None:
        sys.exit(f"check failed (exit {out.returncode}): {out.stderr[-3000:]}")
    t = done["timing"]
    return {
        "total": t["total_ns"] / 1e9,
        "build": t["build_ns"] / 1e9,
        "runs": t["runs_ns"] / 1e9,
        "beyond": (t["total_ns"] - t["build_ns"] - t["runs_ns"]) / 1e9,
        "compiled": out.stderr.count("Compiling "),
        "workloads": sum(1 for l in lines if l.get("reason") == "check-workload"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default="cargo-perf")
    ap.add_argument("--filter", default="text/")
    ap.add_argument("--repeat", type=int, default=1, help="cold/warm pairs to run")
    args = ap.parse_args()
    perf = args.cargo_perf
    if os.sep in perf:
        perf = str(Path(perf).resolve())
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            repo = tmp / "textkit"
            shutil.copytree(REPO / "fixtures/textkit", repo,
                            ignore=shutil.ignore_patterns("target"))
            (repo / ".gitignore").write_text("target/\n")
            git(repo, "init", "-q", "-b", "main")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "textkit")
            (repo / "NOTES.md").write_text("docs\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "docs")
            env = dict(os.environ, CARGO_PERF_CACHE_DIR=str(tmp / "cache"), **GIT_ENV)
            env.pop("CARGO_TARGET_DIR", None)
            rows.append(("first (cold target dir)", check(perf, repo, env, args.filter)))
            rows.append(("second, same base", check(perf, repo, env, args.filter)))
    print(f"\n| textkit, `check {args.filter}` | whole command | building both sides | "
          "measuring | beyond building and measuring | crates compiled |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, r in rows:
        print(f"| {name} ({r['workloads']} benchmarks) | {r['total']:.1f} s | {r['build']:.1f} s | "
              f"{r['runs']:.1f} s | {r['beyond']:.2f} s | {r['compiled']} |")
    bad = [r for name, r in rows if name.startswith("second") and r["compiled"] > 0]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
