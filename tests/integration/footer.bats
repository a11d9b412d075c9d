#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The run footer names what nono refused: the paths the command printed on its terminal
# as "Permission denied" & co. (nono relays its PTY), and the hosts the proxy refused,
# each with the `nono why` question and the flag that would allow it. -s silences it.
# As root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	mkdir -p "$T/secret"
	echo hidden >"$T/secret/f"
	chmod 755 "$T/secret"
	chmod 644 "$T/secret/f"
}
teardown() { common_teardown; }

# on_pty root|user NONO-ARGS...: nono_as on a fresh terminal (lib/ptyrun.py).
on_pty() {
	local who=$1
	shift
	local cmd=(env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@")
	[ "$who" = user ] && cmd=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${cmd[@]}")
	python3 "$BATS_TEST_DIRNAME/lib/ptyrun.py" -- "${cmd[@]}"
}

check_path_named() {
	run on_pty "$1" run -- cat "$T/secret/f"
	assert_success # ptyrun itself
	assert_line "STATUS 1"
	assert_line --partial "$T/secret/f: Permission denied"
	assert_line "nono: refused: read $T/secret/f (Permission denied); ask: nono why --path $T/secret/f --op read; to allow it: --read $T/secret/f"
	refute_output --partial hidden
}
@test "footer: a path the command says it was refused, with why and the flag (root)" { check_path_named root; }
@test "footer: a path the command says it was refused, with why and the flag (user)" { check_path_named user; }

check_path_write() {
	# A write refused under a directory nono grants for reading only: the write is named.
	run on_pty "$1" run --read "$T/secret" -- sh -c "echo x >'$T/secret/new'"
	assert_line "STATUS 2"
	assert_line --regexp "^nono: refused: write $T/secret/new \((Permission denied|Read-only file system)\); ask: nono why --path $T/secret/new --op write; to allow it: --write-file $T/secret/new\$"
}
@test "footer: a refused write is named as a write (root)" { check_path_write root; }
@test "footer: a refused write is named as a write (user)" { check_path_write user; }

check_silent() {
	run on_pty "$1" run -s -- cat "$T/secret/f"
	assert_line "STATUS 1"
	assert_line --partial "Permission denied"
	refute_output --partial "nono:"
}
@test "footer: -s silences it (root)" { check_silent root; }
@test "footer: -s silences it (user)" { check_silent user; }

check_plain_stderr() {
	# Without a terminal the command's stderr is nono's own, never read by nono: the
	# summary is printed, no path is named.
	run --separate-stderr nono_as "$1" run -- cat "$T/secret/f"
	assert_failure 1
	[[ "$stderr" == *"$T/secret/f: Permission denied"* ]]
	[[ "$stderr" == *"nono: the command exited with status 1 inside the sandbox"* ]]
	[[ "$stderr" != *"nono: refused:"* ]]
}
@test "footer: with plain stderr the output is not read (root)" { check_plain_stderr root; }
@test "footer: with plain stderr the output is not read (user)" { check_plain_stderr user; }

check_host() {
	# The proxy refuses the name itself (not on the allowlist): nothing leaves the host.
	run --separate-stderr nono_as "$1" run --allow-domain 127.0.0.1 -- \
		curl -sS -o /dev/null https://refused.example.invalid/
	assert_failure 56
	[[ "$stderr" == *"CONNECT tunnel failed, response 403"* ]]
	grep -qxF "nono: refused: host refused.example.invalid port 443 (not_allowed); ask: nono why --host refused.example.invalid --port 443; to allow it: --allow-domain refused.example.invalid" <<<"$stderr"
	# -s: not a word from nono.
	run --separate-stderr nono_as "$1" run -s --allow-domain 127.0.0.1 -- \
		curl -sS -o /dev/null https://refused.example.invalid/
	assert_failure 56
	[[ "$stderr" != *"nono:"* ]]
}
@test "footer: a host the proxy refused, with why and the flag (root)" { check_host root; }
@test "footer: a host the proxy refused, with why and the flag (user)" { check_host user; }

@test "footer: a host refused by a command that exits 0 is still named" {
	run --separate-stderr nono_as user run --allow-domain 127.0.0.1 -- \
		sh -c 'curl -sS -o /dev/null https://refused.example.invalid/; exit 0'
	assert_success
	grep -qxF "nono: refused: host refused.example.invalid port 443 (not_allowed); ask: nono why --host refused.example.invalid --port 443; to allow it: --allow-domain refused.example.invalid" <<<"$stderr"
	[[ "$stderr" != *"exited with status"* ]]
}

@test "footer: at most eight refused hosts are named, the rest counted" {
	run --separate-stderr nono_as user run --allow-domain 127.0.0.1 -- sh -c \
		'for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null https://h$i.example.invalid/; done; exit 3'
	assert_failure 3
	[ "$(grep -c '^nono: refused: host h[0-9]*\.example\.invalid port 443 (not_allowed)' <<<"$stderr")" -eq 8 ]
	grep -qxF "nono: refused: 2 more hosts not listed" <<<"$stderr"
}
