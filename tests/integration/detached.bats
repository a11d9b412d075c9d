#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Detached sessions (src/supervisor/session-detach.c, session-control.c; cli
# cmd-attach.c, cmd-logs.c): `nono run --detached` starts in the background and prints
# the id and the attach command; `nono attach` replays the recent output, relays the
# terminal, detaches on the key sequence and exits with the command's status; `nono
# logs [-f]` reads the bounded output log; the control socket serves the session
# owner's uid only and is out of the sandboxed command's reach. As root and uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	cd "$T"
	mkdir -p "$T/w"
	chmod 777 "$T/w"
}
teardown() {
	# Whatever a failed test left running: the supervisors of this test's home.
	for p in $(pgrep -f "$T/bin/nono run" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	common_teardown
}

# on_pty root|user ACTION... -- NONO-ARGS...: nono_as on a fresh terminal (lib/ptyrun.py).
on_pty() {
	local who=$1
	shift
	local script=()
	while [ "$1" != -- ]; do
		script+=("$1")
		shift
	done
	shift
	local cmd=(env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@")
	[ "$who" = user ] && cmd=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${cmd[@]}")
	python3 "$BATS_TEST_DIRNAME/lib/ptyrun.py" "${script[@]}" -- "${cmd[@]}"
}

# start WHO NAME [OPTIONS] -- COMMAND...: a detached session; sets $id and $spid (its
# supervisor).
start() {
	local who=$1 name=$2
	shift 2
	run nono_as "$who" run -s --detached --name "$name" --read "$P" "$@"
	assert_success
	assert_line --regexp "^session [0-9]{8}-[0-9]{6}-[0-9a-f]{8} \\($name\\) started in the background$"
	id=$(awk '/^session /{ print $2 }' <<<"$output")
	assert_line "attach with: nono attach $id"
	spid=$(nono_as "$who" ps | awk -v id="$id" '$1 == id { print $4 }')
	[ -n "$spid" ]
}

# wait_for FILE TEXT: until FILE holds TEXT (10 s).
wait_for() {
	for _ in $(seq 300); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "'$2' never appeared in $1" >&2
	return 1
}

# An echo loop on the session's terminal: "got X" per line, "quit" exits 7.
ECHO_LOOP='echo hello-from-$(tty | cut -c1-8); while read -r l; do [ "$l" = quit ] && { echo bye; exit 7; }; echo "got $l"; done'

check_lifecycle() {
	start "$1" d1 -- /bin/sh -c "$ECHO_LOOP"
	run nono_as "$1" ps
	assert_output --regexp "$id +d1 +running +$spid "
	# Attach: the output so far is replayed, keys reach the command, ctrl-] d detaches.
	run on_pty "$1" r:31x97 e:hello-from-/dev/pts 'w:ping\n' 'e:got ping' 'w:stty size\n' \
		'e:got stty' 'w:\x1dd' -- attach d1
	assert_success
	assert_line "STATUS 0"
	assert_line "MODES same"
	assert_output --partial "[detached from session $id (d1); reattach with: nono attach d1]"
	run nono_as "$1" ps
	assert_output --regexp "$id +d1 +running"
	# A killed attach detaches too, its terminal's modes restored.
	run on_pty "$1" e:hello m k:SIGTERM -- attach d1
	assert_line "STATUS 143"
	assert_line "MID raw"
	assert_line "MODES same"
	run nono_as "$1" ps
	assert_output --regexp "$id +d1 +running"
	# The log has it all; -f follows it until the session ends.
	run nono_as "$1" logs d1
	assert_success
	assert_output --partial "hello-from-/dev/pts"
	assert_output --partial "got ping"
	nono_as "$1" logs -f "$id" >"$T/w/follow" 2>&1 &
	local follow=$!
	# Attached when the command exits: attach exits with its status.
	run on_pty "$1" e:ping 'w:quit\n' -- attach "$id"
	assert_line "STATUS 7"
	assert_output --partial bye
	wait "$follow"
	run cat "$T/w/follow"
	assert_output --partial "got ping"
	assert_output --partial "bye"
	run nono_as "$1" ps --all
	assert_output --regexp "$id +d1 +exited\\(7\\)"
	run nono_as "$1" attach d1
	assert_failure 1
	assert_output --partial "session $id (d1) is not running: exited"
	# The audit record names the session and has the attach and detach events.
	run cat "$H/.nono/audit/$id/session.json"
	assert_output --partial '"session_name": "d1"'
	run grep -c '"type":"session","event":"attach"' "$H/.nono/audit/$id/audit-events.ndjson"
	assert_output 3
	run grep -c '"type":"session","event":"detach"' "$H/.nono/audit/$id/audit-events.ndjson"
	assert_output 3
	run nono_as "$1" audit show "$id"
	assert_output --regexp "SESSION attach uid=(0|$NOBODY)"
	run nono_as "$1" audit verify "$id"
	assert_success
}
@test "detached: start, ps, attach with replay, detach, logs -f, exit status (root)" { check_lifecycle root; }
@test "detached: start, ps, attach with replay, detach, logs -f, exit status (user)" { check_lifecycle user; }

check_winsize() {
	start "$1" sized -- /bin/sh -c 'trap "echo size \$(stty size)" WINCH; echo ready; while :; do sleep 0.05; done'
	# The size on attach (or the resize right after it), then every change.
	run on_pty "$1" r:31x97 e:ready 'e:size 31 97' r:40x120 'e:size 40 120' 'w:\x1dd' -- attach sized
	assert_success
	assert_line "size 31 97"
	assert_line "size 40 120"
	nono_as "$1" stop sized
}
@test "detached: the attached terminal's size reaches the command, on attach and on resize (root)" { check_winsize root; }
@test "detached: the attached terminal's size reaches the command, on attach and on resize (user)" { check_winsize user; }

check_one_client() {
	start "$1" solo -- /bin/sh -c "$ECHO_LOOP"
	on_pty "$1" e:hello 'w:first\n' 'e:got first' -- attach solo >"$T/w/first" &
	local first=$!
	wait_for "$H/.nono/audit/$id/audit-events.ndjson" '"event":"attach"'
	run nono_as "$1" attach solo
	assert_failure 1
	assert_output --partial "cannot attach to session $id (solo): another client is attached to this session"
	# The first client's line has gone round before the session is stopped.
	wait_for "$H/.nono/sessions/$id/output.log" "got first"
	run nono_as "$1" stop solo
	assert_success
	wait "$first"
	run cat "$T/w/first"
	assert_output --partial "got first"
	assert_line "STATUS 143"
	run nono_as "$1" ps --all
	assert_output --regexp "$id +solo +exited\\(143\\)"
}
@test "detached: one attached client at a time; stop ends the session (root)" { check_one_client root; }
@test "detached: one attached client at a time; stop ends the session (user)" { check_one_client user; }

@test "another uid can neither attach to nor stop a detached session, root included" {
	start user theirs -- /bin/sh -c 'exec sleep 3301'
	run nono_as root attach theirs
	assert_failure 1
	assert_output --partial "cannot attach to session $id (theirs): permission denied: the session belongs to uid 65534, not to uid 0"
	run nono_as root stop theirs
	assert_failure 1
	assert_output --partial "session $id (theirs) belongs to another user: not stopped"
	local uid_session=$id
	start root mine -- /bin/sh -c 'exec sleep 3302'
	run nono_as user attach mine
	assert_failure 1
	assert_output --partial "cannot attach to session $id (mine): Permission denied"
	run nono_as user stop mine
	assert_failure 1
	assert_output --partial "belongs to another user: not stopped"
	nono_as user stop theirs
	nono_as root stop mine
}

@test "the control socket refuses a forged peer (another uid, root included)" {
	start user forged -- /bin/sh -c 'exec sleep 3303'
	[ "$(stat -c '%a %U' "$H/.nono/sessions/$id/control")" = "600 nobody" ]
	[ "$(stat -c %a "$H/.nono/sessions/$id")" = 700 ]
	# Root passes the file mode, not the supervisor's peer check.
	run "$P/probe-ctl" connect "$H/.nono/sessions/$id/control"
	assert_failure 4
	assert_output --partial "X permission denied: the session belongs to uid 65534, not to uid 0"
	nono_as user stop forged
	start root forged2 -- /bin/sh -c 'exec sleep 3304'
	run setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$P/probe-ctl" connect "$H/.nono/sessions/$id/control"
	assert_failure 13
	assert_output --partial EACCES
	nono_as root stop forged2
}

check_crash() {
	start "$1" doomed -- /bin/sh -c 'exec sleep 3305'
	pgrep -f "sleep 3305" >/dev/null
	kill -KILL "$spid"
	for _ in $(seq 50); do
		pgrep -f "sleep 3305" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "sleep 3305"
	assert_failure 1
	run nono_as "$1" ps --all
	assert_output --regexp "$id +doomed +crashed"
	run nono_as "$1" attach doomed
	assert_failure 1
	assert_output --partial "is not running: crashed"
}
@test "SIGKILL of a detached supervisor leaves no sandboxed process and a crashed session (root)" { check_crash root; }
@test "SIGKILL of a detached supervisor leaves no sandboxed process and a crashed session (user)" { check_crash user; }

# The command waits for the socket's path (and the supervisor's pid) in w/go, then
# tries it by path, through /proc/PID/root and among its fds.
REACH='while [ ! -s "$0/go" ]; do sleep 0.05; done; read p s <"$0/go"; "$1/probe-ctl" connect "$p"; echo "path=$?"; "$1/probe-ctl" connect "/proc/$s/root$p"; echo "proc=$?"; "$1/probe-ctl" fds; echo "fds=$?"; echo done'

check_unreachable() {
	start "$1" inside --allow "$H" --allow "$T/w" -- /bin/sh -c "$REACH" "$T/w" "$P"
	echo "$H/.nono/sessions/$id/control $spid" >"$T/w/go"
	run nono_as "$1" logs -f inside
	assert_success
	# ~/.nono is masked: an empty directory (root), one the user may not search.
	if [ "$1" = root ]; then
		assert_line --partial "path=2"
	else
		assert_line --partial "path=13"
	fi
	assert_line --partial "proc=2"
	assert_line --partial "fds=0"
	assert_line --partial "done"
	# Even with ~/.nono unmasked, the supervisor refuses a peer from inside the session.
	rm -f "$T/w/go"
	start "$1" inside2 --allow "$H" --bypass-protection "$H/.nono" --allow "$T/w" -- \
		/bin/sh -c "$REACH" "$T/w" "$P"
	echo "$H/.nono/sessions/$id/control $spid" >"$T/w/go"
	run nono_as "$1" logs -f inside2
	assert_line --partial "X permission denied: the peer runs inside the session"
	assert_line --partial "path=4"
}
@test "the sandboxed command cannot reach its own control socket (root)" { check_unreachable root; }
@test "the sandboxed command cannot reach its own control socket (user)" { check_unreachable user; }

check_not_ready() {
	mkdir -p "$T/hidden"
	printf '#!/bin/sh\necho never\n' >"$T/hidden/cmd"
	chmod 755 "$T/hidden/cmd"
	run nono_as "$1" run --detached --name early -- "$T/hidden/cmd"
	assert_failure 1
	assert_output --partial "cannot execute '$T/hidden/cmd' inside the sandbox"
	assert_output --partial "the detached session ended before it was ready: exit status 1"
	refute_output --partial "attach with"
}
@test "a detached command that fails before it is ready is reported with its status (root)" { check_not_ready root; }
@test "a detached command that fails before it is ready is reported with its status (user)" { check_not_ready user; }

check_sequence() {
	mkdir -p "$H/.config/nono"
	printf '[ui]\ndetach_sequence = "ctrl-a x"\n' >"$H/.config/nono/config.toml"
	chown -R $NOBODY:$NOBODY "$H/.config"
	start "$1" seq -- /bin/sh -c "$ECHO_LOOP"
	# ctrl-] d is just input now; ctrl-a x detaches.
	run on_pty "$1" e:hello 'w:a\x1ddb\n' 'e:got a' 'w:\x01x' -- attach seq
	assert_success
	assert_line "STATUS 0"
	assert_output --partial "[detached from session $id (seq)"
	printf '[ui]\ndetach_sequence = "ctrl-] dd"\n' >"$H/.config/nono/config.toml"
	run nono_as "$1" attach seq
	assert_failure 1
	assert_output --partial "$H/.config/nono/config.toml:2:1: [ui] detach_sequence 'ctrl-] dd': expected keys such as"
	nono_as "$1" stop seq
}
@test "[ui] detach_sequence sets the detach keys; a bad one is named (root)" { check_sequence root; }
@test "[ui] detach_sequence sets the detach keys; a bad one is named (user)" { check_sequence user; }

@test "--detached refuses what it cannot honour, naming the value" {
	run nono_as root run --detached --detach-timeout soon -- true
	assert_failure 1
	assert_output --partial "--detach-timeout: 'soon' is not a number of seconds"
	run env NONO_DETACH_STARTUP_TIMEOUT=x HOME="$H" "$N" run --detached -- true
	assert_failure 1
	assert_output --partial "NONO_DETACH_STARTUP_TIMEOUT: 'x' is not a number of seconds"
	run nono_as root run --detached --shared-tmp -- true
	assert_failure 1
	assert_output --partial "'--detached' needs the session's state directory"
	run nono_as root wrap --detached -- true
	assert_failure 1
	assert_output --partial "nono wrap does not support '--detached'"
	run env NONO_PTY_ATTACH_TIMEOUT=1s HOME="$H" "$N" attach x
	assert_failure 1
	assert_output --partial "NONO_PTY_ATTACH_TIMEOUT: '1s' is not a number of milliseconds"
}

check_bounds() {
	# 12 MB of output: the log keeps two parts of at most 4 MiB, attach replays 256 KiB.
	start "$1" big -- /bin/sh -c 'yes 0123456789abcdefghijklmnopqrstu | head -c 12000000; echo; echo END; exec sleep 3313'
	for _ in $(seq 200); do
		grep -q END "$H/.nono/sessions/$id/output.log" 2>/dev/null && break
		sleep 0.1
	done
	local cur old
	cur=$(stat -c %s "$H/.nono/sessions/$id/output.log")
	old=$(stat -c %s "$H/.nono/sessions/$id/output.log.1")
	[ "$cur" -le 4194304 ]
	[ "$old" -le 4194304 ]
	[ "$old" -gt 4000000 ]
	run nono_as "$1" logs big
	assert_success
	[ "${#output}" -le 8388608 ]
	[ "${lines[-1]}" = $'END\r' ] # the terminal's own bytes: CR LF
	run on_pty "$1" e:END 'w:\x1dd' -- attach big
	assert_success
	[ "${#output}" -le 270000 ]
	assert_output --partial END
	nono_as "$1" stop big
}
@test "detached: the output log is capped at 2 x 4 MiB, the replay at 256 KiB (root)" { check_bounds root; }
@test "detached: the output log is capped at 2 x 4 MiB, the replay at 256 KiB (user)" { check_bounds user; }

@test "attach talks only to the session's own supervisor, not to a socket planted in its directory" {
	# Root's session in a home uid 65534 owns: its directories are theirs (as the
	# audit trail's), so they can replace the socket with one of their own.
	start root victim -- /bin/sh -c 'exec sleep 3317'
	local sock="$H/.nono/sessions/$id/control"
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups /usr/bin/python3 -c '
import os, socket, sys
p = sys.argv[1]
os.unlink(p)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(p)
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.sendall(b"Rfake fake")
c.sendall(b"OFAKE-OUTPUT")
c.settimeout(5)
try:
    while True:
        m = c.recv(100)
        if not m:
            break
        print("got", m[:1].decode(), flush=True)
except OSError:
    pass
' "$sock" >"$T/w/fake" 2>&1 &
	local fake=$!
	wait_for "$T/w/fake" ready
	run on_pty root 'w:secret\n' -- attach victim
	assert_output --partial "cannot attach to session $id (victim): the control socket in $H/.nono/sessions/$id is not its supervisor's"
	refute_output --partial FAKE-OUTPUT
	assert_line "STATUS 1"
	wait "$fake" || true
	run cat "$T/w/fake"
	refute_output --partial "got I"
	kill -TERM "$spid"
}
