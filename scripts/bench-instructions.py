#!/usr/bin/env python3
"""The instructions metric on a ~50 ms workload (fixtures/counted), in one sitting.

1. A/A spread: `cargo perf run --metric instructions` N times (one counted run each); the
   spread of the counts, (max - min) / min (target: at most 0.01 %).
2. Cost: one counted run against one native run of the same command, each timed N times from
   spawn to exit (valgrind with the tool's flags, from src/measure/valgrind.rs); the ratio of
   medians (target: at most 25x).
3. A full `check` (the fixture one pass slower, committed) that builds and counts the base,
   against one that reads the base's counts from its stored record: wall time of each, and the
   same verdict. The first `check` builds both sides in a fresh target dir (cold), the second
   again (warm: both builds are cached); the stored one builds only the candidate (warm).

Usage: scripts/bench-instructions.py [--cargo-perf PATH] [--runs 10] [--iterations 300000]
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
# The flags of src/measure/valgrind.rs `counted_spec`.
VALGRIND = ["valgrind", "--tool=cachegrind", "--trace-children=yes", "--cache-sim=yes", "-q",
            "--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64"]


def git(d, *args):
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                    *args], cwd=d, check=True, capture_output=True)


def perf(exe, d, target, *args):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), NO_COLOR="1",
               CARGO_PERF_CACHE_DIR=str(target / "cache"))
    started = time.monotonic()
    p = subprocess.run([exe, "perf", *args, "--manifest-path", str(d / "Cargo.toml")],
                       env=env, capture_output=True, text=True)
    return p, time.monotonic() - started


def timed(argv, runs):
    out = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.monotonic() - started)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default=str(REPO / "target/release/cargo-perf"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=300000)
    a = ap.parse_args()
    exe = os.path.abspath(a.cargo_perf)
    work = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    d = work / "counted"
    shutil.copytree(REPO / "fixtures/counted", d, ignore=shutil.ignore_patterns("target"))
    (d / ".gitignore").write_text("target/\n")
    toml = (d / "perf.toml").read_text().replace('"100000"', '"%d"' % a.iterations)
    (d / "perf.toml").write_text(toml)
    git(d, "init", "-q")
    git(d, "add", "-A")
    git(d, "commit", "-qm", "counted")
    target = work / "target"

    counts = []
    for _ in range(a.runs):
        p, _ = perf(exe, d, target, "run", "--warmup", "0", "--min-runs", "1", "--max-runs", "1",
                    "--message-format", "json")
        assert p.returncode == 0, p.stderr
        w = next(json.loads(l) for l in p.stdout.splitlines()
                 if json.loads(l)["reason"] == "workload-finished")
        counts.append(w["counts"]["instructions"])
    spread = (max(counts) - min(counts)) / min(counts)
    print(f"A/A: {a.runs} counted runs, {min(counts):,} to {max(counts):,} instructions, "
          f"spread {spread * 100:.4f} %")

    binary = target / "release" / "counted"
    argv = [str(binary), str(a.iterations)]
    native = timed(argv, a.runs)
    with tempfile.TemporaryDirectory() as out:
        counted = timed(VALGRIND + [f"--cachegrind-out-file={out}/cg.%p",
                                    f"--log-file={out}/log.%p"] + argv, a.runs)
        nosim = timed([v for v in VALGRIND if not v.startswith(("--I1", "--D1", "--LL"))
                       and v != "--cache-sim=yes"] + ["--cache-sim=no",
                      f"--cachegrind-out-file={out}/cg.%p", f"--log-file={out}/log.%p"] + argv,
                      a.runs)
    n, c, s = (statistics.median(x) for x in (native, counted, nosim))
    print(f"cost: native {n * 1e3:.1f} ms, counted {c * 1e3:.0f} ms ({c / n:.1f}x); "
          f"without the cache simulation {s * 1e3:.0f} ms ({s / n:.1f}x) (medians of {a.runs})")

    main_rs = d / "src/main.rs"
    main_rs.write_text(main_rs.read_text().replace("PASSES: u64 = 100;", "PASSES: u64 = 101;"))
    git(d, "commit", "-qam", "one pass more")
    for label in ("builds the base (cold)", "builds the base (warm)"):
        p, secs = perf(exe, d, target, "check", "--message-format", "json")
        v = next(json.loads(l) for l in p.stdout.splitlines()
                 if json.loads(l)["reason"] == "check-workload")
        print(f"check that {label}: {secs:.1f} s, {v['verdict']} "
              f"{(v['comparison']['ratio'] - 1) * 100:+.3f} %, exit {p.returncode}")
    git(d, "checkout", "-q", "HEAD~1")
    p, _ = perf(exe, d, target, "record")
    assert p.returncode == 0, p.stderr
    git(d, "checkout", "-q", "-")
    p, secs = perf(exe, d, target, "check", "--message-format", "json")
    v = next(json.loads(l) for l in p.stdout.splitlines()
             if json.loads(l)["reason"] == "check-workload")
    print(f"check with the base's stored record: {secs:.1f} s, {v['verdict']} "
          f"{(v['comparison']['ratio'] - 1) * 100:+.3f} %, exit {p.returncode}, "
          f"base not built: {'the base is not built' in p.stderr}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
