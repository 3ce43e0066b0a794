# run's flags that shape config.json: seccomp, capabilities, privileged,
# resources, read-only root, tmpfs, env files, init, platform, pull policy,
# stop signal, and docker's exit code 125 for bad values. Each check looks
# at the effect inside the container (or its cgroup from the host).
rf=$work/runflags
mkdir -p "$rf"

# --- seccomp: docker's default profile on every container
out=$(rdock run --rm busybox grep Seccomp: /proc/self/status 2>&1)
check "default seccomp profile is loaded" '^Seccomp:[[:space:]]+2$' "$out"
out=$(rdock run --rm busybox unshare -U true 2>&1)
check "default profile refuses unshare -U with EPERM" 'Operation not permitted' "$out"
out=$(rdock run --rm busybox sh -c 'swapon /dev/null; mount -t tmpfs none /mnt; reboot -f; echo done' 2>&1)
check "default profile refuses swapon with EPERM" '^swapon: .*Operation not permitted' "$out"
check "default profile refuses mount with EPERM" '^mount: permission denied' "$out"
check "default profile refuses reboot with EPERM" '^reboot: .*Operation not permitted' "$out"
check "container survives the refused reboot" 'done$' "$out"
out=$(rdock run --rm busybox sh -c 'ls / >/dev/null && echo a >/tmp/f && cat /tmp/f && ps >/dev/null &&
    (sleep 0.1 & wait) && date +%Y >/dev/null && echo fine' 2>&1)
check "busybox commands work under the default profile" '^fine$' "$out"
id=$(rdock run -d busybox sleep 30 2>&1)
out=$(rdock exec "$id" sh -c 'grep Seccomp: /proc/self/status; unshare -U true' 2>&1)
check "exec runs under the container's profile" '^Seccomp:[[:space:]]+2$' "$out"
check "exec: unshare -U refused" 'Operation not permitted' "$out"
rdock rm -f "$id" >/dev/null 2>&1
out=$(rdock run --rm --security-opt seccomp=unconfined busybox sh -c \
    'grep Seccomp: /proc/self/status; unshare -U true && echo unshared' 2>&1)
check "seccomp=unconfined: no filter" '^Seccomp:[[:space:]]+0$' "$out"
check "seccomp=unconfined: unshare -U works" '^unshared$' "$out"
out=$(rdock run --rm --cap-add SYS_ADMIN busybox sh -c \
    'mount -t tmpfs none /tmp && echo mounted; unshare -U true && echo unshared' 2>&1)
check "--cap-add SYS_ADMIN re-enables mount in the profile" '^mounted$' "$out"
check "--cap-add SYS_ADMIN re-enables unshare in the profile" '^unshared$' "$out"
cat >"$rf/profile.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    {"names": ["chdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}
  ]
}
EOF
out=$(rdock run --rm --security-opt seccomp="$rf/profile.json" busybox sh -c \
    'grep Seccomp: /proc/self/status; mkdir /x; cd /tmp && echo cd-ok' 2>&1)
check "seccomp=FILE (docker format): a filter is loaded" '^Seccomp:[[:space:]]+2$' "$out"
check "seccomp=FILE: its ERRNO rule refuses mkdir" "^mkdir: can't create directory '/x': Operation not permitted" "$out"
check "seccomp=FILE: rules for capabilities not held are left out" '^cd-ok$' "$out"
echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$rf/bad.json"
out=$(rdock run --rm --security-opt seccomp="$rf/bad.json" busybox true 2>&1)
check_rc "seccomp=FILE with a bad action: exit 125" 125 $? "$out"
check "bad profile message names the action" 'SCMP_ACT_BOGUS' "$out"
out=$(rdock run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status 2>&1)
check "--security-opt no-new-privileges" '^NoNewPrivs:[[:space:]]+1$' "$out"
out=$(rdock run --rm busybox grep NoNewPrivs /proc/self/status 2>&1)
check "no_new_privs off by default" '^NoNewPrivs:[[:space:]]+0$' "$out"

# --- capabilities
out=$(rdock run --rm busybox grep -E '^Cap(Eff|Bnd)' /proc/self/status 2>&1)
check "docker's 14 default capabilities (CapEff)" '^CapEff:[[:space:]]+00000000a80425fb$' "$out"
check "docker's 14 default capabilities (CapBnd)" '^CapBnd:[[:space:]]+00000000a80425fb$' "$out"
out=$(rdock run --rm --cap-drop ALL busybox grep -E '^Cap(Eff|Bnd)' /proc/self/status 2>&1)
check "--cap-drop ALL (CapEff)" '^CapEff:[[:space:]]+0000000000000000$' "$out"
check "--cap-drop ALL (CapBnd)" '^CapBnd:[[:space:]]+0000000000000000$' "$out"
out=$(rdock run --rm --cap-add net_admin --cap-drop CAP_CHOWN busybox grep CapEff /proc/self/status 2>&1)
check "--cap-add net_admin --cap-drop CAP_CHOWN" 'CapEff:[[:space:]]+00000000a80435fa' "$out"
out=$(rdock run --rm --cap-drop ALL --cap-add NET_BIND_SERVICE busybox grep CapEff /proc/self/status 2>&1)
check "--cap-drop ALL --cap-add NET_BIND_SERVICE" 'CapEff:[[:space:]]+0000000000000400' "$out"
hostbnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
out=$(rdock run --rm --cap-add ALL busybox grep CapEff /proc/self/status 2>&1)
check "--cap-add ALL: rdock's bounding set" "CapEff:[[:space:]]+$hostbnd" "$out"
out=$(rdock run --rm --cap-add NOPE busybox true 2>&1)
check_rc "--cap-add NOPE: exit 125" 125 $? "$out"
check "--cap-add NOPE: docker's message" 'unknown capability: "CAP_NOPE"' "$out"

# --- privileged
hostdev=$(ls /dev/loop0 /dev/vda /dev/sda /dev/mem 2>/dev/null | head -1)
out=$(rdock run --rm --privileged busybox sh -c "grep -E '^(CapEff|Seccomp):' /proc/self/status
    grep ' /sys ' /proc/mounts; grep -c ' /proc/sys ' /proc/mounts
    ls $hostdev && mount -t tmpfs none /tmp && echo mounted" 2>&1)
check "--privileged: all of rdock's capabilities" "CapEff:[[:space:]]+$hostbnd" "$out"
check "--privileged: no seccomp" 'Seccomp:[[:space:]]+0' "$out"
check "--privileged: /sys read-write" ' /sys sysfs rw,' "$out"
check "--privileged: /proc/sys not read-only" '^0$' "$out"
check "--privileged: host devices ($hostdev)" "^$hostdev$" "$out"
check "--privileged: mount works" '^mounted$' "$out"

# --- resources: the container's cgroup, read from the host
id=$(rdock run -d --memory 64m --memory-swap 96m --cpus 0.5 --cpu-shares 512 --pids-limit 5 \
    busybox sleep 30 2>&1)
pid=$(rdock inspect "$id" 2>/dev/null | jq -r '.[0].State.Pid')
cg() { # cg CONTROLLER FILE: the container's value in the host's cgroup v1 tree
    local p
    p=$(awk -F: -v c="$1" '{n=split($2,a,","); for(i=1;i<=n;i++) if(a[i]==c) print $3}' "/proc/$pid/cgroup")
    cat "/sys/fs/cgroup/$1$p/$2" 2>/dev/null || cat /sys/fs/cgroup/*"$1"*"$p/$2" 2>/dev/null | head -1
}
if [ -n "$pid" ] && [ "$pid" != null ] && [ -r "/proc/$pid/cgroup" ]; then
    check "--memory 64m in memory.limit_in_bytes" '^67108864$' "$(cg memory memory.limit_in_bytes)"
    check "--memory-swap 96m in memory.memsw.limit_in_bytes" '^100663296$' "$(cg memory memory.memsw.limit_in_bytes)"
    check "--cpus 0.5 in cpu.cfs_quota_us" '^50000$' "$(cg cpu cpu.cfs_quota_us)"
    check "--cpus 0.5 period 100000" '^100000$' "$(cg cpu cpu.cfs_period_us)"
    check "--cpu-shares 512 in cpu.shares" '^512$' "$(cg cpu cpu.shares)"
    check "--pids-limit 5 in pids.max" '^5$' "$(cg pids pids.max)"
else
    nok "resources: container pid" "$id / $pid"
fi
rdock rm -f "$id" >/dev/null 2>&1
out=$(rdock run --rm --pids-limit 5 busybox sh -c \
    'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo end' 2>&1)
check "--pids-limit 5 stops a fork loop" "can't fork|Resource temporarily unavailable" "$out"
out=$(rdock run --rm -m 64m --memory-swap -1 --pids-limit -1 busybox echo unlimited 2>&1)
check "--memory-swap -1 and --pids-limit -1 (unlimited) are accepted" '^unlimited$' "$out"
out=$(rdock run --rm --memory lots busybox true 2>&1)
check_rc "--memory lots: exit 125" 125 $? "$out"
check "--memory lots: docker's message" 'invalid argument "lots" for "-m, --memory" flag' "$out"
out=$(rdock run --rm --cpus 99 busybox true 2>&1)
check_rc "--cpus 99: exit 125" 125 $? "$out"
out=$(rdock run --rm --memory-swap 1g busybox true 2>&1)
check_rc "--memory-swap without --memory: exit 125" 125 $? "$out"

# --- read-only root, tmpfs
out=$(rdock run --rm --read-only busybox sh -c 'touch /x; touch /dev/shm/x && echo shm-ok;
    for f in hosts hostname resolv.conf; do echo "# more" >>/etc/$f && echo "$f-written"; done;
    echo 1 >/proc/self/comm && echo proc-ok' 2>&1)
check "--read-only: root refuses writes" 'touch: /x: Read-only file system' "$out"
check "--read-only: /dev/shm stays writable" '^shm-ok$' "$out"
check "--read-only: /etc/hosts is read-only too (docker)" "can't create /etc/hosts: Read-only file system" "$out"
check "--read-only: /etc/hostname is read-only too" "can't create /etc/hostname: Read-only file system" "$out"
check "--read-only: /etc/resolv.conf is read-only too" "can't create /etc/resolv.conf: Read-only file system" "$out"
check_rc "--read-only: none of the /etc files was written" 0 "$(grep -c written <<<"$out")"
check "--read-only: /proc stays writable" '^proc-ok$' "$out"
out=$(rdock run --rm busybox sh -c 'echo "# more" >>/etc/hosts && echo etc-ok' 2>&1)
check "without --read-only /etc/hosts is writable" '^etc-ok$' "$out"

# --- -u and --group-add: docker's groups (the primary gid is one of them)
out=$(rdock run --rm busybox id 2>&1)
check "root's groups include its primary group" '^uid=0\(root\) gid=0\(root\) groups=0\(root\)$' "$out"
out=$(rdock run --rm -u nobody busybox id 2>&1)
check "-u nobody keeps its primary group as a group" 'groups=65534\(nogroup\)$' "$out"
out=$(rdock run --rm -u 1234 busybox id 2>&1)
check "-u UID without a passwd entry: gid 0 and group 0" '^uid=1234 gid=0\(root\) groups=0\(root\)$' "$out"
out=$(rdock run --rm -u nobody --group-add root --group-add 4321 busybox id -G 2>&1)
for g in 0 4321 65534; do check "--group-add NAME and --group-add GID: group $g" "(^| )$g( |\$)" "$out"; done
out=$(rdock run --rm --group-add no-such-group busybox id 2>&1)
check_rc "--group-add of an unknown group: exit 125" 125 $? "$out"
check "--group-add of an unknown group: docker's message" 'Unable to find group no-such-group: no matching entries in group file' "$out"
id=$(rdock run -d --group-add 4321 busybox sleep 30)
out=$(rdock exec -u nobody "$id" id -G 2>&1)
check "exec -u keeps the container's --group-add" '4321' "$out"
rdock rm -f "$id" >/dev/null

# --- inspect: HostConfig as docker fills it, OOMKilled, RestartCount, Config.User
id=$(rdock create -m 64m --cpus 1.5 --pids-limit 50 --read-only -u nobody --group-add 4321 \
    --cap-add NET_ADMIN -v "$rf:/app:ro" --tmpfs /run --network none busybox true)
out=$(rdock inspect "$id" | jq -c '.[0] | [.HostConfig.Memory, .HostConfig.MemorySwap,
    .HostConfig.NanoCpus, .HostConfig.PidsLimit, .HostConfig.ReadonlyRootfs, .HostConfig.GroupAdd,
    .HostConfig.CapAdd, .HostConfig.Binds, .HostConfig.Tmpfs, .HostConfig.RestartPolicy,
    .HostConfig.NetworkMode, .HostConfig.LogConfig.Type, .RestartCount, .State.OOMKilled, .Config.User]')
check "inspect: HostConfig, RestartCount, OOMKilled and Config.User as docker's" \
    '^\[67108864,134217728,1500000000,50,true,\["4321"\],\["NET_ADMIN"\],\[".*/runflags:/app:ro"\],\{"/run":""\},\{"MaximumRetryCount":0,"Name":"no"\},"none","json-file",0,false,"nobody"\]$' "$out"
rdock rm "$id" >/dev/null
id=$(rdock create busybox true)
out=$(rdock inspect "$id" | jq -c '.[0] | [.HostConfig.PortBindings, .HostConfig.Memory, .HostConfig.PidsLimit, .HostConfig.CapAdd, .Config.User]')
check "inspect: the defaults of an unset flag" '^\[\{\},0,null,null,""\]$' "$out"
rdock rm "$id" >/dev/null
out=$(rdock run --name oom1 -m 8m busybox sh -c 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo survived' 2>&1)
check_rc "a container over its memory limit is killed: 137" 137 $? "$out"
check "inspect: State.OOMKilled after the OOM kill" '^\[true,137\]$' "$(rdock inspect oom1 | jq -c '.[0].State | [.OOMKilled, .ExitCode]')"
rdock rm oom1 >/dev/null
out=$(rdock run --rm --read-only --tmpfs /run:size=1m busybox sh -c \
    'touch /run/x && echo run-ok; grep " /run " /proc/mounts' 2>&1)
check "--tmpfs /run on a read-only root is writable" '^run-ok$' "$out"
check "--tmpfs /run:size=1m with docker's options" '^tmpfs /run tmpfs rw,nosuid,nodev,noexec,.*size=1024k' "$out"

# --- env files
printf '# a comment\nFROM_FILE=one\nSPACED=a b c\nRDOCK_RF_HOSTVAR\nOVERRIDDEN=file\n\n' >"$rf/env"
out=$(RDOCK_RF_HOSTVAR=from-host rdock run --rm --env-file "$rf/env" -e OVERRIDDEN=flag busybox env 2>&1)
check "--env-file KEY=VAL" '^FROM_FILE=one$' "$out"
check "--env-file keeps spaces in values" '^SPACED=a b c$' "$out"
check "--env-file KEY takes the host's value" '^RDOCK_RF_HOSTVAR=from-host$' "$out"
check "-e overrides --env-file" '^OVERRIDDEN=flag$' "$out"
if grep -q comment <<<"$out"; then nok "--env-file skips comments" "$out"; else ok "--env-file skips comments"; fi
out=$(rdock run --rm --env-file "$rf/nope" busybox true 2>&1)
check_rc "--env-file missing: exit 125" 125 $? "$out"

# --- init
out=$(rdock run --rm --init busybox sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo $$' 2>&1)
check "--init: docker-init is pid 1 in front of the command" '^/sbin/docker-init -- sh -c' "$out"
check "--init: the command is not pid 1" '^([2-9]|[1-9][0-9]+)$' "$out"
rdock run --rm --init busybox sh -c 'exit 3' >/dev/null 2>&1
check_rc "--init passes the exit code" 3 $?

# --- platform and pull policy
out=$(rdock run --rm armonly 2>&1)
check_rc "armonly without --platform: exit 125" 125 $? "$out"
out=$(rdock run --rm --platform linux/arm64 armonly 2>&1)
arch=$(rdock image inspect armonly 2>/dev/null | jq -r '.[0].Architecture')
check "--platform linux/arm64 pulls the arm64 image" '^arm64$' "$arch"
out=$(rdock run --rm --platform linux/arm64 multiarch 2>&1)
arch=$(rdock image inspect multiarch 2>/dev/null | jq -r '.[0].Architecture')
check "--platform linux/arm64 picks arm64 from an index" '^arm64$' "$arch"
out=$(rdock run --rm --platform linux/amd64 multiarch echo amd64-again 2>&1)
check "--platform linux/amd64 replaces the local arm64 image" 'amd64-again' "$out"
rdock rmi -f armonly multiarch >/dev/null 2>&1
# An arm64 image whose /bin/sh is an aarch64 ELF header: the kernel refuses it.
fx=$rf/foreign
mkdir -p "$fx/root/bin"
python3 -c '
import struct, sys
h = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
h += struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400078, 64, 0, 0, 64, 56, 1, 64, 0, 0)
h += struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x80, 0x80, 0x1000)
sys.stdout.buffer.write(h + bytes(8))' >"$fx/root/bin/sh"
chmod +x "$fx/root/bin/sh"
tar -C "$fx/root" -cf "$fx/layer.tar" .
diff=sha256:$(sha256sum "$fx/layer.tar" | cut -d' ' -f1)
jq -n --arg d "$diff" '{architecture: "arm64", variant: "v8", os: "linux",
    config: {Cmd: ["/bin/sh"]}, rootfs: {type: "layers", diff_ids: [$d]}}' >"$fx/config.json"
echo '[{"Config":"config.json","RepoTags":["foreign:latest"],"Layers":["layer.tar"]}]' >"$fx/manifest.json"
tar -C "$fx" -cf "$fx/image.tar" manifest.json config.json layer.tar
rdock load -q -i "$fx/image.tar" >/dev/null 2>&1
out=$(rdock run --rm foreign 2>&1)
check_rc "foreign binary: exit 1" 1 $? "$out"
check "foreign image: docker's platform warning" \
    "^WARNING: The requested image's platform \(linux/arm64/v8\) does not match the detected host platform \(linux/amd64\)" "$out"
check "foreign binary: exec format error" 'exec "?/bin/sh"?: exec format error' "$out"
rdock rmi -f foreign >/dev/null 2>&1

out=$(rdock run --rm --pull never nosuchimage 2>&1)
check_rc "--pull never, image absent: exit 125" 125 $? "$out"
check "--pull never: docker's message" 'No such image: nosuchimage:latest' "$out"
out=$(rdock run --rm --pull never busybox echo present 2>&1)
check "--pull never, image present: runs" '^present$' "$out"
out=$(rdock run --rm --pull always busybox echo pulled 2>/dev/null)
err=$(rdock run --rm --pull always busybox true 2>&1 >/dev/null)
check "--pull always pulls (progress on stderr)" 'Status|Pulling|Digest' "$err"
check "--pull always then runs (stdout is the container's)" '^pulled$' "$out"
out=$(rdock run --rm --pull sometimes busybox true 2>&1)
check_rc "--pull sometimes: exit 125" 125 $? "$out"
check "--pull sometimes: docker's message" "invalid pull option: 'sometimes'" "$out"

# --- stop signal
id=$(rdock run -d --stop-signal USR1 busybox sh -c \
    'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done' 2>&1)
sleep 0.5
rdock stop -t 5 "$id" >/dev/null 2>&1
out=$(rdock logs "$id" 2>&1)
check "--stop-signal USR1: stop sends USR1" 'got-usr1' "$out"
code=$(rdock inspect "$id" 2>/dev/null | jq -r '.[0].State.ExitCode')
check "--stop-signal USR1: the trap's exit code" '^7$' "$code"
rdock rm -f "$id" >/dev/null 2>&1
out=$(rdock run --rm --stop-signal NOPE busybox true 2>&1)
check_rc "--stop-signal NOPE: exit 125" 125 $? "$out"
out=$(rdock run --rm --no-such-flag busybox true 2>&1)
check_rc "unknown flag: exit 125" 125 $? "$out"
rm -rf "$rf"
