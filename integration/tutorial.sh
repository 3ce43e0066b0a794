#!/bin/bash
# The beginner's docker tutorial, word for word, against rdock:
#   integration/tutorial.sh RUNTIME     (runr, runc, crun or a path)
# A local registry (hack/registry.sh) with the test images
# (hack/test-images.sh) stands in for Docker Hub as RDOCK_REGISTRY_MIRROR.
# RDOCK=path/to/rdock overrides the binary (default: the release build).
# Prints "ok N - ..." / "not ok N - ..." and "N passed, M failed".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
runtime=${1:?usage: $0 RUNTIME}
RDOCK=${RDOCK:-$here/target/x86_64-unknown-linux-gnu/release/rdock}
if [ "$runtime" = runr ] && [ -x "$(dirname "$RDOCK")/runr" ]; then
    runtime=$(dirname "$RDOCK")/runr
fi
. "$here/integration/rdock/lib.sh"
harness_start
echo "# rdock $RDOCK with runtime $runtime, root $RDOCK_ROOT"

out=$(rdock -v 2>&1)
check "rdock -v" '^rdock version [^,]+, build ' "$out"

out=$(rdock run hello-world 2>&1)
check "rdock run hello-world pulls and greets" 'Hello from rdock!' "$out"

out=$(rdock pull busybox 2>&1)
check "rdock pull busybox" 'docker.io/library/busybox:latest|Status: ' "$out"

out=$(rdock images 2>&1)
check "rdock images lists busybox and hello-world" 'busybox +latest' "$out"
check "rdock images header" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE' "$out"

out=$(rdock image ls 2>&1)
check "rdock image ls" 'hello-world +latest' "$out"

out=$(rdock run busybox 2>&1); rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then ok "rdock run busybox exits at once, silently"; else nok "rdock run busybox (rc $rc)" "$out"; fi

out=$(rdock run busybox echo "hello" 2>&1)
check "rdock run busybox echo \"hello\"" '^hello$' "$out"

out=$(rdock run busybox sh -c 'exit 3' 2>&1); rc=$?
if [ $rc = 3 ]; then ok "exit code propagates"; else nok "exit code propagates (rc $rc)" "$out"; fi

out=$(rdock run busybox no-such-cmd 2>&1); rc=$?
if [ $rc = 127 ]; then ok "missing command exits 127"; else nok "missing command exits 127 (rc $rc)" "$out"; fi

out=$(rdock ps 2>&1)
if [ "$(wc -l <<<"$out")" = 1 ] && grep -Eq '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' <<<"$out"; then
    ok "rdock ps: header only, nothing running"
else nok "rdock ps: header only" "$out"; fi

out=$(rdock ps -a 2>&1)
check "rdock ps -a shows the exited ones" 'busybox +"echo hello" +.* ago +Exited \(0\) .* ago' "$out"
check "rdock ps -a shows hello-world" 'hello-world' "$out"

out=$( (sleep 2; echo ls; sleep 1; echo uptime; sleep 1; echo whoami; sleep 1; echo 'rm -rf bin'; sleep 1; echo exit; sleep 1) |
    timeout "$T" script -qec "$RDOCK --runtime $runtime run -it busybox sh" /dev/null 2>&1 | tr -d '\r')
check "run -it busybox sh: ls" 'bin +dev +etc' "$out"
check "run -it busybox sh: uptime" 'load average' "$out"
check "run -it busybox sh: whoami" '^root$' "$out"
out=$(rdock run busybox ls /bin/sh 2>&1)
check "rm -rf bin inside did not touch the image" '^/bin/sh$' "$out"

exited=$(rdock ps -a -q -f status=exited)
out=$(rdock rm $exited 2>&1)
left=$(rdock ps -a -q)
if [ -n "$exited" ] && [ -z "$left" ]; then ok "rdock rm \$(rdock ps -a -q -f status=exited)"; else nok "rm exited" "$out
left: $left"; fi

out=$(rdock rmi hello-world 2>&1)
check "rdock rmi hello-world" 'Untagged: hello-world:latest' "$out"
out=$(rdock image rm busybox 2>&1)
check "rdock image rm busybox" 'Untagged: busybox:latest' "$out"
out=$(rdock images -q)
if [ -z "$out" ]; then ok "no images left"; else nok "no images left" "$out"; fi

id=$(rdock run -d busybox sleep 300 2>"$work/d.err")
if [[ $id =~ ^[0-9a-f]{64}$ ]]; then ok "run -d prints the id (pulling busybox again)"; else nok "run -d" "$id $(cat "$work/d.err")"; fi
out=$(rdock ps 2>&1)
check "ps shows it Up" "^${id:0:12} +busybox +\"sleep 300\" .* Up " "$out"
out=$( (sleep 2; echo 'echo inside-$(hostname)'; sleep 1; echo 'ps'; sleep 1; echo exit; sleep 1) |
    timeout "$T" script -qec "$RDOCK --runtime $runtime exec -it ${id:0:12} sh" /dev/null 2>&1 | tr -d '\r')
check "exec -it ID sh: hostname is the short id" "^inside-${id:0:12}$" "$out"
check "exec -it ID sh: sees sleep as pid 1" '^ +1 root .*sleep 300' "$out"
out=$(rdock stop -t 1 "$id" 2>&1)
out=$(rdock ps -a 2>&1)
check "stop: exited" "^${id:0:12} .*Exited \(137\)" "$out"
out=$(rdock start "$id" 2>&1; rdock ps 2>&1)
check "start: up again" "^${id:0:12} .* Up " "$out"
out=$(rdock kill "$id" 2>&1; sleep 0.5; rdock ps -a 2>&1)
check "kill" "^${id:0:12} .*Exited \(137\)" "$out"
out=$(rdock inspect "$id" 2>&1)
check "inspect" '"Status": "exited"' "$out"
rdock rm "$id" >/dev/null

id=$(rdock run -d --name greeter busybox sh -c 'echo one; echo two >&2; sleep 0.2; echo three')
sleep 1
out=$(rdock logs greeter 2>&1)
check "logs of a detached container" 'one' "$out"
out=$(rdock logs --tail 1 greeter 2>/dev/null)
check "logs --tail 1" '^three$' "$out"
if grep -q '"stream":"stderr"' "$RDOCK_ROOT/containers/$id/$id-json.log"; then ok "json-file log"; else nok "json-file log"; fi
out=$(rdock rm greeter 2>&1)
check "rm by name" '^greeter$' "$out"

id=$(rdock run -d busybox sleep 300)
out=$(rdock rm "${id:0:12}" 2>&1); rc=$?
if [ $rc != 0 ]; then ok "rm refuses a running container"; else nok "rm refuses a running container" "$out"; fi
out=$(rdock rm -f "${id:0:12}" 2>&1)
check "rm -f a running container" "^${id:0:12}$" "$out"

out=$(rdock volume ls 2>&1)
check "rdock volume ls" '^DRIVER +VOLUME NAME' "$out"
out=$(rdock run --rm -v mydata:/data busybox sh -c 'echo kept > /data/f' 2>&1; rdock volume ls 2>&1)
check "named volume created and listed" 'local +mydata' "$out"

out=$(rdock network ls 2>&1)
check "rdock network ls" 'bridge +bridge +local' "$out"
check "network ls: host and none" 'none +null +local' "$out"

mkdir -p "$work/shared"
echo from-host > "$work/shared/in.txt"
out=$(rdock run --rm -v "$work/shared:/shared" busybox sh -c 'cat /shared/in.txt; echo from-container > /shared/out.txt' 2>&1)
check "-v: host folder seen inside" '^from-host$' "$out"
check "-v: written from inside" '^from-container$' "$(cat "$work/shared/out.txt" 2>&1)"
out=$(rdock run --rm -v "$work/shared:/shared:ro" busybox sh -c 'echo x > /shared/ro.txt' 2>&1); rc=$?
if [ $rc != 0 ] && [ ! -e "$work/shared/ro.txt" ]; then ok "-v :ro is read-only"; else nok "-v :ro" "$out"; fi

out=$(rdock run --rm -e GREETING=hi -w /tmp -u nobody -h box busybox sh -c 'echo $GREETING $(pwd) $(id -un) $(hostname)' 2>&1)
check "-e -w -u -h" '^hi /tmp nobody box$' "$out"
out=$(rdock run --rm --entrypoint echo busybox via-entrypoint 2>&1)
check "--entrypoint" '^via-entrypoint$' "$out"
out=$(rdock run --rm --network none busybox ls /sys/class/net 2>&1)
check "--network none: only lo" '^lo$' "$out"
out=$(rdock ps -a -q)
if [ -z "$out" ]; then ok "--rm left no containers"; else nok "--rm left no containers" "$out"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
