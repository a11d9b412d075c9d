#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# One host and address classifier (policy/netmatch) for the CONNECT proxy, plain HTTP
# forwarding and `nono why --host`. Names resolve through /etc/hosts (the proxy's c-ares
# resolver reads files first) bind-mounted in a mount namespace the test makes; the
# refused addresses live on a test-made network namespace's loopback with a listener
# behind them, so a proxy that fails open is caught and nothing leaves the namespace.

bats_require_minimum_version 1.5.0
load lib/common

LIB="$BATS_TEST_DIRNAME/lib"

setup() {
	common_setup
	cp "$LIB"/*.py "$P/" && chmod 755 "$P"/*.py
	cat >"$T/hosts" <<HOSTS
127.0.0.1 localhost
127.0.0.1 x.wild.test
10.9.9.9 y.wild.test
127.0.0.1 exact.test
100.100.100.200 ali.test
fd00:ec2::254 aws6.test
HOSTS
	chmod 644 "$T/hosts"
	# A listener that answers 200 and records every connection it accepts.
	cat >"$T/listen.py" <<'PY'
import socket, sys, threading
def serve(host, port, fam):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(64)
    while True:
        c, _ = s.accept()
        open(sys.argv[1], "a").write("HIT %s:%d\n" % (host, port))
        try:
            c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nreached")
        except OSError:
            pass
        c.close()
for a in sys.argv[2:]:
    host, port = a.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    threading.Thread(target=serve, args=(host, int(port), fam), daemon=True).start()
import time; time.sleep(60)
PY
	: >"$T/hits"
	chmod 666 "$T/hits"
}
teardown() { common_teardown; }

# in_netns WHO SCRIPT: run SCRIPT (bash) in a fresh network and mount namespace with
# lo up, the test's /etc/hosts, and $AS (a prefix running a command as WHO).
in_netns() {
	local as=""
	[ "$1" = user ] && as="setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups"
	cat >"$T/inner.sh" <<SH
set -u
ip link set lo up
ip addr add 100.100.100.200/32 dev lo
ip addr add 10.9.9.9/32 dev lo
ip -6 addr add fd00:ec2::254/128 dev lo nodad
mount --bind "$T/hosts" /etc/hosts
AS="$as"
$2
SH
	run unshare -n -m env T="$T" N="$N" P="$P" H="$H" bash "$T/inner.sh"
	echo "$output"
}

# The sandboxed request, as WHO, through nono's proxy.
NONO_RUN='env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp $AS "$N" run -vv --read "$P"'

check_wildcard_loopback() {
	in_netns "$1" "
python3 \"\$T/listen.py\" \"\$T/hits\" 127.0.0.1:8080 10.9.9.9:8080 &
L=\$!
sleep 0.5
for m in CONNECT GET; do
  $NONO_RUN --allow-domain '*.wild.test' --allow-domain exact.test -- \
    python3 \"\$P/raw-proxy-request.py\" \$m x.wild.test:8080 y.wild.test:8080 exact.test:8080
done
kill \$L"
	# The listener is really there: the exact entry reaches it, both ways.
	assert_line "exact.test:8080 200"
	[ "$(grep -c '^exact.test:8080 200$' <<<"$output")" -eq 2 ]
	# The wildcard-only name is refused by the address rule, by CONNECT and by GET.
	[ "$(grep -c '^x.wild.test:8080 403$' <<<"$output")" -eq 2 ]
	# So is one resolving to an address of the host's own interfaces (10.9.9.9 on lo).
	[ "$(grep -c '^y.wild.test:8080 403$' <<<"$output")" -eq 2 ]
	assert_output --regexp "DENY CONNECT x\.wild\.test:8080 reason=denied_loopback"
	assert_output --regexp "DENY GET x\.wild\.test:8080.* reason=denied_loopback"
	# Exactly the two allowed requests reached a listener, the loopback one.
	[ "$(grep -c HIT "$T/hits")" -eq 2 ]
	[ "$(grep -c 'HIT 127.0.0.1:8080' "$T/hits")" -eq 2 ]
}
@test "a wildcard-only name resolving to loopback or a local address is refused with 403 (root)" { check_wildcard_loopback root; }
@test "a wildcard-only name resolving to loopback or a local address is refused with 403 (user)" { check_wildcard_loopback user; }

check_metadata_literals() {
	in_netns "$1" "
python3 \"\$T/listen.py\" \"\$T/hits\" 100.100.100.200:80 [fd00:ec2::254]:80 127.0.0.1:8080 &
L=\$!
sleep 0.5
for m in CONNECT GET; do
  $NONO_RUN --allow-domain fd00:ec2::254 --allow-domain 100.100.100.200 \
    --allow-domain ali.test --allow-domain aws6.test --allow-domain 127.0.0.1 -- \
    python3 \"\$P/raw-proxy-request.py\" \$m 100.100.100.200:80 1684301000:80 \
      '[fd00:ec2::254]:80' '[::ffff:100.100.100.200]:80' ali.test:80 aws6.test:80 127.0.0.1:8080
done
kill \$L"
	# Control: an explicit loopback literal still works, so the proxy was up.
	[ "$(grep -c '^127.0.0.1:8080 200$' <<<"$output")" -eq 2 ]
	[ "$(grep -cE ' 403$' <<<"$output")" -eq 12 ]
	refute_output --regexp '^(100|1684|\[fd00|\[::ffff|ali|aws6).* (200|502|504)$'
	assert_output --regexp "DENY CONNECT fd00:ec2::254:80 reason=denied_cidr|DENY CONNECT \[fd00:ec2::254\]:80 reason=denied_cidr"
	assert_output --regexp "DENY CONNECT 100\.100\.100\.200:80 reason=denied_cidr"
	# Only the loopback control reached a listener.
	run grep -c "HIT 127.0.0.1:8080" "$T/hits"
	assert_output 2
	run grep -c HIT "$T/hits"
	assert_output 2
}
@test "explicit metadata literals fd00:ec2::254 and 100.100.100.200 are refused (root)" { check_metadata_literals root; }
@test "explicit metadata literals fd00:ec2::254 and 100.100.100.200 are refused (user)" { check_metadata_literals user; }

check_why() {
	in_netns "$1" "
W='env -i PATH=/usr/bin:/bin HOME=\$H TMPDIR=/tmp NONO_ALLOW_DOMAIN=*.wild.test,exact.test,fd00:ec2::254,100.100.100.200,ali.test,aws6.test'
for h in x.wild.test y.wild.test exact.test fd00:ec2::254 100.100.100.200 0x646464c8 ali.test aws6.test metadata.google.internal; do
  \$W \$AS \"\$N\" why --json --host \$h
done"
	assert_success
	assert_line --partial '"status":"denied","reason":"loopback_via_wildcard","category":null,"host":"x.wild.test"'
	assert_line --regexp '"host":"x\.wild\.test".*"address":"127\.0\.0\.1"'
	assert_line --regexp '^\{"status":"denied","reason":"loopback_via_wildcard".*"host":"y\.wild\.test".*"address":"10\.9\.9\.9"'
	assert_line --regexp '^\{"status":"allowed","reason":"domain_allowed".*"host":"exact\.test".*"address":"127\.0\.0\.1"'
	assert_line --regexp '^\{"status":"denied","reason":"metadata_denied".*"host":"fd00:ec2::254"'
	assert_line --regexp '^\{"status":"denied","reason":"metadata_denied".*"host":"100\.100\.100\.200"'
	# 100.100.100.200 and its hex spelling 0x646464c8 both.
	[ "$(grep -c '"status":"denied","reason":"metadata_denied","category":null,"host":"100.100.100.200"' <<<"$output")" -eq 2 ]
	assert_line --regexp '^\{"status":"denied","reason":"metadata_denied".*"host":"ali\.test".*"address":"100\.100\.100\.200"'
	assert_line --regexp '^\{"status":"denied","reason":"metadata_denied".*"host":"aws6\.test".*"address":"fd00:ec2::254"'
	assert_line --regexp '^\{"status":"denied","reason":"metadata_denied".*"host":"metadata\.google\.internal"'
	refute_output --partial '"status":"allowed","reason":"domain_allowed","category":null,"host":"x.wild.test"'
}
@test "why --host agrees with the proxy, resolving names (JSON) (root)" { check_why root; }
@test "why --host agrees with the proxy, resolving names (JSON) (user)" { check_why user; }
