# Terminals: ctrl-p ctrl-q detaches from `run -it` and `exec -it` (the
# process keeps running), the window size reaches attached and exec'd
# ptys, and `start -ai` returns with a stdin that is not a terminal.
if ! command -v script >/dev/null; then
    skip "terminal checks" "script(1) missing"
    return 0 2>/dev/null || exit 0
fi
tt() { script -qec "$1" /dev/null | tr -d '\r' | sed 's/\^@//g'; }
detach_after() { (sleep 1; printf '%s\n' "$1"; sleep 0.7; printf '\020\021'; sleep 1); }

# --- run -it: ctrl-p ctrl-q leaves the container running
out=$(detach_after 'echo typed-in' | tt "$RDOCK --runtime $runtime run -it --name tt1 busybox sh; echo rc=\$?")
check "run -it: ctrl-p ctrl-q detaches, exit 0 (docker)" '^rc=0$' "$(grep -o 'rc=[0-9]*' <<<"$out")"
check "run -it: the container keeps running after the detach" 'Up ' "$(rdock ps -f name=tt1)"
check "run -it: the input before the detach reached it" 'typed-in' "$(rdock logs tt1)"
out=$(tt "stty rows 31 cols 101; $RDOCK --runtime $runtime run -it --rm busybox sh -c 'stty size; exit 4'; echo rc=\$?" </dev/null)
check "run -it: the window size from the start" '31 101' "$out"
check "run -it: the exit code" '^rc=4$' "$(grep -o 'rc=[0-9]*' <<<"$out")"
out=$(tt "$RDOCK --runtime $runtime run -it --rm busybox no-such-command; echo rc=\$?" </dev/null)
check "run -it of a missing command: 127" '^rc=127$' "$(grep -o 'rc=[0-9]*' <<<"$out")"
check "run -it of a missing command says why" 'executable file not found' "$out"

# --- exec -it: ctrl-p ctrl-q leaves the exec'd process running
out=$(detach_after 'echo in-exec' | tt "$RDOCK --runtime $runtime exec -it tt1 sh -c 'echo exec-marker; exec sh'; echo rc=\$?")
check "exec -it: ctrl-p ctrl-q detaches with docker's message" 'read escape sequence' "$out"
check "exec -it: and exit 1 (docker)" '^rc=1$' "$(grep -o 'rc=[0-9]*' <<<"$out")"
check "exec -it: the input reached the process" 'in-exec' "$out"
check_rc "exec -it: the process keeps running after the detach" 2 "$(rdock exec tt1 ps -o pid,comm | grep -c ' sh$')"
out=$(tt "stty rows 33 cols 77; $RDOCK --runtime $runtime exec -it tt1 sh -c 'sleep 0.3; stty size; exit 5'; echo rc=\$?" </dev/null)
check "exec -it: the window size" '33 77' "$out"
check "exec -it: the exit code" '^rc=5$' "$(grep -o 'rc=[0-9]*' <<<"$out")"

# --- attach to a detached tty: the window size is forwarded now
out=$(detach_after 'stty size' | tt "stty rows 22 cols 66; $RDOCK --runtime $runtime attach tt1; echo rc=\$?")
check "attach: the terminal's size reaches the container's pty" '22 66' "$(rdock logs tt1)"
rdock rm -f tt1 >/dev/null

# --- start -ai with stdin that is not a terminal
rdock create -i --name tt2 busybox cat >/dev/null
out=$(echo piped | timeout 10 "$RDOCK" --runtime "$runtime" start -ai tt2 2>&1)
check_rc "start -ai with piped stdin returns" 0 $? "$out"
check "start -ai: the piped input came back" '^piped$' "$out"
out=$(timeout 10 "$RDOCK" --runtime "$runtime" start -ai tt2 </dev/null 2>&1)
check_rc "start -ai with stdin from /dev/null returns" 0 $? "$out"
rdock rm tt2 >/dev/null
rdock create -i --name tt3 busybox sh -c 'echo no-read; exit 3' >/dev/null
out=$(sleep 20 | timeout 10 "$RDOCK" --runtime "$runtime" start -ai tt3 2>&1)
check_rc "start -ai returns when the container exits, stdin still open" 3 $? "$out"
rdock rm tt3 >/dev/null
