#!/bin/bash
# Pull benchmark: a cold pull + unpack of a multi-layer image (~360 MB
# unpacked, 4 layers) from a local registry, with rdock and with
# `podman pull` (same registry, same image), interleaved, with ratios.
# `skopeo copy` to an OCI directory (download only, no unpack) is shown too.
#   hack/bench-pull.sh [ROUNDS]        (RDOCK=path/to/rdock to pick a binary)
# Meant to be called from hack/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
rdock=${RDOCK:-target/x86_64-unknown-linux-gnu/release/rdock}
[ -x "$rdock" ] || cargo build --release -p rdock >&2
work=$(mktemp -d /var/tmp/rdock-bench-pull.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    hack/registry.sh stop "$work/registry" || true
    rm -rf "$work"
}
trap cleanup EXIT

hack/registry.sh start "$work/registry" "$port"
echo "building and pushing the bench image..." >&2
hack/test-images.sh "127.0.0.1:$port" "$work/images" --bench >/dev/null
image=127.0.0.1:$port/library/bench:latest

have_podman=0
command -v podman >/dev/null && have_podman=1
podman_() {
    podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver overlay \
        --events-backend file --cgroup-manager cgroupfs "$@"
}

now() { date +%s.%N; }
declare -a t_rdock t_podman t_skopeo
for i in $(seq 1 "$rounds"); do
    rm -rf "$work/rdock"; sync
    s=$(now); "$rdock" --root "$work/rdock" pull -q "$image" >/dev/null; e=$(now)
    t_rdock+=("$(echo "$e - $s" | bc)")
    if [ $have_podman = 1 ]; then
        podman_ rmi -af >/dev/null 2>&1 || true
        rm -rf "$work/podman"; sync
        s=$(now); podman_ pull -q --tls-verify=false "$image" >/dev/null; e=$(now)
        t_podman+=("$(echo "$e - $s" | bc)")
        podman_ rmi -af >/dev/null 2>&1 || true
    fi
    rm -rf "$work/skopeo"; sync
    s=$(now); skopeo copy -q --src-tls-verify=false "docker://$image" "oci:$work/skopeo:bench" >/dev/null; e=$(now)
    t_skopeo+=("$(echo "$e - $s" | bc)")
    echo "round $i: rdock ${t_rdock[-1]}s${t_podman:+  podman ${t_podman[-1]}s}  skopeo ${t_skopeo[-1]}s" >&2
done
rm -rf "$work/rdock" "$work/skopeo"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mr=$(median "${t_rdock[@]}")
ms=$(median "${t_skopeo[@]}")
echo "pull (cold, ${rounds} rounds, median):"
printf '  %-28s %8.3fs\n' "rdock pull (+unpack)" "$mr"
if [ $have_podman = 1 ]; then
    mp=$(median "${t_podman[@]}")
    printf '  %-28s %8.3fs   rdock/podman = %.2f\n' "podman pull (+unpack)" "$mp" "$(echo "$mr / $mp" | bc -l)"
fi
printf '  %-28s %8.3fs   rdock/skopeo = %.2f\n' "skopeo copy (no unpack)" "$ms" "$(echo "$mr / $ms" | bc -l)"
