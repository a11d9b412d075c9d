#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Proxy mode end to end through nono run: allowlist, token, metadata and link-local in
# every spelling, upstream chaining and bypass, --open-port IPC. Loopback and test-made
# network namespaces only: refused addresses live on a namespace's own loopback with a
# listener behind them, so a proxy that fails open is caught and nothing leaves.

bats_require_minimum_version 1.5.0
load lib/common

LIB="$BATS_TEST_DIRNAME/lib"

setup() {
	common_setup
	mkdir -p "$T/www"
	echo "hello-from-upstream" >"$T/www/index.html"
	chmod -R a+rX "$T/www"
	cp "$LIB"/*.py "$P/" && chmod 755 "$P"/*.py
}
teardown() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	[ -n "${UP:-}" ] && kill "$UP" 2>/dev/null
	# A server run under nono writes its audit end record as it stops: let it finish
	# before the tree goes (bounded).
	for _ in $(seq 50); do
		{ [ -z "${SRV:-}" ] || ! kill -0 "$SRV" 2>/dev/null; } && break
		sleep 0.1
	done
	common_teardown
}

# nono run ARGS in the Landlock placement of the proxy: as uid 65534 inside an outer
# sandbox, whose seccomp filter refuses new user namespaces, so no private network
# namespace can be made (the fallback a host without user namespaces gets).
landlock_placement() {
	# The inner run cannot reach ~/.nono (a protected path): no audit record there.
	sandboxed user --allow-net -- "$N" run --no-audit -v --read "$P" "$@"
}

# curl inside the sandbox, forced through the proxy (NO_PROXY names loopback).
CURL=(curl --noproxy '' -sS --max-time 10)

check_allowlist() {
	start_http
	run sandboxed "$1" --allow-domain 127.0.0.1 -- "${CURL[@]}" -p "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "hello-from-upstream"
	run sandboxed "$1" --allow-domain 127.0.0.1 -- "${CURL[@]}" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "hello-from-upstream"
	run sandboxed "$1" --allow-domain example.invalid -- "${CURL[@]}" -p "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 56
	assert_output --partial "403"
}
@test "CONNECT and plain HTTP reach allowed hosts only (root)" { check_allowlist root; }
@test "CONNECT and plain HTTP reach allowed hosts only (user)" { check_allowlist user; }

@test "the child reaches nothing directly in proxy mode, on any port" {
	start_http
	run sandboxed root --allow-domain 127.0.0.1 -- "$P/probe-connect" 127.0.0.1 "$HTTP_PORT" tcp
	assert_failure 13
	assert_output --partial "EACCES"
	run sandboxed user --allow-domain 127.0.0.1 -- "$P/probe-connect" 127.0.0.1 "$HTTP_PORT" tcp
	assert_failure 13
	assert_output --partial "EACCES"
}

@test "proxy variables carry a 256-bit token; NO_PROXY and NODE_USE_ENV_PROXY are set" {
	run sandboxed root --allow-domain example.com -- /usr/bin/env
	assert_success
	assert_line --regexp '^HTTPS_PROXY=http://nono:[0-9a-f]{64}@127\.0\.0\.1:[0-9]+$'
	assert_line --regexp '^http_proxy=http://nono:[0-9a-f]{64}@127\.0\.0\.1:[0-9]+$'
	assert_line 'NO_PROXY=localhost,127.0.0.1,::1'
	assert_line 'NODE_USE_ENV_PROXY=1'
}

@test "a wrong token is refused with 407, in both proxy placements" {
	start_http
	run sandboxed root --allow-domain 127.0.0.1 -- python3 "$P/raw-proxy-request.py" --token wrong CONNECT "127.0.0.1:$HTTP_PORT"
	assert_output "127.0.0.1:$HTTP_PORT 407"
	run landlock_placement --allow-domain 127.0.0.1 -- python3 "$P/raw-proxy-request.py" --token wrong CONNECT "127.0.0.1:$HTTP_PORT"
	assert_output --partial "host loopback, Landlock port rules"
	assert_output --partial "127.0.0.1:$HTTP_PORT 407"
}

@test "a missing token is 407 outside a private namespace, accepted inside one" {
	start_http
	run landlock_placement --allow-domain 127.0.0.1 -- python3 "$P/raw-proxy-request.py" --no-token CONNECT "127.0.0.1:$HTTP_PORT"
	assert_output --partial "host loopback, Landlock port rules"
	assert_output --partial "127.0.0.1:$HTTP_PORT 407"
	run sandboxed root --allow-domain 127.0.0.1 -- python3 "$P/raw-proxy-request.py" --no-token CONNECT "127.0.0.1:$HTTP_PORT"
	assert_output "127.0.0.1:$HTTP_PORT 200"
}

@test "metadata and link-local are refused in every spelling, even when allowlisted" {
	cat >"$T/hosts" <<HOSTS
127.0.0.1 localhost
169.254.169.254 evil.test
fe80::1 evil6.test
HOSTS
	cat >"$T/inner.sh" <<'SH'
set -u
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip addr add 169.254.1.1/32 dev lo
ip -6 addr add fe80::1/64 dev lo 2>/dev/null || true
mount --bind "$T/hosts" /etc/hosts
/usr/bin/python3 -c '
import socket, sys, threading
def serve(addr, fam):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr); s.listen(64)
    while True:
        c, _ = s.accept(); open(sys.argv[1], "a").write("HIT %s\n" % (addr,)); c.close()
threading.Thread(target=serve, args=(("169.254.169.254", 80), socket.AF_INET), daemon=True).start()
threading.Thread(target=serve, args=(("169.254.1.1", 80), socket.AF_INET), daemon=True).start()
import time; time.sleep(60)' "$T/hits" &
LISTENER=$!
sleep 0.5
targets="169.254.169.254:80 2852039166:80 0xa9fea9fe:80 0251.0376.0251.0376:80 169.254.43518:80 [::ffff:169.254.169.254]:80 [::ffff:a9fe:a9fe]:80 [64:ff9b::a9fe:a9fe]:80 169.254.1.1:80 [fe80::1]:80 metadata.google.internal:80 METADATA.GOOGLE.INTERNAL.:80 metadata.azure.internal:80 evil.test:80 evil6.test:80"
for m in CONNECT GET; do
  "$N" run -vv --read "$P" \
    --allow-domain 169.254.169.254 --allow-domain 169.254.1.1 --allow-domain evil.test \
    --allow-domain evil6.test --allow-domain metadata.google.internal \
    --allow-domain metadata.azure.internal --allow-domain '[fe80::1]' \
    -- /usr/bin/python3 "$P/raw-proxy-request.py" $m $targets
done
kill $LISTENER
SH
	run unshare -n -m env T="$T" N="$N" P="$P" bash "$T/inner.sh"
	echo "$output"
	# The trap saw nothing: no request reached an address behind the proxy.
	[ ! -s "$T/hits" ] || { cat "$T/hits"; false; }
	refute_output --regexp ' (200|502|504)$'
	refute_output --partial "ALLOW"
	# Allowlisted names and literals are refused by the metadata rules themselves.
	assert_output --regexp "DENY CONNECT 169\.254\.169\.254:80 reason=denied_(cidr|host)"
	assert_output --regexp "DENY CONNECT evil\.test:80 reason=denied_(cidr|host)"
	[ "$(grep -cE ' 403$' <<<"$output")" -eq 30 ]
}

# URL rules see one canonical path (endpoint.h): every spelling a server could read
# differently from what was matched is 400 before the rule, and never reaches it.
AMBIGUOUS=(
	'/allowed/%2E%2E%2Fsecret%2Fx' '/allowed/..%2fsecret/x' '/allowed/..%2Fsecret/x'
	'/allowed/%252e%252e/secret/x' '/allowed/..;/secret/x' '/allowed/x;jsessionid=1'
	'/allowed/%2e%2e/secret/x' '/allowed/%c0%ae%c0%ae/secret/x' '/allowed/./..'
	'/allowed/../secret/x' '/allowed//secret' '/allowed/x%00' '/allowed/x#frag'
	'/allowed/..\secret\x' '/allowed/%5c..%5csecret' '/allowed/x%0d%0aX-Injected:%201'
)

check_url_rule_spellings() {
	start_http
	mkdir -p "$T/www/allowed"
	echo "allowed-file" >"$T/www/allowed/ab"
	chmod -R a+rX "$T/www"
	printf '%s\n' "${AMBIGUOUS[@]}" >"$P/spellings"
	cat >"$P/spell.sh" <<-'EOF'
	while IFS= read -r p; do
		printf '%s %s\n' "$p" "$(curl --noproxy '' -sS --max-time 10 -o /dev/null \
			-w '%{http_code}' --request-target "http://127.0.0.1:$2$p" "http://127.0.0.1:$2/")"
	done <"$1"
	EOF
	chmod 644 "$P/spellings" "$P/spell.sh"
	run sandboxed "$1" --allow-domain 'http://127.0.0.1/allowed/**' -- sh "$P/spell.sh" "$P/spellings" "$HTTP_PORT"
	assert_success
	for p in "${AMBIGUOUS[@]}"; do
		assert_line "$p 400"
	done
	run grep -c '"GET ' "$T/http.log"
	assert_output 0
	# The plain spelling passes, and the server is sent the canonical path.
	run sandboxed "$1" --allow-domain 'http://127.0.0.1/allowed/**' -- "${CURL[@]}" "http://127.0.0.1:$HTTP_PORT/allowed/%61b?q=1"
	assert_success
	assert_output allowed-file
	run grep -c '"GET /allowed/ab?q=1 HTTP' "$T/http.log"
	assert_output 1
}
@test "URL rules: ambiguous path spellings get 400 and never reach the server (root)" { check_url_rule_spellings root; }
@test "URL rules: ambiguous path spellings get 400 and never reach the server (user)" { check_url_rule_spellings user; }

@test "upstream chaining goes through the upstream proxy; bypassed hosts do not" {
	start_http
	python3 "$LIB/upstream-proxy.py" "$T/upstream.log" >"$T/up.port" 3>&- &
	UP=$!
	for _ in $(seq 100); do [ -s "$T/up.port" ] && break; sleep 0.05; done
	local up; up=$(head -n1 "$T/up.port")
	run sandboxed root --allow-domain 127.0.0.1 --allow-domain localhost --upstream-proxy "127.0.0.1:$up" -- "${CURL[@]}" -p "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "hello-from-upstream"
	grep -q "CONNECT 127.0.0.1:$HTTP_PORT" "$T/upstream.log"
	: >"$T/upstream.log"
	run sandboxed root --allow-domain localhost --upstream-proxy "127.0.0.1:$up" --upstream-bypass localhost -- "${CURL[@]}" -p "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output --partial "hello-from-upstream"
	[ ! -s "$T/upstream.log" ]
}

@test "--upstream-bypass without --upstream-proxy is an error" {
	run sandboxed root --allow-domain a.example --upstream-bypass b.example -- true
	assert_failure 1
	assert_output --partial "--upstream-proxy"
}

@test "--open-port carries IPC between two sandboxes under --block-net" {
	local port=$((20000 + RANDOM % 20000))
	# Started directly (not through a function) so $! is nono itself, and with fd 3
	# closed so bats does not wait on it.
	env -i PATH=/usr/bin:/bin HOME="$H" "$N" run --block-net --open-port "$port" --read "$T/www" \
		-- python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 3>&- &
	SRV=$!
	for _ in $(seq 100); do
		run sandboxed root --block-net --open-port "$port" -- curl -sS --max-time 2 "http://127.0.0.1:$port/"
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	assert_success
	assert_output --partial "hello-from-upstream"
	run sandboxed root --block-net --open-port "$((port + 1))" -- curl -sS --max-time 2 "http://127.0.0.1:$port/"
	assert_failure 7
	assert_output --partial "Couldn't connect to server"
}

@test "unknown network profiles are an error listing the known ones" {
	run sandboxed root --network-profile nope -- true
	assert_failure 1
	assert_output --partial "nope"
	assert_output --partial "developer"
}

@test "--network-profile resolves to its groups' hosts" {
	run sandboxed root --network-profile minimal --dry-run -- true
	assert_success
	assert_output --partial "[net] proxy only, profile minimal"
}
