# Restart policies (--restart, docker's backoff, RestartCount, stop/kill by
# hand vs a kill from the host, rm of a restarting container, update
# --restart) and the return of restartable containers after a reboot.
# Containers run with --network none: each restart stays cheap.
R() { rdock run --network none "$@"; }
js() { rdock inspect "$1" | jq -c "$2"; }
# until_true SECONDS CMD...: polls CMD every 50 ms; its last status.
until_true() {
    local end=$(($(date +%s%N) + $1 * 1000000000)); shift
    until "$@"; do [ "$(date +%s%N)" -gt "$end" ] && return 1; sleep 0.05; done
}
rc_of() { js "$1" '.[0].RestartCount'; }
# The STATUS column of ps -a for a container (its whole line: no --format here).
status_of() { rdock ps -a -f name="$1" | tail -n +2 | grep -Eo '(Up|Exited|Restarting|Created).*ago|Up .*'; }
state_is() { [ "$(js "$1" '.[0].State.Status')" = "\"$2\"" ]; }
count_at_least() { [ "$(rc_of "$1")" -ge "$2" ]; }
count_and_state() { [ "$(js "$1" '[.[0].RestartCount, .[0].State.Status]')" = "[$2,\"$3\"]" ]; }
policy_of() { js "$1" '.[0].HostConfig.RestartPolicy | [.Name, .MaximumRetryCount]'; }

# --- bad values: docker's messages and exit codes; nothing is created
before=$(rdock ps -a -q | wc -l)
out=$(R --restart foo busybox true 2>&1)
check_rc "run --restart foo exits 125" 125 $? "$out"
check "run: docker's message for an unknown policy" "^rdock: Error response from daemon: invalid restart policy 'foo'.$" "$(head -1 <<<"$out")"
check "run: then the help hint" "^See 'rdock run --help'.$" "$(tail -1 <<<"$out")"
out=$(rdock create --network none --restart foo busybox true 2>&1)
check_rc "create --restart foo exits 1" 1 $? "$out"
check "create: the daemon's message without prefix nor dot" "^Error response from daemon: invalid restart policy 'foo'$" "$out"
out=$(R --restart ALWAYS busybox true 2>&1)
check "policy names are case-sensitive" "invalid restart policy 'ALWAYS'" "$out"
out=$(R --restart on-failure:x busybox true 2>&1)
check_rc "on-failure:x exits 125" 125 $? "$out"
check "on-failure:x: the client's message" "^rdock: maximum retry count must be an integer.$" "$(head -1 <<<"$out")"
out=$(rdock create --network none --restart on-failure: busybox true 2>&1)
check_rc "create --restart on-failure: exits 125 (a client check)" 125 $? "$out"
out=$(R --restart on-failure:2:3 busybox true 2>&1)
check "on-failure:2:3: invalid format" "^rdock: invalid restart policy format.$" "$(head -1 <<<"$out")"
out=$(R --restart on-failure:-1 busybox true 2>&1)
check "on-failure:-1: negative count" "^rdock: Error response from daemon: maximum retry count cannot be negative.$" "$(head -1 <<<"$out")"
out=$(R --restart always:3 busybox true 2>&1)
check "always:3: no count with always" "maximum retry count cannot be used with restart policy 'always'" "$out"
out=$(R --restart always --rm busybox true 2>&1)
check_rc "--restart always --rm exits 125" 125 $? "$out"
check "--restart with --rm: docker's conflict message" "^rdock: Conflicting options: --restart and --rm.$" "$(head -1 <<<"$out")"
out=$(R --restart on-failure:0 --rm busybox true 2>&1)
check "any policy but no conflicts with --rm" "Conflicting options: --restart and --rm" "$out"
out=$(R --restart no --rm busybox echo fine 2>&1)
check "--restart no --rm runs" '^fine$' "$out"
check "the refused runs left no containers" "^$before\$" "$(rdock ps -a -q | wc -l)"

# --- inspect
rdock create --network none --name rsn busybox true >/dev/null
check "no --restart: policy no, count 0" '^\["no",0\] 0$' "$(policy_of rsn) $(rc_of rsn)"
out=$(rdock update --restart on-failure:3 rsn 2>&1)
check_rc "update --restart exits 0" 0 $? "$out"
check "update prints the name" '^rsn$' "$out"
check "update --restart changes the policy" '^\["on-failure",3\]$' "$(policy_of rsn)"
out=$(rdock update --restart foo rsn 2>&1)
check_rc "update --restart foo exits 1" 1 $? "$out"
check "update: docker's message" "^Error response from daemon: invalid restart policy 'foo'$" "$out"
rdock rm rsn >/dev/null

# --- on-failure:N: N restarts with docker's delays (0.1 + 0.2 + 0.4 s), then Exited
t0=$(date +%s%N)
R -d --name rsf --restart on-failure:3 busybox sh -c 'echo run; exit 3' >/dev/null
until_true 20 state_is rsf exited
t1=$(date +%s%N)
check "on-failure:3 gives up after 3 restarts" '^3 3 "exited"$' "$(rc_of rsf) $(js rsf '.[0].State.ExitCode') $(js rsf '.[0].State.Status')"
check "the container ran 4 times (its log)" '^4$' "$(rdock logs rsf | grep -c '^run$')"
ms=$(((t1 - t0) / 1000000))
if [ "$ms" -ge 700 ] && [ "$ms" -lt 5000 ]; then ok "backoff 100 ms doubling: 3 restarts took ${ms} ms (>= 700)"; else nok "backoff: 3 restarts took ${ms} ms"; fi
check "inspect: the on-failure policy" '^\["on-failure",3\]$' "$(policy_of rsf)"
R -d --name rs0 --restart on-failure busybox true >/dev/null
until_true 10 state_is rs0 exited
sleep 0.3
check "on-failure: an exit 0 is not restarted" '^0 "exited"$' "$(rc_of rs0) $(js rs0 '.[0].State.Status')"
rdock rm rsf rs0 >/dev/null

# --- always, exiting at once: Restarting (N) while it waits; rm refused, stop works
R -d --name rsa --restart always busybox sh -c 'exit 3' >/dev/null
until_true 10 state_is rsa restarting
until_true 10 count_at_least rsa 4
until_true 10 state_is rsa restarting
check "ps: Restarting (code) ... ago" 'Restarting \(3\) (Less than a second|[0-9]+ seconds?) ago' "$(rdock ps -f name=rsa)"
check "ps without -a lists a restarting container" 'rsa' "$(rdock ps)"
check "ps -f status=restarting" 'rsa' "$(rdock ps -f status=restarting)"
check "inspect while waiting: restarting, Running and Restarting true, last exit code" \
    '^\["restarting",true,true,3,0\]$' "$(js rsa '.[0].State | [.Status, .Running, .Restarting, .ExitCode, .Pid]')"
out=$(rdock rm rsa 2>&1)
check_rc "rm of a restarting container exits 1" 1 $? "$out"
check "docker's message for rm of a restarting container" '^Error response from daemon: You cannot remove a restarting container [0-9a-f]{64}. Stop the container before attempting removal or force remove$' "$out"
out=$(rdock exec rsa true 2>&1)
check "exec into a restarting container: docker's message" 'Container [0-9a-f]{64} is restarting, wait until the container is running' "$out"
s0=$(date +%s%N)
out=$(rdock stop rsa 2>&1)
check_rc "stop of a restarting container exits 0" 0 $? "$out"
check_rc "stop of a restarting container returns at once" 1 $(( ($(date +%s%N) - s0) < 2000000000 ))
n1=$(rc_of rsa)
sleep 1
check "after stop: Exited (3), RestartCount kept, no more restarts" "^Exited \(3\) .* $n1 \"exited\"\$" "$(status_of rsa) $(rc_of rsa) $(js rsa '.[0].State.Status')"
R -d --name rsa2 --restart always busybox sh -c 'exit 3' >/dev/null
until_true 10 state_is rsa2 restarting
out=$(rdock kill rsa2 2>&1)
check_rc "kill of a restarting container exits 0 (docker)" 0 $? "$out"
check "and leaves it Exited with its last code" '^Exited \(3\)' "$(status_of rsa2)"
rdock start rsa2 >/dev/null
until_true 10 state_is rsa2 restarting
out=$(rdock rm -f rsa2 2>&1)
check_rc "rm -f removes a restarting container" 0 $? "$out"
sleep 0.5
check "and it does not come back" '^$' "$(rdock ps -a -q -f name=rsa2)"
rdock rm rsa >/dev/null

# --- always with a long-running command: a kill from the host restarts it; stop and kill do not
R -d --name rsk --restart always busybox sh -c 'echo up; exec sleep 300' >/dev/null
pid1=$(js rsk '.[0].State.Pid')
check "always: running, count 0" '^0 \["always",0\]$' "$(rc_of rsk) $(policy_of rsk)"
kill -9 "$pid1"
until_true 10 count_and_state rsk 1 running
pid2=$(js rsk '.[0].State.Pid')
check "kill -9 from the host: restarted, RestartCount 1, a new pid" '^1 "running" yes$' \
    "$(rc_of rsk) $(js rsk '.[0].State.Status') $([ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] && echo yes)"
check "the restarted container ran its command again" '^2$' "$(rdock logs rsk | grep -c '^up$')"
check "ExitCode is 0 again while it runs" '^0$' "$(js rsk '.[0].State.ExitCode')"
rdock stop -t 1 rsk >/dev/null
sleep 0.5
check "stop: not restarted, RestartCount kept" '^Exited \(137\) .* 1$' "$(status_of rsk) $(rc_of rsk)"
rdock start rsk >/dev/null
check "start resets RestartCount" '^0 "running"$' "$(rc_of rsk) $(js rsk '.[0].State.Status')"
rdock kill rsk >/dev/null
sleep 0.5
check "rdock kill: not restarted" '^"exited" 137$' "$(js rsk '.[0].State.Status') $(js rsk '.[0].State.ExitCode')"
rdock rm rsk >/dev/null
R -d --name rsu --restart unless-stopped busybox sleep 300 >/dev/null
kill -9 "$(js rsu '.[0].State.Pid')"
until_true 10 count_and_state rsu 1 running
check "unless-stopped: a kill from the host restarts it" '^1 "running"$' "$(rc_of rsu) $(js rsu '.[0].State.Status')"
rdock rm -f rsu >/dev/null

# --- a foreground run returns with the first exit; the monitor restarts it after
out=$(R --name rsfg --restart on-failure:1 busybox sh -c 'echo hello; exit 2' 2>&1)
check_rc "foreground run --restart: the first run's exit code" 2 $? "$out"
check "foreground run --restart: its output" '^hello$' "$out"
until_true 10 state_is rsfg exited
check "and the policy restarted it once in the background" '^1 2$' "$(rc_of rsfg) $(js rsfg '.[0].State.ExitCode')"
rdock rm rsfg >/dev/null

# --- a reboot: no daemon brings containers back; `start --all-restartable` does
rdock run -d --name rba1 --restart always busybox sleep 300 >/dev/null # default network
R -d --name rba2 --restart always busybox sleep 300 >/dev/null
R -d --name rbu1 --restart unless-stopped busybox sleep 300 >/dev/null
R -d --name rbu2 --restart unless-stopped busybox sleep 300 >/dev/null
R -d --name rbo1 --restart on-failure:2 busybox sleep 300 >/dev/null
R -d --name rbn1 busybox sleep 300 >/dev/null
rdock stop -t 0 rba2 rbu2 >/dev/null
# The reboot, as the host sees it: monitors and containers die, /run
# (the runtimes' state) is emptied, mounts are gone.
for c in rba1 rbu1 rbo1 rbn1; do
    id=$(rdock ps -q --no-trunc -f name="$c")
    kill -9 "$(jq -r .monitor_pid "$RDOCK_ROOT/containers/$id/config.json")" "$(js "$c" '.[0].State.Pid')"
done
sleep 0.3
grep -o " $RDOCK_ROOT/[^ ]*" /proc/self/mounts | grep -E '/bundle/rootfs$|/netns/' | while read -r m; do umount -l "$m"; done
rm -rf "$RDOCK_ROOT/runtime"
check "after the reboot every container shows as exited" '^$' "$(rdock ps -q)"
out=$(rdock start --all-restartable 2>&1)
check_rc "start --all-restartable exits 0" 0 $? "$out"
check "it starts always (running or stopped by hand), unless-stopped not stopped by hand, on-failure cut short" \
    '^rba1 rba2 rbo1 rbu1$' "$(sort <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
out=$(rdock ps --no-trunc | tail -n +2 | grep -Eo 'rb[a-z0-9]+$' | sort | tr '\n' ' ')
check "those four are up, unless-stopped stopped by hand and no policy are not" '^rba1 rba2 rbo1 rbu1 $' "$out"
check "RestartCount starts again from 0" '^0 0$' "$(rc_of rba1) $(rc_of rbo1)"
check "the container is really running again" 'sleep 300' "$(rdock top rbu1 2>&1)"
if [ -n "$(js rba1 '.[0].NetworkSettings.IPAddress // empty' | tr -d '"')" ]; then
    out=$(rdock exec rba1 sh -c 'cat /sys/class/net/eth0/operstate; ping -c1 -W2 "$(ip route 2>/dev/null | grep -o "via [0-9.]*" | cut -d" " -f2)" >/dev/null 2>&1 || true' 2>&1)
    check "a bridge container gets its network back (a new namespace pinned)" '^up' "$out"
else
    skip "a bridge container gets its network back" "no bridge network (netavark missing)"
fi
out=$(rdock start --all-restartable 2>&1)
check "run again, it starts nothing" '^$' "$out"
kill -9 "$(js rba2 '.[0].State.Pid')"
until_true 10 count_and_state rba2 1 running
check "restarted containers have their monitors again (a kill from the host restarts)" '^1 "running"$' "$(rc_of rba2) $(js rba2 '.[0].State.Status')"
rdock rm -f rba1 rba2 rbu1 rbu2 rbo1 rbn1 >/dev/null
