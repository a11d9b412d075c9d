#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# seccomp defense in depth and --block-net, as root and as uid 65534.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

check_tiocsti() {
	run sandboxed "$1" -- "$P/probe-ioctl-tiocsti"
	assert_failure 1
}
@test "TIOCSTI terminal injection is refused (root)" { check_tiocsti root; }
@test "TIOCSTI terminal injection is refused (user)" { check_tiocsti user; }

check_unshare() {
	run sandboxed "$1" -- "$P/probe-unshare"
	assert_failure 1
}
@test "new user namespaces cannot be created inside (root)" { check_unshare root; }
@test "new user namespaces cannot be created inside (user)" { check_unshare user; }

check_block_net() {
	python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' >"$T/port" 3>&- &
	local srv=$!
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	local port; port=$(cat "$T/port")
	run sandboxed "$1" -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_success
	run sandboxed "$1" --block-net -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_failure 13
	run sandboxed "$1" --block-net -- "$P/probe-connect" 127.0.0.1 53 udp
	assert_failure
	run sandboxed "$1" --block-net -- "$P/probe-socket" inet raw
	assert_failure
	run sandboxed "$1" --block-net --open-port "$port" -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_success
	kill $srv
}
@test "--block-net stops TCP, UDP and raw sockets; --open-port is the exception (root)" { check_block_net root; }
@test "--block-net stops TCP, UDP and raw sockets; --open-port is the exception (user)" { check_block_net user; }

@test "signals to processes outside the sandbox are refused (scope)" {
	# The victim runs as the same user, so DAC would allow the signal: only the
	# Landlock signal scope can refuse it.
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups sleep 30 3>&- &
	local victim=$!
	run sandboxed user -- "$P/probe-kill" "$victim"
	kill $victim
	# The PID namespace hides it (ESRCH); its init, PID 1, is outside the agent's
	# Landlock domain and visible: the scope refuses that one.
	assert_failure 3
	run sandboxed user -- "$P/probe-kill" 1
	assert_failure 1
	run sandboxed user -- /bin/sh -c 'sleep 30 & "$0" $!' "$P/probe-kill"
	assert_success
}
