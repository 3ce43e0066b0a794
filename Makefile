# rdock: runr (OCI runtime) and rdock (frontend).
# `make demo` runs a container; `make test` installs what the tests need and runs them.

SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
OUT := target/$(TARGET)/release
PREFIX ?= /usr/local
CARGO ?= cargo
# Debian packages the tests and the demo need (installed by `make test-deps`).
TEST_PKGS := busybox-static uidmap runc crun jq docker-registry skopeo umoci golang-github-containers-common apache2-utils openssl \
	podman conmon containerd catatonit netavark aardvark-dns iptables curl bc bsdutils strace

.PHONY: all build install demo bundle test test-deps unit integration lint bench clean clients tutorial rdock-tests

all: build

build:
	RUNR_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(CARGO) build --release --bins
	@# The same binaries under the usual path (cargo keeps host build
	@# artifacts in target/release, so copy rather than link).
	@mkdir -p target/release && cp -f $(OUT)/runr $(OUT)/rdock target/release/

install: build
	install -D -m 0755 $(OUT)/runr $(DESTDIR)$(PREFIX)/bin/runr
	@if [ -x $(OUT)/rdock ]; then install -D -m 0755 $(OUT)/rdock $(DESTDIR)$(PREFIX)/bin/rdock; fi

bundle: bundles/busybox/config.json

bundles/busybox/config.json: hack/mkbundle.sh hack/mkrootfs.sh | build
	hack/mkbundle.sh bundles/busybox $(OUT)/runr

demo: build bundle
	hack/demo.sh $(OUT)/runr bundles/busybox
	hack/demo-rdock.sh

test-deps:
	@missing=""; for p in $(TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

unit: build
	$(CARGO) test --release --lib --bins

integration: build
	$(CARGO) test --release --test integration

test: test-deps build lint
	$(CARGO) test --release
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
	$(CARGO) clippy --release --all-targets -- -D warnings

bench: build bundle
	hack/bench.sh

clean:
	$(CARGO) clean
	rm -rf bundles/busybox
