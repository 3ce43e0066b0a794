# Issue 14's everyday commands: pause/unpause, rename, diff, export,
# history, cp, and the `container`/`image` groups.

# --- pause / unpause
rdock run -d --name pz1 busybox sh -c 'while true; do date +%s%N >/tmp/tick; sleep 0.1; done' >/dev/null
out=$(rdock pause pz1)
check_rc "pause exits 0" 0 $?
check "pause prints the name" '^pz1$' "$out"
check "ps shows Up ... (Paused)" 'Up .* \(Paused\)' "$(rdock ps -f name=pz1)"
check "ps -f status=paused lists it" 'pz1' "$(rdock ps -f status=paused)"
check "inspect says paused" '"Paused": true' "$(rdock inspect pz1)"
sleep 0.4
t2=$(cat "$RDOCK_ROOT/containers/$(rdock ps -q --no-trunc -f name=pz1)/upper/tmp/tick" 2>/dev/null)
sleep 0.4
t3=$(cat "$RDOCK_ROOT/containers/$(rdock ps -q --no-trunc -f name=pz1)/upper/tmp/tick" 2>/dev/null)
if [ -n "$t2" ] && [ "$t2" = "$t3" ]; then ok "the paused container's processes are frozen"; else nok "the paused container's processes are frozen" "$t2 $t3"; fi
out=$(rdock pause pz1 2>&1)
check_rc "pause of a paused container fails" 1 $?
check "docker's message for an already paused container" '^Error response from daemon: Container [0-9a-f]{64} is already paused$' "$out"
out=$(rdock exec pz1 true 2>&1)
check "exec into a paused container is refused" 'Container [0-9a-f]{64} is paused, unpause the container before exec' "$out"
out=$(rdock unpause pz1)
check_rc "unpause exits 0" 0 $?
check "unpause prints the name" '^pz1$' "$out"
check "ps no longer says Paused" 'Up [^(]*$' "$(rdock ps -f name=pz1 | tail -n +2 | sed 's/ *pz1$//')"
sleep 0.4
t4=$(cat "$RDOCK_ROOT/containers/$(rdock ps -q --no-trunc -f name=pz1)/upper/tmp/tick" 2>/dev/null)
if [ "$t4" != "$t3" ]; then ok "unpaused processes run again"; else nok "unpaused processes run again" "$t3 $t4"; fi
out=$(rdock unpause pz1 2>&1)
check_rc "unpause of a running container fails" 1 $?
check "docker's message for a container that is not paused" '^Error response from daemon: Container [0-9a-f]{64} is not paused$' "$out"
rdock pause pz1 >/dev/null
rdock rm -f pz1 >/dev/null
check_rc "rm -f removes a paused container" 0 $?
rdock run -d --name pz3 busybox sleep 60 >/dev/null
rdock pause pz3 >/dev/null
s0=$(date +%s)
rdock stop -t 2 pz3 >/dev/null
check_rc "stop of a paused container exits 0" 0 $?
check "stop of a paused container: it exited (killed after the timeout)" 'Exited \(137\)' "$(rdock ps -a -f name=pz3)"
check_rc "stop of a paused container does not hang" 1 $(( $(date +%s) - s0 < 10 ))
rdock start pz3 >/dev/null
check "a restarted container is not shown paused" 'Up [^(]*$' "$(rdock ps -f name=pz3 | tail -n +2 | sed 's/ *pz3$//')"
rdock pause pz3 >/dev/null
rdock kill pz3 >/dev/null
check "kill of a paused container takes effect" 'Exited \(137\)' "$(rdock wait pz3 >/dev/null; rdock ps -a -f name=pz3)"
rdock rm pz3 >/dev/null
rdock create --name pz2 busybox true >/dev/null
out=$(rdock pause pz2 2>&1)
check_rc "pause of a created container fails" 1 $?
check "docker's message for a container that is not running" '^Error response from daemon: Container [0-9a-f]{64} is not running$' "$out"
out=$(rdock pause nosuch-ctr 2>&1)
check "pause of a missing container" 'No such container: nosuch-ctr' "$out"
rdock rm pz2 >/dev/null

# --- rename
rdock create --name rn1 busybox true >/dev/null
rdock create --name rn2 busybox true >/dev/null
out=$(rdock rename rn1 rn1b 2>&1)
check_rc "rename exits 0" 0 $?
check "rename prints nothing" '^$' "$out"
check "ps shows the new name" 'rn1b' "$(rdock ps -a -f name=rn1b)"
check "the old name is gone" '^$' "$(rdock ps -a -q -f name=rn1$ | grep -v "$(rdock ps -a -q -f name=rn1b)")"
out=$(rdock rename rn1b rn2 2>&1)
check_rc "rename to a used name fails" 1 $?
check "docker's conflict message" '^Error response from daemon: Error when allocating new name: Conflict. The container name "/rn2" is already in use by container "[0-9a-f]{64}". You have to remove \(or rename\) that container to be able to reuse that name.$' "$(head -1 <<<"$out")"
check "then docker's failed-to-rename line" '^Error: failed to rename container named rn1b$' "$(tail -1 <<<"$out")"
out=$(rdock rename rn1b 'bad/name' 2>&1)
check "docker's grammar for the new name" 'Invalid container name \(bad/name\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed' "$out"
out=$(rdock rename rn1b rn1b 2>&1)
check "renaming to the same name is refused" 'Renaming a container with the same name as its current name' "$out"
out=$(rdock rename rn1b '' 2>&1)
check_rc "an empty name exits 1" 1 $?
check "docker's message for an empty name" '^Error: Neither old nor new names may be empty$' "$out"
rdock rm rn1b rn2 >/dev/null
if rdock network create rn14net >/dev/null 2>&1; then
    rdock run -d --name rnold --network rn14net busybox sleep 60 >/dev/null
    rdock rename rnold rnnew
    rdock restart -t 0 rnnew >/dev/null
    out=$(rdock run --rm --network rn14net busybox nslookup rnnew 2>&1)
    check "a renamed container is found by its new name on a user network after restart" 'Address:? +10\.' "$out"
    rdock rm -f rnnew >/dev/null
    rdock network rm rn14net >/dev/null
else
    skip "rename and DNS on a user network" "no netavark"
fi

# --- diff
rdock run --name df1 busybox sh -c 'echo x >/newfile; mkdir -p /newdir/sub; echo y >/etc/motd-new; rm /bin/ls; echo z >>/etc/passwd' >/dev/null
out=$(rdock diff df1)
check_rc "diff exits 0" 0 $?
check "diff: an added file is A" '^A /newfile$' "$out"
check "diff: an added dir and its content are A" 'A /newdir.*A /newdir/sub' "$(tr '\n' ' ' <<<"$out")"
check "diff: a changed file and its dir are C" 'C /etc .*C /etc/passwd' "$(tr '\n' ' ' <<<"$out")"
check "diff: a deleted file (whiteout) is D" '^D /bin/ls$' "$out"
check "diff: lines sorted by path" '^$' "$(diff <(cut -c3- <<<"$out") <(cut -c3- <<<"$out" | LC_ALL=C sort))"
out=$(rdock diff nosuch-ctr 2>&1)
check_rc "diff of a missing container exits 1" 1 $?

# --- export
rdock export -o "$work/df1.tar" df1
check_rc "export -o of a stopped container exits 0" 0 $?
list=$(tar -tf "$work/df1.tar" 2>&1)
check "export has the container's new file" '^newfile$' "$list"
check "export has the image's files" '^bin/busybox$' "$list"
check "export leaves out deleted files" '^$' "$(grep -x 'bin/ls' <<<"$list")"
check "export keeps symlinks as links" '^l.* bin/sh -> ' "$(tar -tvf "$work/df1.tar" | grep ' bin/sh ')"
check "export reads the changed content" 'z' "$(tar -xOf "$work/df1.tar" etc/passwd | tail -1)"
check "no view mount is left behind" '^$' "$(grep "$RDOCK_ROOT/containers" /proc/self/mounts | grep view)"
rdock run -d --name ex2 busybox sh -c 'echo live >/live; sleep 60' >/dev/null
sleep 0.3
check "export of a running container to stdout" '^live$' "$(rdock export ex2 | tar -xOf - live)"
rdock rm -f df1 ex2 >/dev/null
out=$(rdock export nosuch-ctr 2>&1 >/dev/null)
check "export of a missing container" 'No such container: nosuch-ctr' "$out"

# --- history
out=$(rdock history busybox)
check "history header" '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$' "$(head -1 <<<"$out")"
check "history: the image id, created by, layer size" '^[0-9a-f]{12} +[0-9]+ (months|years) ago +hack/test-images.sh +[0-9.]+[kM]B' "$(sed -n 2p <<<"$out")"
check "history -q prints the id" '^[0-9a-f]{12}$' "$(rdock history -q busybox)"
check "history --no-trunc prints the full id" '^sha256:[0-9a-f]{64} ' "$(rdock history --no-trunc busybox | sed -n 2p)"
check "image history works too" '^IMAGE' "$(rdock image history busybox)"
out=$(rdock history nosuch-image 2>&1)
check_rc "history of a missing image exits 1" 1 $?

# --- the container and image groups
rdock container create --name grp1 busybox true >/dev/null
check "container ls -a" 'grp1' "$(rdock container ls -a)"
check "container list -a" 'grp1' "$(rdock container list -a)"
check "container inspect" '"Name"|grp1' "$(rdock container inspect grp1)"
check "container start / wait" '^0$' "$(rdock container start grp1 >/dev/null; rdock container wait grp1)"
check "container rm" '^grp1$' "$(rdock container rm grp1)"
check "image ls" 'busybox' "$(rdock image ls)"
check "image inspect" '"RepoTags"' "$(rdock image inspect busybox)"

# --- cp, both directions, running and stopped, in-root resolution
cpd=$work/cp; mkdir -p "$cpd/src/sub"; echo hostfile >"$cpd/src/f"; echo subf >"$cpd/src/sub/g"
rdock run -d --name cp1 -v cp14vol:/vol busybox sh -c 'mkdir -p /d/in; echo inner >/d/in/x; ln -s /etc /d/etclink; ln -s /d/in/x /d/xlink; ln -s ../../../../.. /d/up; sleep 60' >/dev/null
sleep 0.5
rdock cp cp1:/etc/hostname "$cpd/hostname"
check_rc "cp CTR:FILE DEST exits 0" 0 $?
check "cp out: the file's content" "^$(rdock ps -q -f name=cp1)" "$(cat "$cpd/hostname")"
rdock cp cp1:/d "$cpd/newdir" && check "cp out: a dir to a new name copies its content" '^inner$' "$(cat "$cpd/newdir/in/x")"
mkdir -p "$cpd/exist"
rdock cp cp1:/d "$cpd/exist" && check "cp out: a dir into an existing dir keeps its name" '^inner$' "$(cat "$cpd/exist/d/in/x")"
mkdir -p "$cpd/exist2"
rdock cp cp1:/d/. "$cpd/exist2" && check "cp out: DIR/. copies the content only" '^inner$' "$(cat "$cpd/exist2/in/x")"
check "cp out: symlinks are copied as links" '^/d/in/x$' "$(readlink "$cpd/exist2/xlink")"
rdock cp -L cp1:/d/xlink "$cpd/followed"
check "cp -L follows the source link" '^inner$' "$(cat "$cpd/followed")"
out=$(rdock cp cp1:/d/etclink/passwd "$cpd/passwd" 2>&1)
check "cp out: a symlink to /etc resolves in the container's /etc" '^root:x:0:0' "$(head -1 "$cpd/passwd")"
rdock cp cp1:/d/up/etc/hostname "$cpd/up-hostname" 2>/dev/null
check "cp out: ../.. stays inside the container's root" "^$(rdock ps -q -f name=cp1)" "$(cat "$cpd/up-hostname" 2>&1)"
out=$(rdock cp cp1:/nope "$cpd/x" 2>&1)
check_rc "cp out of a missing path exits 1" 1 $?
check "docker's message for a missing path" '^Error: No such container:path: cp1:/nope$' "$out"
out=$(rdock cp cp1:/etc/hostname/ "$cpd/x" 2>&1)
check "cp out: FILE/ is not a directory" 'not a directory' "$out"
out=$(rdock cp cp1:/etc/hostname "$cpd/nodir/" 2>&1)
check_rc "cp out: a file to a missing DIR/ fails" 1 $?
out=$(rdock cp cp1:/d "$cpd/hostname" 2>&1)
check "cp out: a directory onto a file is refused" 'cannot copy directory' "$out"
check "cp CTR:SRC - writes a tar" '^d/in/x$' "$(rdock cp cp1:/d - | tar -tf - | grep in/x)"
rdock cp "$cpd/src/f" cp1:/tmp/
check_rc "cp SRC CTR:DIR/ exits 0" 0 $?
check "cp in: the file reached the running container" '^hostfile$' "$(rdock exec cp1 cat /tmp/f)"
rdock cp "$cpd/src" cp1:/tmp/newsrc
check "cp in: a dir to a new name" '^subf$' "$(rdock exec cp1 cat /tmp/newsrc/sub/g)"
check "cp in: files belong to root" '^0 0$' "$(rdock exec cp1 stat -c '%u %g' /tmp/newsrc/sub/g)"
rdock cp "$cpd/src/." cp1:/vol
check "cp in: into a volume of a running container" '^subf$' "$(rdock exec cp1 cat /vol/sub/g)"
rdock cp "$cpd/src/f" cp1:/d/etclink/cp14-through-link
check "cp in: through a symlink to /etc lands in the container's /etc" '^hostfile$' "$(rdock exec cp1 cat /etc/cp14-through-link)"
check "cp in: nothing written to the host's /etc" '^$' "$(ls /etc/cp14-through-link 2>/dev/null)"
rdock cp "$cpd/src/f" cp1:/d/up/tmp/cp14-up 2>/dev/null
check "cp in: ../.. stays inside the container's root" '^hostfile$' "$(rdock exec cp1 cat /tmp/cp14-up)"
check "cp in: nothing written to the host's /tmp" '^$' "$(ls /tmp/cp14-up 2>/dev/null)"
tar -C "$cpd/src" -cf - f sub | rdock cp - cp1:/tmp
check "cp - CTR:DIR unpacks a tar from stdin" '^subf$' "$(rdock exec cp1 cat /tmp/sub/g)"
out=$(rdock cp "$cpd/src/f" cp1:/nodir/x 2>&1)
check "cp in: a missing parent" '^Error: No such container:path: cp1:/nodir/x$' "$out"
out=$(rdock cp "$cpd/src/f" "$cpd/y" 2>&1)
check "cp between two local paths is refused" '^must specify at least one container source$' "$out"
out=$(rdock cp cp1:/etc/hostname cp1:/tmp 2>&1)
check "cp between containers is refused" '^copying between containers is not supported$' "$out"
rdock stop -t 1 cp1 >/dev/null
rdock cp "$cpd/src/f" cp1:/tmp/stopped-f
check_rc "cp into a stopped container exits 0" 0 $?
rdock cp cp1:/tmp/stopped-f "$cpd/stopped-back"
check "cp out of a stopped container" '^hostfile$' "$(cat "$cpd/stopped-back")"
check "cp into a stopped container shows in diff" '^A /tmp/stopped-f$' "$(rdock diff cp1)"
check "no view mount is left behind by cp" '^$' "$(grep "$RDOCK_ROOT/containers" /proc/self/mounts | grep view)"
check "cp into a stopped container is there when it runs" '^hostfile$' "$(rdock start cp1 >/dev/null; rdock exec cp1 cat /tmp/stopped-f)"
rdock rm -f cp1 >/dev/null
rdock volume rm cp14vol >/dev/null
