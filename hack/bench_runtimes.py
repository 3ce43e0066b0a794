#!/usr/bin/env python3
"""Runtime benchmark: runr against crun and runc (or any NAME=PATH), one
interleaved run, the runtimes in a fresh random order every round.

Per round and runtime:
  lifecycle  create, start, wait for the init (we are its subreaper, like a
             containerd shim), delete; create/start/delete are also timed alone
  run        `run` of the same bundle in the foreground (the runtime waits and
             deletes)
  par10      10 `run`s started at once, until the last one exits
Then the peak RSS of `create` (GNU time's %M), 5 samples per runtime,
interleaved too. Prints medians in ms (MiB) and the ratio to crun (or to the
first runtime when crun is absent).
Usage: bench_runtimes.py BUNDLE ROUNDS NAME=PATH...
"""
import ctypes, os, random, shutil, statistics, subprocess, sys, tempfile, time

bundle, rounds = sys.argv[1], int(sys.argv[2])
runtimes = dict(a.split("=", 1) for a in sys.argv[3:])
roots = {n: tempfile.mkdtemp(prefix=f"bench-{n}-", dir="/run") for n in runtimes}
ROWS = [
    ("lifecycle", "create+start+wait+delete"),
    ("create", "create"),
    ("start", "start"),
    ("delete", "delete"),
    ("run", "`run true`"),
    ("par10", "10 parallel `run`s"),
]
times = {n: {k: [] for k, _ in ROWS} for n in runtimes}
DEVNULL = subprocess.DEVNULL
PARALLEL = 10
RSS_SAMPLES = 5

# PR_SET_CHILD_SUBREAPER: the container's init becomes our child when the
# runtime that forked it exits, so we can wait for it.
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
scratch = tempfile.mkdtemp(prefix="bench-")
pidfile = os.path.join(scratch, "pid")


def argv(n, *args):
    return [runtimes[n], "--root", roots[n], *args]


def call(n, *args):
    # stdout not a pipe: the init would hold it open.
    subprocess.run(argv(n, *args), check=True, stdin=DEVNULL, stdout=DEVNULL)


def lifecycle(n, cid, record=True):
    t0 = time.perf_counter()
    call(n, "create", "--bundle", bundle, "--pid-file", pidfile, cid)
    t1 = time.perf_counter()
    pid = int(open(pidfile).read())
    call(n, "start", cid)
    t2 = time.perf_counter()
    os.waitpid(pid, 0)
    t3 = time.perf_counter()
    call(n, "delete", cid)
    t4 = time.perf_counter()
    if record:
        t = times[n]
        t["lifecycle"].append(t4 - t0)
        t["create"].append(t1 - t0)
        t["start"].append(t2 - t1)
        t["delete"].append(t4 - t3)


def run(n, cid):
    t0 = time.perf_counter()
    call(n, "run", "--bundle", bundle, cid)
    times[n]["run"].append(time.perf_counter() - t0)


def par(n, cid):
    t0 = time.perf_counter()
    procs = [subprocess.Popen(argv(n, "run", "--bundle", bundle, f"{cid}-{j}"), stdin=DEVNULL, stdout=DEVNULL)
             for j in range(PARALLEL)]
    failed = [p.args for p in procs if p.wait() != 0]
    if failed:
        sys.exit(f"{n}: {len(failed)} of the parallel runs failed")
    times[n]["par10"].append(time.perf_counter() - t0)


def create_peak_rss(n, cid):
    # GNU time forks from its own small image, so %M is the runtime's peak
    # (a python parent's RSS would leak into ru_maxrss through fork).
    out = os.path.join(scratch, "rss")
    subprocess.run(["/usr/bin/time", "-o", out, "-f", "%M", *argv(n, "create", "--bundle", bundle, cid)],
                   check=True, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
    call(n, "delete", "--force", cid)
    return int(open(out).read().split()[-1])


def shuffled():
    order = list(runtimes)
    random.shuffle(order)
    return order


try:
    for n in runtimes:  # warm-up: page cache, cgroup parents
        lifecycle(n, f"warm-{n}", record=False)
    for i in range(rounds):
        for n in shuffled():
            lifecycle(n, f"lc-{i}")
            run(n, f"run-{i}")
            par(n, f"par-{i}")
    rss = {n: [] for n in runtimes}
    for i in range(RSS_SAMPLES):
        for n in shuffled():
            rss[n].append(create_peak_rss(n, f"rss-{i}"))

    base = "crun" if "crun" in runtimes else next(iter(runtimes))
    med = {n: {k: statistics.median(v) * 1000 for k, v in times[n].items()} for n in runtimes}
    mib = {n: statistics.median(v) / 1024 for n, v in rss.items()}
    print("| | " + " | ".join(runtimes) + " |")
    print("|---" * (len(runtimes) + 1) + "|")
    for key, label in ROWS:
        cells = [f"{med[n][key]:.2f} ms ({med[n][key] / med[base][key]:.2f})" for n in runtimes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = [f"{mib[n]:.2f} MiB ({mib[n] / mib[base]:.2f})" for n in runtimes]
    print("| peak RSS of create | " + " | ".join(cells) + " |")
    print(f"(medians of {rounds} interleaved rounds, RSS of {RSS_SAMPLES}; ratios to {base})")
finally:
    for n in runtimes:
        for cid in os.listdir(roots[n]):
            subprocess.run(argv(n, "delete", "--force", cid), stdout=DEVNULL, stderr=DEVNULL)
        shutil.rmtree(roots[n], ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
