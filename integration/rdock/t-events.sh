# rdock events: the event log that the commands and the containers'
# monitors write, read back with docker's line format, --since/--until,
# --filter and --format, and followed as it grows.

# Multi-line output as one line (lines joined by ;), so one regex checks the order.
lines() { tr '\n' ';' <<<"$1" | sed 's/;$//'; }
now() { date +%s.%N; }
s0=$(now)
fmt='{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
evs() { rdock events --since "$s0" --until "$(now)" "$@"; }

# --- images
rdock pull -q busybox >/dev/null
rdock tag busybox evimg:x >/dev/null
rdock rmi evimg:x >/dev/null
rdock save busybox | rdock load -q >/dev/null
out=$(evs --filter type=image)
check "image events: pull tag untag save load" \
    '^[^ ]+ image pull busybox:latest \(name=busybox\);[^ ]+ image tag sha256:[0-9a-f]{64} \(name=evimg:x\);[^ ]+ image untag sha256:([0-9a-f]{64}) \(name=sha256:[0-9a-f]{64}\);[^ ]+ image save sha256:[0-9a-f]{64} \(name=sha256:[0-9a-f]{64}\);[^ ]+ image load sha256:[0-9a-f]{64} \(name=sha256:[0-9a-f]{64}\)$' "$(lines "$out")"

# --- a container's life, as docker reports it
rdock run -d --name ev1 busybox sleep 100 >/dev/null
rdock pause ev1 >/dev/null
rdock unpause ev1 >/dev/null
rdock rename ev1 ev2
rdock kill ev2 >/dev/null
rdock wait ev2 >/dev/null
rdock rm ev2 >/dev/null
out=$(evs --format "$fmt" --filter type=container)
check "create start pause unpause rename kill die destroy, in order" \
    '^container create ev1;container start ev1;container pause ev1;container unpause ev1;container rename ev2;container kill ev2;container die ev2;container destroy ev2$' "$(lines "$out")"
out=$(evs --filter event=die)
check "die: docker's line with the exit code" \
    '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z container die [0-9a-f]{64} \(exitCode=137, image=busybox, name=ev2\)$' "$out"
check "kill names the signal's number" 'container kill [0-9a-f]{64} \(image=busybox, name=ev2, signal=9\)' "$(evs --filter event=kill)"
check "rename keeps the old name" '\(image=busybox, name=ev2, oldName=/ev1\)' "$(evs --filter event=rename)"
check "container= matches the name at the time of the event" \
    '^create ev1 start ev1 pause ev1 unpause ev1 $' "$(evs --filter container=ev1 --format '{{.Action}} {{.Actor.Attributes.name}}' | tr '\n' ' ')"
id=$(evs --filter event=destroy --format '{{.Actor.ID}}' | tail -1)
check "container= matches an ID prefix" '^8$' "$(evs --filter "container=${id:0:8}" | wc -l)"
check "different keys must all match" '^$' "$(evs --filter container=ev1 --filter event=rename)"

rdock run --name ev3 busybox sh -c 'exit 3'
rdock rm ev3 >/dev/null
check "a foreground run: create attach start die destroy" \
    '^create attach start die destroy $' "$(evs --filter container=ev3 --format '{{.Action}}' | tr '\n' ' ')"
check "die carries the exit code" 'exitCode=3, image=busybox, name=ev3' "$(evs --filter container=ev3 --filter event=die)"

rdock run --name ev4 -m 8m --memory-swap 8m busybox sh -c 'x=$(head -c 60000000 /dev/zero | tr "\0" a)'
rdock rm ev4 >/dev/null
check "an OOM kill: die (137) then oom" '^die 137 oom  $' \
    "$(evs --filter container=ev4 --filter event=die --filter event=oom --format '{{.Action}} {{.Actor.Attributes.exitCode}}' | sed 's/<no value>//' | tr '\n' ' ')"

rdock run -d --name ev5 busybox sleep 100 >/dev/null
rdock exec ev5 true
rdock exec ev5 sh -c 'exit 4'
rdock stop -t 0 ev5 >/dev/null
rdock start ev5 >/dev/null
rdock restart -t 0 ev5 >/dev/null
rdock rm -f ev5 >/dev/null
check "exec, stop, start, restart, rm -f" \
    '^create;start;exec_create: true;exec_start: true;exec_die 0;exec_create: sh -c exit 4;exec_start: sh -c exit 4;exec_die 4;kill 15;kill 9;die 137;stop;start;kill 15;kill 9;die 137;stop;start;restart;kill 9;die 137;destroy;$' \
    "$(evs --filter container=ev5 --format '{{.Action}} {{.Actor.Attributes.exitCode}}{{.Actor.Attributes.signal}}' | sed 's/<no value>//g; s/ *$//' | tr '\n' ';')"

# --- volumes and networks
rdock volume create evv >/dev/null
rdock volume rm evv >/dev/null
check "volume create and destroy" '^volume create evv \(driver=local\);volume destroy evv \(driver=local\)$' "$(lines "$(evs --filter type=volume | cut -d' ' -f2-)")"
if rdock network create evnet >/dev/null 2>&1; then
    rdock create --name evn busybox true >/dev/null
    rdock network connect evnet evn
    rdock network disconnect evnet evn
    rdock rm evn >/dev/null
    rdock network rm evnet >/dev/null
    check "network create, connect, disconnect and destroy" '^network create ([0-9a-f]{64}) \(name=evnet, type=bridge\);network connect \1 \(container=[0-9a-f]{64}, name=evnet, type=bridge\);network disconnect \1 \(container=[0-9a-f]{64}, name=evnet, type=bridge\);network destroy \1 \(name=evnet, type=bridge\)$' "$(lines "$(evs --filter type=network | cut -d' ' -f2-)")"
else
    skip "network create and destroy" "no netavark"
fi

# --- filters, as docker's daemon reads them
check "event= twice is an alternative" '^die ev2 die ev3 die ev4 oom ev4 ' \
    "$(evs --filter event=die --filter event=oom --format '{{.Action}} {{.Actor.Attributes.name}}' | tr '\n' ' ')"
check "image= and event= together" '^3$' "$(evs --filter image=busybox --filter event=create --filter container=ev1 --filter container=ev3 --filter container=ev4 | wc -l)"
check "an unknown filter key is ignored" "^$(evs | wc -l)\$" "$(evs --filter foo=bar | wc -l)"
check "an unknown event matches nothing" '^$' "$(evs --filter event=bogus)"
out=$(rdock events --filter event 2>&1)
check_rc "a filter without = exits 125" 125 $?
check "docker's message for a bad filter" '^invalid argument "event" for "-f, --filter" flag: bad format of filter \(expected name=value\)$' "$(head -1 <<<"$out")"

# --- --since / --until
out=$(rdock events --since bogus --until 0s 2>&1)
check_rc "a bad --since exits 1" 1 $?
check "docker's message for a bad time" '^failed to parse value as time or duration: "bogus"$' "$out"
out=$(rdock events --since 1h --until 2h 2>&1)
check_rc "since after until exits 1" 1 $?
check "docker's message for since after until" '^Error response from daemon: `since` time \([0-9]+\) cannot be after `until` time \([0-9]+\)$' "$out"
check "durations: --since 10m --until 0s" 'container destroy' "$(sleep 1; rdock events --since 10m --until 0s --filter event=destroy)"
t=$(date -d "@${s0%.*}" +%Y-%m-%dT%H:%M:%S)
check "RFC 3339 without a zone is local time" 'image pull busybox:latest' "$(rdock events --since "$t" --until "$(now)")"
check "--until alone: everything recorded before it" 'image pull busybox:latest' "$(rdock events --until "$(now)")"

# --- --format
check "{{json .}} in docker's field order" \
    '^\{"status":"die","id":"[0-9a-f]{64}","from":"busybox","Type":"container","Action":"die","Actor":\{"ID":"[0-9a-f]{64}","Attributes":\{"exitCode":"3","image":"busybox","name":"ev3"\}\},"scope":"local","time":[0-9]{10},"timeNano":[0-9]{19}\}$' \
    "$(evs --filter container=ev3 --filter event=die --format '{{json .}}')"
check "{{.Status}} {{.ID}} {{.From}} {{.Scope}}" '^die [0-9a-f]{64} busybox local$' \
    "$(evs --filter container=ev3 --filter event=die --format '{{.Status}} {{.ID}} {{.From}} {{.Scope}}')"
out=$(rdock events --since 1 --until 2 --format '{{.Foo}}' 2>&1)
check_rc "a bad template exits 64 before any event" 64 $?
check "docker's message for a bad template" '^Error parsing format: template: :1:2: executing "" at <\.Foo>: can.t evaluate field Foo in type \*events\.Message$' "$out"
check "{{.Time}} and {{.TimeNano}} as integers" '^[0-9]{10} [0-9]{19}$' \
    "$(evs --filter container=ev3 --filter event=die --format '{{.Time}} {{.TimeNano}}')"

# --- commit and import
rdock run --name evc busybox sh -c 'echo hi > /hello'
cid=$(rdock commit -m 'my msg' evc evcimg:1)
rdock export evc | rdock import - evimp:2 >/dev/null
rdock rm evc >/dev/null
check "commit: docker's attributes" \
    "^container commit [0-9a-f]{64} \\(comment=my msg, image=busybox, imageID=$cid, imageRef=evcimg:1, name=evc\\)\$" \
    "$(evs --filter event=commit | cut -d' ' -f2-)"
check "commit tags the new image" "^image tag $cid \\(name=evcimg:1\\)\$" "$(evs --filter event=tag --filter image=evcimg:1 | cut -d' ' -f2-)"
check "import: docker's event" '^image import (sha256:[0-9a-f]{64}) \(name=\1\)$' "$(evs --filter event=import | cut -d' ' -f2-)"
check "import tags the new image" '^image tag sha256:[0-9a-f]{64} \(name=evimp:2\)$' "$(evs --filter event=tag --filter image=evimp:2 | cut -d' ' -f2-)"
# Later areas list the store's images: leave only what was there.
rdock rmi evcimg:1 evimp:2 >/dev/null

# --- the container's labels are attributes, and label= filters on them
rdock create --name evl -l foo=bar -l x=1 busybox true >/dev/null
rdock rm evl >/dev/null
check "labels among the attributes" '^container create [0-9a-f]{64} \(foo=bar, image=busybox, name=evl, x=1\)$' "$(evs --filter container=evl --filter event=create | cut -d' ' -f2-)"
check "label= filters: every one must hold" '^create destroy $' "$(evs --filter label=foo=bar --filter label=x --format '{{.Action}}' | tr '\n' ' ')"
check "label= with another value matches nothing" '^$' "$(evs --filter label=foo=baz)"

# --- start -a attaches first, as docker's
rdock create --name sa1 busybox sh -c 'exit 5' >/dev/null
rdock start -a sa1 >/dev/null
rdock rm sa1 >/dev/null
check "start -a: create attach start die destroy" '^create attach start die destroy $' "$(evs --filter container=sa1 --format '{{.Action}}' | tr '\n' ' ')"

# --- following the log
# (the binary itself, so that the kill reaches it)
timeout 30 "$RDOCK" events --filter container=evf --format '{{.Action}}' >"$work/ev-follow" 2>&1 &
fpid=$!
sleep 0.3
rdock run --rm --name evf busybox true
sleep 0.5
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
check "events streams what happens after it started" '^create attach start die destroy $' "$(tr '\n' ' ' <"$work/ev-follow")"
rdock events --since "$s0" --until "$(date -d '+3 sec' +%s)" --filter event=pull --format '{{.Action}}' >"$work/ev-until" &
fpid=$!
sleep 1
rdock pull -q busybox >/dev/null
wait "$fpid"
check_rc "a future --until ends the stream at that time" 0 $?
check "history then live events until --until" '^pull pull $' "$(tr '\n' ' ' <"$work/ev-until")"
