#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The session UI: `nono inspect` (the record's grants, network, placement, pids; never
# a secret), `nono prune` (ended sessions only, limits, planted symlinks),
# `--startup-timeout` (driven through a real pseudo-terminal, lib/ptyrun.py) and themes
# (colour only on a terminal, never with NO_COLOR or in --json). As root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

# From $T, not a directory under /tmp (bound back into the private /tmp).
setup() {
	common_setup
	cd "$T"
}
teardown() {
	[ -n "${bg:-}" ] && kill -9 "$bg" 2>/dev/null
	common_teardown
}

# cmd_as root|user [VAR=VALUE...] -- ARGS...: the nono command line, in $cmd.
cmd_as() {
	local who=$1
	shift
	local vars=()
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	cmd=(env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "${vars[@]}" "$N" "$@")
	[ "$who" = user ] && cmd=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${cmd[@]}")
	return 0
}
# env_as root|user [VAR=VALUE...] -- ARGS...: nono with those variables, no terminal.
env_as() {
	cmd_as "$@"
	"${cmd[@]}"
}
# pty_as root|user [VAR=VALUE...] -- ARGS...: the same on a fresh terminal (ptyrun.py:
# the output, then STATUS, MODES, OUTER lines).
pty_as() {
	cmd_as "$@"
	python3 "$BATS_TEST_DIRNAME/lib/ptyrun.py" -- "${cmd[@]}"
}
# start_bg root|user [VAR=VALUE...] -- ARGS...: nono in the background; $bg its pid.
start_bg() {
	cmd_as "$@"
	"${cmd[@]}" >/dev/null 2>&1 3>&- &
	bg=$!
}
# wait_ps WHO PATTERN: until `nono ps --all` shows a line matching PATTERN (30 s: a
# loaded machine, ASan).
wait_ps() {
	for _ in $(seq 300); do
		nono_as "$1" ps --all | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	nono_as "$1" ps --all >&2
	return 1
}
# session_id WHO NAME: the id of the newest session named NAME.
session_id() {
	nono_as "$1" ps --all | awk -v n="$2" '$2 == n { id = $1 } END { print id }'
}

# ---- inspect ----

check_inspect_running() {
	local secret=sekrit-4af0c1d2e3
	start_bg "$1" NONO_TEST_SECRET=$secret -- run -s --name insp --allow "$T/data" \
		--credential openai=env://NONO_TEST_SECRET -- /bin/sh -c 'exec sleep 3301'
	wait_ps "$1" "insp +running"
	# The record is written first (the name is taken), the plan and the child's pid
	# join it once the command is forked.
	for _ in $(seq 300); do
		nono_as "$1" inspect insp | grep -qE '^CHILD +pid [0-9]+$' && break
		sleep 0.1
	done
	run nono_as "$1" inspect insp
	assert_success
	assert_line --regexp '^STATE +running$'
	assert_line --regexp '^NAME +insp$'
	assert_line --regexp '^COMMAND +sh$'
	assert_line --regexp "^SUPERVISOR +pid $bg\$"
	assert_line --regexp '^CHILD +pid [0-9]+$'
	assert_line --regexp '^ENDED +-$'
	assert_line --regexp '^NETWORK +proxy \(proxy on 127\.0\.0\.1:[0-9]+, (network-namespace|host-loopback)\)$'
	assert_line --regexp '^CREDENTIALS +openai$'
	assert_line --regexp "^ +readwrite +$T/data\$"
	assert_line --regexp "^ +private /tmp: $H/\.nono/sessions/[0-9]{8}-[0-9]{6}-[0-9a-f]{8}/tmp\$"
	run nono_as "$1" inspect --json insp
	assert_success
	INSPECT="$output" BG=$bg DATA="$T/data" HOMEDIR="$H" python3 - <<-'EOF'
		import json, os
		r = json.loads(os.environ['INSPECT'])
		assert r['state'] == 'running', r
		assert r['name'] == 'insp' and r['command'] == 'sh', r
		assert r['supervisor_pid'] == int(os.environ['BG']), r
		# The child's pid is the sandboxed command's, alive while the session runs.
		assert r['child_pid'] > 0 and os.path.exists('/proc/%d' % r['child_pid']), r
		assert r['started'] > 0 and 'ended' not in r and 'exit_code' not in r, r
		assert r['profile'] is None, r
		n = r['network']
		assert n['mode'] == 'proxy' and n['credentials'] == ['openai'], n
		assert 0 < n['proxy_port'] < 65536, n
		assert n['proxy_placement'] in ('network-namespace', 'host-loopback'), n
		assert {'path': os.environ['DATA'], 'access': 'readwrite', 'file': False} in r['grants'], r
		p = r['placement']
		assert p['mount_namespace'] is True and p['landlock_abi'] >= 1, p
		assert p['private_tmp'].startswith(os.environ['HOMEDIR'] + '/.nono/sessions/'), p
		assert 'supervisor_start' not in r, r
	EOF
	# The credential is named, its source and value are nowhere.
	refute_output --partial "$secret"
	refute_output --partial "env://"
	run grep -r -e "$secret" -e "NONO_TEST_SECRET" "$H/.nono/sessions"
	assert_failure 1
}
@test "inspect shows a running session's pids, network, placement and grants, no secret (root)" { check_inspect_running root; }
@test "inspect shows a running session's pids, network, placement and grants, no secret (user)" { check_inspect_running user; }

check_inspect_exited() {
	run nono_as "$1" run -s --no-diagnostics --block-net --name done1 -- /bin/sh -c 'echo x >/tmp/kept; exit 4'
	assert_failure 4
	run nono_as "$1" inspect done1
	assert_success
	assert_line --regexp '^STATE +exited \(exit status 4\)$'
	assert_line --regexp '^ENDED +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
	assert_line --regexp '^NETWORK +block$'
	run nono_as "$1" inspect --json "$(session_id "$1" done1)"
	assert_success
	INSPECT="$output" python3 -c '
import json, os
r = json.loads(os.environ["INSPECT"])
assert r["state"] == "exited" and r["exit_code"] == 4, r
assert r["ended"] >= r["started"] > 0, r
assert r["network"] == {"mode": "block"}, r'
	# A record is a file in the home: what it says never drives the terminal.
	python3 - "$H/.nono/sessions/$(session_id "$1" done1)/session.json" <<-'EOF'
		import json, sys
		r = json.load(open(sys.argv[1]))
		r['command'] = 'sh\u001b]0;pwned\u0007'
		r['grants'] = [{'path': '/x\u001b[2J', 'access': 'read', 'file': False}]
		json.dump(r, open(sys.argv[1], 'w'))
	EOF
	run nono_as "$1" inspect done1
	assert_success
	assert_line --regexp '^COMMAND +sh\?\]0;pwned\?$'
	refute_output --partial $'\e'
	run nono_as "$1" ps --all
	assert_output --regexp 'done1 +exited\(4\) .* sh\?\]0;pwned\?$'
	refute_output --partial $'\e'
	run nono_as "$1" inspect nosuch
	assert_failure 1
	assert_output "nono: error: no session 'nosuch' (see 'nono ps --all')"
	run nono_as "$1" inspect
	assert_failure 1
	assert_output --partial "'nono inspect' takes one session id or name"
}
@test "inspect shows an ended session's exit status and end time; an unknown one is an error (root)" { check_inspect_exited root; }
@test "inspect shows an ended session's exit status and end time; an unknown one is an error (user)" { check_inspect_exited user; }

# ---- prune ----

# set_times WHO NAME STARTED ENDED: rewrite an ended session's record times (the
# record is the user's own file): limits are checked without waiting for days.
set_times() {
	local f
	f="$H/.nono/sessions/$(session_id "$1" "$2")/session.json"
	python3 - "$f" "$3" "$4" <<-'EOF'
		import json, sys
		f, started, ended = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		r = json.load(open(f))
		r['started'], r['ended'] = started, ended
		json.dump(r, open(f, 'w'))
	EOF
}

check_prune() {
	local now day=86400
	for n in e1 e2 e3; do
		run nono_as "$1" run -s --no-diagnostics --name $n -- /bin/sh -c 'echo x >/tmp/kept; exit 3'
		assert_failure 3
	done
	now=$(date +%s)
	set_times "$1" e1 $((now - 10 * day)) $((now - 10 * day + 5))
	set_times "$1" e2 $((now - 5 * day)) $((now - 5 * day + 5))
	set_times "$1" e3 $((now - day)) $((now - day + 5))
	start_bg "$1" -- run -s --name doomed -- /bin/sh -c 'exec sleep 3303'
	wait_ps "$1" "doomed +running"
	kill -KILL "$bg"
	wait "$bg" || true
	start_bg "$1" -- run -s --name live -- /bin/sh -c 'exec sleep 3302'
	wait_ps "$1" "live +running"
	wait_ps "$1" "doomed +crashed"
	local live doomed e3
	live=$(session_id "$1" live)
	doomed=$(session_id "$1" doomed)
	e3=$(session_id "$1" e3)

	run nono_as "$1" prune --dry-run
	assert_success
	assert_line --regexp '^would remove [0-9a-f-]+ \(e1, exited\)$'
	assert_line --regexp '^would remove [0-9a-f-]+ \(doomed, crashed\)$'
	refute_output --partial live
	[ "$(ls "$H/.nono/sessions" | wc -l)" = 5 ]

	run nono_as "$1" prune --older-than 3d
	assert_success
	assert_line --regexp '^removed [0-9a-f-]+ \(e1, exited\)$'
	assert_line --regexp '^removed [0-9a-f-]+ \(e2, exited\)$'
	refute_output --partial "(e3,"
	refute_output --partial "(doomed,"
	[ "$(ls "$H/.nono/sessions" | wc -l)" = 3 ]

	# Of the ended ones (e3, doomed) the newest stays.
	run nono_as "$1" prune --keep 1
	assert_success
	assert_output --regexp "^removed $e3 \(e3, exited\)\$"
	[ -d "$H/.nono/sessions/$doomed" ]

	run nono_as "$1" prune
	assert_success
	assert_output --regexp "^removed $doomed \(doomed, crashed\)\$"
	# Never the live one.
	[ -f "$H/.nono/sessions/$live/session.json" ]
	run nono_as "$1" ps
	assert_output --regexp "live +running"
	run nono_as "$1" prune
	assert_success
	assert_output ""

	run nono_as "$1" prune --older-than 3x
	assert_failure 1
	assert_output --partial "'--older-than 3x': not a duration"
	run nono_as "$1" prune --keep -1
	assert_failure 1
	assert_output --partial "'--keep -1': not a number of sessions"
}
@test "prune removes ended and crashed sessions by --older-than and --keep, never a live one (root)" { check_prune root; }
@test "prune removes ended and crashed sessions by --older-than and --keep, never a live one (user)" { check_prune user; }

check_prune_config() {
	run nono_as "$1" run -s --no-diagnostics --name c1 -- /bin/sh -c 'echo x >/tmp/kept; exit 3'
	run nono_as "$1" run -s --no-diagnostics --name c2 -- /bin/sh -c 'echo x >/tmp/kept; exit 3'
	local c2
	c2=$(session_id "$1" c2)
	set_times "$1" c1 100 200
	mkdir -p "$H/.config/nono"
	printf '[sessions]\nkeep = 1\n' >"$H/.config/nono/config.toml"
	chmod -R a+rX "$H/.config"
	run nono_as "$1" prune
	assert_success
	assert_output --regexp '^removed [0-9a-f-]+ \(c1, exited\)$'
	[ -d "$H/.nono/sessions/$c2" ]
	# A flag overrides the file.
	run nono_as "$1" prune --keep 0
	assert_output --regexp "^removed $c2 \(c2, exited\)\$"
	printf '[sessions]\nkeep_last = 1\n' >"$H/.config/nono/config.toml"
	run nono_as "$1" prune
	assert_failure 1
	assert_output --partial "config.toml:2:1: [sessions] unknown key 'keep_last'"
}
@test "prune takes its defaults from [sessions] in config.toml (root)" { check_prune_config root; }
@test "prune takes its defaults from [sessions] in config.toml (user)" { check_prune_config user; }

check_prune_symlink() {
	local owner=0
	[ "$1" = user ] && owner=$NOBODY
	run nono_as "$1" run -s --no-diagnostics --name real -- /bin/sh -c 'echo x >/tmp/kept; exit 3'
	# A planted session directory that is a symlink out, with a record that says exited
	# under the symlink's own name, and an ended session whose /tmp links out.
	mkdir -p "$T/victim/tmp"
	echo precious >"$T/victim/tmp/precious"
	printf '{"id": "evil", "name": "evil", "command": "sh", "state": "exited", "supervisor_pid": 1, "supervisor_start": 1, "started": 1, "ended": 2, "exit_code": 0}\n' >"$T/victim/session.json"
	chown -R $owner:$owner "$T/victim"
	ln -s "$T/victim" "$H/.nono/sessions/evil"
	ln -s "$T/victim" "$H/.nono/sessions/$(session_id "$1" real)/tmp/out"
	chown -h $owner:$owner "$H/.nono/sessions/evil" "$H/.nono/sessions"/*/tmp/out
	run nono_as "$1" ps --all
	refute_output --partial evil
	run nono_as "$1" inspect evil
	assert_failure 1
	run nono_as "$1" prune
	assert_success
	assert_output --regexp '^removed [0-9a-f-]+ \(real, exited\)$'
	[ "$(cat "$T/victim/tmp/precious")" = precious ]
	[ -f "$T/victim/session.json" ]
	[ -L "$H/.nono/sessions/evil" ]
	# ~/.nono/sessions itself a symlink: nothing behind it is removed.
	rm "$H/.nono/sessions/evil"
	mv "$H/.nono/sessions" "$T/sessions-elsewhere"
	ln -s "$T/sessions-elsewhere" "$H/.nono/sessions"
	mkdir "$T/sessions-elsewhere/20000101-000000-0000beef"
	printf '{"id": "20000101-000000-0000beef", "name": "far", "command": "sh", "state": "exited", "supervisor_pid": 1, "supervisor_start": 1, "started": 1, "ended": 2, "exit_code": 0}\n' \
		>"$T/sessions-elsewhere/20000101-000000-0000beef/session.json"
	chown -R $owner:$owner "$T/sessions-elsewhere"
	chown -h $owner:$owner "$H/.nono/sessions"
	run nono_as "$1" prune
	assert_failure 1
	assert_output --partial "cannot remove session 20000101-000000-0000beef (far)"
	[ -f "$T/sessions-elsewhere/20000101-000000-0000beef/session.json" ]
}
@test "prune never follows a symlink planted in ~/.nono/sessions (root)" { check_prune_symlink root; }
@test "prune never follows a symlink planted in ~/.nono/sessions (user)" { check_prune_symlink user; }

# ---- --startup-timeout ----

check_startup_kills() {
	run pty_as "$1" NO_COLOR=1 -- run --no-diagnostics --startup-timeout 1 -- /bin/sh -c 'echo banner; exec sleep 3304'
	assert_success
	assert_line "STATUS 137"
	assert_line "MODES same"
	assert_output --partial "banner"
	assert_output --partial "nono: warning: '/bin/sh' did not enter the alternate screen (start a full-screen interface) within --startup-timeout 1 s: terminated (SIGKILL); '--startup-timeout 0' disables the limit"
	run pgrep -f "sleep 3304"
	assert_failure 1
	# The environment variable, and the built-in profile named for a known agent.
	printf '#!/bin/sh\nexec sleep 3305\n' >"$T/bin/claude"
	chmod 755 "$T/bin/claude"
	run pty_as "$1" NO_COLOR=1 NONO_STARTUP_TIMEOUT=1 -- run --no-diagnostics --read "$P" -- "$P/claude"
	assert_line "STATUS 137"
	assert_output --partial "terminated (SIGKILL); the recommended built-in profile for it is '--profile claude-code'"
}
@test "--startup-timeout ends a program that never enters the alternate screen, with a warning (root)" { check_startup_kills root; }
@test "--startup-timeout ends a program that never enters the alternate screen, with a warning (user)" { check_startup_kills user; }

check_startup_keeps() {
	# The sequence split across two writes; the program outlives the limit.
	run pty_as "$1" -- run --no-diagnostics --startup-timeout 3 -- /bin/sh -c \
		'printf "up\033[?10"; sleep 0.5; printf "49hTUI\n"; sleep 4; exit 5'
	assert_line "STATUS 5"
	refute_output --partial "alternate screen"
	# 0 disables; the flag wins over the variable.
	run pty_as "$1" NONO_STARTUP_TIMEOUT=1 -- run --no-diagnostics --startup-timeout 0 -- /bin/sh -c 'sleep 2; exit 6'
	assert_line "STATUS 6"
	refute_output --partial "alternate screen"
	# Without a terminal the limit does not apply (said under -v).
	run env_as "$1" -- run -v --no-diagnostics --startup-timeout 1 -- /bin/sh -c 'sleep 2; exit 6'
	assert_failure 6
	assert_output --partial "--startup-timeout not applied: the command has no terminal of its own"
	run env_as "$1" -- run --startup-timeout soon -- true
	assert_failure 1
	assert_output --partial "'--startup-timeout soon' (or NONO_STARTUP_TIMEOUT): not a number of seconds"
}
@test "--startup-timeout keeps a program that enters the alternate screen; 0 disables it (root)" { check_startup_keeps root; }
@test "--startup-timeout keeps a program that enters the alternate screen; 0 disables it (user)" { check_startup_keeps user; }

# ---- themes ----

MOCHA=$'\e[1;38;2;203;166;247m'
LATTE=$'\e[1;38;2;136;57;239m'
FRAPPE=$'\e[1;38;2;202;158;230m'
MACCHIATO=$'\e[1;38;2;198;160;246m'
TOKYO=$'\e[1;38;2;187;154;247m'

check_theme() {
	mkdir -p "$H/.config/nono"
	printf '[ui]\ntheme = "frappe"\n' >"$H/.config/nono/config.toml"
	chmod -R a+rX "$H/.config"
	# Precedence: --theme, then NONO_THEME, then [ui] theme.
	run pty_as "$1" -- ps
	assert_output --partial "${FRAPPE}ID"
	run pty_as "$1" NONO_THEME=macchiato -- ps
	assert_output --partial "${MACCHIATO}ID"
	run pty_as "$1" NONO_THEME=macchiato -- --theme tokyo-night ps
	assert_output --partial "${TOKYO}ID"
	# run takes --theme after the verb too: the footer's "nono:" in its colour.
	run pty_as "$1" NONO_THEME=macchiato -- run --theme latte -- /bin/sh -c 'exit 3'
	assert_line "STATUS 3"
	assert_output --partial "${LATTE}nono:"
	# Unknown: a warning, then mocha.
	run pty_as "$1" -- --theme neon ps
	assert_output --partial "unknown theme 'neon' (--theme): using mocha"
	assert_output --partial "${MOCHA}ID"
	run pty_as "$1" NONO_THEME=neon -- ps
	assert_output --partial "unknown theme 'neon' (NONO_THEME): using mocha"
	# NO_COLOR, --json and a pipe: not one escape sequence.
	run pty_as "$1" NO_COLOR=1 -- --theme latte ps --all
	assert_line "STATUS 0"
	refute_output --partial $'\e['
	run pty_as "$1" -- ps --all --json
	refute_output --partial $'\e['
	run env_as "$1" NONO_THEME=neon -- --theme latte ps
	assert_success
	refute_output --partial $'\e['
	run env_as "$1" -- --theme neon ps
	assert_output --partial "nono: warning: unknown theme 'neon' (--theme): using mocha"
	refute_output --partial $'\e['
	# -s silences that warning too.
	run env_as "$1" -- run -s --theme neon -- /bin/sh -c 'echo out'
	assert_success
	assert_output "out"
}
@test "themes colour nono's own output on a terminal only: flag, env, config, unknown, NO_COLOR (root)" { check_theme root; }
@test "themes colour nono's own output on a terminal only: flag, env, config, unknown, NO_COLOR (user)" { check_theme user; }
