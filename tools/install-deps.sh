#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what nono needs to build and test on Debian 12. Run as root.
#   --bench   also the peers the benchmarks compare against (bubblewrap, firejail,
#             tinyproxy, hyperfine, rsync, and linux-source for the kernel's Landlock
#             sample sandboxer)
set -eu
export DEBIAN_FRONTEND=noninteractive
pkgs="build-essential pkg-config meson ninja-build python3 git ca-certificates
	libjansson-dev libssl-dev libseccomp-dev libcap-dev libc-ares-dev libhttp-parser-dev
	libcmocka-dev libsecret-1-dev dbus-daemon python3-dbus python3-gi bats bats-assert bats-support clang libclang-rt-14-dev
	curl strace util-linux iproute2 procps openssl musl-tools"
# The real-agent tests need node and npm; keep a newer Node.js the machine already has.
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
[ "${1:-}" = "--bench" ] && pkgs="$pkgs bubblewrap firejail tinyproxy hyperfine rsync linux-source"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs
