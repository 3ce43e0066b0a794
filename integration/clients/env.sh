# Shared set-up for the client suite: one registry, one podman store, the
# test images. Sourced by run.sh; everything lives under $WORK.

REG_PORT=${REG_PORT:-5055}
REG=127.0.0.1:$REG_PORT
HACK=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../hack" && pwd)

setup_registry() {
    "$HACK/registry.sh" start "$WORK/registry" "$REG_PORT" >/dev/null
    "$HACK/test-images.sh" "$REG" "$WORK/images" > "$WORK/images.log" 2>&1 ||
        { cat "$WORK/images.log" >&2; return 1; }
    config_image
}

# An image with Entrypoint+Cmd, Env, WorkingDir and a non-root User, made
# from the busybox image with umoci.
config_image() {
    local l=$WORK/images/layout
    skopeo copy -q --dest-tls-verify=false "oci:$l:busybox" "oci:$l:config" 2>/dev/null ||
        cp -a "$l" "$l" # same layout: skopeo may refuse to copy into itself
    umoci config --image "$l:busybox" --tag config \
        --config.entrypoint /bin/sh --config.entrypoint -c \
        --config.cmd 'echo "user=$(id -u):$(id -g) cwd=$PWD greeting=$GREETING"' \
        --config.env GREETING=hello-from-config --config.workingdir /tmp \
        --config.user 1000:1000 >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci:$l:config" "docker://$REG/library/config:latest"
}

teardown_registry() {
    "$HACK/registry.sh" stop "$WORK/registry" || true
}

# podman with runr (or runc) and a private store.
setup_podman() {
    mkdir -p "$WORK/podman"
    # netavark turns forwarding on and adds firewall chains: put them back.
    cat /proc/sys/net/ipv4/ip_forward > "$WORK/ip_forward"
    [ -e /run/containers ] || touch "$WORK/no-run-containers"
    iptables-save | grep -q NETAVARK || touch "$WORK/no-netavark-rules"
    cat > "$WORK/podman/containers.conf" <<CONF
[containers]
# CAP_SYS_RESOURCE is not in this machine's bounding set: podman's default
# nofile=1048576 and nproc=1048576 could not be set.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/podman/events.log"
runtime_supports_json = ["runr", "runc", "crun"]
[network]
network_config_dir = "$WORK/podman/networks"
CONF
    cat > "$WORK/podman/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/podman/root"
runroot = "$WORK/podman/runroot"
CONF
    cat > "$WORK/podman/registries.conf" <<CONF
unqualified-search-registries = ["$REG"]
[[registry]]
location = "$REG"
insecure = true
CONF
    podman_env
    local i
    for i in busybox config layers multiarch; do
        "${PODMAN[@]}" pull -q "$REG/library/$i:latest" >/dev/null || return 1
    done
}

# The podman command line and environment every scenario uses.
podman_env() {
    export CONTAINERS_CONF=$WORK/podman/containers.conf
    export CONTAINERS_STORAGE_CONF=$WORK/podman/storage.conf
    export CONTAINERS_REGISTRIES_CONF=$WORK/podman/registries.conf
    PODMAN=(podman --runtime "$RUNTIME" --cgroup-manager cgroupfs
            --root "$WORK/podman/root" --runroot "$WORK/podman/runroot"
            --tmpdir "$WORK/podman/tmp")
}

teardown_podman() {
    "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    "${PODMAN[@]}" pod rm -af >/dev/null 2>&1 || true
    "${PODMAN[@]}" system reset -f >/dev/null 2>&1 || true
    # podman leaves its overlay mount of the store behind.
    umount "$WORK/podman/root/overlay" 2>/dev/null || true
    [ -f "$WORK/ip_forward" ] && cat "$WORK/ip_forward" > /proc/sys/net/ipv4/ip_forward
    [ -f "$WORK/no-run-containers" ] && rm -rf /run/containers
    if [ -f "$WORK/no-netavark-rules" ]; then
        local t
        for t in nat filter; do
            iptables -t "$t" -S | grep -- '^-A .*NETAVARK' | sed 's/^-A/-D/' |
                while read -r rule; do eval "iptables -t $t $rule"; done
            iptables -t "$t" -S | awk '/^-N NETAVARK/ {print $2}' |
                while read -r chain; do iptables -t "$t" -X "$chain"; done
        done
    fi
    remove_cgroups libpod_parent
}

# Removes the (empty) cgroup NAME and its children from every v1 hierarchy.
remove_cgroups() {
    local d
    for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    return 0
}
