#!/bin/bash
# Real clients driving an OCI runtime: podman (with conmon) and containerd
# (with the runc shim v2), against a registry on 127.0.0.1 filled with
# images built here.
#   integration/clients/run.sh RUNTIME [SCENARIO-PATTERN]
# RUNTIME is an absolute path (target/release/runr or /usr/sbin/runc).
# Prints ok / not ok / skip per scenario and ends with
# "N passed, M failed, K skipped". Exit status 1 if any scenario failed.
set -uo pipefail

RUNTIME=${1:?usage: $0 RUNTIME [PATTERN]}
PATTERN=${2:-.}
RUNTIME=$(readlink -f "$RUNTIME")
[ -x "$RUNTIME" ] || { echo "runtime $RUNTIME is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
JOBS=${JOBS:-4}
TIMEOUT=${TIMEOUT:-90}
WORK=$(mktemp -d /tmp/clients.XXXXXX)
export RUNTIME WORK HERE TIMEOUT
# shellcheck source=env.sh
source "$HERE/env.sh"
export REG REG_PORT

cleanup() {
    [ -n "${CONTAINERD_PID:-}" ] && teardown_containerd
    teardown_podman
    teardown_registry
    rm -rf "$WORK"
}
trap cleanup EXIT

version=$("$RUNTIME" --version 2>/dev/null); echo "# runtime: $RUNTIME (${version%%$'\n'*})"
t0=$(date +%s.%N)
setup_registry || { echo "Bail out! registry or images failed"; exit 1; }
setup_podman || { echo "Bail out! podman set-up failed"; exit 1; }
# shellcheck source=containerd.sh
source "$HERE/podman.sh"
source "$HERE/containerd.sh"
setup_containerd || echo "# containerd set-up failed: its scenarios will fail"
echo "# set-up took $(echo "$(date +%s.%N) - $t0" | bc)s"

mkdir -p "$WORK/results"
# One scenario: its own bash, its own time limit, its log kept for failures.
run_scenario() {
    local name=$1 rc=0 start
    start=$(date +%s)
    timeout -k 5 "$TIMEOUT" bash -c '
        set -eo pipefail
        source "$HERE/env.sh"; podman_env
        source "$HERE/podman.sh"; source "$HERE/containerd.sh"; containerd_env
        "$1"' _ "$name" > "$WORK/results/$name.log" 2>&1 || rc=$?
    echo "$rc $(( $(date +%s) - start ))" > "$WORK/results/$name.rc"
}
export -f run_scenario

all="$PODMAN_SCENARIOS $CONTAINERD_SCENARIOS"
selected=$(for s in $all; do echo "$s"; done | grep -E -- "$PATTERN")
# shellcheck disable=SC2086
printf '%s\n' $selected | xargs -P "$JOBS" -I{} bash -c 'run_scenario {}'

pass=0 failn=0 skipn=0
for s in $selected; do
    read -r rc secs < "$WORK/results/$s.rc"
    case $rc in
    0) echo "ok - $s (${secs}s)"; pass=$((pass + 1)) ;;
    77) echo "skip - $s: $(grep -m1 '^SKIP:' "$WORK/results/$s.log" | cut -d' ' -f2-)"; skipn=$((skipn + 1)) ;;
    124|137) echo "not ok - $s: timed out after ${TIMEOUT}s"; failn=$((failn + 1))
        sed 's/^/#   /' "$WORK/results/$s.log" | tail -5 ;;
    *) echo "not ok - $s"; failn=$((failn + 1))
        sed 's/^/#   /' "$WORK/results/$s.log" | tail -5 ;;
    esac
done
# The figure the issue asks for: podman run --rm busybox true, mean of 5.
if [ "$PATTERN" = . ]; then
    p0=$(date +%s.%N)
    for _ in 1 2 3 4 5; do "${PODMAN[@]}" run --rm "$REG/library/busybox" true; done
    echo "# podman run --rm busybox true: $(echo "scale=3; ($(date +%s.%N) - $p0) / 5" | bc)s (mean of 5)"
fi
echo "# wall time $(echo "$(date +%s.%N) - $t0" | bc)s"
echo "$pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
