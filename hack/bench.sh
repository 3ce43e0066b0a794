#!/usr/bin/env bash
# Benchmarks that compare runr with its peers in one run (ratios, not absolute
# times). Reports only; never gates CI.
#   hack/bench.sh [ROUNDS] [--pull] [--runtimes-only] [NAME=PATH...]
# Runtimes (hack/bench_runtimes.py): runr, crun and runc (Debian packages),
# plus any NAME=PATH given (e.g. an older runr build to compare with), on the
# same busybox bundle: lifecycle (create, start, delete, each also alone),
# foreground `run`, 10 parallel `run`s, peak RSS of create; RUNR=PATH picks
# the runr binary. crun 1.8.1 refuses this host's hybrid cgroup layout and
# ociVersion 1.3.0, so every runtime runs in a private mount namespace with
# /sys/fs/cgroup/unified unmounted, on a bundle that says ociVersion 1.0.2.
# Then rdock's own cost (hack/bench-rdock.sh) unless --runtimes-only, and with
# --pull the image pull benchmark against podman.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=50 pull= rdock=1 extra=()
for a in "$@"; do
    case $a in
        --pull) pull=1 ;;
        --runtimes-only) rdock= ;;
        *=*) extra+=("$a") ;;
        *) rounds=$a ;;
    esac
done
runr=$(realpath "${RUNR:-target/x86_64-unknown-linux-gnu/release/runr}")
work=$(mktemp -d /tmp/runr-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
hack/mkbundle.sh "$work/bundle" >/dev/null
jq '.ociVersion = "1.0.2" | .process.args = ["true"] | .linux.namespaces |= map(select(.type != "cgroup"))' \
    "$work/bundle/config.json" > "$work/c" && mv "$work/c" "$work/bundle/config.json"

[ -x /usr/bin/time ] || { apt-get install -y -q time >/dev/null; }
args=("runr=$runr")
for r in crun runc; do
    if command -v $r >/dev/null; then args+=("$r=$(command -v $r)"); else echo "($r not installed: skipped)"; fi
done
args+=("${extra[@]}")
echo "== runtimes: 'true' in the busybox bundle, $rounds rounds"
unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec python3 "$@"' sh \
    hack/bench_runtimes.py "$work/bundle" "$rounds" "${args[@]}"

if [ -n "$rdock" ]; then
    echo "== rdock"
    RUNR=$runr hack/bench-rdock.sh "$rounds"
fi
if [ -n "$pull" ]; then
    echo "== cold pull + unpack"
    hack/bench-pull.sh 5
fi
