#!/usr/bin/env python3
"""The load generator against `wrk`, on a minimal loopback HTTP server, in one sitting.

The server is `perf-helper serve` (fixtures/helpers: HTTP/1.1 keep-alive, a thread per
connection, an empty answer), started on a free port of 127.0.0.1 for each block by the tool
(`cargo perf run`) or by this script (for wrk). Nothing else is ever sent a request.

1. Throughput: blocks alternate, `wrk -t2 -cN -dD` and a closed-model `[[load]]` with
   `users = N` for D seconds; each reports requests per second. The ratio of medians is the
   figure (target: at least 0.9).
2. Offered rate: an open-model `[[load]]` at R/s for D seconds; the offered and achieved rate
   of its hold stage against R (target: within 1 %).
3. Memory: a soak at S/s for M minutes, the generator's RSS (`/proc/PID/status`, VmRSS) every
   5 s; its first and last minute (target: under 64 MiB, and flat).

With `--baseline PATH` (an earlier cargo-perf), its generator runs in the same rotation of
blocks, for a before-and-after in one sitting. `--soak-minutes 0` skips the soak.

Usage: scripts/bench-load-generator.py [--cargo-perf PATH] [--baseline PATH] [--connections 16]
       [--seconds 10] [--blocks 3] [--rate 2000] [--soak-rate 2000] [--soak-minutes 10]
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def helper():
    target = REPO / "target" / "fixture-builds"
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    str(REPO / "fixtures/helpers/Cargo.toml"), "--target-dir", str(target)],
                   check=True)
    return target / "release" / "perf-helper"


def scratch(perf_toml):
    d = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (d / "src").mkdir()
    (d / "src/main.rs").write_text("fn main() {}\n")
    (d / "Cargo.toml").write_text(
        '[package]\nname = "scratch"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
    (d / "perf.toml").write_text(perf_toml)
    return d


def load_toml(helper_path, body):
    return ('[[load]]\nname = "bench"\nservice = { command = [%s, "serve", "{port}"], '
            'ready = "/ready" }\n%s\n' % (json.dumps(str(helper_path)), body))


def run_load(perf, d):
    out = subprocess.run([perf, "perf", "run", "-q", "--message-format", "json",
                          "--manifest-path", str(d / "Cargo.toml")],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        v = json.loads(line)
        if v.get("reason") == "load-finished":
            if v["report"] is None:
                sys.exit(f"load run failed: {v['failure']}")
            return v["report"]
    sys.exit(f"no load-finished line (exit {out.returncode}): {out.stderr[-2000:]}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_wrk(helper_path, connections, seconds):
    port = free_port()
    server = subprocess.Popen([str(helper_path), "serve", str(port)],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s",
                              f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                             check=True)
        m = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
        return float(m.group(1))
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default="cargo-perf")
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--soak-rate", type=float, default=2000)
    ap.add_argument("--soak-minutes", type=float, default=10)
    args = ap.parse_args()
    perf = args.cargo_perf
    if os.sep in perf:
        perf = str(Path(perf).resolve())
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    h = helper()

    closed = scratch(load_toml(h, f'users = {args.connections}\nduration = "{args.seconds}s"\n'
                                  'ramp = "0s"\n'))
    ours, theirs, before = [], [], []
    baseline = str(Path(args.baseline).resolve()) if args.baseline else None
    for block in range(args.blocks):
        turn = [("wrk", lambda: run_wrk(h, args.connections, args.seconds), theirs),
                ("cargo-perf", lambda: run_load(perf, closed)["overall"]["achieved_rps"], ours)]
        if baseline:
            turn.append(("baseline",
                         lambda: run_load(baseline, closed)["overall"]["achieved_rps"], before))
        # Each block starts with another of them: none always runs first or last.
        turn = turn[block % len(turn):] + turn[:block % len(turn)]
        for name, fn, into in turn:
            rps = fn()
            into.append(rps)
            print(f"block {block + 1}: {name:<10} {rps:10.0f} requests/s", flush=True)
    ratio = statistics.median(ours) / statistics.median(theirs)

    open_model = scratch(load_toml(h, f'rate = {args.rate}\nduration = "{args.seconds}s"\n'
                                      'ramp = "0s"\n'))
    hold = run_load(perf, open_model)["stages"][0]["figures"]
    offered_err = hold["offered_rps"] / args.rate - 1
    achieved_err = hold["achieved_rps"] / args.rate - 1

    samples, soak_report = [], None
    if args.soak_minutes > 0:
        soak = scratch(load_toml(h, f'profile = "soak"\nrate = {args.soak_rate}\n'
                                    f'duration = "{int(args.soak_minutes * 60)}s"\nramp = "0s"\n'))
        # Its output goes to a file: a pipe nobody reads until the end would fill and stop it.
        out_path = soak / "soak.jsonl"
        out_file = open(out_path, "w")
        proc = subprocess.Popen([perf, "perf", "run", "-q", "--message-format", "json",
                                 "--manifest-path", str(soak / "Cargo.toml")],
                                stdout=out_file, stderr=subprocess.DEVNULL, text=True)
        started = time.time()
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
                samples.append((time.time() - started, kib / 1024))
            except (OSError, AttributeError):
                pass
            time.sleep(5)
        proc.wait()
        out_file.close()
        out = out_path.read_text()
        soak_report = next(json.loads(l) for l in out.splitlines()
                           if json.loads(l).get("reason") == "load-finished")["report"]
    first = [m for t, m in samples if t <= 60]
    last = [m for t, m in samples if t >= samples[-1][0] - 60] if samples else []
    print()
    print("| figure | measured | target |")
    print("|---|---|---|")
    print(f"| requests/s, {args.connections} connections, {args.seconds} s blocks: cargo-perf "
          f"(closed model) / wrk -t2 | {statistics.median(ours):.0f} / "
          f"{statistics.median(theirs):.0f} = {ratio:.2f}x | >= 0.9x |")
    if before:
        print(f"| the same, the baseline's generator | {statistics.median(before):.0f} / "
              f"{statistics.median(theirs):.0f} = "
              f"{statistics.median(before) / statistics.median(theirs):.2f}x | |")
    print(f"| offered rate at {args.rate:.0f}/s (open model, {args.seconds} s) | "
          f"{hold['offered_rps']:.1f}/s ({100 * offered_err:+.2f} %), achieved "
          f"{hold['achieved_rps']:.1f}/s ({100 * achieved_err:+.2f} %) | within 1 % |")
    if soak_report:
        print(f"| generator RSS, soak at {args.soak_rate:.0f}/s for {args.soak_minutes:g} min | "
              f"first minute {max(first, default=0):.1f} MiB, last minute "
              f"{max(last, default=0):.1f} MiB, highest "
              f"{max((m for _, m in samples), default=0):.1f} MiB | < 64 MiB, flat |")
        print(f"| soak: requests, achieved rate, p99 | {soak_report['overall']['requests']}, "
              f"{soak_report['overall']['achieved_rps']:.1f}/s, "
              f"{soak_report['overall']['latency']['p99'] / 1e6:.2f} ms | |")
        shutil.rmtree(soak, ignore_errors=True)
    for d in (closed, open_model):
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
