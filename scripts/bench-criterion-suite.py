#!/usr/bin/env python3
"""The criterion gate on a real published suite: base64's own benches, whose groups set a
500 ms warm-up and a 3 s measurement time in code.

Fetches the crate's source from the package registry (`cargo vendor` in a scratch project), copies
it into a temporary git repository, builds its benches, then measures in one sitting:

1. `cargo bench` twice over the selected benchmarks (what gating both sides with criterion's own
   way costs, build excluded), each with a private CRITERION_HOME;
2. an A/A `cargo perf check` (a commit that touches only a text file): wall time beyond the
   builds, and how many benchmarks it flagged;
3. a `cargo perf check` with a slowdown injected into the engine's `internal_encode` (called by
   every encode benchmark and by no decode one): which benchmarks it flagged.

Prints a table for the README and exits 1 when the A/A check flags more than one benchmark, when
the slowdown check flags a decode benchmark, or finds no encode one.

Usage: scripts/bench-criterion-suite.py [--cargo-perf PATH] [--crate base64@0.22.1]
                                        [--filter _small_input/] [--bench-regex REGEX]
                                        [--bench-target benchmarks]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = dict(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
# Burns time proportional to the input in the encoder's entry point.
SLOWDOWN = ("        let mut input_index: usize = 0;\n",
            "        for i in 0..(input.len() / 8 + 4) {\n"
            "            let _ = std::hint::black_box(i);\n"
            "        }\n"
            "        let mut input_index: usize = 0;\n")


def run(cmd, cwd, env=None, check=True):
    return subprocess.run(cmd, cwd=cwd, env=env, check=check, capture_output=True, text=True)


def git(cwd, *args):
    run(["git", *args], cwd, env=dict(os.environ, **GIT_ENV))


def fetch(crate, version, tmp):
    """The crate's source, through `cargo vendor` of a scratch project that depends on it."""
    scratch = tmp / "scratch"
    (scratch / "src").mkdir(parents=True)
    (scratch / "src/lib.rs").write_text("")
    (scratch / "Cargo.toml").write_text(
        f'[package]\nname = "scratch"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f'[dependencies]\n{crate} = "={version}"\n')
    run(["cargo", "vendor", "--quiet", "vendor"], scratch)
    src = tmp / "repo"
    shutil.copytree(scratch / "vendor" / crate, src)
    # A vendored crate carries a checksum file cargo would verify against edits.
    (src / ".cargo-checksum.json").unlink(missing_ok=True)
    (src / ".gitignore").write_text("target/\n")
    return src


def check(perf, cwd, env, filt):
    started = time.monotonic()
    out = run([perf, "perf", "check", "-q", filt, "--message-format", "json"], cwd, env,
              check=False)
    wall = time.monotonic() - started
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    verdicts = {l["workload"]["name"]: l for l in lines if l.get("reason") == "check-workload"}
    done = next((l for l in lines if l.get("reason") == "check-finished"), None)
    if not verdicts or done is None:
        sys.exit(f"check gave no verdicts (exit {out.returncode}): {out.stderr[-3000:]}")
    return verdicts, done, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cargo-perf", default="cargo-perf")
    ap.add_argument("--crate", default="base64@0.22.1")
    ap.add_argument("--filter", default="_small_input/",
                    help="the benchmarks gated: cargo perf's FILTER (a substring)")
    ap.add_argument("--bench-regex", default="_small_input/",
                    help="the same benchmarks for cargo bench (criterion's regex)")
    ap.add_argument("--work", help="a folder to work in, kept between runs (builds stay warm); "
                                   "default: a new temporary folder")
    ap.add_argument("--cargo-bench-walls", help="reuse two cargo bench wall times measured "
                                                "earlier (seconds, `221,223`) instead of measuring")
    ap.add_argument("--bench-target", default="benchmarks",
                    help="the criterion bench target (the lib's libtest harness rejects "
                         "criterion's options)")
    args = ap.parse_args()
    perf = args.cargo_perf
    if os.sep in perf:
        perf = str(Path(perf).resolve())
    crate, version = args.crate.split("@")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.work) if args.work else Path(scratch)
        if args.work:
            shutil.rmtree(tmp / "scratch", ignore_errors=True)
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            if (tmp / "repo").exists():
                # Keep the build, start the sources again.
                keep = tmp / "kept-target"
                shutil.rmtree(keep, ignore_errors=True)
                if (tmp / "repo/target").exists():
                    (tmp / "repo/target").rename(keep)
                shutil.rmtree(tmp / "repo")
        tmp.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CARGO_PERF_CACHE_DIR=str(tmp / "cache"), **GIT_ENV)
        env.pop("CARGO_TARGET_DIR", None)
        repo = fetch(crate, version, tmp)
        if (tmp / "kept-target").exists():
            (tmp / "kept-target").rename(repo / "target")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"{crate} {version}")
        print(f"{crate} {version} in {repo}; building its benches", file=sys.stderr)
        run(["cargo", "bench", "--no-run", "--quiet"], repo, env)

        # 1. cargo bench, twice: both sides measured criterion's own way.
        bench_walls = [float(x) for x in args.cargo_bench_walls.split(",")] \
            if args.cargo_bench_walls else []
        for _ in range(2 - len(bench_walls)):
            home = tempfile.mkdtemp(dir=tmp)
            started = time.monotonic()
            out = run(["cargo", "bench", "--quiet", "--bench", args.bench_target, "--",
                       "--noplot", args.bench_regex], repo, dict(env, CRITERION_HOME=home))
            bench_walls.append(time.monotonic() - started)
            if out.stdout.count("time:   [") == 0:
                sys.exit(f"cargo bench measured nothing: {out.stderr[-2000:]}")
        print(f"cargo bench: {bench_walls[0]:.0f} s and {bench_walls[1]:.0f} s",
              file=sys.stderr)

        # 2. A/A.
        (repo / "NOTES.md").write_text("a change that does not touch the code\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "docs")
        aa, aa_done, aa_wall = check(perf, repo, env, args.filter)
        # The second check against the same base builds nothing: its time beyond measuring.
        aa2, aa2_done, aa2_wall = check(perf, repo, env, args.filter)

        # 3. A slowdown in the encoder.
        engine = repo / "src/engine/general_purpose/mod.rs"
        text = engine.read_text()
        marker = "    fn internal_encode(&self, input: &[u8], output: &mut [u8]) -> usize {\n"
        at = text.index(marker) + len(marker)
        assert text[at:].startswith(SLOWDOWN[0]), "internal_encode changed shape"
        engine.write_text(text[:at] + SLOWDOWN[1] + text[at + len(SLOWDOWN[0]):])
        slow, slow_done, slow_wall = check(perf, repo, env, args.filter)

    def flagged(verdicts, kind):
        return sorted(n for n, v in verdicts.items() if v["verdict"] == kind)

    def counts(verdicts):
        c = {}
        for v in verdicts.values():
            c[v["verdict"]] = c.get(v["verdict"], 0) + 1
        return ", ".join(f"{n} {k}" for k, n in sorted(c.items()))

    def beyond(done, wall):
        t = done["timing"]
        return wall - t["build_ns"] / 1e9 - t["runs_ns"] / 1e9, t["build_ns"] / 1e9

    aa_flagged = flagged(aa, "regressed") + flagged(aa, "improved")
    aa2_flagged = flagged(aa2, "regressed") + flagged(aa2, "improved")
    encode = [n for n in slow if "/encode" in n]
    found = [n for n in flagged(slow, "regressed") if n in encode]
    wrong = [n for n in flagged(slow, "regressed") + flagged(slow, "improved")
             if n not in encode]
    hidden = [v["hidden_change"] for v in aa.values() if v.get("hidden_change") is not None]
    hidden.sort()
    median_hidden = hidden[len(hidden) // 2] if hidden else None
    aa_measure = aa_wall - aa_done["timing"]["build_ns"] / 1e9
    print(f"\n| {crate} {version}, {len(aa)} benchmarks | wall (build excluded) | flagged |")
    print("|---|--:|---|")
    print(f"| `cargo bench`, twice | {bench_walls[0] + bench_walls[1]:.0f} s "
          f"({bench_walls[0]:.0f} + {bench_walls[1]:.0f}) | - |")
    print(f"| A/A `cargo perf check` | {aa_measure:.0f} s | {len(aa_flagged)} ({counts(aa)}) |")
    print(f"| A/A again | {aa2_wall - aa2_done['timing']['build_ns'] / 1e9:.0f} s "
          f"| {len(aa2_flagged)} ({counts(aa2)}) |")
    print(f"| `internal_encode` slowed | {slow_wall - slow_done['timing']['build_ns'] / 1e9:.0f} s "
          f"| {len(found)} of {len(encode)} encode benchmarks regressed, {len(wrong)} others "
          f"flagged ({counts(slow)}) |")
    if median_hidden is not None:
        print(f"\nA/A, undecided benchmarks: median change that could be hidden "
              f"{median_hidden * 100:.1f} % (of {len(hidden)}).")
    extra, build = beyond(aa_done, aa_wall)
    extra2, build2 = beyond(aa2_done, aa2_wall)
    print(f"First check: {build:.0f} s building both sides, {extra:.1f} s beyond building and "
          f"measuring; second: {build2:.1f} s building (nothing compiled), {extra2:.1f} s beyond.")
    if wrong:
        print(f"flagged without the slowdown: {wrong}")
    ok = len(aa_flagged) <= 1 and not wrong and found
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
