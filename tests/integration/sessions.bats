#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Sessions: every supervised run has an id, a name (--name or generated) and a record
# in ~/.nono/sessions/<id>/session.json that `nono ps` lists; a supervisor that dies
# leaves a crashed record and no sandboxed process. As root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() {
	[ -n "${bg:-}" ] && kill -9 "$bg" 2>/dev/null
	common_teardown
}

# start_bg root|user ARGS...: nono in the background; $bg is nono's own pid (a command,
# not a function, is forked and exec'd straight away; setpriv and env exec in turn).
start_bg() {
	local who=$1
	shift
	local cmd=(env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@")
	[ "$who" = user ] && cmd=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${cmd[@]}")
	"${cmd[@]}" >/dev/null 2>&1 3>&- &
	bg=$!
}

# wait_ps WHO PATTERN [--all]: until `nono ps` shows a line matching PATTERN (10 s).
wait_ps() {
	local who=$1 pat=$2
	shift 2
	for _ in $(seq 100); do
		nono_as "$who" ps "$@" | grep -qE -- "$pat" && return 0
		sleep 0.1
	done
	nono_as "$who" ps --all >&2
	return 1
}

check_running() {
	start_bg "$1" run -s --name work -- /bin/sh -c 'exec sleep 3191'
	wait_ps "$1" "^[0-9]{8}-[0-9]{6}-[0-9a-f]{8} +work +running +$bg +.* sh$"
	run nono_as "$1" ps --json
	assert_success
	assert_output --partial '"name": "work"'
	assert_output --partial '"state": "running"'
	assert_output --partial "\"supervisor_pid\": $bg"
	# Unique among live sessions.
	run nono_as "$1" run --name work -- true
	assert_failure 1
	assert_output --partial "'--name work': a running session already has that name"
	# The record is 0600 in a 0700 directory of the home's owner.
	id=$(nono_as "$1" ps | awk '$2 == "work" { print $1 }')
	[ "$(stat -c %a "$H/.nono/sessions/$id")" = 700 ]
	[ "$(stat -c %a "$H/.nono/sessions/$id/session.json")" = 600 ]
	# Ended, having left nothing in its /tmp: the session leaves nothing behind.
	kill -TERM "$bg"
	wait "$bg" || true
	bg=
	run nono_as "$1" ps --all
	assert_success
	refute_output --partial work
	[ ! -e "$H/.nono/sessions/$id" ]
}
@test "a running session is listed by nono ps with its name, which no other may take (root)" { check_running root; }
@test "a running session is listed by nono ps with its name, which no other may take (user)" { check_running user; }

check_crashed() {
	start_bg "$1" run -s --name doomed -- /bin/sh -c 'exec sleep 3197'
	wait_ps "$1" "doomed +running"
	kill -KILL "$bg"
	wait "$bg" || true
	bg=
	for _ in $(seq 50); do
		pgrep -f "sleep 3197" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "sleep 3197"
	assert_failure 1
	run nono_as "$1" ps --all
	assert_success
	assert_output --regexp "doomed +crashed"
	run nono_as "$1" ps
	refute_output --partial doomed
	# A crashed session's name is free again.
	run nono_as "$1" run -s --name doomed -- true
	assert_success
}
@test "SIGKILL of the supervisor leaves a crashed session and no sandboxed process (root)" { check_crashed root; }
@test "SIGKILL of the supervisor leaves a crashed session and no sandboxed process (user)" { check_crashed user; }

check_kept() {
	run nono_as "$1" run -s --no-diagnostics -- /bin/sh -c 'echo x >/tmp/kept; exit 4'
	assert_failure 4
	run nono_as "$1" ps --all
	assert_success
	assert_output --regexp "sh-[0-9a-f]{4} +exited\(4\) .* sh$"
	run nono_as "$1" ps --all --json
	assert_output --partial '"exit_code": 4'
}
@test "an ended session that kept its /tmp is listed by ps --all with its exit code (root)" { check_kept root; }
@test "an ended session that kept its /tmp is listed by ps --all with its exit code (user)" { check_kept user; }

@test "--name takes a plain name only" {
	run nono_as root run --name ../x -- true
	assert_failure 1
	assert_output --partial "'--name ../x': a session name is 1-64 letters, digits"
	run nono_as root ps extra
	assert_failure 1
	assert_output --partial "'nono ps' takes no arguments"
}
