#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# seccomp defense in depth and --block-net, as root and as uid 65534.

load lib/common

setup() { common_setup; }
teardown() {
	[ -z "${TFO_RESTORE:-}" ] || echo "$TFO_RESTORE" >/proc/sys/net/ipv4/tcp_fastopen
	[ -z "${LISTENER:-}" ] || kill "$LISTENER" 2>/dev/null || true
	common_teardown
}

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
	assert_failure 1
	assert_output --partial "EPERM"
	run sandboxed "$1" --block-net -- "$P/probe-socket" inet raw icmp
	assert_failure 1
	assert_output --partial "EPERM"
	run sandboxed "$1" --block-net --open-port "$port" -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_success
	kill $srv
}
@test "--block-net stops TCP, UDP and raw sockets; --open-port is the exception (root)" { check_block_net root; }
@test "--block-net stops TCP, UDP and raw sockets; --open-port is the exception (user)" { check_block_net user; }

# TCP Fast Open connects from sendto/sendmsg/sendmmsg, which Landlock does not hook: the
# listener (on loopback, started here) must see no connection, and each send gets EPERM.
# net.ipv4.tcp_fastopen's default (1) already lets a client send a SYN from sendto; a
# host with the client bit clear gets it set for the test and restored after.
check_tfo() {
	local tfo; tfo=$(cat /proc/sys/net/ipv4/tcp_fastopen)
	if [ $((tfo & 1)) -eq 0 ]; then
		TFO_RESTORE=$tfo # teardown puts it back
		echo $((tfo | 1)) >/proc/sys/net/ipv4/tcp_fastopen
	fi
	python3 -c 'import signal,socket,sys
signal.alarm(120)  # never outlives a failed test by long
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1]); sys.stdout.flush()
while True:
    c,_=s.accept(); open(sys.argv[1],"a").write("accepted\n")' "$T/accepted" >"$T/port" 3>&- &
	local srv=$!
	LISTENER=$srv # teardown stops it if an assertion fails first
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	local port; port=$(cat "$T/port")
	# The probe does connect without the sandbox (proves the listener and the probe).
	run "$P/probe-tfo" 127.0.0.1 "$port" sendto
	assert_success
	for _ in $(seq 50); do [ -s "$T/accepted" ] && break; sleep 0.1; done
	[ "$(wc -l <"$T/accepted")" -eq 1 ]
	local mode
	for mode in sendto sendmsg sendmmsg fastopen-connect; do
		run sandboxed "$1" --block-net -- "$P/probe-tfo" 127.0.0.1 "$port" "$mode"
		assert_failure 1
		assert_output --partial EPERM
	done
	sleep 0.3
	kill $srv
	[ "$(wc -l <"$T/accepted")" -eq 1 ]
}
@test "--block-net refuses TCP Fast Open sends and TCP_FASTOPEN_CONNECT (root)" { check_tfo root; }
@test "--block-net refuses TCP Fast Open sends and TCP_FASTOPEN_CONNECT (user)" { check_tfo user; }

# MPTCP and SCTP connect from sendmsg without connect(2) as well: never created.
check_implicit_connect_protocols() {
	local fam
	for fam in inet inet6; do
		run sandboxed "$1" --block-net -- "$P/probe-socket" "$fam" stream mptcp
		assert_failure 1
		run sandboxed "$1" --block-net -- "$P/probe-socket" "$fam" stream sctp
		assert_failure 1
		run sandboxed "$1" --block-net -- "$P/probe-socket" "$fam" seqpacket sctp
		assert_failure 1
	done
}
@test "--block-net refuses MPTCP and SCTP sockets (root)" { check_implicit_connect_protocols root; }
@test "--block-net refuses MPTCP and SCTP sockets (user)" { check_implicit_connect_protocols user; }

# The proxy's Landlock placement (no private network namespace: nested in an outer
# sandbox, which refuses new user namespaces) has the same hole and the same rule.
check_tfo_proxy() {
	python3 -c 'import signal,socket,sys
signal.alarm(120)  # never outlives a failed test by long
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1]); sys.stdout.flush()
while True:
    c,_=s.accept(); open(sys.argv[1],"a").write("accepted\n")' "$T/accepted" >"$T/port" 3>&- &
	local srv=$!
	LISTENER=$srv
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	local port; port=$(cat "$T/port")
	local mode
	for mode in sendto sendmsg; do
		run sandboxed "$1" --no-audit --allow-net -- "$N" run --no-audit -v \
			--read "$P" --allow-domain 127.0.0.1 -- "$P/probe-tfo" 127.0.0.1 "$port" "$mode"
		assert_output --partial "host loopback"
		assert_failure 1
		assert_output --partial EPERM
	done
	sleep 0.3
	kill $srv
	[ ! -s "$T/accepted" ]
}
@test "the proxy's Landlock placement refuses TCP Fast Open too (root)" { check_tfo_proxy root; }
@test "the proxy's Landlock placement refuses TCP Fast Open too (user)" { check_tfo_proxy user; }

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

# The --block-net refusals of UDP and raw sockets mean something for uid 65534 only if
# that user could open them without the sandbox: given CAP_NET_RAW (ambient), it can,
# and the sandbox still answers EPERM.
@test "uid 65534 with CAP_NET_RAW opens raw and UDP sockets, but not under --block-net" {
	local as=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw)
	run "${as[@]}" "$P/probe-socket" inet raw icmp
	assert_success
	run "${as[@]}" "$P/probe-connect" 127.0.0.1 53 udp
	assert_success
	run "${as[@]}" env -i PATH=/usr/bin:/bin HOME="$H" "$N" run --read "$P" --block-net -- "$P/probe-socket" inet raw icmp
	assert_failure 1
	assert_output --partial "EPERM"
	run "${as[@]}" env -i PATH=/usr/bin:/bin HOME="$H" "$N" run --read "$P" --block-net -- "$P/probe-connect" 127.0.0.1 53 udp
	assert_failure 1
	assert_output --partial "EPERM"
}
