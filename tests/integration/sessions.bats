#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Sessions: every supervised run has an id, a name (--name or generated) and a record
# in ~/.nono/sessions/<id>/session.json that `nono ps` lists; a supervisor that dies
# leaves a crashed record and no sandboxed process. As root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

# From $T, not a directory under /tmp (bound back into the private /tmp, which would
# then not be empty and the session record would be kept).
setup() {
	common_setup
	cd "$T"
}
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

check_stop() {
	start_bg "$1" run -s --no-diagnostics --name s1 -- /bin/sh -c 'exec sleep 3193'
	wait_ps "$1" "s1 +running"
	run nono_as "$1" stop s1
	assert_success
	status=0
	wait "$bg" || status=$?
	bg=
	[ "$status" = 143 ]
	run nono_as "$1" ps --all
	refute_output --partial s1
	run nono_as "$1" stop s1
	assert_failure 1
	assert_output --partial "no session 's1'"
	# --force: the supervisor is killed and takes the sandbox with it.
	start_bg "$1" run -s --name s2 -- /bin/sh -c 'exec sleep 3194'
	wait_ps "$1" "s2 +running"
	run nono_as "$1" stop --force s2
	assert_success
	status=0
	wait "$bg" || status=$?
	bg=
	[ "$status" = 137 ]
	for _ in $(seq 50); do
		pgrep -f "sleep 3194" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "sleep 3194"
	assert_failure 1
	run nono_as "$1" ps --all
	assert_output --regexp "s2 +crashed"
}
@test "nono stop ends a session; --force kills its sandbox with the supervisor (root)" { check_stop root; }
@test "nono stop ends a session; --force kills its sandbox with the supervisor (user)" { check_stop user; }

# check_cross OWNER OTHER: OTHER sees OWNER's session (same HOME) but cannot stop it.
check_cross() {
	start_bg "$1" run -s --name mine -- /bin/sh -c 'exec sleep 3195'
	wait_ps "$1" "mine +running"
	run nono_as "$2" stop mine
	assert_failure 1
	assert_output --partial "belongs to another user: not stopped"
	run nono_as "$2" stop --force mine
	assert_failure 1
	assert_output --partial "belongs to another user"
	run nono_as "$1" ps
	assert_output --regexp "mine +running"
	run nono_as "$1" stop mine
	assert_success
	wait "$bg" || true
	bg=
}
@test "another uid cannot stop a session: uid 65534 not root's" { check_cross root user; }
@test "another uid cannot stop a session: root not uid 65534's" { check_cross user root; }

check_forged() {
	# A record the user wrote, naming another process of theirs: never signalled.
	if [ "$1" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups sleep 3196 3>&- &
	else
		sleep 3196 3>&- &
	fi
	victim=$!
	start=$(sed 's/.*) //' "/proc/$victim/stat" | awk '{ print $20 }')
	id=20200101-000000-0000beef
	mkdir -p "$H/.nono/sessions/$id"
	printf '{"id": "%s", "name": "forged", "command": "sh", "state": "running", "supervisor_pid": %d, "supervisor_start": %s, "started": 1}\n' \
		"$id" "$victim" "$start" >"$H/.nono/sessions/$id/session.json"
	chown -R "$NOBODY:$NOBODY" "$H/.nono"
	run nono_as "$1" ps
	assert_output --regexp "forged +running +$victim"
	run nono_as "$1" stop --force forged
	assert_failure 1
	assert_output --partial "is not running"
	kill -0 "$victim"
	kill "$victim"
}
@test "a forged session record cannot aim nono stop at another process (root)" { check_forged root; }
@test "a forged session record cannot aim nono stop at another process (user)" { check_forged user; }
