# Shell completion and man pages, generated from the CLI definitions:
# `rdock completion SHELL` as Debian's docker 20.10 `docker completion`
# (usage on stdout and exit 0 without a known shell), and what `make install`
# puts under DESTDIR.
out=$(rdock completion bash 2>&1)
check "completion bash defines a completion function" '^_rdock\(\) \{' "$out"
check "completion bash registers it for rdock" '^ *complete .*-F _rdock .*rdock$' "$out"
cur=$(bash -c 'source /dev/stdin; COMP_WORDS=(rdock ru); COMP_CWORD=1; COMP_LINE="rdock ru"; COMP_POINT=8
    _rdock rdock ru rdock; echo "${COMPREPLY[*]}"' <<<"$out" 2>&1)
check "the bash script completes 'rdock ru' to run" '^run$' "$cur"
cur=$(bash -c 'source /dev/stdin; COMP_WORDS=(rdock run --det); COMP_CWORD=2; COMP_LINE="rdock run --det"; COMP_POINT=15
    _rdock rdock --det run; echo "${COMPREPLY[*]}"' <<<"$out" 2>&1)
check "the bash script completes run's flags (--det)" '^--detach( --detach-keys)?$' "$cur"
if grep -q container-monitor <<<"$out"; then nok "the hidden container-monitor is not offered"; else ok "the hidden container-monitor is not offered"; fi
out=$(rdock completion zsh 2>&1)
check "completion zsh is a zsh completion function" '^#compdef rdock' "$out"
out=$(rdock completion fish 2>&1)
check "completion fish completes rdock's subcommands" '^complete -c rdock .* -a "run"' "$out"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$RDOCK" completion bash 2>&1)
check "completion works for an ordinary user (no store needed)" '^_rdock\(\) \{' "$out"
for bad in "" nosuchshell; do
    out=$(rdock completion $bad 2>/dev/null); rc=$?
    check_rc "completion ${bad:-(no shell)} exits 0, as docker's" 0 "$rc" "$out"
    check "completion ${bad:-(no shell)} prints docker's usage on stdout" \
        '^Usage:  rdock completion COMMAND$' "$out"
    check "... listing the shells" '^  bash        Generate the autocompletion script for bash$' "$out"
done

# make install DESTDIR=...: binaries, completions and man pages.
dest=$work/install
if make -C "$here" --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$work/install.log" 2>&1; then
    ok "make install DESTDIR= succeeds"
else
    nok "make install DESTDIR= succeeds" "$(tail -20 "$work/install.log")"
fi
share=$dest/usr/share
for f in bash-completion/completions/rdock bash-completion/completions/runr \
    zsh/site-functions/_rdock zsh/site-functions/_runr \
    fish/vendor_completions.d/rdock.fish fish/vendor_completions.d/runr.fish \
    man/man1/rdock.1 man/man1/rdock-run.1 man/man1/rdock-container-run.1 \
    man/man8/runr.8 man/man8/runr-create.8 man/man8/runr-run.8; do
    if [ -s "$share/$f" ]; then ok "installed $f"; else nok "installed $f" "$(find "$dest" | head -50)"; fi
done
if cmp -s "$share/bash-completion/completions/rdock" <(rdock completion bash); then
    ok "the installed bash completion is rdock completion bash's"
else
    nok "the installed bash completion is rdock completion bash's"
fi
if [ -e "$share/man/man1/rdock-container-monitor.1" ] || [ -e "$share/man/man1/rdock-help.1" ]; then
    nok "no page for hidden commands or help" "$(ls "$share/man/man1")"
else
    ok "no page for hidden commands or help"
fi
render() { if command -v man >/dev/null; then MANWIDTH=100 man -l "$1"; else groff -man -Tutf8 "$1"; fi 2>&1; }
out=$(render "$share/man/man1/rdock-run.1")
check "man rdock-run names the page" '^ +rdock-run - Create and run a new container from an image' "$out"
check "man rdock-run documents --detach" '^ +-d, --detach$' "$out"
out=$(render "$share/man/man1/rdock.1")
check "man rdock lists rdock-run(1)" 'rdock-run\(1\)' "$out"
out=$(render "$share/man/man8/runr-create.8")
check "man runr-create (section 8) documents --bundle" '^ +-b, --bundle <DIR>$' "$out"
check "man runr-create carries its section" 'runr-create\(8\)' "$out"
