# rdock: runr (OCI runtime) and rdock (frontend).
# `make demo` runs a container; `make test` installs what the tests need and runs them.

SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
OUT := target/$(TARGET)/release
PREFIX ?= /usr/local
CARGO ?= cargo
# Debian packages the demo needs (`make deps`) and the tests need (`make test-deps`).
DEMO_PKGS := busybox-static docker-registry skopeo jq zstd curl python3
TEST_PKGS := $(DEMO_PKGS) uidmap runc crun umoci golang-github-containers-common apache2-utils openssl \
	podman conmon containerd catatonit netavark aardvark-dns iptables bc bsdutils strace

.PHONY: all build install docs demo bundle deps test test-deps unit integration lint bench clean clients tutorial rdock-tests

all: build

build:
	RUNR_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(CARGO) build --release -p runr -p rdock
	@# The same binaries under the usual path (cargo keeps host build
	@# artifacts in target/release, so copy rather than link).
	@mkdir -p target/release && cp -f $(OUT)/runr $(OUT)/rdock target/release/

# The binaries, their man pages (rdock(1), rdock-*(1), runr(8), runr-*(8)) and
# bash/zsh/fish completions, made by src/docgen from the CLI definitions.
DOCS := target/docgen
install: build docs
	install -D -m 0755 $(OUT)/runr $(DESTDIR)$(PREFIX)/bin/runr
	install -D -m 0755 $(OUT)/rdock $(DESTDIR)$(PREFIX)/bin/rdock
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0644 $(DOCS)/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(DOCS)/man/man8/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(DOCS)/completions/bash/* $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	install -m 0644 $(DOCS)/completions/zsh/* $(DESTDIR)$(PREFIX)/share/zsh/site-functions/
	install -m 0644 $(DOCS)/completions/fish/* $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/

# Man pages and completions into $(DOCS), dated by the last commit.
docs:
	$(CARGO) build --release -p docgen
	rm -rf $(DOCS)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) $(OUT)/docgen $(DOCS)

# The example bundle: its config.json is committed, its rootfs made here.
bundle: bundles/busybox/rootfs/bin/busybox

bundles/busybox/rootfs/bin/busybox: hack/mkrootfs.sh | deps
	hack/mkrootfs.sh bundles/busybox/rootfs

demo: deps build bundle
	hack/demo.sh $(OUT)/runr bundles/busybox
	hack/demo-rdock.sh

# apt-get install PKGS that are not installed yet (apt-get update first).
define apt_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi
endef

deps:
	$(call apt_missing,$(DEMO_PKGS))

test-deps:
	$(call apt_missing,$(TEST_PKGS))

unit: build
	$(CARGO) test --release --workspace --lib --bins

integration: build
	$(CARGO) test --release -p integration --test integration

test: test-deps build lint
	$(CARGO) test --release --workspace
	integration/clients/run.sh $(abspath $(OUT)/runr)
	$(MAKE) --no-print-directory tutorial rdock-tests

# Real clients (podman, containerd) driving runr; CLIENTS_RUNTIME=/usr/sbin/runc for the reference.
CLIENTS_RUNTIME ?= $(OUT)/runr
clients: test-deps build
	integration/clients/run.sh $(CLIENTS_RUNTIME)

# The beginner's docker tutorial through rdock, with runr, runc and crun.
tutorial: build
	RDOCK=$(abspath $(OUT)/rdock) integration/tutorial.sh $(abspath $(OUT)/runr)
	RDOCK=$(abspath $(OUT)/rdock) integration/tutorial.sh runc
	@# crun 1.8 refuses a cgroup v1 host with cgroup2 mounted beside it
	@# (hybrid): it runs in a mount namespace without the unified mount.
	unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; \
		RDOCK=$(abspath $(OUT)/rdock) integration/tutorial.sh crun'

# rdock's feature tests (integration/rdock/t-*.sh); RDOCK_AREAS picks some.
rdock-tests: build
	RDOCK=$(abspath $(OUT)/rdock) integration/rdock/run.sh $(abspath $(OUT)/runr) $(RDOCK_AREAS)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

bench: build bundle
	hack/bench.sh

clean:
	$(CARGO) clean
	rm -rf bundles/busybox/rootfs
