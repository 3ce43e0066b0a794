#!/usr/bin/env bash
# mkbundle.sh DIR RUNTIME: an OCI bundle with a busybox rootfs and the
# runtime's default config, edited to print a greeting without a terminal.
set -euo pipefail
dir=$1 runtime=$2
mkdir -p "$dir"
"$(dirname "$0")/mkrootfs.sh" "$dir/rootfs"
rm -f "$dir/config.json"
"$runtime" spec --bundle "$dir"
jq '.process.terminal = false
    | .process.args = ["sh", "-c", "echo Hello from a runr container: $(hostname), pid $$, uid $(id -u)"]' \
    "$dir/config.json" > "$dir/config.json.tmp"
mv "$dir/config.json.tmp" "$dir/config.json"
