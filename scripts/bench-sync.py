#!/usr/bin/env python3
"""Many writers, one ref: N clones record and `cargo perf sync` at the same moment through one
bare remote, R rounds. Per round: the wall time from the first sync's start to the last one's
end, the pushes the remote rejected because another writer had pushed first (each was fetched,
merged and pushed again), the most tries one writer needed, and whether every record reached the
remote. Records are written with the fake runner (the store and git are real).

Usage: scripts/bench-sync.py [--cargo-perf PATH] [--writers 8] [--rounds 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
           GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
PERF_TOML = """[defaults]
warmup = 0
min_runs = 3
max_runs = 3
[[workload]]
name = "w"
command = ["true"]
"""


def git(d, *args):
    return subprocess.run(["git", *args], cwd=d, env=ENV, check=True, capture_output=True,
                          text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default=str(REPO / "target/release/cargo-perf"))
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        (src / "Cargo.toml").write_text(
            '[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n')
        (src / "src").mkdir()
        (src / "src/main.rs").write_text("fn main() {}\n")
        (src / "perf.toml").write_text(PERF_TOML)
        git(src, "init", "-q", "-b", "main")
        git(src, "add", "-A")
        git(src, "commit", "-qm", "first")
        git(tmp, "clone", "-q", "--bare", str(src), "remote.git")
        fake = tmp / "fake.json"
        fake.write_text('{"w": [{"wall_ms": 10}]}')
        clones = []
        for i in range(a.writers):
            git(tmp, "clone", "-q", str(tmp / "remote.git"), f"c{i}")
            clones.append(tmp / f"c{i}")

        def perf(clone, *args):
            return subprocess.Popen(
                [a.cargo_perf, "perf", *args, "--manifest-path", str(clone / "Cargo.toml")],
                env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        print(f"{a.writers} writers, {a.rounds} rounds")
        times, rejected_all, worst_all = [], [], []
        for r in range(a.rounds):
            for c in clones:
                p = perf(c, "record", "-q", "--fake-runner", str(fake))
                out, err = p.communicate()
                assert p.returncode == 0, err
            started = time.monotonic()
            procs = [perf(c, "sync", "--message-format", "json") for c in clones]
            results = [p.communicate() for p in procs]
            elapsed = time.monotonic() - started
            for p, (out, err) in zip(procs, results):
                assert p.returncode == 0, err
            lines = [json.loads(out.splitlines()[-1]) for out, _ in results]
            rejected = sum(l["rejected_pushes"] for l in lines)
            worst = max(l["rejected_pushes"] for l in lines) + 1
            stored = len(git(tmp / "remote.git", "notes", "--ref=perf", "show", "HEAD")
                         .splitlines())
            expected = a.writers * (r + 1)
            print(f"round {r + 1}: {elapsed:.2f} s, {rejected} pushes rejected and retried, "
                  f"at most {worst} tries, {stored}/{expected} records in the remote")
            assert stored == expected
            times.append(elapsed)
            rejected_all.append(rejected)
            worst_all.append(worst)
        print(f"median {statistics.median(times):.2f} s (max {max(times):.2f} s), "
              f"median {statistics.median(rejected_all)} retried pushes, "
              f"at most {max(worst_all)} tries by one writer")


if __name__ == "__main__":
    main()
