# Issue 14's image commands: commit, import, push, pull -a, credential helpers.

# --- commit
rdock run -d --name cm1 busybox sh -c 'echo hi >/hello; mkdir -p /d/e; ln -s /etc/passwd /d/pw; rm /bin/ls; sleep 60' >/dev/null
sleep 0.5
out=$(rdock commit cm1)
check_rc "commit without a name exits 0" 0 $?
check "commit prints the image id like docker" '^sha256:[0-9a-f]{64}$' "$out"
check "the unnamed image is <none>" "<none> +<none> +${out:7:12}" "$(rdock images)"
check "the container runs on after the commit (unpaused)" 'Up [^(]*$' "$(rdock ps -f name=cm1 | tail -n +2 | sed 's/ *cm1$//')"
out=$(rdock commit -m 'my msg' -a 'Me <me@x>' -c 'CMD ["cat","/hello"]' -c 'ENV A=1' -c 'EXPOSE 80' cm1 cimg:2)
check_rc "commit with -m -a -c and a name exits 0" 0 $?
check "run the committed image: its CMD sees the container's file" '^hi$' "$(rdock run --rm cimg:2)"
check "the committed image keeps the symlink as a link" '^/etc/passwd$' "$(rdock run --rm cimg:2 readlink /d/pw)"
check "a deleted file stays deleted in the committed image" '^gone$' "$(rdock run --rm cimg:2 sh -c 'test -e /bin/ls || echo gone')"
check "the image's files are still there" '^ok$' "$(rdock run --rm cimg:2 sh -c 'test -x /bin/busybox && echo ok')"
check "ENV from -c" '^1$' "$(rdock run --rm cimg:2 sh -c 'echo $A')"
ins=$(rdock image inspect cimg:2)
check "inspect: Author" '"Author": "Me <me@x>"' "$ins"
check "inspect: Comment" '"Comment": "my msg"' "$ins"
check "inspect: ExposedPorts" '"80/tcp"' "$ins"
out=$(rdock history cimg:2)
check "history shows the new layer first, CREATED BY the container's command" "^[0-9a-f]{12} +([0-9]+ seconds?|Less than a second) ago +sh -c echo hi >/hello.* +[0-9.]+k?B +my msg$" "$(sed -n 2p <<<"$out")"
check "history: the base layer follows" 'hack/test-images.sh' "$(sed -n 3p <<<"$out")"
rdock run --name cm3 busybox sh -c 'mkdir -p /od && echo a >/od/a && echo b >/od/b' >/dev/null
rdock commit cm3 cimg:od >/dev/null
rdock run --name cm4 cimg:od sh -c 'rm -rf /od && mkdir /od && echo n >/od/n' >/dev/null
rdock commit cm4 cimg:opaque >/dev/null
check "an opaque directory hides the image's content below it" '^n$' "$(rdock run --rm cimg:opaque ls /od)"
rdock rm cm3 cm4 >/dev/null
rdock run --name cm5 busybox cp /bin/busybox /capped >/dev/null
cid=$(rdock ps -a -q --no-trunc -f name=cm5)
if command -v getcap >/dev/null && setcap cap_net_raw+ep "$RDOCK_ROOT/containers/$cid/upper/capped" 2>/dev/null; then
    rdock commit cm5 cimg:cap >/dev/null
    top=$(rdock image inspect cimg:cap | grep -o '"LowerDir": "[^:"]*' | cut -d'"' -f4)
    check "file capabilities are kept in the committed layer" 'cap_net_raw' "$(getcap "$top/capped")"
    rdock rmi cimg:cap >/dev/null
else
    skip "file capabilities are kept in the committed layer" "no setcap/getcap"
fi
rdock rm cm5 >/dev/null
rdock stop -t 1 cm1 >/dev/null
rdock commit cm1 cimg:stopped >/dev/null
check_rc "commit of a stopped container exits 0" 0 $?
check "the stopped container's commit runs" '^hi$' "$(rdock run --rm cimg:stopped cat /hello)"
check "the default Cmd is the container's command" '"sh",' "$(rdock image inspect cimg:stopped | grep -A3 '"Cmd"' | head -3 | tr -d ' \n')"
out=$(rdock commit -c 'FOO bar' cm1 cimg:3 2>&1)
check_rc "a bad change exits 1" 1 $?
check "docker's message for an unknown change" '^Error response from daemon: foo is not a valid change command$' "$out"
out=$(rdock commit -c 'RUN echo' cm1 cimg:3 2>&1)
check "docker's message for RUN" '^Error response from daemon: run is not a valid change command$' "$out"
out=$(rdock commit -c 'ENV' cm1 cimg:3 2>&1)
check "docker's message for an empty ENV" '^Error response from daemon: ENV requires at least one argument$' "$out"
out=$(rdock commit -c 'EXPOSE abc' cm1 cimg:3 2>&1)
check "docker's message for a bad port" '^Error response from daemon: Invalid containerPort: abc$' "$out"
out=$(rdock commit nosuch-ctr x:1 2>&1)
check_rc "commit of a missing container exits 1" 1 $?
check "docker's message for a missing container" '^Error response from daemon: No such container: nosuch-ctr$' "$out"
out=$(rdock commit cm1 Bad:Name 2>&1)
check_rc "commit to a bad name exits 1" 1 $?
check "docker's message for a bad name" '^invalid reference format: repository name .*must be lowercase$' "$out"
rdock run -d --name cm2 busybox sh -c 'while true; do date +%s%N >/tmp/tick; sleep 0.05; done' >/dev/null
sleep 0.3
rdock commit --pause=false cm2 cimg:np >/dev/null
check_rc "commit --pause=false exits 0" 0 $?
rdock commit -p cm2 cimg:p >/dev/null
check_rc "commit -p exits 0" 0 $?
check "the container is not left paused" 'Up [^(]*$' "$(rdock ps -f name=cm2 | tail -n +2 | sed 's/ *cm2$//')"
rdock rm -f cm1 cm2 >/dev/null

# --- push (to the harness's registry) and pull back
reg=127.0.0.1:$port
rdock tag cimg:2 "$reg/rdtest/cimg:2"
out=$(rdock push "$reg/rdtest/cimg:2" 2>&1)
check_rc "push exits 0" 0 $?
check "push: docker's first line" "^The push refers to repository \[$reg/rdtest/cimg\]$" "$(head -1 <<<"$out")"
check "push: the committed layer is pushed" '^[0-9a-f]{12}: Pushed$' "$out"
check "push: docker's last line" '^2: digest: sha256:[0-9a-f]{64} size: [0-9]+$' "$(tail -1 <<<"$out")"
dig=$(tail -1 <<<"$out" | cut -d' ' -f3)
rdock rmi "$reg/rdtest/cimg:2" >/dev/null
out=$(rdock pull "$reg/rdtest/cimg:2" 2>&1)
check "pull of the pushed image: same digest" "Digest: $dig" "$out"
check "the pushed image runs with the committed change" '^hi$' "$(rdock run --rm "$reg/rdtest/cimg:2")"
out=$(rdock push "$reg/rdtest/nosuch:1" 2>&1)
check_rc "push of a missing image exits 1" 1 $?
check "docker's message for a missing image" "^An image does not exist locally with the tag: $reg/rdtest/nosuch$" "$(tail -1 <<<"$out")"
rdock rmi cimg:2 cimg:stopped cimg:np cimg:p cimg:od cimg:opaque "$reg/rdtest/cimg:2" >/dev/null 2>&1

# --- import
imp=$work/imp; mkdir -p "$imp/src/bin"
cp /bin/busybox "$imp/src/bin/busybox"; echo hello >"$imp/src/hello.txt"
tar -C "$imp/src" -cf "$imp/imp.tar" . && gzip -c "$imp/imp.tar" >"$imp/imp.tgz" && zstd -q -c "$imp/imp.tar" >"$imp/imp.tar.zst"
out=$(rdock import "$imp/imp.tar")
check_rc "import FILE exits 0" 0 $?
check "import prints the image id" '^sha256:[0-9a-f]{64}$' "$out"
check "the imported image is untagged" "<none> +<none> +${out:7:12}" "$(rdock images)"
rdock import "$imp/imp.tar" imp:1 >/dev/null
check "import FILE REPO:TAG names it" '^imp +1 ' "$(rdock images imp)"
rdock import - imp:2 <"$imp/imp.tar" >/dev/null
check_rc "import - reads stdin" 0 $?
out=$(cat "$imp/imp.tar" | rdock import -m 'imported msg' -c 'CMD ["/bin/busybox","cat","/hello.txt"]' - imp:3)
check "import -c CMD: the image runs it" '^hello$' "$(rdock run --rm imp:3)"
check "import -m: history shows the message" ' imported msg$' "$(rdock history imp:3 | sed -n 2p)"
check "import without -m: Imported from -" 'Imported from -$' "$(rdock history imp:1 | sed -n 2p)"
check "an imported image has no Cmd" '"Cmd": null|^$' "$(rdock image inspect imp:1 | grep '"Cmd"')"
rdock import "$imp/imp.tgz" imp:gz >/dev/null
check "a gzip tar imports" '^hello$' "$(rdock run --rm imp:gz /bin/busybox cat /hello.txt)"
rdock import "$imp/imp.tar.zst" imp:zst >/dev/null
check "a zstd tar imports" '^hello$' "$(rdock run --rm imp:zst /bin/busybox cat /hello.txt)"
python3 -m http.server --bind 127.0.0.1 --directory "$imp" 0 >"$imp/http.log" 2>&1 &
hpid=$!
for _ in $(seq 50); do hport=$(grep -o 'port [0-9]*' "$imp/http.log" | cut -d' ' -f2); [ -n "$hport" ] && break; sleep 0.1; done
out=$(rdock import "http://127.0.0.1:$hport/imp.tgz" imp:url)
check_rc "import URL exits 0" 0 $?
check "import URL: docker's Downloading line, then the id" "^Downloading from http://127.0.0.1:$hport/imp.tgz sha256:[0-9a-f]{64}\$" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
check "import URL: the image runs" '^hello$' "$(rdock run --rm imp:url /bin/busybox cat /hello.txt)"
check "import URL: Imported from URL" "Imported from http://127.0.0.1:$hport/imp.tgz" "$(rdock history --no-trunc imp:url)"
kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
out=$(rdock import /nonexistent.tar x:1 2>&1)
check_rc "import of a missing file exits 1" 1 $?
check "docker's message for a missing file" '^open /nonexistent.tar: no such file or directory$' "$out"
nblobs=$(ls "$RDOCK_ROOT/blobs/sha256" | wc -l)
out=$(echo notatar | rdock import - imp:bad 2>&1)
check_rc "import of a non-tar exits 1" 1 $?
check "import of a non-tar: docker's message" '^Error response from daemon: Error processing tar file: ' "$out"
check "a refused import leaves no blob behind" "^$nblobs\$" "$(ls "$RDOCK_ROOT/blobs/sha256" | wc -l)"
python3 -c '
import tarfile, io, sys
t = tarfile.open(sys.argv[1], "w")
for name in ("ok.txt", "../../../../tmp/rdock-import-escape"):
    i = tarfile.TarInfo(name); d = b"x\n"; i.size = len(d); t.addfile(i, io.BytesIO(d))
t.close()' "$imp/evil.tar"
out=$(rdock import "$imp/evil.tar" imp:evil 2>&1)
check_rc "import of a tar with .. exits 1" 1 $?
check "the escaping entry is named" 'rdock-import-escape' "$out"
check "nothing was written outside" '^$' "$(ls /tmp/rdock-import-escape 2>/dev/null)"
check "no image from a refused tar" '^$' "$(rdock images -q imp:evil)"
out=$(rdock import "$imp/imp.tar" BAD 2>&1)
check "docker's message for a bad name" 'invalid reference format: repository name .*must be lowercase$' "$out"
rdock rmi imp:1 imp:2 imp:3 imp:gz imp:zst imp:url >/dev/null 2>&1
rdock image prune -f >/dev/null 2>&1
