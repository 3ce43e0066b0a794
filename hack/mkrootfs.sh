#!/bin/sh
# Make a minimal container rootfs at DEST from the host's static busybox
# (Debian package busybox-static): bin/busybox, one symlink per applet,
# a small passwd/group, and the empty mount points an OCI runtime needs.
# Idempotent: running it again over an existing DEST only refreshes it.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DEST" >&2
	exit 2
fi
dest=$1
busybox=${BUSYBOX:-/bin/busybox}

if ! "$busybox" --list >/dev/null 2>&1; then
	echo "$0: $busybox is not a working busybox (apt-get install busybox-static)" >&2
	exit 1
fi
mkdir -p "$dest/bin" "$dest/etc" "$dest/proc" "$dest/sys" "$dest/dev" "$dest/tmp" "$dest/root" "$dest/home/user"
chmod 1777 "$dest/tmp"
cp -f "$busybox" "$dest/bin/busybox.new"
mv -f "$dest/bin/busybox.new" "$dest/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] && continue
	[ -L "$dest/bin/$applet" ] || ln -sf busybox "$dest/bin/$applet"
done

cat >"$dest/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$dest/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$dest/home/user"
