#!/usr/bin/env bash
# Benchmarks that compare runr with its peers in one run (ratios, not absolute
# times). Reports only; never gates CI.
#   hack/bench.sh [ROUNDS] [--pull]
# Then rdock's own cost (hack/bench-rdock.sh): `rdock run --rm` against
# `podman run --rm` on runr and against a bare `runr run` of the same bundle.
# Lifecycle: runr, runc and crun (Debian packages) on the same busybox bundle.
# crun 1.8.1 refuses this host's hybrid cgroup layout and ociVersion 1.3.0, so
# every runtime runs in a private mount namespace with /sys/fs/cgroup/unified
# unmounted, on a bundle that says ociVersion 1.0.2.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-50}
runr=$(realpath target/x86_64-unknown-linux-gnu/release/runr)
work=$(mktemp -d /tmp/runr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
hack/mkbundle.sh "$work/bundle" >/dev/null
jq '.ociVersion = "1.0.2" | .process.args = ["true"] | .linux.namespaces |= map(select(.type != "cgroup"))' \
    "$work/bundle/config.json" > "$work/c" && mv "$work/c" "$work/bundle/config.json"

[ -x /usr/bin/time ] || { apt-get install -y -q time >/dev/null; }
args=("runr=$runr")
for r in runc crun; do
    if command -v $r >/dev/null; then args+=("$r=$(command -v $r)"); else echo "($r not installed: skipped)"; fi
done
echo "== lifecycle of 'true' in the busybox bundle, $rounds rounds"
unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec python3 "$@"' sh \
    hack/bench_lifecycle.py "$work/bundle" "$rounds" "${args[@]}"

echo "== rdock"
hack/bench-rdock.sh "$rounds"

if [ "${2:-}" = "--pull" ] || [ "${1:-}" = "--pull" ]; then
    echo "== cold pull + unpack"
    hack/bench-pull.sh 5
fi
