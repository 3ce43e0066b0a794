#!/usr/bin/env bash
# mkbundle.sh DIR: an OCI bundle at DIR made of the example config
# (bundles/busybox/config.json) and a busybox rootfs (hack/mkrootfs.sh).
set -euo pipefail
dir=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
"$here/hack/mkrootfs.sh" "$dir/rootfs"
cp "$here/bundles/busybox/config.json" "$dir/config.json"
