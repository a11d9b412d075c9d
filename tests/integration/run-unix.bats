#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# AF_UNIX path-socket mediation (seccomp user notification, supervisor/unotify.c):
# the six --allow-unix-socket* flags, symlinks, relative paths, a TOCTOU race, and TCP
# through the same path, as root and as uid 65534. Sockets are mode 0777 in 0777
# directories, so only the sandbox can refuse.

load lib/common

setup() {
	common_setup
	S="$T/sock"
	mkdir -p "$S/out" "$S/g/sub" "$S/b/sub" "$S/free"
	chmod -R 777 "$S"
	SERVERS=()
}

teardown() {
	for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
	common_teardown
}

# serve PATH TAG: a stream server outside the sandbox answering TAG to each client.
serve() {
	"$P/probe-unix" serve "$1" "$2" >/dev/null 3>&- &
	SERVERS+=($!)
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "server on $1 did not start" >&2
	return 1
}

unixprobe() {
	local who=$1
	shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	sandboxed "$who" "${args[@]}" -- "$P/probe-unix" "$@"
}

check_no_grant() {
	serve "$S/out/docker.sock" bad
	run unixprobe "$1" --block-net -- connect "$S/out/docker.sock"
	assert_failure 13
	refute_output --partial bad
	# Network allowed (the default) still does not open sockets outside the grants.
	run unixprobe "$1" -- connect "$S/out/docker.sock"
	assert_failure 13
	# A filesystem grant the user made covers its sockets when the network is allowed ...
	run unixprobe "$1" --read "$S/out" -- connect "$S/out/docker.sock"
	assert_success
	assert_output --partial bad
	# ... but not in a restricted network mode.
	run unixprobe "$1" --read "$S/out" --block-net -- connect "$S/out/docker.sock"
	assert_failure 13
}
@test "no grant: a path socket outside the grants is refused (root)" { check_no_grant root; }
@test "no grant: a path socket outside the grants is refused (user)" { check_no_grant user; }

check_exact() {
	serve "$S/g/a" good
	serve "$S/g/other" bad
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- connect "$S/g/a"
	assert_success
	assert_output --partial good
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- connect "$S/g/other"
	assert_failure 13
	# connect-only: even with write access to the directory, no bind.
	run unixprobe "$1" --block-net --allow "$S/g" --allow-unix-socket "$S/g/a" -- bind "$S/g/new"
	assert_failure 13
	[ ! -e "$S/g/new" ]
}
@test "--allow-unix-socket: exactly that socket, connect only (root)" { check_exact root; }
@test "--allow-unix-socket: exactly that socket, connect only (user)" { check_exact user; }

check_exact_bind() {
	run unixprobe "$1" --block-net --allow-unix-socket-bind "$S/b/mine" -- bind "$S/b/mine"
	assert_success
	[ -S "$S/b/mine" ]
	# The socket the grant names may be connected to (no listener: refused by the kernel).
	run unixprobe "$1" --block-net --allow-unix-socket-bind "$S/b/mine" -- connect "$S/b/mine"
	assert_failure 111
	run unixprobe "$1" --block-net --allow "$S/b" --allow-unix-socket-bind "$S/b/mine" -- bind "$S/b/other"
	assert_failure 13
	[ ! -e "$S/b/other" ]
}
@test "--allow-unix-socket-bind: bind and connect at that path only (root)" { check_exact_bind root; }
@test "--allow-unix-socket-bind: bind and connect at that path only (user)" { check_exact_bind user; }

check_dir() {
	serve "$S/g/a" good
	serve "$S/g/sub/deep" deep
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect "$S/g/a"
	assert_success
	assert_output --partial good
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect "$S/g/sub/deep"
	assert_failure 13
	run unixprobe "$1" --block-net --allow "$S/g" --allow-unix-socket-dir "$S/g" -- bind "$S/g/new"
	assert_failure 13
}
@test "--allow-unix-socket-dir: direct children only, connect only (root)" { check_dir root; }
@test "--allow-unix-socket-dir: direct children only, connect only (user)" { check_dir user; }

check_dir_bind() {
	run unixprobe "$1" --block-net --allow-unix-socket-dir-bind "$S/b" -- bind "$S/b/x.pipe"
	assert_success
	[ -S "$S/b/x.pipe" ]
	run unixprobe "$1" --block-net --allow "$S/b" --allow-unix-socket-dir-bind "$S/b" -- bind "$S/b/sub/y"
	assert_failure 13
	[ ! -e "$S/b/sub/y" ]
}
@test "--allow-unix-socket-dir-bind: bind directly in the directory only (root)" { check_dir_bind root; }
@test "--allow-unix-socket-dir-bind: bind directly in the directory only (user)" { check_dir_bind user; }

check_subtree() {
	serve "$S/g/sub/deep" deep
	serve "$S/out/s" bad
	run unixprobe "$1" --block-net --allow-unix-socket-subtree "$S/g" -- connect "$S/g/sub/deep"
	assert_success
	assert_output --partial deep
	run unixprobe "$1" --block-net --allow-unix-socket-subtree "$S/g" -- connect "$S/out/s"
	assert_failure 13
	run unixprobe "$1" --block-net --allow "$S/g" --allow-unix-socket-subtree "$S/g" -- bind "$S/g/sub/new"
	assert_failure 13
}
@test "--allow-unix-socket-subtree: anywhere beneath, connect only (root)" { check_subtree root; }
@test "--allow-unix-socket-subtree: anywhere beneath, connect only (user)" { check_subtree user; }

check_subtree_bind() {
	run unixprobe "$1" --block-net --allow-unix-socket-subtree-bind "$S/b" -- bind "$S/b/sub/new"
	assert_success
	[ -S "$S/b/sub/new" ]
	run unixprobe "$1" --block-net --allow "$S/free" --allow-unix-socket-subtree-bind "$S/b" -- bind "$S/free/x"
	assert_failure 13
	[ ! -e "$S/free/x" ]
}
@test "--allow-unix-socket-subtree-bind: bind anywhere beneath only (root)" { check_subtree_bind root; }
@test "--allow-unix-socket-subtree-bind: bind anywhere beneath only (user)" { check_subtree_bind user; }

check_symlink() {
	serve "$S/out/secret" bad
	serve "$S/g/a" good
	ln -s "$S/out/secret" "$S/g/link-out"
	ln -s a "$S/g/link-in"
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect "$S/g/link-out"
	assert_failure 13
	refute_output --partial bad
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect "$S/g/link-in"
	assert_success
	assert_output --partial good
	# A symlinked directory on the way: judged by where the socket really is.
	ln -s "$S/out" "$S/g/dir-out"
	run unixprobe "$1" --block-net --allow-unix-socket-subtree "$S/g" -- connect "$S/g/dir-out/secret"
	assert_failure 13
}
@test "a symlink in a granted directory does not reach a socket outside (root)" { check_symlink root; }
@test "a symlink in a granted directory does not reach a socket outside (user)" { check_symlink user; }

check_relative() {
	serve "$S/g/a" good
	serve "$S/out/s" bad
	cd "$S/g"
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect a
	assert_success
	assert_output --partial good
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- connect ../out/s
	assert_failure 13
	run unixprobe "$1" --block-net --allow-unix-socket-dir-bind "$S/g" -- bind rel.sock
	assert_success
	[ -S "$S/g/rel.sock" ]
}
@test "relative paths resolve against the agent's working directory (root)" { check_relative root; }
@test "relative paths resolve against the agent's working directory (user)" { check_relative user; }

check_race() {
	serve "$S/g/a" good
	serve "$S/out/b" bad
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- race "$S/g/a" "$S/out/b" 3000
	assert_success
	assert_output --regexp 'good=[1-9][0-9]* bad=0 refused=[1-9]'
}
@test "TOCTOU: a thread flipping the path in memory never reaches the forbidden socket (root)" { check_race root; }
@test "TOCTOU: a thread flipping the path in memory never reaches the forbidden socket (user)" { check_race user; }

check_nonblock_sendto() {
	serve "$S/g/a" good
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- connect-nb "$S/g/a"
	assert_success
	assert_output --partial good
	"$P/probe-unix" dgram-serve "$S/out/log" >"$T/dgram-out" 3>&- &
	SERVERS+=($!)
	"$P/probe-unix" dgram-serve "$S/g/log" >"$T/dgram-in" 3>&- &
	SERVERS+=($!)
	for _ in $(seq 100); do [ -S "$S/out/log" ] && [ -S "$S/g/log" ] && break; sleep 0.05; done
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- sendto "$S/out/log" leaked
	assert_failure 13
	run unixprobe "$1" --block-net --allow-unix-socket-dir "$S/g" -- sendto "$S/g/log" delivered
	assert_success
	for _ in $(seq 50); do grep -q delivered "$T/dgram-in" && break; sleep 0.05; done
	run cat "$T/dgram-in" "$T/dgram-out"
	assert_output --partial delivered
	refute_output --partial leaked
}
@test "non-blocking connect and sendto with an address are mediated too (root)" { check_nonblock_sendto root; }
@test "non-blocking connect and sendto with an address are mediated too (user)" { check_nonblock_sendto user; }

check_threads_badaddr() {
	serve "$S/g/a" good
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- threads "$S/g/a" 32 50
	assert_success
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- badaddr "$S/g/a"
	assert_success
	# Outside the grants the address is still validated first, as the kernel would.
	run unixprobe "$1" --block-net -- badaddr "$S/out/none"
	assert_success
}
@test "many threads at once; oversized and unmapped addresses fail as in the kernel (root)" { check_threads_badaddr root; }
@test "many threads at once; oversized and unmapped addresses fail as in the kernel (user)" { check_threads_badaddr user; }

check_stuck() {
	"$P/probe-unix" serve-full "$S/g/full" >/dev/null 3>&- &
	SERVERS+=($!)
	for _ in $(seq 100); do [ -S "$S/g/full" ] && break; sleep 0.05; done
	serve "$S/g/ok" good
	# A hang (no worker left for the last connect) fails here instead of stalling bats.
	printf '#!/bin/sh\nexec timeout 120 %s "$@"\n' "$N" >"$T/nono-timeout"
	chmod 755 "$T/nono-timeout"
	local N="$T/nono-timeout"
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/full" --allow-unix-socket "$S/g/ok" \
		-- stuck "$S/g/full" "$S/g/ok" 3
	assert_success
	assert_output --partial good
}
@test "three mediated connects blocked: a fourth still gets a worker (root)" { check_stuck root; }
@test "three mediated connects blocked: a fourth still gets a worker (user)" { check_stuck user; }

check_signals() {
	serve "$S/g/a" good
	run unixprobe "$1" --block-net --allow-unix-socket "$S/g/a" -- signals "$S/g/a" 2000
	assert_success
	assert_output --regexp 'ok=[1-9]'
}
@test "signals during mediated connects never make the call run twice (root)" { check_signals root; }
@test "signals during mediated connects never make the call run twice (user)" { check_signals user; }

check_self_bound() {
	# Network allowed: a socket the agent binds itself (here under /tmp, a policy
	# group's grant) may be connected to again; one made outside may not. The host's
	# /tmp (--shared-tmp): the session's private /tmp would hide the outside socket.
	local d="/tmp/nono-it-unix.$$"
	mkdir -p "$d" && chmod 777 "$d"
	serve "$d/outside" bad
	run unixprobe "$1" --shared-tmp -- connect "$d/outside"
	assert_failure 13
	run sandboxed "$1" --shared-tmp -- /bin/sh -c "'$P/probe-unix' serve '$d/inside' mine >/dev/null & sleep 0.3; '$P/probe-unix' connect '$d/inside'; r=\$?; kill \$!; exit \$r"
	rm -rf "$d"
	assert_success
	assert_output --partial mine
}
@test "network allowed: the agent's own sockets stay reachable, others not (root)" { check_self_bound root; }
@test "network allowed: the agent's own sockets stay reachable, others not (user)" { check_self_bound user; }

check_tcp() {
	python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' >"$T/port" 3>&- &
	SERVERS+=($!)
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	local port; port=$(cat "$T/port")
	run sandboxed "$1" -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_success
	# Non-blocking: the helper shares the agent's O_NONBLOCK, so EINPROGRESS (or 0) comes back.
	run sandboxed "$1" -- python3 -c 'import socket,select,sys
s=socket.socket(); s.setblocking(False); e=s.connect_ex(("127.0.0.1",int(sys.argv[1])))
print("connect", e); select.select([],[s],[],5)
print("so_error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))' "$port"
	assert_success
	assert_output --regexp 'connect (0|115)'
	assert_output --partial 'so_error 0'
	run sandboxed "$1" --block-net -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_failure 13
	run sandboxed "$1" --block-net --open-port "$port" -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_success
	# Proxy mode: the agent reaches nothing but the proxy (its own network namespace or
	# Landlock's port rule), though the supervisor performs the connect.
	run sandboxed "$1" --allow-domain example.com -- "$P/probe-connect" 127.0.0.1 "$port" tcp
	assert_failure 13
	assert_output --partial "EACCES"
}
@test "TCP through the mediation: allowed, blocked, open port, proxy mode (root)" { check_tcp root; }
@test "TCP through the mediation: allowed, blocked, open port, proxy mode (user)" { check_tcp user; }

@test "abstract sockets outside the sandbox stay refused by the Landlock scope" {
	python3 -c 'import socket,time,sys
s=socket.socket(socket.AF_UNIX); s.bind("\0nono-it-abstract"); s.listen(); print("ok"); sys.stdout.flush(); time.sleep(30)' >"$T/abs" 3>&- &
	SERVERS+=($!)
	for _ in $(seq 50); do [ -s "$T/abs" ] && break; sleep 0.1; done
	run sandboxed root -- python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX)
try:
    s.connect("\0nono-it-abstract"); print("connected")
except OSError as e:
    print("refused", e.errno); sys.exit(1)'
	assert_failure 1
	refute_output --partial connected
}

@test "nono wrap refuses AF_UNIX socket grants it cannot enforce" {
	run nono_as root wrap --allow-unix-socket "$T" -- /bin/true
	assert_failure 1
	assert_output --partial "nono wrap cannot enforce '--allow-unix-socket'"
}

@test "denials are logged with the path and the reason at -v" {
	serve "$S/out/s" bad
	run sandboxed root -v --block-net -- "$P/probe-unix" connect "$S/out/s"
	assert_failure 13
	assert_output --partial "denied connect to AF_UNIX socket '$S/out/s'"
	assert_output --partial "restricted network mode"
	run nono_as root run --dry-run -v -- /bin/true
	assert_success
	assert_output --partial "AF_UNIX path sockets: mediated by the supervisor"
}

@test "an agent killed while its connect blocks in the helper: nono ends, nothing hangs" {
	# A listener that never accepts: once its backlog is full, connects block.
	python3 -c 'import socket,time,sys
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0); print("ok"); sys.stdout.flush(); time.sleep(60)' "$S/g/full" >"$T/full" 3>&- &
	SERVERS+=($!)
	for _ in $(seq 50); do [ -s "$T/full" ] && break; sleep 0.1; done
	chmod 777 "$S/g/full"
	# TERM after 3 s goes to nono, which forwards it; KILL 20 s later would mean a hang.
	run timeout -k 20 3 "$N" run -s --read "$P" --block-net --allow-unix-socket "$S/g/full" -- \
		"$P/probe-unix" threads "$S/g/full" 8 4
	assert_equal "$status" 124
}
