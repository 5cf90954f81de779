#!/usr/bin/env python3
"""What `cargo perf bisect` costs: a temporary git repository of a tiny crate whose binary
sleeps 3 ms, with --commits commits after the good one; the one at --slow (1-based, after the
good one) makes it sleep 40 ms, the one at --broken does not build (0: none). Runs
`cargo perf bisect sleepy --good <first commit>` with a fresh cache folder and prints the wall
time, the commits built and measured, the ones skipped, and whether it found the right one.

Usage: scripts/bench-bisect.py [--cargo-perf PATH] [--commits 5] [--slow 4] [--broken 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = dict(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
PERF_TOML = """[defaults]
warmup = 1
min_runs = 8
max_runs = 30
time_cap = "2s"
threshold = "90%"

[[workload]]
name = "sleepy"
command = ["{bin:sleepy}"]
"""


def git(cwd, *args):
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, **GIT_ENV))
    return out.stdout.strip()


def sleeper(ms):
    return f"fn main() {{\n    std::thread::sleep(std::time::Duration::from_millis({ms}));\n}}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default=str(REPO / "target/release/cargo-perf"))
    ap.add_argument("--commits", type=int, default=5)
    ap.add_argument("--slow", type=int, default=4)
    ap.add_argument("--broken", type=int, default=2)
    args = ap.parse_args()
    if not 1 <= args.slow <= args.commits:
        sys.exit("--slow must be between 1 and --commits")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        (repo / "src").mkdir(parents=True)
        (repo / "Cargo.toml").write_text(
            '[package]\nname = "sleepy"\nversion = "0.1.0"\nedition = "2021"\n')
        (repo / "perf.toml").write_text(PERF_TOML)
        (repo / ".gitignore").write_text("target/\n")
        (repo / "src/main.rs").write_text(sleeper(3))
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "good")
        good = git(repo, "rev-parse", "HEAD")
        slow = None
        for i in range(1, args.commits + 1):
            if i == args.broken:
                (repo / "src/main.rs").write_text("fn main() { this does not build }\n")
            else:
                (repo / "src/main.rs").write_text(sleeper(40 if i >= args.slow else 3))
            (repo / "notes.txt").write_text(f"commit {i}\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"commit {i}")
            if i == args.slow:
                slow = git(repo, "rev-parse", "HEAD")
        env = dict(os.environ, **GIT_ENV, CARGO_PERF_CACHE_DIR=str(Path(tmp) / "cache"))
        env.pop("CARGO_TARGET_DIR", None)
        started = time.monotonic()
        out = subprocess.run(
            [args.cargo_perf, "perf", "bisect", "sleepy", "--good", good, "-q",
             "--message-format", "json", "--manifest-path", str(repo / "Cargo.toml")],
            capture_output=True, text=True, env=env)
        elapsed = time.monotonic() - started
        if out.returncode != 0:
            sys.exit(f"bisect exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
        report = json.loads(out.stdout)
        measured = [v for v in report["visited"] if v["source"] == "measured"]
        print(f"path: {report['commits']} commits, slower from commit {args.slow}, "
              f"commit {args.broken or '-'} does not build")
        print(f"bisect: {elapsed:.1f} s; {len(measured)} commits built and measured "
              f"({sum(v['rounds'] for v in measured)} rounds), "
              f"{len(report['skipped'])} skipped, {report['commits'] - len(report['visited'])} "
              "never built")
        found = (report["first_bad"] or {}).get("commit")
        print(f"found: {'the right commit' if found == slow else 'WRONG: ' + str(found)} "
              f"({report['conclusion']})")
        return 0 if found == slow else 1


if __name__ == "__main__":
    sys.exit(main())
