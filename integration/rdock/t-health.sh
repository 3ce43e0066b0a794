# Health checks (--health-cmd and the other --health-* flags, the image's
# HEALTHCHECK, --no-healthcheck): docker's flag errors, the states starting ->
# unhealthy/healthy with retries and start period, the last 5 results with
# docker's output cap and timeout message, ps STATUS, inspect's State.Health
# and Config.Healthcheck; checks stop with the container, leaving no process.
# Intervals of a few hundred ms keep it short.
R() { rdock run --network none "$@"; }
js() { rdock inspect "$1" | jq -c "$2"; }
until_true() {
    local end=$(($(date +%s%N) + $1 * 1000000000)); shift
    until "$@"; do [ "$(date +%s%N)" -gt "$end" ] && return 1; sleep 0.05; done
}
health_is() { [ "$(js "$1" '.[0].State.Health.Status')" = "\"$2\"" ]; }
status_of() { rdock ps -a -f name="$1" | tail -n +2 | grep -Eo '(Up|Exited|Created).*ago|Up .*\)|Up [^ ]+ [a-z]+'; }
# becomes NAME STATUS DESC: ok once the health status is STATUS (10 s at most).
becomes() {
    if until_true 10 health_is "$1" "$2"; then ok "$3"; else nok "$3" "$(js "$1" '.[0].State.Health')"; fi
}
# The host processes running a command line (the probes' processes).
procs() { pgrep -f -x "$1" | wc -l; }

# --- bad values: docker's messages and exit codes; nothing is created
before=$(rdock ps -a -q | wc -l)
out=$(R --rm --health-interval x busybox true 2>&1)
check_rc "--health-interval x exits 125" 125 $? "$out"
check "--health-interval x: docker's flag error" '^invalid argument "x" for "--health-interval" flag: time: invalid duration "x"' "$out"
check "then the help hint" "^See 'rdock run --help'.$" "$(tail -1 <<<"$out")"
out=$(R --rm --health-timeout 5 busybox true 2>&1)
check "--health-timeout 5: Go's missing unit" 'for "--health-timeout" flag: time: missing unit in duration "5"' "$out"
out=$(R --rm --health-retries x busybox true 2>&1)
check "--health-retries x: strconv's message" 'for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax' "$out"
out=$(R --rm --no-healthcheck --health-cmd true busybox true 2>&1)
check_rc "--no-healthcheck with --health-cmd exits 125" 125 $? "$out"
check "--no-healthcheck conflict: docker's message" '^rdock: --no-healthcheck conflicts with --health-\* options.$' "$(head -1 <<<"$out")"
out=$(R --rm --health-retries -1 busybox true 2>&1)
check "--health-retries -1: cannot be negative" '^rdock: --health-retries cannot be negative.$' "$(head -1 <<<"$out")"
out=$(R --rm --health-interval -1s busybox true 2>&1)
check "--health-interval -1s: cannot be negative" '^rdock: --health-interval cannot be negative.$' "$(head -1 <<<"$out")"
out=$(R --rm --health-interval 500us busybox true 2>&1)
check_rc "--health-interval 500us exits 125 on run" 125 $? "$out"
check "under 1ms: the daemon's message" '^rdock: Error response from daemon: Interval in Healthcheck cannot be less than 1ms.$' "$(head -1 <<<"$out")"
out=$(rdock create --network none --health-start-period 1us busybox true 2>&1)
check_rc "create --health-start-period 1us exits 1" 1 $? "$out"
check "create: the daemon's message" '^Error response from daemon: StartPeriod in Healthcheck cannot be less than 1ms$' "$out"
out=$(R --rm --health-interval 10ms busybox true 2>&1)
check_rc "--health-interval 10ms is accepted" 0 $? "$out"
check "the refused runs left no containers" "^$before\$" "$(rdock ps -a -q | wc -l)"

# --- starting -> unhealthy (2 failures) -> healthy once the file exists
R -d --name hc --health-cmd 'test -f /tmp/ok' --health-interval 300ms --health-retries 2 --health-timeout 1s \
    busybox sh -c 'sleep 1.8; touch /tmp/ok; sleep 1000' >/dev/null
check "ps right after the start: (health: starting)" '^Up .*\(health: starting\)$' "$(status_of hc)"
# (rdock's inspect sorts keys; docker's order is Test Interval Timeout StartPeriod Retries)
check "inspect: Config.Healthcheck as docker shows it (no StartPeriod when 0)" \
    '^\{"Interval":300000000,"Retries":2,"Test":\["CMD-SHELL","test -f /tmp/ok"\],"Timeout":1000000000\}$' \
    "$(js hc '.[0].Config.Healthcheck')"
until_true 10 health_is hc unhealthy
check "after 2 failures: unhealthy, streak >= 2, exit codes 1" '^"unhealthy" true \[1\]$' \
    "$(js hc '.[0].State.Health.Status') $(js hc '.[0].State.Health.FailingStreak >= 2') $(js hc '[.[0].State.Health.Log[].ExitCode] | unique')"
check "ps: (unhealthy)" '^Up .*\(unhealthy\)$' "$(status_of hc)"
until_true 10 health_is hc healthy
check "then healthy, streak 0" '^"healthy" 0$' "$(js hc '.[0].State.Health.Status') $(js hc '.[0].State.Health.FailingStreak')"
check "ps: (healthy)" '^Up .*\(healthy\)$' "$(status_of hc)"
check "events: each change of status, as docker logs them" \
    '^health_status: unhealthy health_status: healthy$' \
    "$(rdock events --since 1h --until "$(date -d '+1 sec' +%s)" --filter container=hc --filter event=health_status --format '{{.Status}}' | tr '\n' ' ' | sed 's/ $//')"
check "each result has Start, End, ExitCode, Output" '^\["End","ExitCode","Output","Start"\]$' "$(js hc '.[0].State.Health.Log[0] | keys')"
sleep 1
check "the log keeps the last 5 results" '^5$' "$(js hc '.[0].State.Health.Log | length')"
if rdock ps -f health=none >/dev/null 2>&1; then
    check "ps -f health=healthy" '^hc$' "$(rdock ps -f health=healthy --format '{{.Names}}')"
    check "ps -f health=none leaves it out" '^$' "$(rdock ps -f health=none --format '{{.Names}}' | grep -x hc)"
else
    skip "ps -f health=" "ps has no health filter in this build (main's filters)"
fi
id=$(js hc '.[0].Id' | tr -d '"')
check "one checker process while it runs" '^1$' "$(pgrep -f -x ".* --root $RDOCK_ROOT container-health $id [0-9]+" | wc -l)"
rdock stop -t 1 hc >/dev/null
check "stopped: unhealthy as docker 20.10 leaves it, the log kept" '^"unhealthy" 5$' \
    "$(js hc '.[0].State.Health.Status') $(js hc '.[0].State.Health.Log | length')"
check "no checker process is left" '^0$' "$(pgrep -f -x ".* --root $RDOCK_ROOT container-health $id [0-9]+" | wc -l)"
check "ps -a: a stopped container shows no health" '^Exited \([0-9]+\) .* ago$' "$(status_of hc)"
rdock start hc >/dev/null
check "started again: starting, streak 0, the log kept" '^"starting" 0 5$' \
    "$(js hc '.[0].State.Health.Status') $(js hc '.[0].State.Health.FailingStreak') $(js hc '.[0].State.Health.Log | length')"
rdock rm -f hc >/dev/null

# --- a failing probe: its exit code and output; retries 1
R -d --name hc2 -e FOO=bar -u nobody --health-cmd 'echo $FOO $(id -u); exit 3' --health-interval 200ms --health-retries 1 \
    busybox sleep 1000 >/dev/null
until_true 10 health_is hc2 unhealthy
check "exit 3 with retries 1: unhealthy at once" '^1 3$' "$(js hc2 '.[0].State.Health.FailingStreak') $(js hc2 '.[0].State.Health.Log[0].ExitCode')"
check "the probe runs as the container's user with its env (stdout kept)" '^"bar 65534\\n"$' "$(js hc2 '.[0].State.Health.Log[0].Output')"
rdock rm -f hc2 >/dev/null
# paused: no probes, unhealthy (docker 20.10); unpaused: probed again
R -d --name hc9 --health-cmd true --health-interval 200ms busybox sleep 1000 >/dev/null
until_true 10 health_is hc9 healthy
rdock pause hc9 >/dev/null
until_true 5 health_is hc9 unhealthy
n1=$(js hc9 '.[0].State.Health.Log[-1].Start')
sleep 0.6
check "paused: unhealthy, streak 0, no new probe" "^\"unhealthy\" 0 $n1\$" \
    "$(js hc9 '.[0].State.Health.Status') $(js hc9 '.[0].State.Health.FailingStreak') $(js hc9 '.[0].State.Health.Log[-1].Start')"
check "ps: (Paused) wins" '^Up .*\(Paused\)$' "$(status_of hc9)"
rdock unpause hc9 >/dev/null
becomes hc9 healthy "unpaused: probed again, healthy"
rdock rm -f hc9 >/dev/null

# --- start period: failures in it do not count
R -d --name hc3 --health-cmd false --health-interval 200ms --health-retries 1 --health-start-period 1500ms \
    busybox sleep 1000 >/dev/null
sleep 1
check "within the start period: starting, streak 0, failures logged" '^"starting" 0 true$' \
    "$(js hc3 '.[0].State.Health.Status') $(js hc3 '.[0].State.Health.FailingStreak') $(js hc3 '.[0].State.Health.Log | length > 1')"
becomes hc3 unhealthy "after the start period: unhealthy"
rdock rm -f hc3 >/dev/null

# --- timeout: docker's message, exit code -1, the probe killed
R -d --name hc4 --health-cmd 'sleep 31' --health-interval 200ms --health-timeout 300ms --health-retries 1 \
    busybox sleep 1000 >/dev/null
until_true 10 health_is hc4 unhealthy
check "past the timeout: -1 and docker's message" '^-1 "Health check exceeded timeout \(300ms\)"$' \
    "$(js hc4 '.[0].State.Health.Log[0].ExitCode') $(js hc4 '.[0].State.Health.Log[0].Output')"
check "a probe past its timeout is killed (at most the current one runs)" '^[01]$' "$(procs 'sleep 31')"
rdock rm -f hc4 >/dev/null
sleep 0.2
check "no probe process is left after rm -f" '^0$' "$(procs 'sleep 31')"

# --- the output cap: 4096 bytes then "..."
R -d --name hc5 --health-cmd 'head -c 5000 /dev/zero | tr "\0" a' --health-interval 200ms busybox sleep 1000 >/dev/null
until_true 10 health_is hc5 healthy
check "output cut at 4096 bytes plus ..." '^4099 true$' \
    "$(js hc5 '.[0].State.Health.Log[0].Output | length') $(js hc5 '.[0].State.Health.Log[0].Output | endswith("a...")')"
rdock rm -f hc5 >/dev/null

# --- the image's HEALTHCHECK (CMD form), overridden field by field or disabled
hw=$work/hcimg
rm -rf "$hw"; mkdir -p "$hw/x"
rdock save busybox | tar -x -C "$hw/x"
cfg=$(jq -r '.[0].Config' "$hw/x/manifest.json")
jq -c '.config.Healthcheck = {Test: ["CMD", "test", "-d", "/tmp"], Interval: 200000000, Retries: 1}' "$hw/x/$cfg" >"$hw/x/hc.json"
jq -c '.[0].Config = "hc.json" | .[0].RepoTags = ["hcimg:latest"]' "$hw/x/manifest.json" >"$hw/x/m.json"
mv "$hw/x/m.json" "$hw/x/manifest.json"
(cd "$hw/x" && tar -cf "$hw/hcimg.tar" .)
rdock load -i "$hw/hcimg.tar" >/dev/null
R -d --name hc6 hcimg sleep 1000 >/dev/null
check "the image's HEALTHCHECK shows in Config.Healthcheck" '^\{"Interval":200000000,"Retries":1,"Test":\["CMD","test","-d","/tmp"\]\}$' \
    "$(js hc6 '.[0].Config.Healthcheck')"
becomes hc6 healthy "the image's CMD probe runs: healthy"
R -d --name hc7 --health-cmd 'exit 1' hcimg sleep 1000 >/dev/null
check "--health-cmd over the image's: its interval and retries stay" '^\{"Interval":200000000,"Retries":1,"Test":\["CMD-SHELL","exit 1"\]\}$' \
    "$(js hc7 '.[0].Config.Healthcheck')"
becomes hc7 unhealthy "the overriding probe runs: unhealthy"
R -d --name hc8 --no-healthcheck hcimg sleep 1000 >/dev/null
sleep 0.5
# docker merges the image's fields under Test NONE too.
check "--no-healthcheck: Test NONE, no State.Health" '^\{"Interval":200000000,"Retries":1,"Test":\["NONE"\]\} null$' \
    "$(js hc8 '.[0].Config.Healthcheck') $(js hc8 '.[0].State.Health')"
check "--no-healthcheck: ps shows no health" '^Up [^(]*$' "$(status_of hc8)"
rdock rm -f hc6 hc7 hc8 >/dev/null
rdock rmi hcimg >/dev/null
rm -rf "$hw"

# --- a foreground run: checks run and stop with it
out=$(R --rm --health-cmd 'touch /tmp/probed' --health-interval 100ms busybox sh -c 'sleep 1; test -f /tmp/probed && echo probed')
check "a foreground run is probed too" '^probed$' "$out"
check "no container-health process is left" '^0$' "$(pgrep -f -- "--root $RDOCK_ROOT container-health " | wc -l)"
