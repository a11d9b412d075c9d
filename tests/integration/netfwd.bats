#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# --open-port and --listen-port in the namespace placement of proxy mode: the child has
# its own network namespace and the supervisor forwards exactly those loopback ports
# (src/supervisor/session-portfwd.c). Loopback only; as root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	mkdir -p "$T/www"
	echo "hello-from-www" >"$T/www/index.html"
	chmod -R a+rX "$T/www"
	PIDS=()
}
teardown() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	common_teardown
}

# A port P with P, P+1 and P+2 free on the host's loopback (tests use neighbours), below
# the ephemeral range (32768+) so that no outgoing connection can take it meanwhile.
port() {
	python3 -c '
import random, socket
while True:
    p, held = random.randint(20000, 32000), []
    try:
        for q in (p, p + 1, p + 2):
            s = socket.socket()
            held.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", q))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(p)
    break'
}

# A host web server on 127.0.0.1:$1 serving $T/www; waits until it answers.
host_http() {
	python3 -m http.server "$1" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	wait_http "$1"
}
wait_http() {
	for _ in $(seq 100); do
		curl -sS --noproxy '*' --max-time 1 "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# No process of this test's nono copy may be left (forwarder, helper, proxy).
no_leftovers() {
	for _ in $(seq 150); do
		pgrep -f "$T/bin/nono" >/dev/null || return 0
		sleep 0.1
	done
	ps -eo pid,ppid,user,stat,cmd | grep -F "$T/bin/nono" | grep -v grep
	return 1
}
# nono_as for background runs: exec all the way down, so $! is nono itself (a function
# would leave $! on a subshell that a signal kills without reaching nono).
nono_bg() {
	local who=$1
	shift
	if [ "$who" = user ]; then
		exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
			env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
	fi
	exec env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
}
# curl inside the sandbox, directly (not through the proxy).
CURL=(curl --noproxy '*' -sS --max-time 5)

check_open_port_to_host() {
	local hp other
	hp=$(port)
	other=$((hp + 1))
	host_http "$hp"
	host_http "$other"
	run sandboxed "$1" -v --allow-domain example.invalid --open-port "$hp" -- "${CURL[@]}" "http://127.0.0.1:$hp/"
	assert_success
	assert_output --partial "inside a private network namespace"
	assert_output --partial "--open-port $hp: the port is taken on the host"
	assert_output --partial "hello-from-www"
	# Through [::1] too: the listener inside covers both loopback addresses.
	run sandboxed "$1" --allow-domain example.invalid --open-port "$hp" -- "${CURL[@]}" "http://[::1]:$hp/"
	assert_success
	assert_output --partial "hello-from-www"
	# Another live host port is not reachable, and the open port cannot be taken inside.
	run sandboxed "$1" --allow-domain example.invalid --open-port "$hp" -- "$P/probe-connect" 127.0.0.1 "$other" tcp
	assert_failure 13
	assert_output --partial "EACCES"
	run sandboxed "$1" --allow-domain example.invalid --open-port "$hp" -- python3 -c "
import socket, sys
s = socket.socket()
try:
    s.bind(('127.0.0.1', $hp))
except OSError as e:
    print('bind', e.errno); sys.exit(3)
print('bound'); sys.exit(0)"
	assert_failure 3
	assert_output --partial "bind 98"
	no_leftovers
}
@test "--open-port reaches a host server from the namespace, no other host port (root)" { check_open_port_to_host root; }
@test "--open-port reaches a host server from the namespace, no other host port (user)" { check_open_port_to_host user; }

check_listen_port() {
	local lp bind=$2
	lp=$(port)
	(nono_bg "$1" run --read "$T/www" --allow-domain example.invalid --listen-port "$lp" \
		-- python3 -m http.server "$lp" --bind "$bind" --directory "$T/www" >"$T/srv.log" 2>&1 3>&-) &
	PIDS+=($!)
	local srv=$!
	run wait_http "$lp"
	cat "$T/srv.log"
	assert_success
	run curl -sS --noproxy '*' --max-time 5 "http://127.0.0.1:$lp/"
	assert_success
	assert_output "hello-from-www"
	# The forwarded port answers on the host's 127.0.0.1 only.
	run curl -sS --noproxy '*' --max-time 2 "http://[::1]:$lp/"
	assert_failure 7
	assert_output --partial "Couldn't connect to server"
	kill -TERM "$srv"
	wait "$srv" || true
	no_leftovers
	# The host port is free again once the run is over.
	run curl -sS --noproxy '*' --max-time 2 "http://127.0.0.1:$lp/"
	assert_failure 7
	assert_output --partial "Couldn't connect to server"
}
@test "--listen-port: a server inside is reachable from the host (root)" { check_listen_port root 127.0.0.1; }
@test "--listen-port: a server inside is reachable from the host (user)" { check_listen_port user 127.0.0.1; }
@test "--listen-port: a server on [::1] or 0.0.0.0 inside is reachable too" {
	check_listen_port user ::1
	check_listen_port root 0.0.0.0
}

@test "forwarder and helper die with a killed supervisor" {
	local lp
	lp=$(port)
	(nono_bg user run --read "$T/www" --allow-domain example.invalid --listen-port "$lp" \
		-- python3 -m http.server "$lp" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 3>&-) &
	PIDS+=($!)
	local srv=$!
	run wait_http "$lp"
	assert_success
	# Supervisor, proxy, forwarder, helper: all nono; the helper joined the child's namespaces.
	[ "$(pgrep -c -f "$T/bin/nono")" -ge 4 ]
	kill -KILL "$srv"
	wait "$srv" || true
	no_leftovers
	for _ in $(seq 50); do pgrep -f "http.server $lp" >/dev/null || break; sleep 0.1; done
	run pgrep -f "http.server $lp"
	assert_failure 1
	run curl -sS --noproxy '*' --max-time 2 "http://127.0.0.1:$lp/"
	assert_failure 7
	assert_output --partial "Couldn't connect to server"
}

@test "--listen-port on a port taken on the host is an error naming the flag and port" {
	local lp
	lp=$(port)
	host_http "$lp"
	run sandboxed user --allow-domain example.invalid --listen-port "$lp" -- true
	assert_failure 1
	assert_output --partial "'--listen-port $lp'"
	assert_output --partial "127.0.0.1:$lp"
	assert_output --partial "another program holds the port"
	no_leftovers
}

@test "forwarded ports are bounded; the proxy port cannot be a forwarded one" {
	local args=() base
	base=$(port)
	for i in $(seq 0 32); do args+=(--open-port "$((base + i))"); done
	run sandboxed user --allow-domain example.invalid "${args[@]}" -- true
	assert_failure 1
	assert_output --partial "too many forwarded ports (33 --open-port and 0 --listen-port): at most 32"
	run sandboxed user --allow-domain example.invalid --proxy-port "$base" --listen-port "$base" -- true
	assert_failure 1
	assert_output --partial "proxy port $base is also an --open-port or --listen-port"
	no_leftovers
}

check_ipc() {
	local p
	p=$(port)
	# Sandbox A serves on the open port; sandbox B reaches it. Both in proxy mode.
	(nono_bg "$1" run -v --read "$T/www" --allow-domain example.invalid --open-port "$p" \
		-- python3 -m http.server "$p" --bind 127.0.0.1 --directory "$T/www" >"$T/a.log" 2>&1 3>&-) &
	PIDS+=($!)
	local a=$!
	# A must hold the host port before B looks at it: B, first, would take it itself.
	for _ in $(seq 200); do
		grep -qF -- "--open-port $p: host 127.0.0.1:$p is forwarded" "$T/a.log" 2>/dev/null && break
		sleep 0.05
	done
	for _ in $(seq 100); do
		run sandboxed "$2" -v --allow-domain example.invalid --open-port "$p" -- "${CURL[@]}" --max-time 2 "http://127.0.0.1:$p/"
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	cat "$T/a.log"
	assert_success
	assert_output --partial "hello-from-www"
	assert_output --partial "inside a private network namespace"
	assert_output --partial "--open-port $p: the port is taken on the host"
	grep -q "inside a private network namespace" "$T/a.log"
	grep -qF -- "--open-port $p: host 127.0.0.1:$p is forwarded into the sandbox" "$T/a.log"
	# A third sandbox without the port opened does not get through.
	run sandboxed "$2" --allow-domain example.invalid --open-port "$((p + 1))" -- "${CURL[@]}" --max-time 2 "http://127.0.0.1:$p/"
	assert_failure 7
	assert_output --partial "Couldn't connect to server"
	kill -TERM "$a"
	wait "$a" || true
	no_leftovers
}
@test "--open-port carries IPC between two proxy-mode sandboxes (user, user)" { check_ipc user user; }
@test "--open-port carries IPC between two proxy-mode sandboxes (root, user)" { check_ipc root user; }

@test "with forwarded ports the proxy is still the only way out" {
	local hp lp
	hp=$(port)
	lp=$((hp + 1))
	host_http "$hp"
	# Allowed through the proxy...
	run sandboxed user --allow-domain 127.0.0.1 --open-port "$lp" --listen-port "$((hp + 2))" -- curl --noproxy '' -sS --max-time 5 -p "http://127.0.0.1:$hp/"
	assert_success
	assert_output --partial "hello-from-www"
	# ... never directly, on any address.
	for addr in 127.0.0.1 127.0.0.2 ::1; do
		run sandboxed user --allow-domain 127.0.0.1 --open-port "$lp" -- "$P/probe-connect" "$addr" "$hp" tcp
		assert_failure 13
		assert_output --partial "EACCES"
	done
}

# ---- which placement is in force: why, setup and run say the same ----

# nono ARGS as uid 65534 inside an outer sandbox whose seccomp filter refuses new user
# namespaces: the situation of a host without user namespaces.
no_userns() {
	sandboxed user --allow-net -- "$N" "$@"
}

@test "why --host names the proxy placement run uses, and why (root, user, no userns)" {
	run nono_as root why --json --host example.com --profile claude-code
	assert_success
	assert_output --partial '"proxy_placement":"network-namespace","proxy_placement_reason":"running as root"'
	run nono_as user why --json --host example.com --profile claude-code
	assert_success
	assert_output --partial '"proxy_placement":"network-namespace","proxy_placement_reason":"user namespaces are available"'
	run no_userns why --json --host example.com --profile claude-code
	assert_success
	assert_output --partial '"proxy_placement":"landlock-ports","proxy_placement_reason":"user namespaces are unavailable for this user"'
	run no_userns why --host example.com --profile claude-code
	assert_output --partial "proxy placement: host loopback with Landlock port rules"
	# ... and run, in the same situation, does what why said.
	run no_userns run --no-audit -v --allow-domain example.com -- true
	assert_success
	assert_output --partial "host loopback, Landlock port rules"
	run no_userns run --no-audit --allow-domain example.com --dry-run -v -- true
	assert_output --partial "Proxy placement: host loopback with Landlock port rules"
	# Outside proxy mode there is no placement to report.
	run nono_as user why --json --host example.com --block-net
	assert_output --partial '"proxy_placement":null'
}

@test "why --self reports the placement the running sandbox got" {
	run sandboxed user --allow-domain example.com --open-port 9 -- "$N" why --self --json --host example.com
	assert_success
	assert_output --partial '"proxy_placement":"network-namespace"'
	run no_userns run --no-audit --read "$P" --allow-domain example.com -- "$N" why --self --json --host example.com
	assert_success
	assert_output --partial '"proxy_placement":"landlock-ports"'
}

@test "setup says which proxy placement is in force and reports the fallback as degraded" {
	run nono_as root setup --check-only
	assert_success
	assert_output --partial "Proxy placement:  private network namespace"
	assert_output --partial "(running as root)"
	assert_output --partial "for unprivileged users: private network namespace"
	run no_userns setup --check-only
	assert_output --partial "Proxy placement:  host loopback with Landlock port rules"
	assert_output --partial "(user namespaces are unavailable for this user)"
	assert_output --partial "! proxy mode without a private network namespace"
}

@test "--open-port IPC across placements: --block-net server, proxy-mode client and back" {
	local p
	p=$(port)
	(nono_bg user run --block-net --read "$T/www" --open-port "$p" \
		-- python3 -m http.server "$p" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 3>&-) &
	PIDS+=($!)
	local a=$!
	run wait_http "$p"
	assert_success
	run sandboxed root --allow-domain example.invalid --open-port "$p" -- "${CURL[@]}" "http://127.0.0.1:$p/"
	assert_success
	assert_output --partial "hello-from-www"
	kill -TERM "$a"
	wait "$a" || true

	p=$((p + 1))
	(nono_bg root run --read "$T/www" --allow-domain example.invalid --open-port "$p" \
		-- python3 -m http.server "$p" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 3>&-) &
	PIDS+=($!)
	a=$!
	run wait_http "$p"
	assert_success
	run sandboxed user --block-net --open-port "$p" -- "${CURL[@]}" "http://127.0.0.1:$p/"
	assert_success
	assert_output --partial "hello-from-www"
	kill -TERM "$a"
	wait "$a" || true
	no_leftovers
}

@test "root without CAP_SYS_ADMIN (a container) gets the Landlock placement, and why says so" {
	local hp
	hp=$(port)
	host_http "$hp"
	# Inside an outer sandbox root has lost CAP_SYS_ADMIN: no namespace can be made.
	run sandboxed root --allow-net -- "$N" why --json --host 127.0.0.1 --profile claude-code
	assert_output --partial '"proxy_placement":"landlock-ports","proxy_placement_reason":"running as root without CAP_SYS_ADMIN"'
	run sandboxed root --allow-net -- "$N" run --no-audit -v --read "$P" --allow-domain 127.0.0.1 --open-port "$((hp + 1))" \
		-- curl --noproxy '' -sS --max-time 5 -p "http://127.0.0.1:$hp/"
	assert_success
	assert_output --partial "host loopback, Landlock port rules"
	assert_output --partial "hello-from-www"
	run sandboxed root --allow-net -- "$N" setup --check-only
	assert_output --partial "(running as root without CAP_SYS_ADMIN)"
}
