#!/usr/bin/env bash
# demo.sh RUNTIME BUNDLE: one container through its whole lifecycle.
set -euo pipefail
runtime=$(realpath "$1") bundle=$(realpath "$2")
root=$(mktemp -d /tmp/runr-demo.XXXXXX)
id=demo-$$
trap '"$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
say() { printf '\n$ %s\n' "$*"; }
say runr create --bundle "$bundle" "$id"
"$runtime" --root "$root" create --bundle "$bundle" "$id"
say runr state "$id"
"$runtime" --root "$root" state "$id"
say runr start "$id"
"$runtime" --root "$root" start "$id"
for _ in $(seq 100); do
  "$runtime" --root "$root" state "$id" | grep -q '"stopped"' && break
  sleep 0.05
done
say runr list
"$runtime" --root "$root" list
say runr delete "$id"
"$runtime" --root "$root" delete "$id"
echo "done"
