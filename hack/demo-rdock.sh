#!/usr/bin/env bash
# demo-rdock.sh: the pull-and-run flow on a machine without Docker Hub.
# A local registry with locally built images stands in as the docker.io mirror;
# then `rdock run hello-world` and `rdock run busybox echo hello`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rdock=$here/target/x86_64-unknown-linux-gnu/release/rdock
work=$(mktemp -d /tmp/rdock-demo.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RDOCK_ROOT=$work/root
export RDOCK_REGISTRY_MIRROR=http://127.0.0.1:$port
export RDOCK_INSECURE_REGISTRY=127.0.0.1:$port
cleanup() {
    local ids
    ids=$("$rdock" ps -a -q --no-trunc 2>/dev/null || true)
    [ -n "$ids" ] && "$rdock" rm -f $ids >/dev/null 2>&1
    "$here/hack/registry.sh" stop "$work/registry" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$here/hack/registry.sh" start "$work/registry" "$port" >/dev/null
echo "(building images and pushing them to the local mirror 127.0.0.1:$port)"
"$here/hack/test-images.sh" "127.0.0.1:$port" "$work/images" >/dev/null
say() { printf '\n$ %s\n' "$*"; }
say rdock run hello-world
"$rdock" run hello-world
say rdock run busybox echo hello
"$rdock" run busybox echo hello
say rdock images
"$rdock" images
say rdock ps -a
"$rdock" ps -a
