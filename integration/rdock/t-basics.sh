# Smoke test of the harness: a container runs and is removed.
out=$(rdock run --rm busybox echo harness-ok 2>&1)
check "run --rm busybox echo" '^harness-ok$' "$out"
