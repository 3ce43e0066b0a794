# Container commands and the per-container monitor: foreground logging, the
# pty, create/start/attach/wait/restart/stop/kill/top, prunes, info,
# volumes, ps/logs flags, exec flags, crash safety, exit codes.

# --- the foreground run is monitored like a detached one
out=$(rdock run --name fg1 busybox sh -c 'echo to-out; echo to-err >&2; exit 3' 2>&1)
check_rc "foreground run returns the container's exit code" 3 $?
check "foreground run shows stdout and stderr" 'to-out' "$out"
out=$(rdock logs fg1 2>&1)
check "logs works for a foreground container (stdout)" 'to-out' "$out"
check "logs works for a foreground container (stderr)" 'to-err' "$out"
check "ps -a shows the foreground exit code" 'Exited \(3\)' "$(rdock ps -a -f name=fg1)"
out=$(echo piped-in | rdock run -i --rm busybox cat)
check "run -i pipes stdin" '^piped-in$' "$out"

# --- run -t: pty from --console-socket, window size, terminal restored
if command -v script >/dev/null; then
    out=$(script -qec "stty rows 31 cols 101; stty -g; $RDOCK --runtime $runtime run -it --rm busybox sh -c 'stty size; tty; exit 4'; echo rc=\$?; stty -g" /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g')
    check "run -it: the window size reaches the container" '31 101' "$out"
    check "run -it: the container has a pty" '/dev/pts/' "$out"
    check "run -it: exit code propagated" '^rc=4' "$out"
    out2=$(script -qec "stty rows 20 cols 50; (sleep 1; stty rows 40 cols 90 </dev/tty) & $RDOCK --runtime $runtime run -it --rm busybox sh -c 'sleep 2.5; stty size'" /dev/null </dev/null | tr -d '\r' | sed 's/\^@//g')
    check "run -it: SIGWINCH resizes the container's pty" '40 90' "$out2"
    modes=$(grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}' <<<"$out" | sort -u | wc -l)
    check_rc "run -it: the terminal modes are restored" 1 "$modes" "$out"
else
    skip "run -it through script" "script(1) missing"
fi
rdock run -t --name tty1 busybox echo tty-logged >/dev/null 2>&1
check "run -t output is logged" 'tty-logged' "$(rdock logs tty1)"
rdock run -d -t --name dt1 busybox sh -c 'tty; exit 8' >/dev/null
check "run -d -t: the exit code is recorded" '^8$' "$(rdock wait dt1)"
check "run -d -t: the detached container has a pty, logged" '/dev/pts/' "$(rdock logs dt1)"
rdock rm dt1 >/dev/null

# --- create, start -a, wait
id=$(rdock create --name cr1 busybox sh -c 'echo created-ran; exit 5')
check "create prints a 64-hex id" '^[0-9a-f]{64}$' "$id"
check "create leaves the container Created" 'Created' "$(rdock ps -a -f name=cr1)"
out=$(rdock start -a cr1)
check_rc "start -a returns the exit code" 5 $?
check "start -a shows the output" '^created-ran$' "$out"
check "wait prints the exit code" '^5$' "$(rdock wait cr1)"
rdock start cr1 >/dev/null
check "wait blocks until the container exits" '^5$' "$(rdock wait cr1)"
check "the restarted container logged twice" 'created-ran.*created-ran' "$(rdock logs cr1 | tr '\n' ' ')"

# --- attach to a detached container (stdin too)
rdock run -d -i --name at1 busybox sh -c 'read l; echo "got $l"; exit 6' >/dev/null
out=$(echo hello-attach | rdock attach at1)
check_rc "attach returns the container's exit code" 6 $?
check "attach forwards stdin and shows the output" '^got hello-attach$' "$out"

rdock run -d -i -t --name at2 busybox sh >/dev/null
printf 'echo attached-tty\n\020\021' | rdock attach at2 >/dev/null
check_rc "ctrl-p ctrl-q detaches from a tty" 0 $?
check "the container keeps running after the detach" 'Up ' "$(rdock ps -f name=at2)"
check "the input before the detach reached it" 'attached-tty' "$(rdock logs at2)"
rdock rm -f at2 >/dev/null

# --- stop -t, kill -s, restart, top
rdock run -d --name st1 busybox sleep 100 >/dev/null
start=$(date +%s)
rdock stop -t 1 st1 >/dev/null
el=$(( $(date +%s) - start ))
check "stop -t 1 kills after the grace time" 'Exited \(137\)' "$(rdock ps -a -f name=st1)"
if [ "$el" -le 5 ]; then ok "stop -t 1 took ${el}s"; else nok "stop -t 1 took ${el}s"; fi
rdock run -d --name k1 busybox sh -c 'trap "echo got-usr1; exit 7" USR1; echo ready; while true; do sleep 0.1; done' >/dev/null
for _ in $(seq 50); do rdock logs k1 | grep -q ready && break; sleep 0.1; done
rdock kill -s SIGUSR1 k1 >/dev/null
check "kill -s SIGUSR1 reaches the container" '^7$' "$(rdock wait k1)"
check "the trap ran" 'got-usr1' "$(rdock logs k1)"
rdock run -d --name rs1 busybox sh -c 'echo boot; sleep 100' >/dev/null
rdock restart -t 1 rs1 >/dev/null
sleep 0.3
check "restart runs the container again" 'boot.*boot' "$(rdock logs rs1 | tr '\n' ' ')"
check "restart leaves it Up" 'Up ' "$(rdock ps -f name=rs1)"
check "top shows the container's processes" 'sleep 100' "$(rdock top rs1)"
check "top has ps's header" 'PID' "$(rdock top rs1 | head -1)"

# --- rm: running refused, several at once, prefixes
out=$(rdock rm rs1 2>&1)
check_rc "rm refuses a running container" 1 $? "$out"
check "rm says why" 'cannot remove a running container' "$out"
out=$(rdock rm -f rs1 no-such-container st1 2>&1)
check_rc "rm of several with one missing exits 1" 1 $? "$out"
check "rm reports the missing one" 'No such container: no-such-container' "$out"
check "rm removed the others" '^$' "$(rdock ps -a -q -f name=rs1 -f name=st1)"
ids=$(rdock ps -a -q --no-trunc)
first=$(head -c1 <<<"$ids")
while [ "$(grep -c "^$first" <<<"$ids")" -lt 2 ]; do
    rdock create busybox true >/dev/null
    ids=$(rdock ps -a -q --no-trunc)
done
out=$(rdock logs "$first" 2>&1)
check "an ambiguous prefix is refused clearly" 'Multiple IDs found with provided prefix' "$out"
rdock create busybox true >/dev/null
gen=$(rdock ps -a -n 1 | awk 'NR==2 {print $NF}')
check "generated names are adjective_surname" '^[a-z]+_[a-z]+$' "$gen"

# --- ps flags
check "ps -f ancestor=busybox" 'cr1' "$(rdock ps -a -f ancestor=busybox)"
out=$(rdock ps -a -f name=cr1 -f name=k1)
check "ps: same-key filters OR" 'cr1' "$out"
check "ps: same-key filters OR (2)" 'k1' "$out"
check "ps: different keys AND" '^$' "$(rdock ps -a -q -f name=cr1 -f status=running)"
check_rc "ps -n 2 shows two" 2 "$(rdock ps -a -n 2 -q | wc -l)"
check "ps --no-trunc shows full ids" '^[0-9a-f]{64}$' "$(rdock ps -a -q --no-trunc | head -1)"
check "ps has docker's columns" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES' "$(rdock ps -a)"
check "ps -s adds SIZE" 'SIZE' "$(rdock ps -a -s | head -1)"

# --- logs flags
rdock run -d --name lg1 busybox sh -c 'echo one; sleep 1; echo two; echo three' >/dev/null
out=$(rdock logs -f lg1)
check "logs -f follows until the container exits" 'one two three' "$(tr '\n' ' ' <<<"$out")"
check "logs -t prefixes timestamps" '^20[0-9-]+T[0-9:.]+Z one$' "$(rdock logs -t lg1 | head -1)"
check "logs --tail 1" '^three$' "$(rdock logs --tail 1 lg1)"
check "logs --tail all" 'one' "$(rdock logs --tail all lg1)"
check "logs --since in the future shows nothing" '^$' "$(rdock logs --since 2999-01-01T00:00:00Z lg1)"

# --- exec flags
rdock run -d --name ex1 busybox sleep 100 >/dev/null
check "exec -e" '^bar$' "$(rdock exec -e FOO=bar ex1 sh -c 'echo $FOO')"
check "exec -w" '^/tmp$' "$(rdock exec -w /tmp ex1 pwd)"
check "exec -u" '^65534$' "$(rdock exec -u nobody ex1 id -u)"
check "exec -i" '^via-exec$' "$(echo via-exec | rdock exec -i ex1 cat)"
rdock exec -d ex1 touch /tmp/from-detached >/dev/null
sleep 0.3
check "exec -d runs in the background" 'from-detached' "$(rdock exec ex1 ls /tmp)"

# --- exit codes
rdock run --rm busybox no-such-command >/dev/null 2>&1
check_rc "run of a missing command: 127" 127 $?
rdock run --rm busybox /etc >/dev/null 2>&1
check_rc "run of a non-executable: 126" 126 $?
rdock exec ex1 no-such-command >/dev/null 2>&1
check_rc "exec of a missing command: 127" 127 $?
rdock exec ex1 /etc >/dev/null 2>&1
check_rc "exec of a non-executable: 126" 126 $?
rdock create --name bad1 busybox no-such-command >/dev/null
rdock start -a bad1 >/dev/null 2>&1
check_rc "start -a of a missing command: 127" 127 $?
rdock run --rm no-such-image-here >/dev/null 2>&1
check_rc "rdock's own error: 125" 125 $?

# --- crash safety: a monitor killed with -9 leaves an exited container
rdock run -d --name cr9 busybox sleep 100 >/dev/null
mon=$(for f in "$RDOCK_ROOT"/containers/*/config.json; do jq -r 'select(.name=="cr9") | .monitor_pid' "$f"; done)
kill -9 "$mon"
sleep 0.2
check "ps shows a container whose monitor died as exited" 'Exited' "$(rdock ps -a -f name=cr9)"
check "and not as running" '^$' "$(rdock ps -q -f name=cr9)"
rdock rm cr9 >/dev/null 2>&1
check_rc "rm without -f removes it" 0 $?

# --- volumes: anonymous, rm -v, inspect, prune
rdock run --name v1 -v /data busybox sh -c 'echo x > /data/f' >/dev/null
vol=$(rdock volume ls -q | head -1)
check "-v /path makes an anonymous volume" '^[0-9a-f]{64}$' "$vol"
check "volume inspect shows the mountpoint" "\"Mountpoint\": \"$RDOCK_ROOT/volumes/$vol/_data\"" "$(rdock volume inspect "$vol")"
rdock volume inspect no-such-volume >/dev/null 2>&1
check_rc "volume inspect of a missing volume exits 1" 1 $?
rdock rm -v v1 >/dev/null
check "rm -v removes the anonymous volume" '^$' "$(rdock volume ls -q)"
rdock volume create named1 >/dev/null
rdock run --name v2 -v /data busybox true >/dev/null
rdock rm v2 >/dev/null
check_rc "rm without -v keeps the volume" 2 "$(rdock volume ls -q | wc -l)"
out=$(rdock volume prune -f)
check "volume prune -f removes unused anonymous volumes" 'Deleted Volumes' "$out"
check "volume prune keeps named volumes" '^named1$' "$(rdock volume ls -q)"
rdock volume rm named1 >/dev/null

# --- info, prunes
out=$(rdock info)
for f in 'Containers: [0-9]+' 'Running: [0-9]+' 'Paused: 0' 'Stopped: [0-9]+' 'Images: [0-9]+' \
    'Server Version:' 'Storage Driver: overlay2' 'Cgroup Version: [12]' 'Runtimes:' \
    'Default Runtime:' 'Kernel Version:' 'Operating System:' 'CPUs: [0-9]+' 'Total Memory:' \
    "Docker Root Dir: $RDOCK_ROOT"; do
    check "info: $f" "$f" "$out"
done
out=$(rdock container prune -f)
check "container prune -f lists what it removed" 'Deleted Containers' "$out"
check "container prune keeps running containers" 'ex1' "$(rdock ps)"
check "container prune removed the stopped ones" '^1$' "$(rdock ps -a -q | wc -l)"
rdock rm -f ex1 >/dev/null
rdock run --name v3 -v /data busybox true >/dev/null
out=$(rdock system prune -f --volumes)
check "system prune -f --volumes removes stopped containers" 'Deleted Containers' "$out"
check "system prune --volumes removes anonymous volumes" 'Deleted Volumes' "$out"
check "nothing left after system prune" '^$' "$(rdock ps -a -q; rdock volume ls -q)"
check "system prune keeps tagged images" 'busybox' "$(rdock images)"
