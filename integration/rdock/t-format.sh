# --format (Go templates, table, json) and the ps/images filters, against
# docker 20.10's outputs for the same setup (transcripts in issue 14's notes):
# fm1 running (labels when run has -l), fm2 exited 2, fm3 created, fm4
# running with volume fmvol; fimg:1 = busybox; flab:1 (label v=1) and two
# flab:2 builds, the first left dangling.

# same DESC WANT GOT: exact comparison.
same() { if [ "$3" = "$2" ]; then ok "$1"; else nok "$1" "want: $2"$'\n'"got:  $3"; fi; }
errf=$(mktemp)

# mkimg NAME:TAG CREATED LABELS-JSON CONTENT: loads a one-layer image.
mkimg() {
    local d
    d=$(mktemp -d)
    mkdir "$d/l" && echo "$4" >"$d/l/f"
    tar -cf "$d/layer.tar" -C "$d/l" f
    jq -n -c --arg d "sha256:$(sha256sum "$d/layer.tar" | cut -d' ' -f1)" --arg c "$2" --argjson l "$3" \
        '{created:$c,architecture:"amd64",os:"linux",config:{Labels:$l,Cmd:["sh"]},rootfs:{type:"layers",diff_ids:[$d]}}' >"$d/c.json"
    jq -n -c --arg t "$1" '[{Config:"c.json",RepoTags:[$t],Layers:["layer.tar"]}]' >"$d/manifest.json"
    tar -cf "$d/img.tar" -C "$d" manifest.json c.json layer.tar
    rdock load -i "$d/img.tar" >/dev/null
    rm -rf "$d"
}

labels=()
has_labels=0
if "$RDOCK" run --help 2>/dev/null | grep -q -- '--label'; then
    labels=(-l app=web -l tier=1)
    has_labels=1
fi
rdock run -d --name fm1 "${labels[@]}" busybox sleep 1000 >/dev/null
rdock run --name fm2 --network none busybox sh -c 'exit 2' >/dev/null
rdock create --name fm3 --network none busybox echo hi >/dev/null
rdock run -d --name fm4 --network none -v fmvol:/data busybox sleep 1000 >/dev/null
rdock tag busybox fimg:1
mkimg flab:1 2025-06-01T00:00:00Z '{"v":"1"}' one
mkimg flab:2 2025-07-01T00:00:00Z '{}' two
mkimg flab:2 2025-08-01T00:00:00Z '{}' three
dangling=$(rdock images -q -f dangling=true)

# --- ps --format
same "ps: table with the chosen columns" "CONTAINER ID   NAMES
$(rdock ps -q -f name=fm4)   fm4
$(rdock ps -q -f name=fm1)   fm1" "$(rdock ps --format 'table {{.ID}}\t{{.Names}}')"
out=$(rdock ps -a -f name=fm4 --format '{{json .}}')
check "ps: {{json .}} has docker's keys, sorted, all strings" \
    '^\{"Command":"\\"sleep 1000\\"","CreatedAt":"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \+0000 UTC","ID":"[0-9a-f]{12}","Image":"busybox","Labels":"","LocalVolumes":"1","Mounts":"fmvol","Names":"fm4","Networks":"none","Ports":"","RunningFor":"[^"]+ ago","Size":"[0-9.]+k?B \(virtual [0-9.]+[kM]B\)","State":"running","Status":"Up [^"]+"\}$' "$out"
same "ps: Command quotes an argument with a space" "\"sh -c 'exit 2'\"" "$(rdock ps -a -f name=fm2 --format '{{.Command}}')"
same "ps: State and Status of an exited container" "exited|Exited (2)" "$(rdock ps -a -f name=fm2 --format '{{.State}}|{{.Status}}' | sed 's/) .*/)/')"
same "ps: LocalVolumes, Mounts, Networks of a none container" "0||none" "$(rdock ps -a -f name=fm3 --format '{{.LocalVolumes}}|{{.Mounts}}|{{.Networks}}')"
check "ps: Networks of a default container" '^(bridge|host)$' "$(rdock ps -f name=fm1 --format '{{.Networks}}')"
same "ps: --no-trunc gives the full ID" 64 "$(rdock ps -f name=fm1 --no-trunc --format '{{.ID}}' | tr -d '\n' | wc -c)"
same "ps: upper, title, json, len, truncate, pad" 'FM1|Running|"fm1"|3|fm|  fm1   |' \
    "$(rdock ps -f name=fm1 --format '{{upper .Names}}|{{title .State}}|{{json .Names}}|{{len .Names}}|{{truncate .Names 2}}|{{pad .Names 2 3}}|')"
check "ps: lower" '^up ' "$(rdock ps -f name=fm1 --format '{{lower .Status}}')"
same "ps: println adds a line" "fm4||fm1||" "$(rdock ps --format '{{println .Names}}' | tr '\n' '|')"
same "ps: if/else and range over split" "fm4:running:[a=b][c=d] fm1:running:[a=b][c=d]" \
    "$(rdock ps --format '{{.Names}}:{{if eq .State "running"}}running{{else}}other{{end}}:{{range split "a=b,c=d" ","}}[{{.}}]{{end}}' | tr '\n' ' ' | sed 's/ $//')"
if [ $has_labels = 1 ]; then
    same "ps: Labels and .Label" "app=web,tier=1|web|1" "$(rdock ps -f name=fm1 --format '{{.Labels}}|{{.Label "app"}}|{{.Label "tier"}}')"
    same "ps: join/split/index of Labels" "app=web;tier=1|app=web" \
        "$(rdock ps -f name=fm1 --format '{{join (split .Labels ",") ";"}}|{{index (split .Labels ",") 0}}')"
else
    skip "ps: Labels and .Label" "run has no -l yet"
fi
out=$(rdock ps --format '{{.Foo}}' 2>"$errf"); rc=$?
same "ps: unknown field: docker's message" 'failed to execute template: template: :1:2: executing "" at <.Foo>: can'"'"'t evaluate field Foo in type *formatter.ContainerContext' "$(cat "$errf")"
same "ps: unknown field: exit 1, nothing on stdout" "1|" "$rc|$out"
out=$(rdock ps --format '{{.Names' 2>&1); rc=$?
same "ps: unclosed action" "1|failed to parse template: template: :1: unclosed action" "$rc|$out"
same "ps: unknown function" 'failed to parse template: template: :1: function "nosuch" not defined' "$(rdock ps --format '{{nosuch .Names}}' 2>&1)"
same "ps: index out of range" 'failed to execute template: template: :1:2: executing "" at <index (split .Names ",") 1>: error calling index: reflect: slice index out of range' \
    "$(rdock ps --format '{{index (split .Names ",") 1}}' 2>&1)"
same "ps: range over a string" 'failed to execute template: template: :1:17: executing "" at <.Names>: range can'"'"'t iterate over fm4' \
    "$(rdock ps --format '{{range $k,$v := .Names}}{{$k}}{{end}}' 2>&1)"
check "ps: json format is one object per line" '^\{"Command":.*"Names":"fm1".*\}$' "$(rdock ps --format json)"
check "ps: default table keeps docker's columns" '^CONTAINER ID   IMAGE     COMMAND +CREATED +STATUS +PORTS +NAMES$' "$(rdock ps --format table | head -1)"

# --- ps filters (docker: f4 f3 f2 f1 newest first)
pf() { rdock ps -a --format '{{.Names}}' "${@/#/--filter=}" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
same "ps -f status=running" "fm4 fm1" "$(pf status=running)"
same "ps -f status=exited" "fm2" "$(pf status=exited)"
same "ps -f status=created" "fm3" "$(pf status=created)"
same "ps -f status=bogus" "Error response from daemon: Invalid filter 'status=bogus'" "$(pf status=bogus)"
same "ps -f name=fm1" "fm1" "$(pf name=fm1)"
same "ps -f name=fm (a regexp, unanchored)" "fm4 fm3 fm2 fm1" "$(pf name=fm)"
same "ps -f name=^fm1\$" "fm1" "$(pf 'name=^fm1$')"
same "ps -f id=PREFIX" "fm1" "$(pf "id=$(rdock ps -q -f name=fm1 | cut -c1-6)")"
same "ps -f before=fm3" "fm2 fm1" "$(pf before=fm3)"
same "ps -f since=fm2" "fm4 fm3" "$(pf since=fm2)"
same "ps -f before=nosuch" "Error response from daemon: no such container nosuch" "$(pf before=nosuch)"
same "ps -f exited=2" "fm2" "$(pf exited=2)"
same "ps -f exited=0" "" "$(pf exited=0)"
same "ps -f exited=x" 'Error response from daemon: strconv.Atoi: parsing "x": invalid syntax' "$(pf exited=x)"
same "ps -f ancestor=busybox" "fm4 fm3 fm2 fm1" "$(pf ancestor=busybox)"
same "ps -f ancestor=fimg:1 (by image ID)" "fm4 fm3 fm2 fm1" "$(pf ancestor=fimg:1)"
same "ps -f ancestor=nosuch" "" "$(pf ancestor=nosuch)"
same "ps -f volume=fmvol" "fm4" "$(pf volume=fmvol)"
same "ps -f volume=/data" "fm4" "$(pf volume=/data)"
same "ps -f network=none" "fm4 fm3 fm2" "$(pf network=none)"
same "ps -f health=none" "fm4 fm3 fm2 fm1" "$(pf health=none)"
same "ps -f isolation=default" "fm4 fm3 fm2 fm1" "$(pf isolation=default)"
same "ps -f bogus=1" "Error response from daemon: Invalid filter 'bogus'" "$(pf bogus=1)"
out=$(rdock ps -f status 2>&1); rc=$?
same "ps -f without =: flag error, exit 125" "125|invalid argument \"status\" for \"-f, --filter\" flag: bad format of filter (expected name=value)
See 'rdock ps --help'." "$rc|$out"
same "ps: one key's filters OR" "fm4 fm3 fm1" "$(pf status=running status=created)"
same "ps: different keys AND" "fm4" "$(pf name=fm volume=fmvol)"
same "ps: a status filter implies -a" "fm2" "$(rdock ps --format '{{.Names}}' -f status=exited)"
same "ps: exited does not" "" "$(rdock ps --format '{{.Names}}' -f exited=2)"
if [ $has_labels = 1 ]; then
    same "ps -f label=app" "fm1" "$(pf label=app)"
    same "ps -f label=app=web" "fm1" "$(pf label=app=web)"
    same "ps -f label=app=nope" "" "$(pf label=app=nope)"
    same "ps: every label filter must hold" "" "$(pf label=app label=nope)"
else
    skip "ps -f label" "run has no -l yet"
fi

# --- images --format and filters (docker: newest first)
imf() { rdock images --format '{{.Repository}}:{{.Tag}}' "${@/#/--filter=}" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
same "images: all, newest first" "flab:2 <none>:<none> flab:1 busybox:latest fimg:1" "$(imf)"
out=$(rdock images --format '{{json .}}' fimg)
check "images: {{json .}} has docker's keys and values" \
    '^\{"Containers":"N/A","CreatedAt":"2024-01-01 00:00:00 \+0000 UTC","CreatedSince":"[0-9]+ (months|years) ago","Digest":"(\\u003cnone\\u003e|sha256:[0-9a-f]{64})","ID":"[0-9a-f]{12}","Repository":"fimg","SharedSize":"N/A","Size":"[0-9.]+[kM]B","Tag":"1","UniqueSize":"N/A","VirtualSize":"[0-9.]+[kM]B"\}$' "$out"
same "images: table with a header per field" "REPOSITORY:TAG   IMAGE ID
flab:2           $(rdock images -q flab:2)
flab:1           $(rdock images -q flab:1)" "$(rdock images --format 'table {{.Repository}}:{{.Tag}}\t{{.ID}}' flab)"
same "images: --no-trunc ID" "sha256:" "$(rdock images --no-trunc --format '{{.ID}}' flab:1 | cut -c1-7)"
same "images -f dangling=true" "<none>:<none>" "$(imf dangling=true)"
same "images -f dangling=false" "flab:2 flab:1 busybox:latest fimg:1" "$(imf dangling=false)"
same "images -f dangling=x" "Error response from daemon: Invalid filter 'dangling=[x]'" "$(imf dangling=x)"
same "images -f reference=flab" "flab:2 flab:1" "$(imf reference=flab)"
same "images -f reference='flab:*'" "flab:2 flab:1" "$(imf 'reference=flab:*')"
same "images -f reference='f*'" "flab:2 flab:1 fimg:1" "$(imf 'reference=f*')"
same "images -f reference=busybox:latest" "busybox:latest" "$(imf reference=busybox:latest)"
same "images -f before=flab:1" "busybox:latest fimg:1" "$(imf before=flab:1)"
same "images -f since=flab:1" "flab:2 <none>:<none>" "$(imf since=flab:1)"
same "images -f before=nosuch" "Error response from daemon: No such image: nosuch" "$(imf before=nosuch)"
same "images -f label=v" "flab:1" "$(imf label=v)"
same "images -f label=v=1" "flab:1" "$(imf label=v=1)"
same "images -f label=v=2" "" "$(imf label=v=2)"
same "images: different keys AND" "flab:1" "$(imf reference=flab label=v)"
same "images -f bogus=1" "Error response from daemon: Invalid filter 'bogus'" "$(imf bogus=1)"
out=$(rdock images -f reference 2>&1); rc=$?
same "images -f without =: flag error, exit 125" "125|invalid argument \"reference\" for \"-f, --filter\" flag: bad format of filter (expected name=value)
See 'rdock images --help'." "$rc|$out"
same "images 'f*' (the positional is a reference filter)" "flab:2 flab:1 fimg:1" "$(rdock images --format '{{.Repository}}:{{.Tag}}' 'f*' | tr '\n' ' ' | sed 's/ $//')"
out=$(rdock images --format '{{.Foo}}' 2>&1); rc=$?
same "images: unknown field" "1|template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.imageContext" "$rc|$out"
out=$(rdock image ls --format '{{.ID' 2>&1); rc=$?
same "image ls: unclosed action" "1|template parsing error: template: :1: unclosed action" "$rc|$out"

# --- inspect -f: the whole inspect object
same "inspect -f: fields, nested, maps, json" "/fm4 running map[] {}" \
    "$(rdock inspect -f '{{.Name}} {{.State.Status}} {{.Config.Labels}} {{json .Config.Labels}}' fm4)"
same "inspect -f: a volume mount" "/FM4 1 volume fmvol /data local" \
    "$(rdock inspect -f '{{upper .Name}} {{len .Mounts}} {{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Driver}}{{end}}' fm4)"
same "inspect -f: a missing map key" "<no value>|" "$(rdock inspect -f '{{.Config.Labels.nokey}}|{{index .Config.Labels "nokey"}}' fm4)"
out=$(rdock inspect -f '{{.Foo}}' fm4 2>"$errf"); rc=$?
same "inspect -f: unknown field: an empty line, docker's message, exit 1" "1|<>|template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"" "$rc|<$out>|$(cat "$errf")"
same "inspect -f: unknown nested field" 'template parsing error: template: :1:8: executing "" at <.State.Foo>: map has no entry for key "Foo"' "$(rdock inspect -f '{{.State.Foo}}' fm4 2>&1 >/dev/null)"
out=$(rdock inspect -f '{{.Name' fm4 2>&1); rc=$?
same "inspect -f: a parse error exits 64" "64|template parsing error: template: :1: unclosed action" "$rc|$out"
out=$(rdock inspect -f '{{.Name}}' fm4 nosuch 2>"$errf"); rc=$?
same "inspect -f: one missing object" "1|/fm4|Error: No such object: nosuch" "$rc|$out|$(cat "$errf")"
same "inspect -f on an image" "$(rdock images -q --no-trunc fimg:1)" "$(rdock inspect -f '{{.Id}}' fimg:1)"
same "image inspect -f: config labels" "1" "$(rdock image inspect -f '{{.Config.Labels.v}}' flab:1)"
out=$(rdock inspect -f '{{.Name}}' fimg:1 2>&1); rc=$?
same "inspect -f: images have no .Name" "1|
template parsing error: template: :1:2: executing \"\" at <.Name>: map has no entry for key \"Name\"" "$rc|$out"

# --- version, info
same "version -f" "1.41 1.41" "$(rdock version -f '{{.Client.APIVersion}} {{.Server.ApiVersion}}')"
check "version -f json .Client" '^\{"ApiVersion":"1.41",.*"Os":"linux"' "$(rdock version -f '{{json .Client}}')"
out=$(rdock version -f '{{.Foo}}' 2>&1); rc=$?
same "version -f: unknown field" "1|
template: version:1:2: executing \"version\" at <.Foo>: can't evaluate field Foo in type system.versionInfo" "$rc|$out"
out=$(rdock version -f '{{.Foo' 2>&1); rc=$?
same "version -f: a parse error exits 64" "64|template parsing error: template: version:1: unclosed action" "$rc|$out"
same "info -f: counts and driver" "4 2 0 2 overlay2 $RDOCK_ROOT" \
    "$(rdock info -f '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Driver}} {{.DockerRootDir}}')"
check "info -f json .Plugins" '^\{"Authorization":null,"Log":\["json-file"\],"Network":\[.*\],"Volume":\["local"\]\}$' "$(rdock info -f '{{json .Plugins}}')"
out=$(rdock info -f '{{.Foo}}' 2>&1); rc=$?
same "info -f: unknown field" "1|
template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type system.info" "$rc|$out"

# --- network ls, volume ls
check "network ls --format table" '^NAME      DRIVER$' "$(rdock network ls --format 'table {{.Name}}\t{{.Driver}}' | head -1)"
check "network ls --format table rows" '^none      null$' "$(rdock network ls --format 'table {{.Name}}\t{{.Driver}}')"
check "network ls {{json .}}" '^\{"CreatedAt":"[^"]*","Driver":"host","ID":"[0-9a-f]{12}","IPv6":"false","Internal":"false","Labels":"","Name":"host","Scope":"local"\}$' \
    "$(rdock network ls --format '{{json .}}')"
out=$(rdock network ls --format '{{.Foo}}' 2>&1); rc=$?
same "network ls: unknown field" "1|template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *network.networkContext" "$rc|$out"
same "volume ls {{json .}}" "{\"Driver\":\"local\",\"Labels\":\"\",\"Links\":\"N/A\",\"Mountpoint\":\"$RDOCK_ROOT/volumes/fmvol/_data\",\"Name\":\"fmvol\",\"Scope\":\"local\",\"Size\":\"N/A\"}" \
    "$(rdock volume ls --format '{{json .}}')"
same "volume ls --format table" "VOLUME NAME   MOUNTPOINT
fmvol         $RDOCK_ROOT/volumes/fmvol/_data" "$(rdock volume ls --format 'table {{.Name}}\t{{.Mountpoint}}')"
same "volume ls: default table" "DRIVER    VOLUME NAME
local     fmvol" "$(rdock volume ls)"
out=$(rdock volume ls --format '{{.Foo}}' 2>&1); rc=$?
same "volume ls: unknown field" "1|template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.volumeContext" "$rc|$out"

rdock rm -f fm1 fm2 fm3 fm4 >/dev/null
rdock volume rm fmvol >/dev/null
rdock rmi fimg:1 flab:1 flab:2 $dangling >/dev/null
rm -f "$errf"
