# Health checks run by the monitor through the runtime's exec
# (--health-cmd and the other --health-* flags, --no-healthcheck): ps's
# (health: starting)/(unhealthy)/(healthy), inspect's State.Health.
H() { rdock run --network none "$@"; }
hj() { rdock inspect "$1" | jq -c "$2"; }
ps_has() { rdock ps -f name="$1" | grep -q -- "$2"; }
wait_for() { # wait_for SECONDS CMD...
    local end=$(($(date +%s%N) + $1 * 1000000000)); shift
    until "$@"; do [ "$(date +%s%N)" -gt "$end" ] && return 1; sleep 0.05; done
}

# --- flag errors: docker's messages, 125
out=$(H --rm --health-interval x busybox true 2>&1)
check_rc "--health-interval x exits 125" 125 $? "$out"
check "docker's message for a bad duration" '^invalid argument "x" for "--health-interval" flag: time: invalid duration "x"$' "$(head -1 <<<"$out")"
out=$(H --rm --no-healthcheck --health-cmd true busybox true 2>&1)
check "--no-healthcheck with --health-cmd" '^rdock: --no-healthcheck conflicts with --health-\* options.$' "$(head -1 <<<"$out")"
out=$(H --rm --health-retries -1 busybox true 2>&1)
check "negative --health-retries" '^rdock: --health-retries cannot be negative.$' "$(head -1 <<<"$out")"
out=$(H --rm --health-interval 10ms --health-cmd true busybox echo fine 2>&1)
check "--health-interval 10ms is accepted" '^fine$' "$out"

# --- starting, unhealthy after the retries, healthy once the check passes
H -d --name hc1 --health-cmd 'test -f /tmp/ok' --health-interval 300ms --health-retries 2 \
    --health-timeout 1s busybox sh -c 'sleep 2; touch /tmp/ok; exec sleep 300' >/dev/null
check "at first: (health: starting)" 'Up .* \(health: starting\)' "$(rdock ps -f name=hc1)"
wait_for 10 ps_has hc1 '(unhealthy)'
check "after 2 failed checks: (unhealthy)" 'Up .* \(unhealthy\)' "$(rdock ps -f name=hc1)"
wait_for 10 ps_has hc1 '(healthy)'
check "once the check passes: (healthy)" 'Up .* \(healthy\)' "$(rdock ps -f name=hc1)"
check "inspect State.Health: healthy, streak 0, at most 5 results, the last one 0" '^\["healthy",0,true,0\]$' \
    "$(hj hc1 '.[0].State.Health | [.Status, .FailingStreak, (.Log | length <= 5), .Log[-1].ExitCode]')"
check "inspect Config.Healthcheck as docker's" '^\[\["CMD-SHELL","test -f /tmp/ok"\],300000000,1000000000,2\]$' \
    "$(hj hc1 '.[0].Config.Healthcheck | [.Test, .Interval, .Timeout, .Retries]')"
rdock rm -f hc1 >/dev/null

# --- a failing check's exit code and output; a check past its timeout
H -d --name hc2 --health-cmd 'echo out; exit 3' --health-interval 300ms --health-retries 1 busybox sleep 300 >/dev/null
wait_for 10 ps_has hc2 '(unhealthy)'
check "the check's exit code and output are logged" '^\["unhealthy",3,"out\\n"\]$' \
    "$(hj hc2 '.[0].State.Health | [.Status, .Log[0].ExitCode, .Log[0].Output]')"
rdock rm -f hc2 >/dev/null
H -d --name hc3 --health-cmd 'sleep 5' --health-timeout 200ms --health-interval 300ms --health-retries 1 busybox sleep 300 >/dev/null
wait_for 10 ps_has hc3 '(unhealthy)'
check "a check past --health-timeout fails with docker's message" '^\[-1,"Health check exceeded timeout \(200ms\)"\]$' \
    "$(hj hc3 '.[0].State.Health.Log[0] | [.ExitCode, .Output]')"
rdock rm -f hc3 >/dev/null

# --- no check: no health in ps or inspect; --no-healthcheck is recorded
H -d --name hc4 --no-healthcheck busybox sleep 300 >/dev/null
check "--no-healthcheck: Test NONE, no State.Health" '^\[\["NONE"\],null\]$' "$(hj hc4 '[.[0].Config.Healthcheck.Test, .[0].State.Health]')"
check "ps shows no health" 'Up [^(]*hc4$' "$(rdock ps -f name=hc4 | tail -1)"
rdock rm -f hc4 >/dev/null
