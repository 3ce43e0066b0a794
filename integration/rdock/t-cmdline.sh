# rdock's command line as docker parses it, command lookup in the
# container's own view, and commands that used to hang or race: what comes
# after the image belongs to the command; relative commands, bind mounts;
# system prune on a fresh root; rmi right after rm; usage exit codes and
# messages.
cl=$work/cmdline
mkdir -p "$cl/app"

# --- everything after the image (the container for exec) is the command's
out=$(rdock run --rm --entrypoint /bin/ls busybox -d /tmp 2>&1)
check_rc "run IMAGE -d: -d goes to the command, not to rdock" 0 $? "$out"
check "run --entrypoint /bin/ls busybox -d /tmp runs ls -d /tmp" '^/tmp$' "$out"
out=$(rdock run --rm busybox ls -l /bin/sh 2>&1)
check "run busybox ls -l: -l is ls's, not --log-level" '^lrwxrwxrwx .* /bin/sh -> busybox$' "$out"
out=$(rdock run --rm busybox sh -c 'echo "$@"' x --rm -v --name n 2>&1)
check "run: rdock's flag names after the image reach the command" '^--rm -v --name n$' "$out"
rdock run -d --name cl1 -v "$cl/app:/mnt" busybox sleep 100 >/dev/null
out=$(rdock exec cl1 ls -l -d /tmp 2>&1)
check "exec CONTAINER ls -l: -l is ls's" '^drwxrwxrwt .* /tmp$' "$out"
out=$(rdock exec cl1 sh -c 'echo "$@"' x -d -u 1 2>&1)
check "exec: -d and -u after the container reach the command" '^-d -u 1$' "$out"

# --- commands found from the cwd and in bind mounts
printf '#!/bin/sh\necho script-ran "$@"\n' >"$cl/app/x.sh"
chmod +x "$cl/app/x.sh"
: >"$cl/app/data"
out=$(rdock run --rm -v "$cl/app:/app" -w /app busybox ./x.sh a 2>&1)
check_rc "run -v DIR:/app -w /app IMG ./x.sh: exit 0" 0 $? "$out"
check "a script in the bind mount runs from -w" '^script-ran a$' "$out"
out=$(rdock run --rm -w /bin busybox ./ls -d / 2>&1)
check "run -w /bin busybox ./ls: relative to the cwd" '^/$' "$out"
out=$(rdock run --rm -v "$cl/app:/app" busybox /app/x.sh 2>&1)
check "run IMG /app/x.sh: an absolute command inside a bind mount" '^script-ran$' "$out"
out=$(rdock run --rm -w /bin busybox ./nope 2>&1)
check_rc "a relative command that is missing: 127" 127 $? "$out"
check "its message names it as given" 'exec: "./nope": stat ./nope: no such file or directory' "$out"
out=$(rdock run --rm -v "$cl/app:/app" busybox /app/data 2>&1)
check_rc "a non-executable file in a bind mount: 126" 126 $? "$out"
out=$(rdock run --rm --tmpfs /app -v "$cl/app:/app/sub" busybox /app/sub/x.sh 2>&1)
check "a bind mount under a tmpfs is looked up" '^script-ran$' "$out"
out=$(rdock exec cl1 /mnt/x.sh 2>&1)
check_rc "exec CONTAINER /mnt/tool (a bind mount): exit 0" 0 $? "$out"
check "exec of a tool in a bind mount runs it" '^script-ran$' "$out"
out=$(rdock exec -w /mnt cl1 ./x.sh 2>&1)
check "exec -w /mnt CONTAINER ./x.sh runs it" '^script-ran$' "$out"
rdock exec cl1 sh -c 'printf "#!/bin/sh\necho made-inside\n" >/tmp/made; chmod +x /tmp/made'
out=$(rdock exec cl1 /tmp/made 2>&1)
check "exec finds a command the container made itself" '^made-inside$' "$out"
rdock exec cl1 /mnt/nope >/dev/null 2>&1
check_rc "exec of a missing command in a bind mount: 127" 127 $?
rdock rm -f cl1 >/dev/null

# --- system prune on a root that never had a network (it used to hang)
out=$(RDOCK_ROOT=$cl/fresh-root timeout 10 "$RDOCK" --runtime "$runtime" system prune -f 2>&1)
check_rc "system prune -f on a fresh root returns" 0 $? "$out"
check "system prune -f on a fresh root reports nothing reclaimed" '^Total reclaimed space: 0B$' "$out"
rm -rf "$cl/fresh-root"

# --- rmi right after rm: the removed container no longer uses the image
fails=0
for i in 1 2 3 4 5 6; do
    rdock pull -q hello-world >/dev/null 2>&1
    id=$(rdock create --network none hello-world)
    rdock rm "$id" >/dev/null
    out=$(rdock rmi hello-world 2>&1) || { fails=$((fails + 1)); echo "$out" >"$cl/rmi.err"; }
done
check_rc "rmi right after rm deletes the image (6 rounds)" 0 "$fails" "$(cat "$cl/rmi.err" 2>/dev/null)"

# --- usage errors exit as docker's: 125 for a bad flag, 1 for wrong arguments
for c in "ps --bogus" "run --bogus busybox" "images --bogus" "stop -t abc x" "kill -s"; do
    out=$(rdock $c 2>&1)
    check_rc "'rdock $c' (a bad flag) exits 125" 125 $? "$out"
done
for c in "rm" "logs a b" "run" "exec" "tag a" "bogus-verb"; do
    out=$(rdock $c 2>&1)
    check_rc "'rdock $c' (wrong arguments) exits 1" 1 $? "$out"
done
out=$(rdock network 2>&1)
check_rc "'rdock network' alone shows its usage, exit 0" 0 $? "$out"

# --- one error prefix per kind, as docker's
out=$(rdock logs no-such-container 2>&1)
check "other commands: 'Error response from daemon: ...'" '^Error response from daemon: No such container: no-such-container$' "$out"
out=$(rdock rmi no-such-image 2>&1)
check "rmi: the same prefix" '^Error response from daemon: No such image' "$out"
out=$(rdock run --rm --pull never no-such-image 2>&1)
check_rc "run's own error exits 125" 125 $? "$out"
check "run: 'rdock: Error response from daemon: MSG.' and the help hint" \
    "^rdock: Error response from daemon: No such image: no-such-image:latest\\.
See 'rdock run --help'\\.$" "$out"
out=$(rdock run -m bogus busybox 2>&1)
check "run: a bad flag value as docker prints it" "^invalid argument \"bogus\" for \"-m, --memory\" flag.*
See 'rdock run --help'\\.$" "$out"
out=$(rdock create -m bogus busybox 2>&1)
check_rc "create: a bad flag value exits 125" 125 $? "$out"
out=$(rdock exec no-such-container ls 2>&1)
check_rc "exec of a missing container exits 1 (docker)" 1 $? "$out"
out=$(rdock run --rm no-such-image-anywhere 2>&1)
check "a mirror miss says the manifest is unknown" 'manifest for no-such-image-anywhere:latest not found: .*manifest unknown' "$out"
if grep -q 'WARN\|dns error' <<<"$out"; then nok "a mirror miss shows no retries nor Docker Hub's DNS error" "$out"
else ok "a mirror miss shows no retries nor Docker Hub's DNS error"; fi

# --- image prune asks first unless -f (docker prompts on stdout)
# (a container keeps busybox in use: prune -a must leave it to the next areas)
rdock create --name cl-keep --network none busybox true >/dev/null
rdock pull -q hello-world >/dev/null
rdock tag hello-world cl-dangling:1 >/dev/null
rdock rmi hello-world >/dev/null
out=$(echo n | rdock image prune -a 2>&1)
check "image prune asks for confirmation" 'Are you sure you want to continue\? \[y/N\]' "$out"
check "image prune answered n removes nothing" 'cl-dangling' "$(rdock images)"
out=$(echo y | rdock image prune -a 2>&1)
check "image prune answered y removes" 'Deleted Images:' "$out"
out=$(rdock image prune -a -f </dev/null 2>&1)
check "image prune -f does not ask" '^Total reclaimed space: 0B$' "$out"
check "image prune -a keeps an image a container uses" 'busybox' "$(rdock images)"
rdock rm cl-keep >/dev/null
