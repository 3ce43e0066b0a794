# Log drivers (--log-driver json-file|local|none) and rotation by the
# monitor (--log-opt max-size=… max-file=…); logs reads across rotated files.
L() { rdock run --network none "$@"; }
lj() { rdock inspect "$1" | jq -c "$2"; }
logfile() { echo "$RDOCK_ROOT/containers/$(rdock ps -a -q --no-trunc -f name="$1")/$(rdock ps -a -q --no-trunc -f name="$1")-json.log"; }

# --- bad values: docker's messages
out=$(L --log-driver bogus busybox true 2>&1)
check_rc "--log-driver bogus exits 125" 125 $? "$out"
check "docker's message for an unknown driver" '^rdock: Error response from daemon: error looking up logging plugin bogus: plugin "bogus" not found.$' "$(head -1 <<<"$out")"
out=$(rdock create --network none --log-driver bogus busybox true 2>&1)
check_rc "create --log-driver bogus exits 1" 1 $? "$out"
out=$(L --log-opt bogus=1 busybox true 2>&1)
check "docker's message for an unknown log opt" "unknown log opt 'bogus' for json-file log driver" "$out"
out=$(L --log-opt max-size=1x busybox true 2>&1)
check_rc "--log-opt max-size=1x exits 125" 125 $? "$out"
check "docker's message for a bad size" "failed to initialize logging driver: invalid size: '1x'" "$out"
out=$(L --log-opt max-size busybox true 2>&1)
check "max-size without a value" "invalid size: ''" "$out"
out=$(L --rm --log-opt max-file=2 busybox echo ok 2>&1)
check "max-file without max-size is accepted" '^ok$' "$out"

# --- rotation: docker's own example (200 lines of 100 bytes, 1k x 2 files)
L -d --name lg1 --log-opt max-size=1k --log-opt max-file=2 busybox \
    sh -c 'for i in $(seq 1 200); do echo line-$i-xxxxxxxxxxxxxxxxxxxx; done' >/dev/null
rdock wait lg1 >/dev/null
f=$(logfile lg1)
check "two files: the log and .1, no .2" '^yes yes no$' \
    "$([ -f "$f" ] && echo yes || echo no) $([ -f "$f.1" ] && echo yes || echo no) $([ -f "$f.2" ] && echo yes || echo no)"
s0=$(stat -c %s "$f") s1=$(stat -c %s "$f.1")
if [ "$s1" -ge 1000 ] && [ "$s1" -lt 1100 ] && [ "$s0" -le 1000 ]; then
    ok "a file is closed once it holds 1k (1000 bytes, docker's unit): .1 $s1, log $s0"
else nok "a file is closed once it holds 1k: .1 $s1, log $s0"; fi
out=$(rdock logs lg1)
first=$(head -1 <<<"$out" | cut -d- -f2)
want=$(seq "$first" 200 | sed 's/.*/line-&-xxxxxxxxxxxxxxxxxxxx/')
if [ "$out" = "$want" ] && [ "$(wc -l <<<"$out")" -gt 10 ]; then
    ok "logs reads across the rotated files: the newest lines in order ($first to 200; docker kept 183 to 200)"
else nok "logs reads across the rotated files" "$out"; fi
check "logs --tail across files" '^line-199-x+ line-200-x+$' "$(rdock logs --tail 2 lg1 | tr '\n' ' ' | sed 's/ $//')"
check "inspect: LogConfig" '^\["json-file",\{"max-file":"2","max-size":"1k"\}\]$' "$(lj lg1 '.[0].HostConfig.LogConfig | [.Type, .Config]')"
rdock rm lg1 >/dev/null

# --- logs -f follows the log across rotations
L -d --name lg2 --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'for i in $(seq 1 40); do echo line-$i-xxxxxxxxxxxxxxxxxxxx; sleep 0.05; done' >/dev/null
rdock logs -f lg2 >"$work/lg2.out" 2>&1
check "logs -f saw every line through the rotations" '^40 line-1-x+ line-40-x+$' \
    "$(wc -l <"$work/lg2.out") $(head -1 "$work/lg2.out") $(tail -1 "$work/lg2.out")"
check "and the monitor kept 3 files" '^yes no$' "$([ -f "$(logfile lg2).2" ] && echo yes || echo no) $([ -f "$(logfile lg2).3" ] && echo yes || echo no)"
rdock rm lg2 >/dev/null

# --- none and local
L -d --name lg3 --log-driver none busybox echo hidden >/dev/null
rdock wait lg3 >/dev/null
out=$(rdock logs lg3 2>&1)
check_rc "logs of a none-driver container exits 1" 1 $? "$out"
check "docker's message" '^Error response from daemon: configured logging driver does not support reading$' "$out"
check "no log file is kept, inspect LogPath is empty" '^no ""$' "$([ -e "$(logfile lg3)" ] && echo yes || echo no) $(lj lg3 '.[0].LogPath')"
rdock rm lg3 >/dev/null
out=$(L --name lg4 --log-driver local busybox echo seen 2>&1)
check "local: output shown" '^seen$' "$out"
check "local: logs reads it" '^seen$' "$(rdock logs lg4 2>&1)"
check "local: inspect LogConfig" '^"local"$' "$(lj lg4 '.[0].HostConfig.LogConfig.Type')"
rdock rm lg4 >/dev/null
