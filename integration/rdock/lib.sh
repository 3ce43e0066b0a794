# Shared harness of rdock's tests, sourced by run.sh and tutorial.sh (never run
# alone). harness_start gives $work (temp dir), RDOCK_ROOT and a local registry
# with the test images as the Docker Hub mirror; the caller sets $here (repo),
# $runtime and $RDOCK. Helpers:
#   rdock ARGS...              rdock with the chosen runtime and a time limit
#   ok DESC / nok DESC [DETAIL]
#   check DESC REGEX OUTPUT    ok when OUTPUT matches the extended REGEX
#   check_rc DESC WANT RC [OUTPUT]
#   skip DESC REASON
# Each t-*.sh file is one area; it must remove what it creates (containers,
# volumes, networks) so the next area starts clean.
T=${T:-60} # seconds allowed to any one step
passed=0 failed=0 skipped=0 n=0

rdock() { timeout "$T" "$RDOCK" --runtime "$runtime" "$@"; }

ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - ${area:+$area: }$1"; }
nok() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${area:+$area: }$1"
    [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
    return 0
}
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - ${area:+$area: }$1 # SKIP $2"; }
check() { if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else nok "$1" "$3"; fi; }
check_rc() { if [ "$3" = "$2" ]; then ok "$1"; else nok "$1 (rc $3, want $2)" "${4:-}"; fi; }

harness_cleanup() {
    local ids
    ids=$(timeout "$T" "$RDOCK" ps -a -q --no-trunc 2>/dev/null)
    [ -n "$ids" ] && timeout "$T" "$RDOCK" --runtime "$runtime" rm -f $ids >/dev/null 2>&1
    # Nothing mounted may be left under the root.
    grep -o " $work/[^ ]*" /proc/self/mounts | while read -r m; do umount -l "$m"; done
    "$here/hack/registry.sh" stop "$work/registry" || true
    rm -rf "$work"
}

harness_start() {
    work=$(mktemp -d /tmp/rdock-tests.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    export RDOCK_ROOT=$work/root
    export RDOCK_REGISTRY_MIRROR=http://127.0.0.1:$port
    export RDOCK_INSECURE_REGISTRY=127.0.0.1:$port
    export RDOCK_CONFIG=$work/none.json
    trap harness_cleanup EXIT
    "$here/hack/registry.sh" start "$work/registry" "$port" || { echo "not ok - registry"; exit 1; }
    timeout 300 "$here/hack/test-images.sh" "127.0.0.1:$port" "$work/images" >"$work/images.log" 2>&1 \
        || { cat "$work/images.log"; echo "not ok - test images"; exit 1; }
}
