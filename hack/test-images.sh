#!/bin/bash
# Builds the test images with plain tools (tar, gzip, zstd, sha256sum, jq)
# into an OCI layout and pushes them to a registry on 127.0.0.1.
#   hack/test-images.sh REGISTRY_HOST:PORT [WORKDIR] [--bench]
# Images (under library/, so a registry used as Docker Hub mirror serves them
# as docker.io names):
#   busybox     /bin/busybox from busybox-static, applets as symlinks, CMD sh
#   hello-world busybox's layer + CMD printing a greeting (layer shared)
#   layers      3 layers with a whiteout, a whited-out dir and an opaque dir
#   multiarch   index: linux/amd64 (busybox), linux/arm64/v8, unknown/unknown attestation
#   armonly     index with a linux/arm64 manifest only
#   zstd        busybox with its layer compressed with zstd
#   bench       (with --bench) 4 layers, ~300 MB, many files, for pull speed
set -euo pipefail

registry=${1:?usage: $0 HOST:PORT [WORKDIR] [--bench]}
work=${2:-$(mktemp -d)}
bench=${3:-}
[ "${2:-}" = "--bench" ] && { bench=--bench; work=$(mktemp -d); }
layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/src"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
[ -f "$layout/index.json" ] || echo '{"schemaVersion":2,"manifests":[]}' > "$layout/index.json"

TAR_OPTS=(--sort=name --numeric-owner --owner=0 --group=0 --mtime=2024-01-01T00:00:00Z --format=posix
          --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)

# put FILE -> prints "sha256:<hex> <size>" and stores FILE as a blob.
put() {
    local hex size
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    cp "$1" "$layout/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}

# layer DIR gzip|zstd|none -> prints "digest size diffid mediatype"
layer() {
    local dir=$1 comp=$2 tarf diff blob mt
    tarf=$(mktemp -p "$work")
    tar "${TAR_OPTS[@]}" -C "$dir" -cf "$tarf" .
    diff=sha256:$(sha256sum "$tarf" | cut -d' ' -f1)
    case $comp in
    gzip) gzip -n -1 -c "$tarf" > "$tarf.c"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
    zstd) zstd -q -3 -c "$tarf" > "$tarf.c"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
    none) cp "$tarf" "$tarf.c"; mt=application/vnd.oci.image.layer.v1.tar ;;
    esac
    blob=$(put "$tarf.c")
    rm -f "$tarf" "$tarf.c"
    echo "$blob $diff $mt"
}

# image NAME ARCH CMD_JSON LAYER_LINE... -> prints "digest size" of the manifest
image() {
    local name=$1 arch=$2 cmd=$3; shift 3
    local diffs="[]" layers="[]" l d s diff mt cfg cfgblob man variant=""
    for l in "$@"; do
        read -r d s diff mt <<<"$l"
        diffs=$(jq -c --arg d "$diff" '. + [$d]' <<<"$diffs")
        layers=$(jq -c --arg d "$d" --argjson s "$s" --arg m "$mt" '. + [{mediaType:$m,digest:$d,size:$s}]' <<<"$layers")
    done
    [ "$arch" = arm64 ] && variant=v8
    cfg=$work/$name-$arch.config.json
    jq -n -c --arg arch "$arch" --arg variant "$variant" --argjson cmd "$cmd" --argjson diffs "$diffs" '{
        created: "2024-01-01T00:00:00Z", architecture: $arch, os: "linux",
        config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: $cmd, WorkingDir: "/"},
        rootfs: {type: "layers", diff_ids: $diffs},
        history: [{created: "2024-01-01T00:00:00Z", created_by: "hack/test-images.sh"}]
      } + (if $variant != "" then {variant: $variant} else {} end)' > "$cfg"
    cfgblob=$(put "$cfg")
    man=$work/$name-$arch.manifest.json
    jq -n -c --arg cd "${cfgblob% *}" --argjson cs "${cfgblob#* }" --argjson layers "$layers" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
        layers: $layers}' > "$man"
    put "$man"
}

# tag NAME MEDIATYPE "digest size": records NAME in the layout's index.json
tag() {
    local name=$1 mt=$2 d=${3% *} s=${3#* }
    jq -c --arg n "$name" --arg m "$mt" --arg d "$d" --argjson s "$s" '
        .manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"] != $n))
          + [{mediaType:$m,digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$n}}])' \
        "$layout/index.json" > "$layout/index.json.new"
    mv "$layout/index.json.new" "$layout/index.json"
}

# index NAME "platform-json digest size"... -> tags an image index
index() {
    local name=$1; shift
    local entries="[]" e p d s f
    for e in "$@"; do
        read -r p d s <<<"$e"
        entries=$(jq -c --argjson p "$p" --arg d "$d" --argjson s "$s" \
            '. + [{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,platform:$p}]' <<<"$entries")
    done
    f=$work/$name.index.json
    jq -n -c --argjson m "$entries" '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:$m}' > "$f"
    tag "$name" application/vnd.oci.image.index.v1+json "$(put "$f")"
}

OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json

# busybox: the static binary and its applets as symlinks.
bb=$work/src/busybox
rm -rf "$bb"; mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/root"
cp /bin/busybox "$bb/bin/busybox"
for a in $("$bb/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$bb/bin/$a"
done
chmod 1777 "$bb/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$bb/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$bb/etc/group"
bb_gz=$(layer "$bb" gzip)
tag busybox "$OCI_MANIFEST" "$(image busybox amd64 '["sh"]' "$bb_gz")"
tag hello-world "$OCI_MANIFEST" "$(image hello amd64 '["echo","Hello from rdock! This message shows that your installation appears to be working correctly."]' "$bb_gz")"
tag zstd "$OCI_MANIFEST" "$(image zstd amd64 '["sh"]' "$(layer "$bb" zstd)")"

# layers: whiteouts and an opaque directory across three layers.
l1=$work/src/l1 l2=$work/src/l2 l3=$work/src/l3
rm -rf "$l1" "$l2" "$l3"
mkdir -p "$l1/data/keep" "$l1/data/gonedir/sub" "$l1/opq" "$l2/data" "$l2/opq" "$l3/data"
echo keep > "$l1/data/keep/file"; echo gone > "$l1/data/gone"; echo x > "$l1/data/gonedir/sub/x"
echo old1 > "$l1/opq/old1"; echo old2 > "$l1/opq/old2"
: > "$l2/data/.wh.gone"; : > "$l2/data/.wh.gonedir"
: > "$l2/opq/.wh..wh..opq"; echo new > "$l2/opq/new"
echo top > "$l3/data/top"; ln -s /bin/busybox "$l3/data/abs-link"; ln "$l3/data/top" "$l3/data/top-hardlink"
tag layers "$OCI_MANIFEST" "$(image layers amd64 '["sh"]' "$bb_gz" "$(layer "$l1" gzip)" "$(layer "$l2" gzip)" "$(layer "$l3" none)")"

# multiarch and armonly: indexes.
arm=$work/src/arm; rm -rf "$arm"; mkdir -p "$arm"; echo arm64 > "$arm/ARCH"
arm_man=$(image multiarch arm64 '["sh"]' "$(layer "$arm" gzip)")
amd_man=$(image busybox amd64 '["sh"]' "$bb_gz")
att=$work/src/att; rm -rf "$att"; mkdir -p "$att"; echo '{}' > "$att/attestation.json"
att_man=$(image attestation unknown '["none"]' "$(layer "$att" gzip)")
index multiarch \
    "{\"os\":\"unknown\",\"architecture\":\"unknown\"} $att_man" \
    "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"} $arm_man" \
    "{\"os\":\"linux\",\"architecture\":\"amd64\"} $amd_man"
index armonly "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"} $arm_man"

names=(busybox hello-world zstd layers multiarch armonly)

if [ "$bench" = --bench ]; then
    # bench: busybox plus three layers of many files (compressible text and random data).
    bl=()
    for i in 1 2 3; do
        d=$work/src/bench$i; rm -rf "$d"; mkdir -p "$d/data$i"
        for j in $(seq 1 400); do head -c 65536 /dev/urandom > "$d/data$i/rand$j"; done
        for j in $(seq 1 20); do seq 1 $((400000 + j)) > "$d/data$i/text$j"; done
        head -c 40000000 /dev/urandom > "$d/data$i/big"
        bl+=("$(layer "$d" gzip)")
    done
    tag bench "$OCI_MANIFEST" "$(image bench amd64 '["sh"]' "$bb_gz" "${bl[@]}")"
    names+=(bench)
fi

for n in "${names[@]}"; do
    skopeo copy -q --all --dest-tls-verify=false "oci:$layout:$n" "docker://$registry/library/$n:latest"
done
echo "$layout"
