# run's flags of issue 14: --mount, --dns*, --add-host, --ulimit, --device,
# --shm-size, --ipc/--pid/--uts/--userns, --sysctl, --stop-timeout, -a,
# --cidfile, --sig-proxy, -l/--label-file, each checked inside a real
# container (or its cgroup from the host), with docker 20.10's errors and
# exit codes, and what `inspect` shows.
rf=$work/runflags14
mkdir -p "$rf/b"
echo B >"$rf/b/f"
R() { rdock run --rm --network none "$@"; }
# inspect ID PYTHON-EXPR (c = the container's inspect object)
insp() { rdock inspect "$1" | python3 -c "import json,sys; c=json.load(sys.stdin)[0]; print($2)"; }

# --- --mount
out=$(R --mount type=bind,source="$rf/b",target=/b,readonly busybox sh -c \
    'cat /b/f; touch /b/x; grep " /b " /proc/mounts' 2>&1)
check "--mount bind: the host file is seen" '^B$' "$out"
check "--mount bind,readonly: writes refused" 'touch: /b/x: Read-only file system' "$out"
check "--mount bind,readonly: mounted ro" ' /b [^ ]+ ro,' "$out"
out=$(R --mount type=bind,src="$rf/b",dst=/b busybox sh -c 'echo w >/b/w && grep " /b " /proc/mounts' 2>&1)
check "--mount bind (src/dst aliases): writable" ' /b [^ ]+ rw,' "$out"
check "--mount bind: the write reaches the host" '^w$' "$(cat "$rf/b/w" 2>&1)"
out=$(R --mount type=bind,src="$rf/b",dst=/b,bind-propagation=rshared busybox true 2>&1)
check_rc "--mount bind-propagation=rshared from a private mount: exit 125" 125 $? "$out"
check "... docker's message" "path $rf/b is mounted on .* but it is not a shared mount\.$" "$out"
mkdir -p "$rf/shared"
if mount -t tmpfs rf14 "$rf/shared" && mount --make-shared "$rf/shared"; then
    out=$(R --mount type=bind,src="$rf/shared",dst=/s,bind-propagation=rshared busybox \
        grep ' /s ' /proc/self/mountinfo 2>&1)
    check "--mount bind-propagation=rshared: a shared mount inside" ' shared:[0-9]+ ' "$out"
    out=$(R --mount type=bind,src="$rf/shared",dst=/s busybox grep ' /s ' /proc/self/mountinfo 2>&1)
    check "--mount bind: rprivate by default" '^[0-9]+ [0-9]+ [0-9:]+ / /s [^ ]+ - ' "$out"
    umount "$rf/shared"
else
    skip "--mount bind-propagation=rshared" "cannot make a shared tmpfs"
fi
out=$(R --mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c \
    'grep " /t " /proc/mounts; stat -c %a /t' 2>&1)
check "--mount tmpfs: size and mode as options" '^tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770 ' "$out"
check "--mount tmpfs: tmpfs-mode applied" '^1770$' "$out"
out=$(R --mount type=tmpfs,target=/t,readonly busybox sh -c 'grep " /t " /proc/mounts; touch /t/x' 2>&1)
check "--mount tmpfs,readonly: mounted ro" '^tmpfs /t tmpfs ro,' "$out"
check "--mount tmpfs,readonly: writes refused" 'Read-only file system' "$out"
R --mount type=volume,source=mv14,target=/v busybox sh -c 'echo kept >/v/f' >/dev/null 2>&1
out=$(R --mount type=volume,src=mv14,dst=/v,readonly busybox sh -c 'cat /v/f; touch /v/y' 2>&1)
check "--mount volume: a named volume outlives --rm" '^kept$' "$out"
check "--mount volume,readonly: writes refused" 'Read-only file system' "$out"
check "--mount volume: listed by volume ls" '^mv14$' "$(rdock volume ls -q)"
before=$(rdock volume ls -q | wc -l)
R --mount type=volume,target=/anon busybox touch /anon/x >/dev/null 2>&1
check_rc "--mount volume without source: anonymous, removed by --rm" "$before" "$(rdock volume ls -q | wc -l)"
R --mount type=volume,src=mv14,dst=/v,volume-nocopy busybox true >/dev/null 2>&1
check_rc "--mount volume-nocopy: accepted" 0 $?
rdock volume rm mv14 >/dev/null 2>&1
out=$(R --mount type=bind,source=/nonexist14,target=/b busybox true 2>&1)
check_rc "--mount bind of a missing source: exit 125" 125 $? "$out"
check "... docker's message" '^rdock: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /nonexist14\.$' "$out"
out=$(R --mount type=bind,target=/b busybox true 2>&1)
check "--mount bind without source: docker's message" 'invalid mount config for type "bind": field Source must not be empty\.$' "$out"
out=$(R --mount type=bogus,target=/b busybox true 2>&1)
check "--mount type=bogus: docker's message" 'invalid mount config for type "bogus": mount type unknown\.$' "$out"
out=$(R --mount type=tmpfs,source=/x,target=/t busybox true 2>&1)
check "--mount tmpfs with a source: docker's message" 'invalid mount config for type "tmpfs": field Source must not be specified\.$' "$out"
out=$(R --mount type=volume,source=x busybox true 2>&1)
check_rc "--mount without target: exit 125" 125 $? "$out"
check "... docker's flag error" '^invalid argument "type=volume,source=x" for "--mount" flag: target is required$' "$out"
out=$(R --mount foo=bar,target=/b busybox true 2>&1)
check "--mount unknown key: docker's flag error" "flag: unexpected key 'foo' in 'foo=bar'$" "$out"
out=$(R --mount type=tmpfs,target=/t,tmpfs-size=abc busybox true 2>&1)
check "--mount bad tmpfs-size: docker's flag error" 'flag: invalid value for tmpfs-size: abc$' "$out"
out=$(R -v "$rf/b:/b" --mount type=bind,src="$rf/b",dst=/b busybox true 2>&1)
check "-v and --mount on one target: Duplicate mount point" 'Error response from daemon: Duplicate mount point: /b\.$' "$out"

# --- --dns, --dns-search, --dns-option, --add-host
out=$(R --dns 1.1.1.1 --dns-search x --dns-option ndots:2 busybox cat /etc/resolv.conf 2>&1)
check_rc "--dns/--dns-search/--dns-option: resolv.conf as docker writes it" \
    "$(printf 'search x\nnameserver 1.1.1.1\noptions ndots:2')" "$out"
out=$(R --dns bad busybox true 2>&1)
check_rc "--dns bad: exit 125" 125 $? "$out"
check "... docker's flag error" '^invalid argument "bad" for "--dns" flag: bad is not an ip address$' "$out"
out=$(R --add-host a:1.2.3.4 --add-host b:::1 busybox cat /etc/hosts 2>&1)
check "--add-host a:1.2.3.4 (TAB separated)" "$(printf '^1.2.3.4\ta$')" "$out"
check "--add-host b:::1 (IPv6)" "$(printf '^::1\tb$')" "$out"
check "--add-host: the localhost block stays first" "$(printf '^127.0.0.1\tlocalhost$')" "$(head -1 <<<"$out")"
out=$(R --add-host h:host-gateway busybox cat /etc/hosts 2>&1)
check "--add-host h:host-gateway on --network none: the default bridge's gateway" "$(printf '^10.87.0.1\th$')" "$out"
if [ -x /usr/lib/podman/netavark ] || [ -n "${RDOCK_NETAVARK:-}" ]; then
    rdock network create --subnet 10.87.214.0/24 rf14net >/dev/null 2>&1
    out=$(rdock run --rm --network rf14net --add-host h:host-gateway --add-host a:1.2.3.4 busybox \
        sh -c 'cat /etc/hosts; ping -c1 -W2 h >/dev/null && echo reached' 2>&1)
    check "--add-host h:host-gateway on a bridge network: its gateway" "$(printf '^10.87.214.1\th$')" "$out"
    check "--add-host host-gateway: the host answers there" '^reached$' "$out"
    check "--add-host: before the container's own line" "$(printf '^10.87.214.[0-9]+\t[0-9a-f]{12}$')" "$(tail -2 <<<"$out" | head -1)"
    rdock network rm rf14net >/dev/null 2>&1
else
    skip "--add-host host-gateway on a bridge" "no netavark"
fi
out=$(R --add-host a:bad busybox true 2>&1)
check_rc "--add-host a:bad: exit 125" 125 $? "$out"
check "... docker's flag error" '^invalid argument "a:bad" for "--add-host" flag: invalid IP address in add-host: "bad"$' "$out"
out=$(R --add-host a busybox true 2>&1)
check "--add-host a: docker's flag error" 'flag: bad format for add-host: "a"$' "$out"

# --- --ulimit (process.rlimits)
out=$(R --ulimit nofile=1024:2048 busybox sh -c 'ulimit -n; ulimit -Hn' 2>&1)
check_rc "--ulimit nofile=1024:2048: soft and hard inside" "$(printf '1024\n2048')" "$out"
out=$(R --ulimit nofile=512 busybox sh -c 'ulimit -n; ulimit -Hn' 2>&1)
check_rc "--ulimit nofile=512: one value is soft and hard" "$(printf '512\n512')" "$out"
out=$(R --ulimit nproc=10:20 --ulimit core=-1 busybox sh -c 'ulimit -u; ulimit -Hu; ulimit -c' 2>&1)
check_rc "--ulimit nproc and core=-1 (unlimited)" "$(printf '10\n20\nunlimited')" "$out"
out=$(R --ulimit nofile=2048:1024 busybox true 2>&1)
check_rc "--ulimit soft > hard: exit 125" 125 $? "$out"
check "... docker's flag error" '^invalid argument "nofile=2048:1024" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2048 > 1024$' "$out"
out=$(R --ulimit nofile=abc busybox true 2>&1)
check "--ulimit nofile=abc: docker's flag error" 'flag: strconv.ParseInt: parsing "abc": invalid syntax$' "$out"
out=$(R --ulimit foo=1 busybox true 2>&1)
check "--ulimit foo=1: docker's flag error" 'flag: invalid ulimit type: foo$' "$out"

# --- --device: the node, and a device cgroup rule with exactly the permissions asked
out=$(R --device /dev/null:/dev/xnull:r busybox ls -l /dev/xnull 2>&1)
check "--device /dev/null:/dev/xnull: the node inside" '^crw-rw-rw- +1 root +root +1, +3 .* /dev/xnull$' "$out"
if [ -c /dev/loop-control ]; then
    out=$(R --device /dev/loop-control:/dev/lc:r busybox sh -c \
        'true </dev/lc && echo read-open; true >/dev/lc && echo write-open' 2>&1)
    check "--device ...:r: opened for reading" '^read-open$' "$out"
    check "--device ...:r: opening for writing refused by the cgroup" 'Operation not permitted' "$out"
    out=$(R --device /dev/loop-control:/dev/lc:w busybox sh -c \
        'true </dev/lc && echo read-open; true >/dev/lc && echo write-open' 2>&1)
    check "--device ...:w: reading refused" 'Operation not permitted' "$out"
    check "--device ...:w: opened for writing" 'write-open$' "$out"
    id=$(rdock run -d --network none --device /dev/loop-control:/dev/lc:rw busybox sleep 30 2>&1)
    pid=$(insp "$id" 'c["State"]["Pid"]')
    cg=$(awk -F: '$2 ~ /(^|,)devices(,|$)/ {print $3}' "/proc/$pid/cgroup" 2>/dev/null)
    if [ -n "$cg" ] && [ -r "/sys/fs/cgroup/devices$cg/devices.list" ]; then
        check "--device ...:rw: the cgroup allows exactly c 10:237 rw" '^c 10:237 rw$' \
            "$(grep '^c 10:237 ' "/sys/fs/cgroup/devices$cg/devices.list")"
    else
        skip "--device: the cgroup's rule" "no cgroup v1 devices controller"
    fi
    rdock rm -f "$id" >/dev/null 2>&1
else
    skip "--device permissions" "no /dev/loop-control"
fi
out=$(R --device /dev/nosuch busybox true 2>&1)
check_rc "--device of a missing node: exit 127 (docker)" 127 $? "$out"
check "... docker's message" '^rdock: Error response from daemon: error gathering device information while adding custom device "/dev/nosuch": no such file or directory\.$' "$out"
out=$(rdock run -d --network none --device /dev/nosuch busybox true 2>&1)
check_rc "run -d --device of a missing node: exit 127 too" 127 $? "$out"
id=$(rdock create --network none --device "$rf/dev:/dev/xd" busybox test -c /dev/xd 2>&1)
check "create --device of a node missing now: created, as docker" '^[0-9a-f]{64}$' "$id"
out=$(rdock start "$id" 2>&1)
check_rc "... its start fails: exit 1" 1 $? "$out"
check "... with docker's message" "^Error response from daemon: error gathering device information while adding custom device \"$rf/dev\": no such file or directory" "$out"
mknod "$rf/dev" c 1 3
out=$(rdock start -a "$id" 2>&1)
check_rc "... and starts once the node is there" 0 $? "$out"
rdock rm -f "$id" >/dev/null 2>&1
out=$(R --device /dev/null:/dev/xnull:z busybox true 2>&1)
check_rc "--device bad mode: exit 125" 125 $? "$out"
check "... docker's message" '^rdock: bad mode specified: z\.$' "$out"
out=$(R --device /dev/null:rel busybox true 2>&1)
check "--device relative path: docker's message" '^rdock: rel is not an absolute path\.$' "$out"

# --- --shm-size
out=$(R --shm-size 1m busybox df /dev/shm 2>&1)
check "--shm-size 1m: /dev/shm is 1024 KiB" '^shm +1024 ' "$out"
out=$(R busybox df /dev/shm 2>&1)
check "/dev/shm is 64 MiB by default" '^shm +65536 ' "$out"
out=$(R --shm-size 1x busybox true 2>&1)
check_rc "--shm-size 1x: exit 125" 125 $? "$out"
check "... docker's flag error" "^invalid argument \"1x\" for \"--shm-size\" flag: invalid size: '1x'$" "$out"

# --- --ipc, --pid, --uts, --userns
host_ipc=$(readlink /proc/self/ns/ipc)
check_rc "--ipc host: the host's IPC namespace" "$host_ipc" "$(R --ipc host busybox readlink /proc/1/ns/ipc 2>&1)"
out=$(R --ipc private busybox readlink /proc/1/ns/ipc 2>&1)
if [ "$out" != "$host_ipc" ] && grep -q '^ipc:' <<<"$out"; then ok "--ipc private: an IPC namespace of its own"; else nok "--ipc private" "$out"; fi
out=$(R --ipc none busybox sh -c 'grep -c " /dev/shm " /proc/mounts; readlink /proc/1/ns/ipc' 2>&1)
check "--ipc none: no /dev/shm" '^0$' "$out"
rdock run -d --name ipc14 --network none --ipc shareable busybox sh -c 'echo shared >/dev/shm/m; sleep 60' >/dev/null 2>&1
donor_ipc=$(rdock exec ipc14 sh -c 'while [ ! -e /dev/shm/m ]; do sleep 0.05; done; readlink /proc/1/ns/ipc' 2>&1)
ipc14_id=$(insp ipc14 'c["Id"]')
check "--ipc shareable: its /dev/shm is a 64 MiB tmpfs held on the host" \
    " $RDOCK_ROOT/containers/$ipc14_id/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k" "$(cat /proc/self/mounts)"
out=$(R --ipc container:ipc14 busybox sh -c 'readlink /proc/1/ns/ipc; cat /dev/shm/m' 2>&1)
check_rc "--ipc container:NAME: the donor's IPC namespace" "$(printf '%s\nshared' "$donor_ipc")" "$out"
out=$(R --pid container:ipc14 busybox ps -o pid,args 2>&1)
check "--pid container:NAME: the donor's processes, its init as 1" '^ +1 (sh -c echo shared|sleep 60)' "$out"
rdock run -d --name ipcp14 --network none busybox sleep 60 >/dev/null 2>&1
out=$(R --ipc container:ipcp14 busybox true 2>&1)
check_rc "--ipc container: of a private donor: exit 125" 125 $? "$out"
check "... docker's message" "non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)\.$" "$out"
rdock rm -f ipc14 ipcp14 >/dev/null 2>&1
check_rc "--ipc shareable: the /dev/shm is unmounted with the container" 0 \
    "$(grep -c " $RDOCK_ROOT/containers/$ipc14_id/shm " /proc/self/mounts)"
out=$(R --ipc container:nosuch14 busybox true 2>&1)
check "--ipc container:nosuch: docker's message" '^rdock: Error response from daemon: No such container: nosuch14\.$' "$out"
out=$(R --ipc bogus busybox true 2>&1)
check "--ipc bogus: docker's message" '^rdock: Error response from daemon: Invalid IPC mode: bogus\.$' "$out"
check_rc "--pid host: the host's PID namespace" "$(readlink /proc/self/ns/pid)" \
    "$(R --pid host busybox readlink /proc/self/ns/pid 2>&1)"
out=$(R --pid bogus busybox true 2>&1)
check_rc "--pid bogus: exit 125" 125 $? "$out"
check "... docker's message" '^rdock: --pid: invalid PID mode\.$' "$out"
check_rc "--uts host: the host's name" "$(hostname)" "$(R --uts host busybox hostname 2>&1)"
out=$(R --uts host -h x busybox true 2>&1)
check "--uts host with -h: docker's message" 'Error response from daemon: conflicting options: hostname and the UTS mode\.$' "$out"
out=$(R --uts bogus busybox true 2>&1)
check "--uts bogus: docker's message" '^rdock: --uts: invalid UTS mode\.$' "$out"
out=$(R --userns host busybox cat /proc/self/uid_map 2>&1)
check "--userns host: no user namespace" '^ +0 +0 +4294967295$' "$out"
out=$(R --userns private busybox true 2>&1)
check "--userns other than host: docker's message" '^rdock: --userns: invalid USER mode\.$' "$out"

# --- --sysctl
out=$(R --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=1000000 busybox \
    cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax 2>&1)
check_rc "--sysctl net.* and kernel.shm*: set inside" "$(printf '1\n1000000')" "$out"
out=$(R --sysctl vm.swappiness=1 busybox true 2>&1)
check_rc "--sysctl vm.swappiness: exit 125" 125 $? "$out"
check "... docker's flag error" "^invalid argument \"vm.swappiness=1\" for \"--sysctl\" flag: sysctl 'vm.swappiness=1' is not whitelisted$" "$out"
out=$(rdock run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true 2>&1)
check_rc "--sysctl net.* on the host network: exit 125" 125 $? "$out"
check "... runc's message" 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace' "$out"
out=$(R --ipc host --sysctl kernel.shmmax=1 busybox true 2>&1)
check "--sysctl kernel.shmmax with --ipc host: runc's message" 'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace' "$out"

# --- --stop-timeout (stop and restart)
rdock run -d --name st14 --network none --stop-timeout 1 busybox sleep 1000 >/dev/null 2>&1
t0=$(date +%s%N)
rdock stop st14 >/dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 4000 ]; then ok "--stop-timeout 1: stop kills after 1 s (${ms} ms)"; else nok "--stop-timeout 1: stop took ${ms} ms"; fi
check_rc "--stop-timeout: exit code 137 (sleep ignores TERM)" 137 "$(insp st14 'c["State"]["ExitCode"]')"
check_rc "--stop-timeout: Config.StopTimeout" 1 "$(insp st14 'c["Config"]["StopTimeout"]')"
rdock start st14 >/dev/null 2>&1
t0=$(date +%s%N)
rdock restart st14 >/dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 5000 ]; then ok "--stop-timeout 1: restart waits 1 s too (${ms} ms)"; else nok "--stop-timeout 1: restart took ${ms} ms"; fi
rdock rm -f st14 >/dev/null 2>&1
out=$(R --stop-timeout x busybox true 2>&1)
check "--stop-timeout x: docker's flag error" '^invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax$' "$out"

# --- -a
out=$(R -a stdout busybox sh -c 'echo out; echo err >&2; exit 3' 2>"$rf/err")
rc=$?
check_rc "-a stdout: stdout shown" out "$out"
check_rc "-a stdout: stderr not shown" "" "$(cat "$rf/err")"
check_rc "-a stdout: the container's exit code" 3 $rc
out=$(R -a stderr busybox sh -c 'echo out; echo err >&2' 2>"$rf/err")
check_rc "-a stderr: stdout not shown" "" "$out"
check_rc "-a stderr: stderr shown" err "$(cat "$rf/err")"
R -a stdout busybox nosuchcmd14 >/dev/null 2>"$rf/err"
check_rc "-a stdout, command not found: exit 127" 127 $?
check "-a stdout: rdock's own message still shown (docker's client prints it)" 'nosuchcmd14' "$(cat "$rf/err")"
out=$(R -a stdin busybox sh -c 'echo hi; exit 4' 2>&1)
rc=$?
check "-a stdin alone: the id is printed instead, as docker" '^[0-9a-f]{64}$' "$out"
check_rc "-a stdin alone: the container's exit code" 4 $rc
out=$(echo piped | R -i -a stdout busybox cat 2>&1)
check_rc "-i -a stdout: stdin attached by -i" piped "$out"
out=$(R -a bogus busybox true 2>&1)
check_rc "-a bogus: exit 125" 125 $? "$out"
check "... docker's flag error" '^invalid argument "bogus" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR$' "$out"
out=$(R -d -a stdout busybox true 2>&1)
check_rc "-d -a: exit 1" 1 $? "$out"
check "... docker's message" '^Conflicting options: -a and -d$' "$out"

# --- --cidfile
out=$(R --cidfile "$rf/cid" busybox true 2>&1)
check "--cidfile: the full id, no newline" '^[0-9a-f]{64}$' "$(cat "$rf/cid")"
check_rc "--cidfile: 64 bytes" 64 "$(wc -c <"$rf/cid")"
out=$(R --cidfile "$rf/cid" busybox true 2>&1)
check_rc "--cidfile of an existing file: exit 125" 125 $? "$out"
check "... docker's message" "^rdock: container ID file found, make sure the other container isn't running or delete $rf/cid\.$" "$out"
out=$(R --cidfile /nonexist14/dir/cid busybox true 2>&1)
check_rc "--cidfile in a missing directory: exit 127" 127 $? "$out"
check "... docker's message" '^rdock: failed to create the container ID file: open /nonexist14/dir/cid: no such file or directory\.$' "$out"
out=$(R --cidfile "$rf/cid2" --mount type=bind,src=/nonexist14,dst=/b busybox true 2>&1)
[ -e "$rf/cid2" ] && nok "--cidfile: removed when the create fails" || ok "--cidfile: removed when the create fails"

# --- --sig-proxy
sig_run() { # NAME [SIG_PROXY_FLAG]: in the background of this shell
    "$RDOCK" --runtime "$runtime" run --name "$1" --network none ${2:-} busybox \
        sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$rf/$1.out" 2>&1 &
}
wait_ready() { for _ in $(seq 100); do grep -q ready "$rf/$1.out" 2>/dev/null && return; sleep 0.1; done; }
sig_run sp14
p=$!
wait_ready sp14
kill -TERM "$p"
wait "$p"
check_rc "--sig-proxy (default): SIGTERM to rdock reaches the container, its exit code" 7 $?
check "--sig-proxy: the container's trap ran" '^got-term$' "$(cat "$rf/sp14.out")"
sig_run spf14 --sig-proxy=false
p=$!
wait_ready spf14
kill -TERM "$p"
wait "$p"
check_rc "--sig-proxy=false: SIGTERM ends rdock" 143 $?
check_rc "--sig-proxy=false: the container did not get it and runs on" True "$(insp spf14 'c["State"]["Running"]')"
check "--sig-proxy=false: no trap output" '^ready$' "$(cat "$rf/spf14.out")"
rdock rm -f sp14 spf14 >/dev/null 2>&1
out=$(R --sig-proxy=maybe busybox true 2>&1)
check "--sig-proxy=maybe: docker's flag error" '^invalid argument "maybe" for "--sig-proxy" flag: strconv.ParseBool: parsing "maybe": invalid syntax$' "$out"

# --- --detach-keys (a terminal through script(1))
if command -v script >/dev/null; then
    out=$( (sleep 1; echo 'echo typed14'; sleep 0.7; printf '\030y'; sleep 1) | script -qec \
        "$RDOCK --runtime $runtime run -it --name dk14 --network none --detach-keys ctrl-x,y busybox sh; echo rc=\$?" \
        /dev/null | tr -d '\r')
    check "--detach-keys ctrl-x,y: detaches, exit 0" '^rc=0$' "$(grep -o 'rc=[0-9]*' <<<"$out")"
    check "--detach-keys: the container keeps running" 'Up ' "$(rdock ps -f name=dk14)"
    rdock rm -f dk14 >/dev/null 2>&1
else
    skip "--detach-keys" "script(1) missing"
fi
out=$(R --detach-keys bogus busybox true 2>&1)
check "--detach-keys bogus: refused" '^rdock: Invalid detach keys \(bogus\) provided\.$' "$out"

# --- -l / --label-file, and the rest in inspect
printf 'a=1\n# comment\n\nb=two words\nc\nd=\n' >"$rf/lf"
id=$(rdock create --name lb14 --network none -l x=1 -l y -l 'z=a=b' --label-file "$rf/lf" \
    --dns 1.1.1.1 --dns-search x --dns-option ndots:2 --add-host a:1.2.3.4 --ulimit nofile=1024:2048 \
    --device /dev/null:/dev/xnull:r --shm-size 1m --ipc shareable --uts host --userns host \
    --sysctl net.ipv4.ip_forward=1 --stop-timeout 2 --mount type=tmpfs,dst=/t,tmpfs-size=1m \
    --cidfile "$rf/cid3" busybox true 2>&1)
check "create with the flags: an id" '^[0-9a-f]{64}$' "$id"
check_rc "inspect: Config.Labels (file, then -l; 'c' unset is dropped)" \
    '{"a": "1", "b": "two words", "d": "", "x": "1", "y": "", "z": "a=b"}' \
    "$(insp lb14 'json.dumps(c["Config"]["Labels"], sort_keys=True)')"
check_rc "inspect: Dns DnsSearch DnsOptions ExtraHosts" \
    '["1.1.1.1"] ["x"] ["ndots:2"] ["a:1.2.3.4"]' \
    "$(insp lb14 '" ".join(json.dumps(c["HostConfig"][k]) for k in ["Dns","DnsSearch","DnsOptions","ExtraHosts"])')"
check_rc "inspect: Ulimits" '[{"Hard": 2048, "Name": "nofile", "Soft": 1024}]' \
    "$(insp lb14 'json.dumps(c["HostConfig"]["Ulimits"], sort_keys=True)')"
check_rc "inspect: Devices" '[{"CgroupPermissions": "r", "PathInContainer": "/dev/xnull", "PathOnHost": "/dev/null"}]' \
    "$(insp lb14 'json.dumps(c["HostConfig"]["Devices"], sort_keys=True)')"
check_rc "inspect: ShmSize IpcMode PidMode UTSMode UsernsMode" '1048576 shareable  host host' \
    "$(insp lb14 '" ".join(str(c["HostConfig"][k]) for k in ["ShmSize","IpcMode","PidMode","UTSMode","UsernsMode"])')"
check_rc "inspect: Sysctls, StopTimeout, ContainerIDFile" "{\"net.ipv4.ip_forward\": \"1\"} 2 $rf/cid3" \
    "$(insp lb14 'json.dumps(c["HostConfig"]["Sysctls"]) + " " + str(c["Config"]["StopTimeout"]) + " " + c["HostConfig"]["ContainerIDFile"]')"
check_rc "inspect: HostConfig.Mounts" '[{"Source": "", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}, "Type": "tmpfs"}]' \
    "$(insp lb14 'json.dumps(c["HostConfig"]["Mounts"], sort_keys=True)')"
check_rc "create --cidfile: the id" "$id" "$(cat "$rf/cid3")"
rdock rm -f lb14 >/dev/null 2>&1
out=$(R --label-file /nonexist14 busybox true 2>&1)
check_rc "--label-file missing: exit 125" 125 $? "$out"
check "... docker's message" '^rdock: open /nonexist14: no such file or directory\.$' "$out"
rm -rf "$rf"
