# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over meson for humans and CI. Build directories:
#   build/       normal (debugoptimized, hardened)    -> build/nono
#   build-asan/  ASan + UBSan
#   build-fuzz/  clang + libFuzzer targets
MESON ?= meson
WERROR ?= false

.PHONY: setup all check asan asan-check fuzz bench clean deps

# The first target builds and nothing else: plain `make` must never run apt-get.
all: build/build.ninja
	ninja -C build
	ln -sf src/cli/nono build/nono 2>/dev/null || true

# First-time set-up on Debian 12: install build and test dependencies (as root), then build.
setup:
	@if [ "$$(id -u)" -eq 0 ]; then tools/install-deps.sh; else sudo tools/install-deps.sh; fi
	$(MAKE) all

build/build.ninja:
	$(MESON) setup build -Dwerror=$(WERROR)

check: all
	tests/run-checks.sh build

build-asan/build.ninja:
	$(MESON) setup build-asan -Dwerror=$(WERROR) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

asan: build-asan/build.ninja
	ninja -C build-asan
	ln -sf src/cli/nono build-asan/nono 2>/dev/null || true

asan-check: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		tests/run-checks.sh build-asan

build-fuzz/build.ninja:
	CC=clang $(MESON) setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false

fuzz: build-fuzz/build.ninja
	ninja -C build-fuzz
	tests/fuzz/run-fuzzers.sh build-fuzz $${FUZZ_SECONDS:-30}

bench: all
	@command -v bwrap >/dev/null || { echo "bench peers missing: run sudo tools/install-deps.sh --bench"; exit 1; }
	bench/run-all.sh build

deps:
	sudo tools/install-deps.sh

clean:
	rm -rf build build-asan build-fuzz
