#!/usr/bin/env python3
"""History at scale: `history`, `report` and `sync` on a store of 10,000 commits x 50 workloads.

The store comes from `examples/gen_store.rs` (records as `cargo perf record` writes them, 10 raw
samples per workload, in git notes on real commits, written with `git fast-import`); it is
generated once into --store (about 4 minutes) and reused. Then, each command --repeat times
(wall time and peak RSS of the child, as `/usr/bin/time -v` reports them; best and median):

- `history` of every workload, human and JSON, with the history index up to date (warm) and
  with the index deleted first (cold);
- `report` over every commit (`--from` the root commit), Markdown and HTML, warm;
- compaction: COMPACT commits are re-recorded (a record appended to their note, as `record`
  does), then `history` runs: its time, and the index's points before and after (the index is
  compacted once stale notes are more than a quarter of those indexed: 4,000 of 14,000 are);
- `sync` into a fresh clone: a bare remote holding the notes, `git clone`, `cargo perf sync`,
  then the first `history` there.

The store's notes are restored after the compaction step, so a second run measures the same.

With --versus OTHER (another build of cargo-perf, such as the one before a change), each warm
command is run with both binaries in turn, so that both see the same machine: on a shared VM
the same binary's times move by a quarter within minutes.

Usage: scripts/bench-history-scale.py [--cargo-perf PATH] [--gen-store PATH] [--store DIR]
                                      [--repeat N] [--compact N] [--warm-only]
                                      [--versus PATH]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = dict(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
ENV = dict(os.environ, **GIT_ENV)


def timed(argv, cwd=None, stdout=subprocess.DEVNULL):
    """Runs argv under `/usr/bin/time` (this script's own memory would otherwise count in the
    child's peak RSS); returns (seconds, peak RSS in MiB, stdout bytes or None)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *map(str, argv)],
                              cwd=cwd, env=ENV, stdout=stdout, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{' '.join(map(str, argv))} exited {proc.returncode}: "
                     f"{proc.stderr.decode()[-3000:]}")
        return seconds, int(rss.read().split()[-1]) / 1024, proc.stdout


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True).stdout


def index_dir(repo):
    return repo / ".git" / "cargo-perf"


def index_points(repo):
    """Points in the index's workload files, and how many of them are of notes replaced since."""
    current = {line.split()[0] for line in
               git(repo, "notes", "--ref", "perf", "list").decode().splitlines()}
    total = stale = 0
    for f in index_dir(repo).glob("index-*/w-*.jsonl"):
        with open(f) as fh:
            for line in fh:
                if line.strip():
                    total += 1
                    stale += json.loads(line)[0] not in current
    return total, stale


def row(what, runs):
    secs = [s for s, _, _ in runs]
    rss = [m for _, m, _ in runs]
    print(f"| {what} | {min(secs):.3f} s | {statistics.median(secs):.3f} s | "
          f"{max(rss):.1f} MiB | {len(runs)} |", flush=True)


def versus_row(what, n, argv, other):
    """`what` run n times with this binary and with `other` in turn; one row of both."""
    mine, theirs = [], []
    for _ in range(n):
        mine.append(timed(argv))
        theirs.append(timed([other, *argv[1:]]))
    fmt = lambda runs: (f"{min(s for s, _, _ in runs):.3f} s / "
                        f"{statistics.median(s for s, _, _ in runs):.3f} s, "
                        f"{max(m for _, m, _ in runs):.0f} MiB")
    print(f"| {what} | {fmt(theirs)} | {fmt(mine)} | {n} |", flush=True)


def repeat(n, argv, cwd=None, before=None):
    runs = []
    for _ in range(n):
        if before:
            before()
        runs.append(timed(argv, cwd))
    return runs


def rerecord(repo, count):
    """Appends a copy of the last record (a new run id) to the notes of `count` commits spread
    over history, in one notes commit, as `cargo perf record` on those commits would."""
    blobs = dict(line.split()[::-1] for line in
                 git(repo, "notes", "--ref", "perf", "list").decode().splitlines())
    commits = [c for c in git(repo, "rev-list", "--first-parent", "HEAD").decode().split()
               if c in blobs]
    step = max(1, len(commits) // count)
    chosen = commits[::step][:count]
    data = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, env=ENV, check=True,
                          capture_output=True,
                          input="".join(f"{blobs[c]}\n" for c in chosen).encode()).stdout
    texts = []
    pos = 0
    for _ in chosen:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        texts.append(data[header_end + 1:header_end + 1 + size].decode())
        pos = header_end + 1 + size + 1
    stream = ["commit refs/notes/perf", "committer b <b@b> 1767225600 +0000", "data 10",
              "re-record", "from refs/notes/perf^0"]
    for n, (commit, text) in enumerate(zip(chosen, texts)):
        last = json.loads(text.strip().splitlines()[-1])
        last["run_id"] = f"{0xbe00000000000000 + n:016x}"
        text = text + json.dumps(last, separators=(",", ":")) + "\n"
        body = text.encode()
        stream.append(f"N inline {commit}\ndata {len(body)}")
        stream.append(body.decode())
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, env=ENV, check=True,
                   input=("\n".join(stream) + "\n").encode())
    return len(chosen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default=str(REPO / "target/release/cargo-perf"))
    ap.add_argument("--gen-store", default=str(REPO / "target/release/examples/gen_store"))
    ap.add_argument("--store", default=str(REPO / "target/perf-store-scale"))
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--workloads", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compact", type=int, default=4000,
                    help="commits to re-record before the compaction step")
    ap.add_argument("--warm-only", action="store_true",
                    help="only the warm `history` and `report` timings")
    ap.add_argument("--versus", metavar="PATH",
                    help="another cargo-perf build: the warm timings of both, in turn")
    args = ap.parse_args()
    perf = str(Path(args.cargo_perf).resolve())
    store = Path(args.store).resolve()
    if not (store / ".git").is_dir():
        print(f"generating {store} ...", flush=True)
        secs, rss, _ = timed([args.gen_store, str(store), str(args.commits),
                              str(args.workloads), "0"])
        print(f"generated in {secs:.0f} s (peak RSS {rss:.0f} MiB)", flush=True)
    manifest = ["--manifest-path", str(store / "Cargo.toml")]
    root = git(store, "rev-list", "--max-parents=0", "HEAD").decode().split()[0]
    history = [perf, "perf", "history", "-q", *manifest]
    report = [perf, "perf", "report", "-q", "--from", root, "--to", "HEAD", *manifest]
    drop_index = lambda: shutil.rmtree(index_dir(store), ignore_errors=True)

    print(f"\n{store.name}: {args.commits} commits x {args.workloads} workloads, "
          f"{os.cpu_count()} CPUs\n")
    if args.versus:
        other = str(Path(args.versus).resolve())
        print("| command | --versus: best / median, peak RSS | this: best / median, peak RSS "
              "| runs |")
        print("|---|--:|--:|--:|")
        warm = [("`history`", history),
                ("`history --message-format json`", history + ["--message-format", "json"]),
                ("`history -n 0` (reading the index)", history + ["-n", "0"]),
                ("`report --from ROOT` (Markdown)", report),
                ("`report --from ROOT --format html`",
                 report + ["--format", "html", "-o", os.devnull])]
        for what, argv in warm:
            versus_row(what, args.repeat, argv, other)
        return
    print("| command | best | median | peak RSS | runs |")
    print("|---|--:|--:|--:|--:|")
    if not args.warm_only:
        row("`history`, index deleted first (cold)",
            repeat(max(1, args.repeat // 2), history, before=drop_index))
    row("`history` (warm)", repeat(args.repeat, history))
    row("`history --message-format json` (warm)",
        repeat(args.repeat, history + ["--message-format", "json"]))
    row("`report --from ROOT` (Markdown, warm)", repeat(args.repeat, report))
    row("`report --from ROOT --format html` (warm)",
        repeat(args.repeat, report + ["--format", "html", "-o", os.devnull]))

    if args.warm_only:
        return
    # Compaction: re-record, then the history that indexes the new notes (and compacts).
    tip = git(store, "rev-parse", "refs/notes/perf").decode().strip()
    before_points = index_points(store)
    try:
        n = rerecord(store, args.compact)
        secs, rss, _ = timed(history)
        after_points = index_points(store)
        print(f"| `history` after {n} commits re-recorded (indexes them, compacts) | "
              f"{secs:.3f} s | | {rss:.1f} MiB | 1 |")
        row("`history` after that (warm)", repeat(args.repeat, history))
        print(f"\nindex points (of them stale): {before_points[0]} ({before_points[1]}) before, "
              f"{after_points[0]} ({after_points[1]}) after re-recording {n} commits; without "
              f"compaction {before_points[0] + 2 * n * args.workloads}")
    finally:
        git(store, "update-ref", "refs/notes/perf", tip)

    # Sync into a fresh clone.
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        remote, clone = tmp / "remote.git", tmp / "clone"
        start = time.perf_counter()
        git(tmp, "clone", "-q", "--bare", str(store), str(remote))
        git(store, "push", "-q", str(remote), "refs/notes/perf:refs/notes/perf")
        git(tmp, "clone", "-q", str(remote), str(clone))
        print(f"\nbare remote and fresh clone made in {time.perf_counter() - start:.1f} s\n")
        print("| command | time | peak RSS |")
        print("|---|--:|--:|")
        secs, rss, out = timed([perf, "perf", "sync", "--manifest-path",
                                str(clone / "Cargo.toml")], stdout=subprocess.PIPE)
        print(f"| `sync` into the fresh clone ({out.decode().strip()}) | {secs:.3f} s | "
              f"{rss:.1f} MiB |")
        secs, rss, _ = timed([perf, "perf", "history", "-q", "--manifest-path",
                              str(clone / "Cargo.toml")])
        print(f"| first `history` in the clone | {secs:.3f} s | {rss:.1f} MiB |")


if __name__ == "__main__":
    main()
