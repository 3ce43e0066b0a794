# containerd scenarios: a private containerd (config, root, state, socket
# under $WORK) and its runc shim v2 told to use $RUNTIME (`ctr run
# --runc-binary`). Same conventions as podman.sh.

CTRD=$WORK/containerd

setup_containerd() {
    mkdir -p "$CTRD"
    cat > "$CTRD/config.toml" <<CONF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD/containerd.sock"
[ttrpc]
  address = "$CTRD/containerd.sock.ttrpc"
[debug]
  address = "$CTRD/debug.sock"
CONF
    containerd --config "$CTRD/config.toml" > "$CTRD/containerd.log" 2>&1 &
    CONTAINERD_PID=$!
    local i
    for i in $(seq 1 100); do
        [ -S "$CTRD/containerd.sock" ] && break
        sleep 0.1
    done
    containerd_env
    for i in busybox config layers multiarch; do
        "${CTR[@]}" image pull -q --plain-http "$REG/library/$i:latest" >/dev/null || return 1
    done
}

containerd_env() {
    CTR=(ctr --address "$CTRD/containerd.sock" --namespace clients-test)
}

teardown_containerd() {
    containerd_env
    local t c
    for t in $("${CTR[@]}" task ls -q 2>/dev/null); do
        "${CTR[@]}" task kill -s KILL "$t" >/dev/null 2>&1 || true
    done
    sleep 0.3
    for c in $("${CTR[@]}" container ls -q 2>/dev/null); do
        "${CTR[@]}" task rm -f "$c" >/dev/null 2>&1 || true
        "${CTR[@]}" container rm "$c" >/dev/null 2>&1 || true
    done
    kill "$CONTAINERD_PID" 2>/dev/null || true
    wait "$CONTAINERD_PID" 2>/dev/null || true
    # The overlay snapshots and shim mounts must not outlive the suite.
    grep -o " $CTRD[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    remove_cgroups clients-test
    # The shim keeps runtime state and fifos under /run/containerd whatever
    # the config says; remove what is empty.
    rmdir /run/containerd/runc/clients-test /run/containerd/runc /run/containerd/fifo \
        /run/containerd/s /run/containerd 2>/dev/null || true
}

c() { "${CTR[@]}" "$@"; }
crun_() { # crun_ ID [ctr run flags...] IMAGE ARGS...: ctr run with our runtime
    local id=$1; shift
    c run --runc-binary "$RUNTIME" "$@"
}
CIMG=$REG/library/busybox:latest

# Waits until ctr's task list shows ID in STATUS.
task_status() { c task ls | awk -v id="$1" '$1 == id {print $3}'; }
wait_status() {
    local i
    for i in $(seq 1 100); do
        [ "$(task_status "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    fail "task $1 is $(task_status "$1"), never $2"
}
# A detached task running sleep, removed by the scenario's end.
start_sleeper() { # start_sleeper ID [flags]
    local id=$1; shift
    crun_ "$id" -d "$@" "$CIMG" "$id" sleep 300 >/dev/null
    wait_status "$id" RUNNING
}
rm_task() {
    c task kill -s KILL "$1" >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 50); do
        [ "$(task_status "$1")" = STOPPED ] && break
        sleep 0.1
    done
    c task rm "$1" >/dev/null 2>&1 || c task rm -f "$1" >/dev/null 2>&1 || true
    c container rm "$1" >/dev/null 2>&1 || true
}

ctr_run_rm_echo() {
    expect output "$(crun_ x --rm "$CIMG" echo-$$ echo hello)" hello
}

ctr_exit_code() {
    local rc=0
    crun_ x --rm "$CIMG" exit-$$ sh -c 'exit 7' || rc=$?
    expect "exit code" "$rc" 7
}

ctr_stdin() {
    # ctr never closes the task's stdin on EOF: read one line, not to the end.
    expect stdin "$(printf 'one\ntwo\n' | crun_ x --rm "$CIMG" stdin-$$ sh -c 'read l; echo got-$l')" got-one
}

ctr_tty() {
    printf 'tty; exit\n' > "$WORK/ctr-pty-$$"
    local out
    out=$(script -qec "${CTR[*]} run --runc-binary $RUNTIME --rm -t $CIMG tty-$$ sh" /dev/null < "$WORK/ctr-pty-$$" || true)
    contains tty "$out" /dev/pts/0
}

ctr_task_exec() {
    local id=exec-$$
    start_sleeper $id
    local out rc=0
    out=$(c task exec --exec-id e1 $id sh -c 'echo exec-ok') || rc=$?
    rm_task $id
    expect "exec rc" "$rc" 0
    expect exec "$out" exec-ok
}

ctr_task_kill() {
    local id=kill-$$
    crun_ x -d "$CIMG" $id sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done' >/dev/null
    wait_status $id RUNNING
    sleep 0.3
    c task kill -s USR1 $id
    wait_status $id STOPPED
    rm_task $id
}

ctr_task_ps() {
    local id=ps-$$ out n
    crun_ x -d "$CIMG" $id sh -c 'sleep 300 & sleep 300' >/dev/null
    wait_status $id RUNNING
    sleep 0.3
    out=$(c task ps $id)
    rm_task $id
    n=$(echo "$out" | tail -n +2 | grep -c .)
    # sh execs its last command: two sleeps.
    expect "task ps pids" "$n" 2
}

ctr_pause_resume() {
    local id=pause-$$
    start_sleeper $id
    c task pause $id
    wait_status $id PAUSED
    c task resume $id
    wait_status $id RUNNING
    rm_task $id
}

# A host cgroup v1 file of a running task.
task_cgfile() { # task_cgfile ID CONTROLLER FILE
    local pid path
    pid=$(c task ls | awk -v id="$1" '$1 == id {print $2}')
    path=$(awk -F: -v c="$2" '$2 ~ "(^|,)"c"(,|$)" {print $3}' "/proc/$pid/cgroup")
    cat "/sys/fs/cgroup/$2$path/$3"
}

ctr_resource_limits() {
    local id=lim-$$ out
    # ctr's spec has no cgroup mount inside: read the limits from the host.
    start_sleeper $id --memory-limit 67108864 --cpus 0.5 --cpu-shares 512
    out="$(task_cgfile $id memory memory.limit_in_bytes) $(task_cgfile $id cpu cpu.cfs_quota_us) $(task_cgfile $id cpu cpu.shares)"
    rm_task $id
    expect limits "$out" "67108864 50000 512"
}

ctr_metrics() {
    local id=metrics-$$ out
    start_sleeper $id --memory-limit 67108864
    out=$(c task metrics --format json $id)
    rm_task $id
    contains "memory limit" "$out" 67108864
}

ctr_env_cwd_user() {
    expect "image config" "$(crun_ x --rm "$REG/library/config:latest" cfg-$$)" "user=1000:1000 cwd=/tmp greeting=hello-from-config"
    expect "env/cwd" "$(crun_ x --rm --env FOO=bar --cwd /tmp "$CIMG" env-$$ sh -c 'echo $FOO $PWD')" "bar /tmp"
}

ctr_readonly_mounts() {
    local d=$WORK/ctr-bind-$$
    mkdir -p "$d"; echo host > "$d/f"
    expect "ro bind" "$(crun_ x --rm --mount "type=bind,src=$d,dst=/data,options=rbind:ro" "$CIMG" ro-$$ sh -c 'cat /data/f; touch /data/x 2>/dev/null && echo rw || echo ro' | tr '\n' ' ')" "host ro "
    expect "read-only rootfs" "$(crun_ x --rm --read-only "$CIMG" rofs-$$ sh -c 'touch /x 2>/dev/null && echo rw || echo ro')" ro
    rm -rf "$d"
}

ctr_capabilities() {
    expect "cap-drop" "$(crun_ x --rm --cap-drop CAP_NET_RAW "$CIMG" capd-$$ sh -c 'grep CapEff /proc/self/status | cut -f2')" 00000000a80405fb
    expect "privileged" "$(crun_ x --rm --privileged "$CIMG" priv-$$ sh -c 'grep CapEff /proc/self/status | cut -f2')" "$(grep CapBnd /proc/self/status | cut -f2)"
}

ctr_networking() {
    expect "own netns: lo only" "$(crun_ x --rm "$CIMG" net-$$ sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "
    expect "host netns" "$(crun_ x --rm --net-host "$CIMG" neth-$$ readlink /proc/self/ns/net)" "$(readlink /proc/self/ns/net)"
}

ctr_multilayer_multiarch() {
    expect layers "$(crun_ x --rm "$REG/library/layers:latest" layers-$$ sh -c 'ls /data | tr "\n" " "; ls /opq | tr "\n" " "')" "abs-link keep top top-hardlink new "
    expect multiarch "$(crun_ x --rm "$REG/library/multiarch:latest" ma-$$ sh -c 'test -e /ARCH && cat /ARCH; uname -m')" x86_64
}

CONTAINERD_SCENARIOS="ctr_run_rm_echo ctr_exit_code ctr_stdin ctr_tty ctr_task_exec ctr_task_kill
ctr_task_ps ctr_pause_resume ctr_resource_limits ctr_metrics ctr_env_cwd_user ctr_readonly_mounts
ctr_capabilities ctr_networking ctr_multilayer_multiarch"
