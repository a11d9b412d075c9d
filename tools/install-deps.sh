#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what nono needs to build, test and benchmark on Debian 12. Run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential pkg-config meson ninja-build python3 git ca-certificates \
	libjansson-dev libssl-dev libseccomp-dev libcap-dev libc-ares-dev libhttp-parser-dev \
	libcmocka-dev bats bats-assert bats-support \
	clang libclang-rt-14-dev \
	curl strace util-linux iproute2 procps openssl \
	bubblewrap firejail tinyproxy hyperfine \
	nodejs npm
