#!/bin/bash
# rdock's feature tests: each integration/rdock/t-AREA.sh checks what a
# container sees for one area of commands and flags.
#   integration/rdock/run.sh RUNTIME [AREA...]   (runr, runc, crun or a path)
# RDOCK=path/to/rdock overrides the binary (default: the release build).
# Prints "ok N - AREA: ..." / "not ok N - ..." and a summary line.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
runtime=${1:?usage: $0 RUNTIME [AREA...]}
shift
RDOCK=${RDOCK:-$here/target/x86_64-unknown-linux-gnu/release/rdock}
if [ "$runtime" = runr ] && [ -x "$(dirname "$RDOCK")/runr" ]; then
    runtime=$(dirname "$RDOCK")/runr
fi
. "$here/integration/rdock/lib.sh"

areas=("$@")
if [ ${#areas[@]} = 0 ]; then
    for f in "$here"/integration/rdock/t-*.sh; do a=${f##*/t-}; areas+=("${a%.sh}"); done
fi
harness_start
rdock pull -q busybox >/dev/null 2>&1 || rdock pull busybox >/dev/null
echo "# rdock $RDOCK with runtime $runtime, root $RDOCK_ROOT"
for area in "${areas[@]}"; do
    echo "# area $area"
    . "$here/integration/rdock/t-$area.sh"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
