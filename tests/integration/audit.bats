#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The audit trail through the real binary: session record and modes, network events
# appended by the proxy process (ALLOW and DENY CONNECT to a loopback server), the
# hash chain verified and tampering detected, argument redaction with the default
# policy and [redaction] in config.toml, --no-audit and --no-audit-integrity.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	mkdir -p "$T/www"
	echo "hello-from-upstream" >"$T/www/index.html"
	chmod -R a+rX "$T/www"
}
teardown() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	common_teardown
}

# The single session directory in $H/.nono/audit (fails unless exactly one).
session_dir() {
	local n
	n=$(find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$n" -eq 1 ] || { echo "expected one session, found $n" >&2; return 1; }
	find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -type d
}

# json FILE EXPR: evaluate a Python expression over the parsed file (bound to j).
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

CURL=(curl --noproxy '' -sS --max-time 10)

check_record() {
	local who=$1
	start_http
	run sandboxed "$who" --allow-domain 127.0.0.1 -- "${CURL[@]}" -p "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	run sandboxed "$who" --allow-domain 127.0.0.1 -- "${CURL[@]}" -p "http://denied.example:$HTTP_PORT/"
	assert_failure 56
	assert_output --partial "CONNECT tunnel failed, response 403"
	# Files belong to the home's owner, also when root ran nono with that HOME.
	local dirs
	dirs=$(find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -type d | sort)
	[ "$(echo "$dirs" | wc -l)" -eq 2 ]
	for d in "$H/.nono" "$H/.nono/audit" $dirs; do
		[ "$(stat -c %a "$d")" = 700 ]
	done
	for d in $dirs; do
		for f in session.json audit-events.ndjson; do
			[ "$(stat -c %a "$d/$f")" = 600 ]
			[ "$(stat -c %u "$d/$f")" = "$NOBODY" ]
		done
		[ "$(json "$d/session.json" 'j["network"]["mode"]')" = proxy ]
		[ "$(json "$d/session.json" 'j["cwd"]')" != None ]
		[ "$(json "$d/session.json" 'j["end_time"] is not None')" = True ]
		run env HOME="$H" "$N" audit verify "$(basename "$d")"
		assert_success
		assert_output --partial "OK, 1 events"
	done
	# Two runs may start within the same second: tell them apart by exit status.
	first=$(grep -l '"exit_status": 0,' $(echo "$dirs" | sed 's|$|/session.json|') | xargs dirname)
	second=$(echo "$dirs" | grep -vxF "$first")
	[ -n "$first" ] && [ -n "$second" ]
	[ "$(json "$second/session.json" 'j["exit_status"]')" != 0 ]
	run cat "$first/audit-events.ndjson"
	assert_output --regexp '"type":"network","allow":true,"method":"CONNECT","host":"127.0.0.1","port":'"$HTTP_PORT"
	run cat "$second/audit-events.ndjson"
	assert_output --regexp '"allow":false,"method":"CONNECT","host":"denied.example","port":'"$HTTP_PORT"',"path":"","service":null,"reason":"not_allowed","status":403'
}
@test "session record, modes and ALLOW/DENY CONNECT events (root)" { check_record root; }
@test "session record, modes and ALLOW/DENY CONNECT events (user)" { check_record user; }

@test "the hash chain verifies; edits, deletions, reordering and a cut tail are detected" {
	start_http
	run sandboxed user --allow-domain 127.0.0.1 -- /bin/sh -c \
		"for h in a.invalid b.invalid 127.0.0.1 c.invalid; do curl --noproxy '' -s -o /dev/null --max-time 10 -p http://\$h:$HTTP_PORT/; done; true"
	assert_success
	d=$(session_dir)
	id=$(basename "$d")
	ev="$d/audit-events.ndjson"
	[ "$(wc -l <"$ev")" -eq 4 ]
	run env HOME="$H" "$N" audit verify "$id"
	assert_success
	assert_output --partial "OK, 4 events"
	cp "$ev" "$T/orig"

	sed -i '2s/b\.invalid/x.invalid/' "$ev"              # edit
	run env HOME="$H" "$N" audit verify "$id"
	assert_failure 1
	assert_output --partial "audit-events.ndjson:3:1: hash chain broken"
	cp "$T/orig" "$ev"
	sed -i '2d' "$ev"                                     # delete
	run env HOME="$H" "$N" audit verify "$id"
	assert_failure 1
	assert_output --partial "hash chain broken"
	{ sed -n 2p "$T/orig"; sed -n 1p "$T/orig"; sed -n '3,$p' "$T/orig"; } >"$ev"  # reorder
	run env HOME="$H" "$N" audit verify "$id"
	assert_failure 1
	assert_output --partial "hash chain broken"
	head -n 3 "$T/orig" >"$ev"                            # cut the tail
	run env HOME="$H" "$N" audit verify "$id"
	assert_failure 1
	assert_output --partial "recorded 4 events, the log holds 3"
	cp "$T/orig" "$ev"
	run env HOME="$H" "$N" audit verify "$id"
	assert_success
	run env HOME="$H" "$N" audit show "$id"
	assert_success
	assert_output --partial "DENY CONNECT a.invalid:$HTTP_PORT reason=not_allowed"
	assert_output --partial "ALLOW CONNECT 127.0.0.1:$HTTP_PORT"
	run env HOME="$H" "$N" audit list
	assert_success
	assert_output --partial "$id"
	run env HOME="$H" "$N" audit verify ../etc
	assert_failure 1
	assert_output --partial "invalid session id"
}

@test "arguments are redacted in session.json by default and by [redaction]" {
	mkdir -p "$H/.config/nono"
	cat >"$H/.config/nono/config.toml" <<-'EOF'
		[ui]
		theme = "latte"
		[redaction]
		extra_flags = ["--pat"]  # a custom secret flag
		extra_headers = ["Private-Token"]
		extra_query_keys = ["x-custom-sig"]
	EOF
	chown -R "$NOBODY:$NOBODY" "$H/.config"
	run nono_as user run --allow-cwd -- /bin/echo --token TOK-1 --api-key=KEY-2 \
		"Authorization: Bearer AUTH-3" "https://u:PW-4@h.example/p?key=K-5&q=keep" \
		--pat PAT-6 "Private-Token: PT-7" "https://h/?x-custom-sig=SIG-8" plain-arg
	assert_success
	d=$(session_dir)
	run json "$d/session.json" '" ".join(j["command"])'
	assert_output "/bin/echo --token [REDACTED] --api-key=[REDACTED] Authorization: [REDACTED] https://u:[REDACTED]@h.example/p?key=[REDACTED]&q=keep --pat [REDACTED] Private-Token: [REDACTED] https://h/?x-custom-sig=[REDACTED] plain-arg"
	run grep -rE 'TOK-1|KEY-2|AUTH-3|PW-4|K-5|PAT-6|PT-7|SIG-8' "$H/.nono"
	assert_failure 1
	run json "$d/session.json" 'j["redaction"]["extra_flags"]'
	assert_output "['--pat']"
}

@test "a bad config.toml stops the run with file:line:column" {
	mkdir -p "$H/.config/nono"
	printf '[redaction]\nextra_flags = ["--pat"]\nextra_flagz = []\n' >"$H/.config/nono/config.toml"
	run nono_as root run --allow-cwd -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "config.toml:3:1: [redaction] extra_flagz: unknown key"
	printf '[redaction]\nextra_flags = "--pat\n' >"$H/.config/nono/config.toml"
	run nono_as root run --allow-cwd -- /bin/echo RAN
	assert_failure 1
	assert_output --partial "config.toml:2:"
}

@test "--no-audit records nothing; --no-audit-integrity records without the chain" {
	run nono_as user run --no-audit --allow-cwd -- /bin/true
	assert_success
	[ ! -e "$H/.nono/audit" ] || [ -z "$(ls -A "$H/.nono/audit")" ]
	start_http
	run sandboxed user --no-audit-integrity --allow-domain 127.0.0.1 -- "${CURL[@]}" -p "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	d=$(session_dir)
	run grep -c '"prev"' "$d/audit-events.ndjson"
	assert_output 0
	run env HOME="$H" "$N" audit verify "$(basename "$d")"
	assert_success
	assert_output --partial "recorded without integrity"
}

@test "a planted ~/.nono symlink is not followed" {
	mkdir -p "$T/elsewhere"
	ln -s "$T/elsewhere" "$H/.nono"
	run nono_as root run --allow-cwd -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "symbolic link"
	[ -z "$(ls -A "$T/elsewhere")" ]
}

@test "events are recorded in both proxy placements, and the placement is named" {
	start_http
	# Landlock placement: nested in an outer sandbox (no new user namespaces there),
	# with a HOME the outer sandbox grants, so the inner run can keep its record.
	mkdir -p "$T/ihome"
	chown "$NOBODY:$NOBODY" "$T/ihome"
	run sandboxed user --no-audit --allow-net --allow "$T/ihome" -- env HOME="$T/ihome" \
		"$N" run -v --read "$P" --allow-domain 127.0.0.1 -- \
		"${CURL[@]}" -p "http://denied.example:$HTTP_PORT/"
	assert_failure 56
	assert_output --partial "CONNECT tunnel failed, response 403"
	assert_output --partial "host loopback"
	d=$(H="$T/ihome" session_dir)
	[ "$(json "$d/session.json" 'j["network"]["proxy_placement"]')" = host-loopback ]
	run cat "$d/audit-events.ndjson"
	assert_output --partial '"host":"denied.example"'
	rm -rf "$H/.nono/audit"
	run sandboxed user --allow-domain 127.0.0.1 -- "${CURL[@]}" -p "http://denied.example:$HTTP_PORT/"
	assert_failure 56
	assert_output --partial "CONNECT tunnel failed, response 403"
	d=$(session_dir)
	[ "$(json "$d/session.json" 'j["network"]["proxy_placement"]')" = network-namespace ]
	run cat "$d/audit-events.ndjson"
	assert_output --partial '"host":"denied.example"'
}

# A disk that fills mid-run: the child fills the 1 MiB tmpfs that holds HOME (through
# a write grant), then keeps making requests. Events can no longer be written, so the
# proxy refuses from then on (503), session.json still gets its end record with
# events_lost (space was set aside at the start), and nono exits 1 with a message
# although the command itself exited 0.
disk_full() {
	local who=$1
	mkdir -p "$T/small"
	mount -t tmpfs -o size=1m,mode=0755 nono-it-small "$T/small" # root only for this
	H="$T/small/home"
	mkdir -p "$H/fill"
	chown -R "$NOBODY:$NOBODY" "$H"
	# Root runs without capabilities inside: DAC applies to it like to anyone.
	chmod 777 "$H/fill"
	start_http
	run --separate-stderr sandboxed "$who" --allow-domain 127.0.0.1 --allow "$H/fill" -- /bin/sh -c \
		"dd if=/dev/zero of=$H/fill/big bs=4k 2>/dev/null
		 for i in \$(seq 60); do
			curl --noproxy '' -s -o /dev/null --max-time 10 -p -w '%{http_connect} ' http://127.0.0.1:$HTTP_PORT/
		 done; exit 0"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the audit trail could not be written"* ]]
	[[ "$stderr" == *"network requests were refused from then on; the command exited with status 0"* ]]
	# Refused once the trail failed: 503 (after whatever still fit in the file's last page).
	[[ "$output" == *"503 503"* ]]
	[[ "$output" != *"503 200"* ]]
	d=$(session_dir)
	[ "$(json "$d/session.json" 'j["exit_status"]')" = 0 ]
	[ "$(json "$d/session.json" 'j["end_time"] is not None')" = True ]
	[ "$(json "$d/session.json" 'j["integrity"]["events_lost"] > 0')" = True ]
	umount "$T/small"
}
@test "a full disk fails the run closed and records events_lost (root)" { disk_full root; }
@test "a full disk fails the run closed and records events_lost (user)" { disk_full user; }

# 1,100 connections that never finish their head, from inside the sandbox, then 20
# normal CONNECTs: every normal one succeeds, and the evictions the flood caused are
# in the audit trail (one event per burst, with its count), never silently dropped.
slow_flood() {
	local who=$1
	start_http
	cat >"$T/flood.py" <<'PY'
import base64, os, socket, sys, urllib.parse
u = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
slow = []
for _ in range(1100):
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nX-Slow: ")
    slow.append(s)
auth = base64.b64encode(f"{u.username}:{u.password}".encode()).decode()
ok = 0
for _ in range(20):
    c = socket.create_connection((u.hostname, u.port), timeout=10)
    c.sendall(f"CONNECT 127.0.0.1:{sys.argv[1]} HTTP/1.1\r\n"
              f"Proxy-Authorization: Basic {auth}\r\n\r\n".encode())
    if c.recv(64).startswith(b"HTTP/1.1 200"):
        ok += 1
    c.close()
print("normal ok", ok)
PY
	chmod 644 "$T/flood.py"
	run sandboxed "$who" --allow-domain 127.0.0.1 --read "$T/flood.py" -- python3 "$T/flood.py" "$HTTP_PORT"
	assert_success
	assert_output --partial "normal ok 20"
	d=$(session_dir)
	run grep -c '"allow":true,"method":"CONNECT","host":"127.0.0.1"' "$d/audit-events.ndjson"
	assert_output 20
	run grep -E '"reason":"head_evicted","status":408,"count":[0-9]+' "$d/audit-events.ndjson"
	assert_success
	run env HOME="$H" "$N" audit verify "$(basename "$d")"
	assert_success
}
@test "slow heads do not crowd out a normal client; the evictions are audited (root)" { slow_flood root; }
@test "slow heads do not crowd out a normal client; the evictions are audited (user)" { slow_flood user; }

# A finished session of the shape audit_open writes, started at the given id's time.
fake_session() {
	local id=$1 bytes=${2:-0}
	mkdir -p "$H/.nono/audit/$id"
	printf '{"session_id": "%s", "end_time": "x", "exit_status": 0}\n' "$id" >"$H/.nono/audit/$id/session.json"
	head -c "$bytes" /dev/zero >"$H/.nono/audit/$id/audit-events.ndjson"
	chown -R "$NOBODY:$NOBODY" "$H/.nono"
}
sessions() { ls "$H/.nono/audit" | sort | tr '\n' ' '; }

retention() {
	local who=$1 today
	today=$(date -u +%Y%m%d)
	mkdir -p "$H/.config/nono"
	fake_session 20200101-000000-00000001
	fake_session 20200102-000000-00000002 2097152
	fake_session "$today-000000-00000003"
	fake_session "$today-000001-00000004"
	# No limits: nothing to do.
	run nono_as "$who" audit prune
	assert_success
	assert_output --partial "no [audit] limits"
	# By count, dry run first.
	printf '[audit]\nmax_sessions = 3\n' >"$H/.config/nono/config.toml"
	run nono_as "$who" audit prune --dry-run
	assert_success
	assert_output --partial "would remove 20200101-000000-00000001 (max_sessions, 78 bytes)"
	[ "$(sessions)" = "20200101-000000-00000001 20200102-000000-00000002 $today-000000-00000003 $today-000001-00000004 " ]
	run nono_as "$who" audit prune
	assert_success
	assert_output --partial "removed 20200101-000000-00000001 (max_sessions"
	assert_output --partial "3 sessions kept"
	[ "$(sessions)" = "20200102-000000-00000002 $today-000000-00000003 $today-000001-00000004 " ]
	# By size: the 2 MiB session does not fit in 1 MiB with the newer ones.
	printf '[audit]\nmax_size_mb = 1\n' >"$H/.config/nono/config.toml"
	run nono_as "$who" audit prune
	assert_success
	assert_output --partial "removed 20200102-000000-00000002 (max_size_mb"
	# By age, applied after a run; a live session is never removed, and the kept run's
	# own chain still verifies.
	fake_session 20200103-000000-00000005
	printf '[audit]\nmax_age_days = 30\nmax_sessions = 0\n' >"$H/.config/nono/config.toml"
	sandboxed "$who" -- /bin/sleep 3 &
	local pid=$! live=""
	for _ in $(seq 100); do
		live=$(find "$H/.nono/audit" -mindepth 1 -maxdepth 1 -newer "$H/.config/nono/config.toml" -type d | head -n1)
		[ -n "$live" ] && break
		sleep 0.05
	done
	[ -n "$live" ]
	run nono_as "$who" audit prune
	assert_success
	assert_output --partial "1 sessions kept"
	[ "$(sessions)" = "$(basename "$live") " ]
	wait "$pid"
	printf '[audit]\nmax_sessions = 1\n' >"$H/.config/nono/config.toml"
	fake_session 20200104-000000-00000006
	run sandboxed "$who" -- /bin/true
	assert_success
	[ "$(sessions)" = "$(ls -t "$H/.nono/audit" | head -n1) " ]
	run env HOME="$H" "$N" audit verify "$(ls "$H/.nono/audit")"
	assert_success
	# A bad [audit] stops the run before it starts, with file:line:column.
	printf '[audit]\nmax_sessions = "3"\n' >"$H/.config/nono/config.toml"
	run sandboxed "$who" -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "config.toml:2:1: [audit] max_sessions: expected a non-negative integer, found a string"
}
@test "[audit] retention by count, size and age, with --dry-run; live sessions kept (root)" { retention root; }
@test "[audit] retention by count, size and age, with --dry-run; live sessions kept (user)" { retention user; }
