#!/usr/bin/env bash
# Regenerates src/runr/hot.order, the order in which the linker places runr's
# functions (src/runr/build.rs passes it to lld): the functions that create,
# state, start and delete execute, in the order callgrind first meets them,
# so they end up on few pages. Layout only: a stale file costs memory, not
# correctness (missing names are skipped). Rerun after a toolchain update or
# large changes, then `make build`:
#   make build && hack/gen-runr-order.sh [RUNR]
# Needs valgrind and root. valgrind lacks openat2, so the init stops early in
# its rootfs setup and the parent takes its error path; perf samples of
# native runs (if perf is installed) add what that misses.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/x86_64-unknown-linux-gnu/dist/runr}")
out=src/runr/hot.order
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
work=$(mktemp -d /tmp/runr-order.XXXXXX)
root=$(mktemp -d /run/runr-order.XXXXXX)
trap 'rm -rf "$work" "$root"' EXIT
hack/mkbundle.sh "$work/bundle" >/dev/null
jq '.process.args = ["true"] | .process.terminal = false' "$work/bundle/config.json" > "$work/c"
mv "$work/c" "$work/bundle/config.json"
mkdir "$work/bin" "$work/cg"
cp "$bin" "$work/bin/runr"
# On a read-only mount runr needs no re-exec (the exe guard), which valgrind
# could not follow; a private mount namespace keeps that mount to us.
unshare -m --propagation private bash -euc '
    w=$1 root=$2
    mount --bind "$w/bin" "$w/bin" && mount -o remount,bind,ro "$w/bin"
    r="$w/bin/runr --root $root"
    # One output per process (%p): create'"'"'s init child is profiled too.
    vg() { out=$1; shift; valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$w/cg/$out.%p" "$@"; }
    # The init inherits stdio: none of it may be a pipe someone waits on.
    vg 1-create $r create --bundle "$w/bundle" o1 </dev/null >/dev/null 2>&1 || true
    $r delete --force o1 >/dev/null 2>&1 || true
    $r create --bundle "$w/bundle" o2 </dev/null >/dev/null 2>&1
    vg 2-state $r state o2 >/dev/null 2>&1
    vg 3-start $r start o2 >/dev/null 2>&1
    sleep 0.2
    vg 4-delete $r delete o2 >/dev/null 2>&1 || true
    $r delete --force o2 >/dev/null 2>&1 || true
    # What valgrind cannot follow (the init past openat2, the parent after a
    # successful init): samples of native runs, if perf is there.
    if command -v perf >/dev/null; then
        perf record -q -F 20000 -e cpu-clock -o "$w/perf.data" -- sh -c "
            for i in \$(seq 40); do
                $r create --bundle $w/bundle n\$i </dev/null >/dev/null 2>&1
                $r state n\$i >/dev/null; $r start n\$i; sleep 0.01; $r delete --force n\$i
            done" >/dev/null 2>&1 || true
    fi
' sh "$work" "$root"
if [ -f "$work/perf.data" ]; then
    perf report -i "$work/perf.data" --no-demangle --sort dso,sym --stdio 2>/dev/null |
        awk '$0 !~ /^#/ && /runr/ {print $NF}' > "$work/cg/9-perf"
fi
# Function names in first-seen order, kept if the binary defines them.
{
    cat $(ls "$work"/cg/*-*.* | sort) | sed -nE 's/^c?fn=\([0-9]+\) (.*)/\1/p'
    cat "$work/cg/9-perf" 2>/dev/null || true
} | awk '!seen[$0]++' > "$work/seen"
nm --defined-only "$work/bin/runr" | awk '{print $3}' | sort -u > "$work/defined"
grep -Fxf "$work/defined" "$work/seen" > "$out"
echo "$out: $(wc -l < "$out") functions"
