# podman scenarios: each function is one scenario, run by run.sh in its own
# bash with a time limit. Fail with `fail MSG` (or any failing command under
# set -e), skip with `skip REASON`. Container names carry the scenario's name
# so parallel scenarios never collide.

p() { "${PODMAN[@]}" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}
contains() { # contains WHAT HAYSTACK NEEDLE
    case $2 in *"$3"*) ;; *) fail "$1: '$2' lacks '$3'" ;; esac
}
BB=$REG/library/busybox
# A host cgroup v1 file of a running podman container.
cgfile() { # cgfile NAME CONTROLLER FILE
    local pid path
    pid=$(p inspect -f '{{.State.Pid}}' "$1")
    path=$(awk -F: -v c="$2" '$2 ~ "(^|,)"c"(,|$)" {print $3}' "/proc/$pid/cgroup")
    cat "/sys/fs/cgroup/$2$path/$3"
}

podman_run_rm_echo() {
    expect output "$(p run --rm "$BB" echo hello)" hello
}

podman_exit_codes() {
    local rc
    rc=0; p run --rm "$BB" sh -c 'exit 7' || rc=$?; expect "exit 7" "$rc" 7
    rc=0; p run --rm "$BB" nosuchcommand 2>/dev/null || rc=$?; expect "missing command" "$rc" 127
    rc=0; p run --rm "$BB" /etc/passwd 2>/dev/null || rc=$?; expect "not executable" "$rc" 126
    rc=0; p run --rm --nosuchflag "$BB" true 2>/dev/null || rc=$?; expect "bad flag" "$rc" 125
}

podman_stdin_pipe() {
    expect stdin "$(printf 'one\ntwo\n' | p run --rm -i "$BB" sh -c 'wc -l')" 2
}

podman_detached_logs() {
    local c=logs-$$
    p run -d --name $c "$BB" sh -c 'echo to-stdout; echo to-stderr >&2; sleep 300' >/dev/null
    sleep 1
    local out err
    out=$(p logs $c 2>/dev/null); err=$(p logs $c 2>&1 >/dev/null)
    contains stdout "$out" to-stdout
    contains stderr "$err" to-stderr
    p rm -f -t 0 $c >/dev/null
}

podman_stop_term_then_kill() {
    local c=stop-$$ t0 t1 code
    # sh as pid 1 ignores SIGTERM: stop must fall back to SIGKILL.
    p run -d --name $c "$BB" sleep 300 >/dev/null
    t0=$(date +%s); p stop -t 2 $c >/dev/null; t1=$(date +%s)
    [ $((t1 - t0)) -ge 2 ] || fail "stop returned after $((t1 - t0))s, before the timeout"
    code=$(p inspect -f '{{.State.ExitCode}}' $c); expect "killed exit code" "$code" 137
    p rm -f $c >/dev/null
    # A process that handles SIGTERM stops at once with its own code.
    p run -d --name $c "$BB" sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' >/dev/null
    sleep 0.5
    t0=$(date +%s); p stop -t 20 $c >/dev/null; t1=$(date +%s)
    [ $((t1 - t0)) -lt 10 ] || fail "SIGTERM was not delivered (took $((t1 - t0))s)"
    code=$(p inspect -f '{{.State.ExitCode}}' $c); expect "trapped exit code" "$code" 3
    p rm -f $c >/dev/null
}

podman_kill_signal() {
    local c=kill-$$
    p run -d --name $c "$BB" sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.1; done' >/dev/null
    sleep 0.5
    p kill -s USR1 $c >/dev/null
    sleep 0.5
    contains logs "$(p logs $c)" got-usr1
    p kill -s KILL $c >/dev/null
    p wait $c >/dev/null || true
    expect status "$(p inspect -f '{{.State.Status}}' $c)" exited
    p rm $c >/dev/null
}

podman_rm_force() {
    local c=rmf-$$
    p run -d --name $c "$BB" sleep 300 >/dev/null
    p rm -f -t 1 $c >/dev/null
    [ -z "$(p ps -a -q -f name=$c)" ] || fail "container still listed after rm -f"
}

podman_restart() {
    local c=restart-$$ pid1 pid2
    p run -d --name $c "$BB" sleep 300 >/dev/null
    pid1=$(p inspect -f '{{.State.Pid}}' $c)
    p restart -t 0 $c >/dev/null
    pid2=$(p inspect -f '{{.State.Pid}}' $c)
    expect status "$(p inspect -f '{{.State.Status}}' $c)" running
    [ "$pid1" != "$pid2" ] || fail "same pid after restart"
    p rm -f -t 0 $c >/dev/null
}

podman_create_start_attach() {
    local c=csa-$$
    p create --name $c "$BB" echo created-then-started >/dev/null
    expect output "$(p start -a $c)" created-then-started
    p rm $c >/dev/null
}

podman_exec() {
    local c=exec-$$
    p run -d --name $c "$BB" sleep 300 >/dev/null
    expect exec "$(p exec $c sh -c 'echo in-$HOSTNAME-ok')" "in-$(p inspect -f '{{.Config.Hostname}}' $c)-ok"
    local rc=0; p exec $c sh -c 'exit 5' || rc=$?; expect "exec exit code" "$rc" 5
    p exec -d $c sh -c 'echo detached > /tmp/exec-d'
    sleep 1
    expect "exec -d" "$(p exec $c cat /tmp/exec-d)" detached
    p rm -f -t 0 $c >/dev/null
}

# Runs a command line under a pty (script(1)), input from a file.
under_pty() { # under_pty INPUT CMD...
    local in=$1; shift
    script -qec "$*" /dev/null < "$in"
}

podman_run_it_pty() {
    local out
    out=$(printf 'tty; echo cols=$(stty size); exit 4\n' > "$WORK/pty-in-$$"
          under_pty "$WORK/pty-in-$$" "${PODMAN[*]} run -it --rm $BB sh" || true)
    contains tty "$out" /dev/pts/0
    contains stty "$out" cols=
}

podman_exec_it_pty() {
    local c=execit-$$ out
    p run -d --name $c "$BB" sleep 300 >/dev/null
    printf 'tty; exit\n' > "$WORK/pty-ex-$$"
    out=$(under_pty "$WORK/pty-ex-$$" "${PODMAN[*]} exec -it $c sh" || true)
    p rm -f -t 0 $c >/dev/null
    contains "exec tty" "$out" /dev/pts/
}

podman_resource_limits() {
    local out
    out=$(p run --rm --memory 64m --pids-limit 77 --cpus 0.5 "$BB" sh -c \
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us | tr "\n" " "')
    expect limits "$out" "67108864 77 50000 100000 "
}

podman_oom_kill() {
    local c=oom-$$ rc=0
    p run --name $c --memory 16m --memory-swap 16m "$BB" sh -c 'tail /dev/zero' 2>/dev/null || rc=$?
    expect "oom exit code" "$rc" 137
    local oom; oom=$(p inspect -f '{{.State.OOMKilled}}' $c)
    p rm $c >/dev/null
    # conmon 2.1.6 does not see OOM kills on cgroup v1: exit 137 is all podman knows.
    if [ "$oom" != true ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo "note: OOMKilled=$oom (conmon 2.1.6 on cgroup v1)" >&2
    fi
}

podman_update() {
    local c=update-$$
    p run -d --name $c --memory 64m "$BB" sleep 300 >/dev/null
    p update --memory 128m --memory-swap 256m --cpu-shares 333 $c >/dev/null
    expect memory "$(cgfile $c memory memory.limit_in_bytes)" 134217728
    expect "cpu shares" "$(cgfile $c cpu cpu.shares)" 333
    p rm -f -t 0 $c >/dev/null
}

podman_env_workdir_user() {
    expect "env/cwd/user" "$(p run --rm -e FOO=bar -w /tmp --user 1000:1001 "$BB" sh -c 'echo $FOO $PWD $(id -u):$(id -g)')" "bar /tmp 1000:1001"
}

podman_image_config() {
    expect config "$(p run --rm "$REG/library/config")" "user=1000:1000 cwd=/tmp greeting=hello-from-config"
    expect "cmd override" "$(p run --rm "$REG/library/config" 'echo overridden')" overridden
    expect "entrypoint override" "$(p run --rm --entrypoint /bin/echo "$REG/library/config" x)" x
}

podman_mounts() {
    local d=$WORK/bind-$$
    mkdir -p "$d"; echo from-host > "$d/f"
    expect bind "$(p run --rm -v "$d:/data" "$BB" sh -c 'cat /data/f; echo from-ctr > /data/g')" from-host
    expect "bind write" "$(cat "$d/g")" from-ctr
    expect "bind ro" "$(p run --rm -v "$d:/data:ro" "$BB" sh -c 'touch /data/x 2>/dev/null && echo rw || echo ro')" ro
    expect tmpfs "$(p run --rm --tmpfs /scratch:size=1m "$BB" sh -c 'grep " /scratch " /proc/mounts | cut -d" " -f3')" tmpfs
    expect "read-only" "$(p run --rm --read-only "$BB" sh -c 'touch /x 2>/dev/null && echo rw || echo ro; touch /tmp/y && echo tmp-ok')" "ro
tmp-ok"
    rm -rf "$d"
}

podman_capabilities() {
    local eff
    eff=$(p run --rm --cap-drop ALL "$BB" sh -c 'grep CapEff /proc/self/status | cut -f2')
    expect "cap-drop ALL" "$eff" 0000000000000000
    eff=$(p run --rm --cap-drop ALL --cap-add NET_ADMIN "$BB" sh -c 'grep CapEff /proc/self/status | cut -f2')
    expect "cap-add NET_ADMIN" "$eff" 0000000000001000
    eff=$(p run --rm --privileged "$BB" sh -c 'grep CapBnd /proc/self/status | cut -f2')
    expect "privileged" "$eff" "$(grep CapBnd /proc/self/status | cut -f2)"
}

podman_nnp_seccomp() {
    expect nnp "$(p run --rm --security-opt no-new-privileges "$BB" sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 1
    expect "default seccomp" "$(p run --rm "$BB" sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 2
    # The default profile refuses what it does not list, e.g. a swapoff.
    contains "seccomp denies" "$(p run --rm "$BB" sh -c 'swapoff /nonexistent 2>&1' || true)" "Operation not permitted"
    expect "unconfined" "$(p run --rm --security-opt seccomp=unconfined "$BB" sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 0
}

podman_namespaces() {
    expect hostname "$(p run --rm --hostname box1 "$BB" hostname)" box1
    expect "uts host" "$(p run --rm --uts host "$BB" hostname)" "$(hostname)"
    expect "ipc host" "$(p run --rm --ipc host "$BB" readlink /proc/self/ns/ipc)" "$(readlink /proc/self/ns/ipc)"
    expect "pid host" "$(p run --rm --pid host "$BB" readlink /proc/self/ns/pid)" "$(readlink /proc/self/ns/pid)"
    expect "own pid ns" "$(p run --rm "$BB" sh -c 'echo $$')" 1
}

podman_userns() {
    local out
    out=$(p run --rm --uidmap 0:200000:65536 --gidmap 0:200000:65536 "$BB" sh -c 'cat /proc/self/uid_map; id -u' | tr -s ' ' | tr '\n' ' ')
    expect "uid map" "$out" " 0 200000 65536 0 "
}

podman_sysctl_ulimit_device() {
    expect sysctl "$(p run --rm --sysctl net.ipv4.ip_forward=1 "$BB" cat /proc/sys/net/ipv4/ip_forward)" 1
    expect "ipc sysctl" "$(p run --rm --sysctl kernel.msgmax=4096 "$BB" cat /proc/sys/kernel/msgmax)" 4096
    expect ulimit "$(p run --rm --ulimit nofile=512:512 --ulimit nproc=4096:4096 "$BB" sh -c 'ulimit -n')" 512
    expect device "$(p run --rm --device /dev/zero:/dev/myzero "$BB" sh -c 'head -c 5 /dev/myzero | wc -c')" 5
}

podman_pause_unpause() {
    local c=pause-$$
    p run -d --name $c "$BB" sleep 300 >/dev/null
    p pause $c >/dev/null
    expect paused "$(p inspect -f '{{.State.Status}}' $c)" paused
    expect freezer "$(cgfile $c freezer freezer.state)" FROZEN
    p unpause $c >/dev/null
    expect unpaused "$(p inspect -f '{{.State.Status}}' $c)" running
    p rm -f -t 0 $c >/dev/null
}

podman_top() {
    local c=top-$$ out
    p run -d --name $c "$BB" sleep 301 >/dev/null
    out=$(p top $c)
    p rm -f -t 0 $c >/dev/null
    contains top "$out" "sleep 301"
}

podman_init() {
    local out
    out=$(p run --rm --init "$BB" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$')
    contains "pid 1" "$out" "init"
}

podman_network_default() {
    local out
    out=$(p run --rm "$BB" ip -o -4 addr show)
    contains "eth0" "$out" eth0
}

podman_network_publish() {
    local c=pub-$$ port=$((20000 + $$ % 10000)) out=""
    p run -d --name $c -p 127.0.0.1:$port:8080 "$BB" httpd -f -p 8080 -h /etc >/dev/null
    for _ in $(seq 1 50); do
        out=$(curl -s --max-time 2 "http://127.0.0.1:$port/group" || true)
        [ -n "$out" ] && break
        sleep 0.1
    done
    p rm -f -t 0 $c >/dev/null
    contains "published port" "$out" "root:x:0:"
}

podman_network_container_to_container() {
    local c=srv-$$ ip out
    p run -d --name $c "$BB" httpd -f -p 8080 -h /etc >/dev/null
    ip=$(p inspect -f '{{.NetworkSettings.IPAddress}}' $c)
    # busybox nc, not wget: static wget crashes in glibc's resolver.
    out=$(p run --rm "$BB" sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET /group HTTP/1.0\\r\\n\\r\\n' | nc -w 2 $ip 8080 | grep root && break; sleep 0.2; done")
    p rm -f -t 0 $c >/dev/null
    contains "container to container" "$out" "root:x:0:"
}

podman_network_none_and_host() {
    expect "none" "$(p run --rm --network none "$BB" sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "
    expect "host" "$(p run --rm --network host "$BB" readlink /proc/self/ns/net)" "$(readlink /proc/self/ns/net)"
}

podman_multilayer_image() {
    local out
    out=$(p run --rm "$REG/library/layers" sh -c 'ls /data | tr "\n" " "; ls /opq | tr "\n" " "')
    expect layers "$out" "abs-link keep top top-hardlink new "
}

podman_multiarch_image() {
    local out
    out=$(p run --rm "$REG/library/multiarch" sh -c 'test -e /ARCH && cat /ARCH; uname -m')
    expect multiarch "$out" x86_64
}

PODMAN_SCENARIOS="podman_run_rm_echo podman_exit_codes podman_stdin_pipe podman_detached_logs
podman_stop_term_then_kill podman_kill_signal podman_rm_force podman_restart podman_create_start_attach
podman_exec podman_run_it_pty podman_exec_it_pty podman_resource_limits podman_oom_kill podman_update
podman_env_workdir_user podman_image_config podman_mounts podman_capabilities podman_nnp_seccomp
podman_namespaces podman_userns podman_sysctl_ulimit_device podman_pause_unpause podman_top podman_init
podman_network_default podman_network_publish podman_network_container_to_container
podman_network_none_and_host podman_multilayer_image podman_multiarch_image"
