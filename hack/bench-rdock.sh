#!/bin/bash
# rdock's own cost: `rdock run --rm busybox true` (image present) against
# `podman run --rm` with the same runtime (runr), and against a bare
# `runr run` of the bundle rdock generated for the same container (same
# config.json, rootfs an overlay over the same layer). Interleaved rounds,
# medians, ratios. Networking: `--network none` for all three, so the
# figures compare the container-management path; podman uses conmon.
#   hack/bench-rdock.sh [ROUNDS]   (RDOCK=... RUNR=... pick binaries)
# Meant to be called from hack/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
out=target/x86_64-unknown-linux-gnu/release
rdock=$(realpath "${RDOCK:-$out/rdock}")
runr=$(realpath "${RUNR:-$out/runr}")
work=$(mktemp -d /var/tmp/rdock-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RDOCK_ROOT=$work/rdock RDOCK_CONFIG=$work/none.json
export RDOCK_REGISTRY_MIRROR=http://127.0.0.1:$port RDOCK_INSECURE_REGISTRY=127.0.0.1:$port
cleanup() {
    "$rdock" rm -f ref >/dev/null 2>&1 || true
    umount "$work/bare/rootfs" 2>/dev/null || true
    [ -d "$work/podman" ] && podman_ rm -af >/dev/null 2>&1 || true
    hack/registry.sh stop "$work/registry" || true
    grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$work"
}
trap cleanup EXIT

hack/registry.sh start "$work/registry" "$port" >/dev/null
hack/test-images.sh "127.0.0.1:$port" "$work/images" >/dev/null 2>&1
"$rdock" --runtime "$runr" pull -q busybox >/dev/null

# The bare bundle: rdock's config.json for the same command, rootfs an
# overlay over the same layer with a private upper dir.
"$rdock" --runtime "$runr" run --name ref --network none busybox true
id=$("$rdock" ps -aq --no-trunc -f name=ref)
layer=$(ls -d "$RDOCK_ROOT"/layers/*/ | head -1)
mkdir -p "$work/bare/rootfs" "$work/bare/upper" "$work/bare/work"
mount -t overlay overlay -o "lowerdir=$layer,upperdir=$work/bare/upper,workdir=$work/bare/work" "$work/bare/rootfs"
jq --arg r "$work/bare/rootfs" '.root.path = $r' "$RDOCK_ROOT/containers/$id/bundle/config.json" > "$work/bare/config.json"

have_podman=0
if command -v podman >/dev/null; then
    have_podman=1
    mkdir -p "$work/podman"
    cat > "$work/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/podman/events.log"
runtime_supports_json = ["runr"]
[engine.runtimes]
runr = ["$runr"]
[network]
network_config_dir = "$work/podman/networks"
CONF
    podman_() {
        CONTAINERS_CONF=$work/podman/containers.conf podman --root "$work/podman/root" \
            --runroot "$work/podman/run" --storage-driver overlay --runtime runr "$@"
    }
    podman_ pull -q --tls-verify=false "127.0.0.1:$port/library/busybox:latest" >/dev/null
fi

python3 - "$rounds" "$have_podman" "$rdock" "$runr" "$work" "$port" <<'PY'
import os, random, statistics, subprocess, sys, time
rounds, have_podman, rdock, runr, work, port = int(sys.argv[1]), sys.argv[2] == "1", *sys.argv[3:]
D = subprocess.DEVNULL
cmds = {
    "rdock": [rdock, "--runtime", runr, "run", "--rm", "--network", "none", "busybox", "true"],
    "runr run": [runr, "--root", f"{work}/bare-root", "run", "--bundle", f"{work}/bare", "bare"],
}
if have_podman:
    cmds["podman"] = ["env", f"CONTAINERS_CONF={work}/podman/containers.conf", "podman",
                      "--root", f"{work}/podman/root", "--runroot", f"{work}/podman/run",
                      "--storage-driver", "overlay", "--runtime", "runr", "run", "--rm",
                      "--network", "none", f"127.0.0.1:{port}/library/busybox:latest", "true"]
times = {k: [] for k in cmds}
for name, c in cmds.items():  # warm-up
    subprocess.run(c, check=True, stdin=D, stdout=D)
for _ in range(rounds):
    order = list(cmds)
    random.shuffle(order)
    for name in order:
        t0 = time.perf_counter()
        subprocess.run(cmds[name], check=True, stdin=D, stdout=D)
        times[name].append(time.perf_counter() - t0)
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
print(f"== run --rm busybox true, --network none, {rounds} rounds (medians)")
for k, v in med.items():
    extra = ""
    if k == "rdock" and "podman" in med:
        extra = f"  ({v / med['podman']:.2f} of podman)"
    if k == "rdock":
        extra += f"  (+{v - med['runr run']:.1f} ms over runr run)"
    print(f"{k:>10}: {v:7.1f} ms{extra}")
PY
