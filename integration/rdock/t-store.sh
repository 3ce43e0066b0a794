# The store and its records: private to root (a local user cannot reach
# unpacked layers, running roots or records), names that become paths,
# what layers and the default profile may not do, leftovers of dead pulls,
# damaged records. Commands as another user run through setpriv as nobody.
sf=$work/store
mkdir -p "$sf"
# Through sh: setpriv itself still holds root's capabilities when it looks
# the program up, so only a program run by nobody's shell shows nobody's view.
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups /bin/sh -c 'exec "$@"' sh "$@"; }

# --- item 1: the store is private; an older 0755 store is tightened
# A root whose parents anyone may cross, so only rdock's own modes decide.
pub=$(mktemp -d /tmp/rdock-store.XXXXXX)
chmod 755 "$pub"
proot=$pub/root
prd() { RDOCK_ROOT=$proot rdock "$@"; }
prd pull -q busybox >/dev/null 2>&1
id=$(prd run -d -e SECRET=hunter2 busybox sh -c 'cp /bin/busybox /bin/su-copy; chmod 4755 /bin/su-copy; sleep 30' 2>&1)
sleep 0.5
check "store root is 0710 like /var/lib/docker" '^710$' "$(stat -c %a "$proot")"
check "containers/, layers/, blobs/ are 0700" '^700 700 700$' \
    "$(stat -c %a "$proot/containers" "$proot/layers" "$proot/blobs" | xargs)"
check "the record and bundle holding -e are 0600" '^600 600$' \
    "$(stat -c %a "$proot/containers/$id/config.json" "$proot/containers/$id/bundle/config.json" | xargs)"
layer=$(ls -d "$proot"/layers/* | head -1)
out=$(as_nobody ls "$layer/bin" 2>&1; as_nobody "$layer/bin/busybox" true 2>&1; echo rc=$?)
check "nobody cannot reach an unpacked layer" 'Permission denied' "$out"
out=$(as_nobody cat "$proot/containers/$id/bundle/config.json" 2>&1)
check "nobody cannot read a container's env" 'Permission denied' "$out"
out=$(as_nobody "$proot/containers/$id/bundle/rootfs/bin/su-copy" id 2>&1)
check "nobody cannot run a setuid file in a running container's root" 'Permission denied' "$out"
out=$(as_nobody env RDOCK_ROOT="$proot" "$RDOCK" inspect "$id" 2>&1)
rc=$?
check_rc "rdock as a non-root user exits 1" 1 "$rc" "$out"
check "rdock as a non-root user gets a clear message" "^Got permission denied while trying to use rdock's store at $proot: rdock needs root" "$out"
prd rm -f "$id" >/dev/null 2>&1
chmod 755 "$proot" "$proot/layers" "$proot/containers" "$proot/blobs"
prd images -q >/dev/null 2>&1
check "an older 0755 store is tightened on next use" '^710 700 700 700$' \
    "$(stat -c %a "$proot" "$proot/layers" "$proot/containers" "$proot/blobs" | xargs)"
rm -rf "$pub"

# --- item 3: names used as paths follow docker's grammar
out=$(rdock run --rm -v ../../x:/d busybox true 2>&1)
check_rc "-v ../../x:/d exits 125" 125 $? "$out"
check "-v ../../x:/d gets docker's local volume name message" \
    'create \.\./\.\./x: "\.\./\.\./x" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed. If you intended to pass a host directory, use absolute path' "$out"
check "nothing was written outside the volumes dir" '^none$' "$(ls -d "$RDOCK_ROOT/../x" "$RDOCK_ROOT/x" 2>/dev/null || echo none)"
out=$(rdock run --rm -v rel/dir:/d busybox true 2>&1)
check "-v rel/dir:/d is refused as a volume name" '"rel/dir" includes invalid characters' "$out"
check "no nested volume was made" '^none$' "$(ls -d "$RDOCK_ROOT/volumes/rel" 2>/dev/null || echo none)"
out=$(rdock volume create ../evil 2>&1)
check "volume create ../evil is refused" '"\.\./evil" includes invalid characters for a local volume name' "$out"
out=$(rdock run --name 'x y' busybox true 2>&1)
check_rc "--name 'x y' exits 125" 125 $? "$out"
check "--name 'x y' gets docker's message" 'Invalid container name \(x y\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed' "$out"
out=$(rdock create --name a/b busybox true 2>&1)
check "--name a/b is refused" 'Invalid container name \(a/b\)' "$out"
check "no container was left by the refused names" '^$' "$(rdock ps -a -q)"
out=$(rdock run --rm --name ok.name-1 -v good_vol:/d busybox sh -c 'echo hi >/d/f && cat /d/f' 2>&1)
check "valid names still work" '^hi$' "$out"
rdock volume rm good_vol >/dev/null 2>&1

# --- item 4: io_uring is blocked by the default profile (docker 25+)
if [ -x /usr/bin/python3 ]; then
    probe='import ctypes; libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(425, 1, ctypes.create_string_buffer(120)); print("io_uring_setup", r, ctypes.get_errno())'
    out=$(rdock run --rm -v /:/host:ro busybox chroot /host /usr/bin/python3 -c "$probe" 2>&1)
    check "io_uring_setup fails with EPERM in a container" '^io_uring_setup -1 1$' "$out"
    out=$(rdock run --rm --security-opt seccomp=unconfined -v /:/host:ro busybox chroot /host /usr/bin/python3 -c "$probe" 2>&1)
    check "io_uring_setup is not refused with EPERM when unconfined" '^io_uring_setup ([0-9]+ 0|-1 (38|12|22))$' "$out"
else
    skip "io_uring blocked" "no /usr/bin/python3 to probe with"
fi

# --- item 10: damaged records are shown and removable; images.json is rebuilt
id=$(rdock create --name dmg busybox true 2>&1)
rec=$RDOCK_ROOT/containers/$id/config.json
head -c 120 "$rec" >"$sf/cut" && cat "$sf/cut" >"$rec"
out=$(rdock ps -a 2>/dev/null)
check "a container with a cut record is listed as Dead" "^${id:0:12} .*Dead +dmg$" "$out"
out=$(rdock ps -a -q -f status=dead 2>/dev/null)
check "ps -f status=dead finds it" "^${id:0:12}$" "$out"
out=$(rdock rm -f dmg 2>&1)
check_rc "rm -f removes a Dead container" 0 $? "$out"
check "the Dead container is gone" '^$' "$(rdock ps -a -q 2>/dev/null)"
id=$(rdock create busybox true 2>&1)
echo -n >"$RDOCK_ROOT/containers/$id/config.json"
check "an empty record is listed as Dead too" "^${id:0:12}" "$(rdock ps -a -q 2>/dev/null)"
out=$(rdock rm "${id:0:12}" 2>&1)
check_rc "rm removes it without -f" 0 $? "$out"
cp "$RDOCK_ROOT/images.json" "$sf/images.json.good"
printf '{"images": {"sha256:12' >"$RDOCK_ROOT/images.json"
out=$(rdock images 2>&1)
check "images rebuilds the list from a damaged images.json" '^busybox +latest +[0-9a-f]{12} ' "$out"
check "the rebuilt list was written back" '"tags"' "$(cat "$RDOCK_ROOT/images.json")"
echo '[]' >"$RDOCK_ROOT/images.json"
out=$(rdock run --rm busybox echo run-after-rebuild 2>&1)
check "run works after images.json was damaged" '^run-after-rebuild$' "$out"
echo 'garbage' >"$RDOCK_ROOT/images.json"
out=$(rdock pull busybox 2>&1)
check "pull works after images.json was damaged" 'Status: Image is up to date for busybox:latest' "$out"
rm -f "$RDOCK_ROOT/images.json.damaged"

# --- item 9: what dead pulls leave in tmp/ goes; prune works on a full disk
small=$sf/small
mkdir -p "$small"
if mount -t tmpfs -o size=24m tmpfs "$small"; then
    sroot=$small/root
    srd() { RDOCK_ROOT=$sroot rdock "$@"; }
    # A first run makes the default network's file (a prune on a fresh root
    # is another matter, item 7's).
    srd run --rm busybox true >/dev/null 2>&1
    dead=4194305 # above the kernel's PID_MAX_LIMIT: never a live process
    mkdir -p "$sroot/tmp/layer-$dead-0/usr/bin" "$sroot/tmp/layer-$$-0"
    echo x >"$sroot/tmp/.write-$dead-1"
    echo half >"$sroot/tmp/$(printf 'ab%.0s' {1..32}).partial"
    srd pull -q busybox >/dev/null 2>&1
    check "the next pull removes a dead pull's layer and temp files" '^none$' \
        "$(ls -d "$sroot/tmp/layer-$dead-0" "$sroot/tmp/.write-$dead-1" 2>/dev/null || echo none)"
    check "the next pull keeps a live process's temp dir and partial downloads" '^2$' \
        "$(ls -d "$sroot/tmp/layer-$$-0" "$sroot/tmp/"*.partial 2>/dev/null | wc -l)"
    rmdir "$sroot/tmp/layer-$$-0"
    dd if=/dev/zero of="$sroot/tmp/$(printf 'cd%.0s' {1..32}).partial" bs=1M count=64 2>/dev/null
    check "the disk is full" '^0$' "$(df --output=avail "$small" | tail -1 | tr -d ' ')"
    out=$(srd system prune -f 2>&1)
    check_rc "system prune works on a full disk" 0 $? "$out"
    check "system prune removed the partial downloads" '^$' "$(ls "$sroot/tmp" | grep partial)"
    out=$(srd run --rm busybox echo after-prune 2>&1)
    check "the store works after the prune" '^after-prune$' "$out"
    umount "$small"
else
    skip "tmp cleanup on a small tmpfs" "cannot mount tmpfs"
fi
