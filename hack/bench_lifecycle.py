#!/usr/bin/env python3
"""Lifecycle benchmark: runr vs runc vs crun, interleaved in one run.

For each round and each runtime (order shuffled per round):
  lifecycle: create + start + wait for exit (EOF on the container's stdout) + delete of `true`
  run:       `run` of `true` (foreground, the runtime waits and deletes)
Prints medians, ratios to crun, and the peak RSS of `create`.
Usage: bench_lifecycle.py BUNDLE ROUNDS RUNTIME=PATH...
"""
import ctypes, os, random, resource, shutil, statistics, subprocess, sys, tempfile, time

bundle, rounds = sys.argv[1], int(sys.argv[2])
runtimes = dict(a.split("=", 1) for a in sys.argv[3:])
roots = {name: tempfile.mkdtemp(prefix=f"bench-{name}-", dir="/run") for name in runtimes}
times = {name: {"lifecycle": [], "run": []} for name in runtimes}
DEVNULL = subprocess.DEVNULL


def rt(name, *args, **kw):
    return subprocess.run([runtimes[name], "--root", roots[name], *args], check=True, **kw)


# Like a containerd shim: a subreaper that reaps the container's init itself.
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pidfile = tempfile.mktemp(prefix="bench-pid-")


def lifecycle(name, cid):
    t0 = time.perf_counter()
    rt(name, "create", "--bundle", bundle, "--pid-file", pidfile, cid, stdin=DEVNULL, stdout=DEVNULL)
    pid = int(open(pidfile).read())
    rt(name, "start", cid)
    os.waitpid(pid, 0)
    rt(name, "delete", cid)
    return time.perf_counter() - t0


def run(name, cid):
    t0 = time.perf_counter()
    rt(name, "run", "--bundle", bundle, cid, stdin=DEVNULL, stdout=DEVNULL)
    return time.perf_counter() - t0


def peak_rss_of_create(name):
    # GNU time forks from its own small image, so the child's peak RSS is the
    # runtime's (a python parent's RSS would leak into ru_maxrss through fork).
    cid = f"rss-{name}"
    # Not a pipe for the container's stdio: the init would hold it open.
    out = tempfile.mktemp(prefix="bench-rss-")
    subprocess.run(["/usr/bin/time", "-o", out, "-f", "%M", runtimes[name], "--root", roots[name], "create",
                    "--bundle", bundle, cid], check=True, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
    rt(name, "delete", "--force", cid)
    kib = int(open(out).read().strip().splitlines()[-1])
    os.unlink(out)
    return kib


try:
    for name in runtimes:  # warm-up: page cache, cgroup parents
        lifecycle(name, f"warm-{name}")
    for i in range(rounds):
        order = list(runtimes)
        random.shuffle(order)
        for name in order:
            times[name]["lifecycle"].append(lifecycle(name, f"lc-{name}-{i}"))
            times[name]["run"].append(run(name, f"run-{name}-{i}"))
    peak = {name: peak_rss_of_create(name) for name in runtimes}
    base = "crun" if "crun" in runtimes else next(iter(runtimes))
    print(f"{'runtime':8} {'lifecycle ms':>13} {'ratio':>6} {'run ms':>8} {'ratio':>6} {'create peak RSS':>16}")
    for name in runtimes:
        lc = statistics.median(times[name]["lifecycle"]) * 1000
        rn = statistics.median(times[name]["run"]) * 1000
        blc = statistics.median(times[base]["lifecycle"]) * 1000
        brn = statistics.median(times[base]["run"]) * 1000
        print(f"{name:8} {lc:13.2f} {lc / blc:6.2f} {rn:8.2f} {rn / brn:6.2f} {peak[name] / 1024:13.1f} MiB")
    print(f"(medians of {rounds} interleaved rounds; ratios to {base})")
finally:
    for name in runtimes:
        shutil.rmtree(roots[name], ignore_errors=True)
