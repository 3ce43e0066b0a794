#!/usr/bin/env bash
# rdock's own overhead: `rdock run --rm busybox true` (image present) against a
# bare `runr run` of a busybox bundle, interleaved, median of ROUNDS each.
#   [BIN=dir with rdock and runr] hack/bench-rdock-run.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
bin=$(realpath "${BIN:-target/x86_64-unknown-linux-gnu/release}")
work=$(mktemp -d /tmp/rdock-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { hack/registry.sh stop "$work/registry" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
hack/registry.sh start "$work/registry" "$port" >/dev/null
hack/test-images.sh "127.0.0.1:$port" "$work/images" >/dev/null 2>&1
export RDOCK_ROOT=$work/root RDOCK_REGISTRY_MIRROR=http://127.0.0.1:$port \
    RDOCK_INSECURE_REGISTRY=127.0.0.1:$port RDOCK_CONFIG=$work/none.json
"$bin/rdock" pull -q busybox >/dev/null
hack/mkbundle.sh "$work/bundle" "$bin/runr" >/dev/null
jq '.process.args = ["true"]' "$work/bundle/config.json" >"$work/c" && mv "$work/c" "$work/bundle/config.json"
python3 - "$rounds" "$bin" "$work" <<'PY'
import subprocess, sys, time, statistics
rounds, b, w = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rd, rr = [], []
for i in range(rounds):
    t = time.perf_counter()
    subprocess.run([b + "/rdock", "run", "--rm", "busybox", "true"], check=True)
    rd.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run([b + "/runr", "--root", w + "/rr", "run", "-b", w + "/bundle", "b%d" % i], check=True)
    rr.append(time.perf_counter() - t)
m1, m2 = statistics.median(rd) * 1000, statistics.median(rr) * 1000
print(f"rdock run --rm busybox true: {m1:.1f} ms   runr run: {m2:.1f} ms   overhead: {m1 - m2:.1f} ms (median of {rounds})")
PY
