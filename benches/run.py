#!/usr/bin/env python3
"""Times `facs build` on generated projects; benches/run.sh builds facs and calls this.

usage: run.py [--case build|render] [--facs PATH] [--repeat K] [--workdir DIR] [--keep] [N ...]

For each N: generate a project with gen_project.py, then
  first    one `facs -p DIR build` on fresh state (no DIR/.facsimile),
  rebuild  the same command with the state present, best of K (default 3),
  floor    `cat` of every input file to /dev/null plus `cp -r` of what the build
           produced (the manifests DIR/.facsimile/out/*.json; for --case render
           the whole out dir, trees included) to a scratch dir, best of K,
and report wall time and peak RSS. Peak RSS comes from `/usr/bin/time -f %M`
when it exists (Debian package `time`), else from os.wait4's per-child rusage.
The table goes to stdout and to benches/results.txt (results-render.txt for
--case render), overwritten each run.
"""
import argparse
import datetime
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
GEN = os.path.join(BENCH_DIR, "gen_project.py")
TIME = "/usr/bin/time"
DEFAULT_N = {"build": [100, 1000, 10000], "render": [1000]}
RESULTS = {"build": "results.txt", "render": "results-render.txt"}


class Run:
    """One timed process: wall seconds, peak RSS in KiB, exit status, stderr."""

    def __init__(self, seconds, peak_kib, status, stderr):
        self.seconds = seconds
        self.peak_kib = peak_kib
        self.status = status
        self.stderr = stderr


def timed(argv):
    """Runs argv once, measuring wall time and peak RSS."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile(mode="r") as rss:
        if os.access(TIME, os.X_OK):
            start = time.perf_counter()
            proc = subprocess.run([TIME, "-f", "%M", "-o", rss.name, *argv],
                                  stdout=subprocess.DEVNULL, stderr=err)
            seconds = time.perf_counter() - start
            status = proc.returncode
            text = rss.read().strip().splitlines()
            # On a signal, time writes "Command terminated by signal" first.
            peak = int(text[-1]) if text and text[-1].isdigit() else 0
        else:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
            _, wait_status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = status = os.waitstatus_to_exitcode(wait_status)
            peak = usage.ru_maxrss  # KiB on Linux
        err.seek(0)
        return Run(seconds, peak, status, err.read().decode("utf-8", "replace"))


def check(run, what):
    if run.status != 0:
        lines = run.stderr.splitlines()
        sys.stderr.write(f"{what} failed with status {run.status}; stderr (first 40 lines):\n")
        sys.stderr.write("\n".join(lines[:40]) + "\n")
        sys.exit(1)
    return run


def best_of(k, argv, what, before=None):
    """The fastest of k runs (peak RSS: the largest seen)."""
    runs = []
    for _ in range(k):
        if before:
            before()
        runs.append(check(timed(argv), what))
    best = min(runs, key=lambda r: r.seconds)
    return Run(best.seconds, max(r.peak_kib for r in runs), 0, "")


def floor_argv(project, out, scratch, case):
    """cat every input file (the definition dir minus .facsimile) and copy the outputs."""
    copy = ('cp -r "$2/." "$3"' if case == "render"
            else 'find "$2" -maxdepth 1 -name "*.json" -exec cp -r -t "$3" {} +')
    script = ('find "$1" -path "$1/.facsimile" -prune -o -type f -exec cat {} + > /dev/null && '
              + copy)
    return ["sh", "-c", script, "floor", project, out, scratch]


def bench_one(args, n):
    work = tempfile.mkdtemp(prefix=f"facs-bench-{args.case}-{n}-", dir=args.workdir)
    try:
        project = os.path.join(work, "project")
        subprocess.run([sys.executable, GEN, str(n), project, "--case", args.case], check=True)
        facsimile = os.path.join(project, ".facsimile")
        out = os.path.join(facsimile, "out")
        build = [args.facs, "-p", project, "build"]

        shutil.rmtree(facsimile, ignore_errors=True)
        first = check(timed(build), f"first build (N={n})")
        manifests = glob.glob(os.path.join(out, "*.json"))
        if len(manifests) != n:
            sys.exit(f"N={n}: expected {n} manifests in {out}, found {len(manifests)}")
        if args.case == "render":
            probe = os.path.join(out, "c0_1", "bench", "_DEPLOY_", "etc", "bench", "t00.conf")
            if not os.path.isfile(probe):
                sys.exit(f"N={n}: the build rendered no tree ({probe} is missing)")

        rebuild = best_of(args.repeat, build, f"rebuild (N={n})")

        scratch = os.path.join(work, "scratch")

        def fresh_scratch():
            shutil.rmtree(scratch, ignore_errors=True)
            os.mkdir(scratch)

        floor = best_of(args.repeat, floor_argv(project, out, scratch, args.case),
                        f"I/O floor (N={n})", before=fresh_scratch)
        return {"n": n, "first": first, "rebuild": rebuild, "floor": floor}
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def git_revision():
    try:
        rev = subprocess.run(["git", "-C", REPO_DIR, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO_DIR, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(args, rows):
    lines = [
        f"facs build benchmark, case {args.case} ({datetime.datetime.now().isoformat(timespec='seconds')})",
        f"binary {args.facs}, git {git_revision()}, {os.cpu_count()} CPUs, "
        f"rebuild and floor best of {args.repeat}, peak RSS via "
        + ("/usr/bin/time" if os.access(TIME, os.X_OK) else "wait4"),
        "",
        f"{'N':>7} {'first s':>9} {'rebuild s':>10} {'floor s':>9} {'rebuild/floor':>14} "
        f"{'peak MB':>8} {'rebuild ms/inst':>16}",
    ]
    for row in rows:
        n, first, rebuild, floor = row["n"], row["first"], row["rebuild"], row["floor"]
        peak_mb = max(first.peak_kib, rebuild.peak_kib) / 1024
        ratio = rebuild.seconds / floor.seconds if floor.seconds > 0 else float("inf")
        lines.append(
            f"{n:>7} {first.seconds:>9.3f} {rebuild.seconds:>10.3f} {floor.seconds:>9.3f} "
            f"{ratio:>14.1f} {peak_mb:>8.1f} {1000 * rebuild.seconds / n:>16.3f}")
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        lines.append("")
        for key in ("first", "rebuild"):
            per_small = small[key].seconds / small["n"]
            per_large = large[key].seconds / large["n"]
            # The slope between the two ends removes the fixed start-up cost.
            marginal = ((large[key].seconds - small[key].seconds) / (large["n"] - small["n"]))
            lines.append(
                f"linearity ({key}): time per instance at N={large['n']} is "
                f"{per_large / per_small:.2f}x that at N={small['n']} (1.00 = linear, "
                f"below 1 = fixed start-up cost amortised); marginal cost "
                f"{1000 * marginal:.3f} ms/instance")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="*", metavar="N",
                        help="instance counts (multiples of 5); default 100 1000 10000, "
                             "or 1000 with --case render")
    parser.add_argument("--case", choices=["build", "render"], default="build",
                        help="build: manifests only; render: also 20 templates per instance")
    parser.add_argument("--facs", default=os.path.join(REPO_DIR, "target", "release", "facs"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per rebuild and floor (best is kept)")
    parser.add_argument("--workdir", default=None, help="where to generate projects (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args()

    ns = sorted(set(args.n or DEFAULT_N[args.case]))
    if any(n <= 0 or n % 5 for n in ns):
        parser.error("every N must be a positive multiple of 5")
    if not os.access(args.facs, os.X_OK):
        parser.error(f"{args.facs} is not an executable (run benches/run.sh, which builds it)")
    args.facs = os.path.abspath(args.facs)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    rows = []
    for n in ns:
        print(f"N={n} ...", file=sys.stderr, flush=True)
        rows.append(bench_one(args, n))
    text = report(args, rows)
    sys.stdout.write(text)
    with open(os.path.join(BENCH_DIR, RESULTS[args.case]), "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
