# rdock stats: docker's table of CPU, memory, network, block I/O and pids,
# read from the containers' cgroups (through their init's /proc/PID/cgroup)
# and network namespaces.

# Multi-line output as one line (lines joined by ;), so one regex checks the order.
lines() { tr '\n' ';' <<<"$1" | sed 's/;$//'; }
hdr='CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS'
out=$(rdock stats --no-stream)
check_rc "stats --no-stream with nothing running exits 0" 0 $?
check "only docker's header when nothing runs" "^$hdr\$" "$out"

rdock run -d --network none --name st1 busybox sleep 100 >/dev/null
rdock run -d --network none --name st2 busybox sh -c 'while :; do :; done' >/dev/null
rdock run -d --network none --name st3 -m 64m busybox sleep 100 >/dev/null
out=$(rdock stats --no-stream)
check "running containers, newest first" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS;[0-9a-f]{12}   st3 .*;[0-9a-f]{12}   st2 .*;[0-9a-f]{12}   st1 .*$' "$(lines "$out")"
check "a memory limit, docker's binary units and MEM %" \
    '^[0-9a-f]{12}   st3       [0-9.]+%     [0-9.]+(KiB|MiB) / 64MiB +[0-9.]+% +0B / 0B   [0-9.]+[kMG]?B / [0-9.]+[kMG]?B +1$' \
    "$(grep ' st3 ' <<<"$out")"
host=$(awk '/^MemTotal/ {printf "%.4g", $2/1024/1024}' /proc/meminfo)
check "no limit: the host's memory, MEM % 0.00%" "^[0-9a-f]{12} +st1 +0\.00% +[0-9.]+KiB / ${host}GiB +0\.00% +0B / 0B " "$(grep ' st1 ' <<<"$out")"
cpu=$(grep ' st2 ' <<<"$out" | awk '{print $3}' | tr -d %)
if awk "BEGIN {exit !($cpu > 20)}"; then ok "a busy loop shows its CPU % ($cpu%)"; else nok "a busy loop shows its CPU %" "$out"; fi
cpu1=$(grep ' st1 ' <<<"$out" | awk '{print $3}' | tr -d %)
if awk "BEGIN {exit !($cpu1 < 5)}"; then ok "a sleeping container shows ~0% CPU"; else nok "a sleeping container shows ~0% CPU" "$out"; fi
rdock exec -d st1 sleep 50
check "PIDS counts the container's processes" '^2$' "$(rdock stats --no-stream --format '{{.PIDs}}' st1)"

# MEM USAGE is the cgroup's usage less its inactive file cache (docker's).
id3=$(rdock ps -q --no-trunc -f name=st3)
pid=$("$runtime" --root "$RDOCK_ROOT/runtime/$(basename "$runtime")" state "$id3" 2>/dev/null | jq -r .pid)
mdir=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/$pid/cgroup 2>/dev/null)
if [ -n "$pid" ] && [ -f "$mdir/memory.usage_in_bytes" ]; then
    rdock exec st3 sh -c 'head -c 8000000 /dev/zero > /dev/shm/x'
    want=$(( $(cat "$mdir/memory.usage_in_bytes") - $(awk '$1 == "total_inactive_file" {print $2}' "$mdir/memory.stat") ))
    got=$(rdock stats --no-stream --format '{{.MemUsage}}' st3 | awk '{print $1}')
    gotb=$(python3 -c "import re,sys; m=re.match(r'([0-9.]+)(B|KiB|MiB|GiB)','$got'); print(int(float(m[1])*{'B':1,'KiB':1024,'MiB':1<<20,'GiB':1<<30}[m[2]]))")
    if [ $(( gotb > want * 9 / 10 && gotb < want * 11 / 10 )) = 1 ] && [ "$gotb" -gt 8000000 ]; then
        ok "MEM USAGE follows the memory cgroup ($got, cgroup says $want)"
    else
        nok "MEM USAGE follows the memory cgroup" "got $got ($gotb), want ~$want"
    fi
else
    skip "MEM USAGE follows the memory cgroup" "no v1 memory cgroup found for st3"
fi

if rdock run -d --name st4 busybox sh -c 'ping -c 3 -i 0.2 10.87.0.1; sleep 100' >/dev/null 2>&1; then
    sleep 1
    check "NET I/O counts the container's interfaces" '^[1-9][0-9.]*k?B / [1-9][0-9.]*k?B$' "$(rdock stats --no-stream --format '{{.NetIO}}' st4)"
    rdock rm -f st4 >/dev/null
else
    skip "NET I/O counts the container's interfaces" "no bridge network"
fi

rdock create --name sc busybox true >/dev/null
out=$(rdock stats --no-stream -a)
check "-a: a created container shows zeros" '^[0-9a-f]{12}   sc        0\.00%     0B / 0B   +0\.00%     0B / 0B   0B / 0B     0$' "$(grep ' sc ' <<<"$out")"
rdock stop -t 0 st1 >/dev/null
out=$(rdock stats --no-stream st1)
check_rc "a stopped container named explicitly: exit 0" 0 $?
check "a stopped container: zeros" '^[0-9a-f]{12}   st1       0\.00%     0B / 0B             0\.00%     0B / 0B   0B / 0B     0$' "$(tail -1 <<<"$out")"
out=$(rdock stats --no-stream nosuch 2>&1)
check_rc "a missing container exits 1" 1 $?
check "docker's message for a missing container" '^Error response from daemon: No such container: nosuch$' "$out"
out=$(rdock stats --no-stream st3 nosuch 2>&1)
check "one missing container: only the error" '^Error response from daemon: No such container: nosuch$' "$out"
id=$(rdock ps -q --no-trunc -f name=st3)
out=$(rdock stats --no-stream --format '{{.Container}} {{.ID}} {{.Name}}' "${id:0:5}" st3)
check "{{.Container}} is the argument as typed, one row per argument" "^${id:0:5} ${id:0:12} st3
st3 ${id:0:12} st3\$" "$out"
check "--no-trunc shows the full ID" "^$id   st3 " "$(rdock stats --no-stream --no-trunc st3 | tail -1)"
check "{{json .}}: docker's keys, sorted, all strings" \
    '^\{"BlockIO":"[^"]+","CPUPerc":"[0-9.]+%","Container":"st3","ID":"[0-9a-f]{12}","MemPerc":"[0-9.]+%","MemUsage":"[^"]+ / 64MiB","Name":"st3","NetIO":"0B / 0B","PIDs":"1"\}$' \
    "$(rdock stats --no-stream --format '{{json .}}' st3)"
check "a table template: docker's headers" '^NAME      PIDS;st3       1$' "$(lines "$(rdock stats --no-stream --format 'table {{.Name}}\t{{.PIDs}}' st3)")"
out=$(rdock stats --no-stream --format '{{.Foo}}' st3 2>&1)
check_rc "a bad template exits 1" 1 $?
check "docker's message for a bad template" '^template parsing error: template: :1:2: executing "" at <\.Foo>: can.t evaluate field Foo in type \*container\.statsContext$' "$out"

out=$(timeout 2.6 "$RDOCK" --runtime "$runtime" stats --format '{{.Name}} {{.PIDs}}' st3)
frames=$(grep -o $'\e\[2J\e\[H' <<<"$out" | wc -l)
check "streaming redraws every second (ESC[2J ESC[H)" '^[12]$' "$frames"
check "streamed frames carry the rows" 'st3 1' "$out"
rdock rm -f st1 st2 st3 sc >/dev/null

# --- system df: docker 20.10's summary and -v
rdock run -d --network none --name df1 -v dfv:/data busybox sh -c 'echo hi > /hello; echo abcd > /data/x; sleep 100' >/dev/null
rdock create --network none --name df2 busybox true >/dev/null
sleep 0.5
out=$(rdock system df)
check_rc "system df exits 0" 0 $?
check "system df: docker's four rows" '^TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE;Images          [0-9]+ +1 +[0-9.]+[kMG]?B +[0-9.]+[kMG]?B \([0-9]+%\);Containers      2         1         3B        0B \(0%\);Local Volumes   1         1         5B        0B \(0%\);Build Cache     0         0         0B        0B$' "$(lines "$out")"
only_busybox=$(rdock images -q | sort -u | wc -l)
if [ "$only_busybox" = 1 ]; then
    check "system df: the one image, in use, is not reclaimable" '^Images +1 +1 +([0-9.]+[kMG]?B) +0B \(0%\)$' "$(grep ^Images <<<"$out")"
else
    skip "system df: the one image, in use, is not reclaimable" "other images in the store"
fi
check "system df --format '{{json .}}': docker's keys, sorted" \
    '^\{"Active":"1","Reclaimable":"0B \(0%\)","Size":"3B","TotalCount":"2","Type":"Containers"\}$' \
    "$(rdock system df --format '{{json .}}' | grep Containers)"
out=$(rdock system df -v)
check "system df -v: docker's sections" '^Images space usage:;;REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS;.*;Containers space usage:;;CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES;.*;Local Volumes space usage:;;VOLUME NAME +LINKS +SIZE;dfv +1 +5B;;Build cache usage: 0B;;CACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED$' "$(lines "$out")"
check "system df -v: the image row" '^busybox +latest +[0-9a-f]{12} +.* ago +([0-9.]+[kM]?B) +[0-9.]+[kM]?B +[0-9.]+[kM]?B +2$' "$(grep ^busybox <<<"$out")"
check "system df -v: a container's upper size and volume count" '^[0-9a-f]{12} +busybox +".*" +1 +3B +.* ago +Up .* +df1$' "$(grep ' df1$' <<<"$out")"
rdock stop -t 0 df1 >/dev/null
check "a stopped container's layer is reclaimable" '^Containers +2 +0 +3B +3B \(100%\)$' "$(rdock system df | grep ^Containers)"
rdock rm df1 df2 >/dev/null
check "a volume no container mounts is reclaimable" '^Local Volumes +1 +0 +5B +5B \(100%\)$' "$(rdock system df | grep '^Local Volumes')"
rdock volume rm dfv >/dev/null
