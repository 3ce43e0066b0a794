#!/bin/bash
# Runs Debian's docker-registry on 127.0.0.1 with its storage in DIR.
#   hack/registry.sh start DIR PORT [--tls CERT KEY] [--htpasswd FILE] [--token REALM ISSUER SERVICE CERTBUNDLE]
#   hack/registry.sh stop DIR
# The pid is kept in DIR/registry.pid, the log in DIR/registry.log.
set -euo pipefail

cmd=${1:?usage: $0 start|stop DIR [PORT ...]}
dir=${2:?usage: $0 start|stop DIR [PORT ...]}

case $cmd in
start)
    port=${3:?PORT missing}
    shift 3
    tls="" auth="" scheme=http
    while [ $# -gt 0 ]; do
        case $1 in
        --tls) tls="  tls:
    certificate: $2
    key: $3"; scheme=https; shift 3 ;;
        --htpasswd) auth="auth:
  htpasswd:
    realm: rdock-test
    path: $2"; shift 2 ;;
        --token) auth="auth:
  token:
    realm: $2
    issuer: $3
    service: $4
    rootcertbundle: $5"; shift 5 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
        esac
    done
    mkdir -p "$dir/storage"
    dir=$(cd "$dir" && pwd)
    cat > "$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: rdock-test-secret
$tls
$auth
CFG
    /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    echo $! > "$dir/registry.pid"
    for _ in $(seq 1 100); do
        if curl -ks -o /dev/null "$scheme://127.0.0.1:$port/v2/" 2>/dev/null; then
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
            cat "$dir/registry.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "registry on port $port did not come up" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/registry.pid" ]; then
        pid=$(cat "$dir/registry.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/registry.pid"
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR [PORT ...]" >&2
    exit 2
    ;;
esac
