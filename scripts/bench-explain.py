#!/usr/bin/env python3
"""What `--explain` adds to a `cargo perf check`, per explained workload.

A project (default fixtures/example) is copied into a temporary git repository and committed;
an edit makes the working tree differ (by default a comment in perf.toml, which changes no
binary). One `check` builds both sides (not timed); then `check` and `check --explain` alternate
RUNS times each, timed from spawn to exit. Without `--explain` only regressed or improved
workloads are explained, with it every compared command workload is, so the extra time per
explained workload is

    (median wall with --explain - median wall without) / (explained with - explained without)

The check's own `timing.explain_ns` (the runs under cachegrind, in its JSON) is shown beside it.

Usage: scripts/bench-explain.py [--cargo-perf PATH] [--project DIR] [--filter TEXT]
                                [--runs 3] [--edit FILE FROM TO]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(d, *args):
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                    *args], cwd=d, check=True, capture_output=True)


def check(exe, d, target, filt, explain):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), NO_COLOR="1",
               CARGO_PERF_CACHE_DIR=str(target / "cache"))
    argv = [exe, "perf", "check", "--message-format", "json",
            "--manifest-path", str(d / "Cargo.toml")]
    if filt:
        argv.append(filt)
    if explain:
        argv.append("--explain")
    started = time.monotonic()
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    assert p.returncode in (0, 1), p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    workloads = [l for l in lines if l["reason"] == "check-workload"]
    finished = next(l for l in lines if l["reason"] == "check-finished")
    explained = [w for w in workloads if "explanation" in w]
    return wall, explained, finished["timing"]["explain_ns"] / 1e9, workloads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default=str(REPO / "target/release/cargo-perf"))
    ap.add_argument("--project", default=str(REPO / "fixtures/example"))
    ap.add_argument("--filter", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--edit", nargs=3, metavar=("FILE", "FROM", "TO"))
    a = ap.parse_args()
    exe = os.path.abspath(a.cargo_perf)
    work = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    d = work / "project"
    shutil.copytree(a.project, d, ignore=shutil.ignore_patterns("target", ".git"))
    (d / ".gitignore").write_text("target/\n")
    git(d, "init", "-q")
    git(d, "add", "-A")
    git(d, "commit", "-qm", "project")
    if a.edit:
        path = d / a.edit[0]
        text = path.read_text()
        assert a.edit[1] in text, f"{a.edit[1]!r} is not in {a.edit[0]}"
        path.write_text(text.replace(a.edit[1], a.edit[2], 1))
    else:
        with open(d / "perf.toml", "a") as f:
            f.write("\n# bench-explain\n")
    target = work / "target"
    check(exe, d, target, a.filter, False)  # builds both sides

    plain, explained = [], []
    for _ in range(a.runs):
        plain.append(check(exe, d, target, a.filter, False))
        explained.append(check(exe, d, target, a.filter, True))
    n_plain = statistics.median(len(r[1]) for r in plain)
    n_all = statistics.median(len(r[1]) for r in explained)
    wall_plain = statistics.median(r[0] for r in plain)
    wall_all = statistics.median(r[0] for r in explained)
    own = statistics.median(r[2] for r in explained)
    print(f"project: {a.project}  filter: {a.filter or '-'}  runs: {a.runs} each")
    print(f"check:            {wall_plain:6.2f} s, {n_plain:g} workloads explained")
    print(f"check --explain:  {wall_all:6.2f} s, {n_all:g} workloads explained "
          f"(explaining: {own:.2f} s by its timing)")
    extra = n_all - n_plain
    if extra > 0:
        print(f"extra per explained workload: {(wall_all - wall_plain) / extra:.2f} s "
              f"(explain_ns: {own / n_all:.2f} s)")
    for w in explained[-1][3]:
        e = w.get("explanation")
        if e:
            top = ", ".join(f"{f['name']} {f['new'] - f['base']:+d}" for f in e["functions"][:3])
            print(f"  {w['workload']['name']}: {w['verdict']} ({e['kind']}), time "
                  f"{e['time_change'] * 100:+.1f}%, instructions "
                  f"{e['instructions_change'] * 100:+.3f}%; {top or 'no function changed'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
