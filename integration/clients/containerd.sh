# containerd scenarios (filled in below); set-up and teardown of a private
# containerd: config, root, state and socket under $WORK.
CONTAINERD_SCENARIOS=""
setup_containerd() { :; }
containerd_env() { :; }
teardown_containerd() { :; }
