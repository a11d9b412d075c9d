#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# PTY supervision: an interactive run (stdin and stdout a terminal) gives the child a
# pseudo-terminal of its own, relayed by nono in raw mode (src/supervisor/pty.c).
# Driven through a real pseudo-terminal (lib/ptyrun.py); as root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# on_pty root|user ACTION... -- NONO-ARGS...: nono_as on a fresh terminal.
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

check_own_terminal() {
	run on_pty "$1" -- run -s -- /bin/sh -c 'echo "INNER $(tty)"; test -t 0 && test -t 1 && test -t 2 && exit 7'
	assert_success
	assert_line "STATUS 7"
	inner=$(sed -n 's/^INNER //p' <<<"$output")
	outer=$(sed -n 's/^OUTER //p' <<<"$output")
	[[ "$inner" == /dev/pts/* ]]
	[ "$inner" != "$outer" ]
}
@test "an interactive child gets a terminal of its own, not nono's (root)" { check_own_terminal root; }
@test "an interactive child gets a terminal of its own, not nono's (user)" { check_own_terminal user; }

check_resize() {
	run on_pty "$1" r:20x70 e:ready r:33x101 -- run -s -- /bin/sh -c \
		'trap "echo size \$(stty size); exit 5" WINCH; echo start $(stty size); echo ready; while :; do sleep 0.05; done'
	assert_success
	assert_line "start 20 70"
	assert_line "size 33 101"
	assert_line "STATUS 5"
}
@test "a window-size change reaches the child (root)" { check_resize root; }
@test "a window-size change reaches the child (user)" { check_resize user; }

check_ctrl_c() {
	run on_pty "$1" e:ready 'w:\x03' -- run -s -- /bin/sh -c \
		'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.05; done'
	assert_success
	assert_line --partial "got-int"
	assert_line "STATUS 3"
	# Untrapped: the child dies of SIGINT and nono gives 128+2, it does not die itself.
	run on_pty "$1" e:ready 'w:\x03' -- run -s --no-diagnostics -- /bin/sh -c 'echo ready; exec sleep 30'
	assert_success
	assert_line "STATUS 130"
}
@test "Ctrl-C reaches the child, not nono, and 128+signal passes through (root)" { check_ctrl_c root; }
@test "Ctrl-C reaches the child, not nono, and 128+signal passes through (user)" { check_ctrl_c user; }

check_restore() {
	run on_pty "$1" e:ready m k:SIGTERM -- run -s --no-diagnostics -- /bin/sh -c 'echo ready; exec sleep 30'
	assert_success
	assert_line "MID raw"
	assert_line "MODES same"
	assert_line "STATUS 143"
	# And after a normal exit with output still in flight.
	run on_pty "$1" -- run -s -- /bin/sh -c 'seq 1 20000; exit 4'
	assert_success
	assert_line "20000"
	assert_line "STATUS 4"
	assert_line "MODES same"
}
@test "raw while the child runs, the terminal's modes restored when nono is killed (root)" { check_restore root; }
@test "raw while the child runs, the terminal's modes restored when nono is killed (user)" { check_restore user; }

@test "without a terminal the child keeps nono's pipes" {
	run bash -c "echo piped | env -i PATH=/usr/bin:/bin HOME=$H $N run -s -- /bin/sh -c 'cat; test -t 0 || echo no-tty'"
	assert_success
	assert_line piped
	assert_line no-tty
}

@test "NONO_PTY_DRAIN_TIMEOUT must be milliseconds" {
	run env -i PATH=/usr/bin:/bin HOME="$H" NONO_PTY_DRAIN_TIMEOUT=soon "$N" run -- true
	assert_failure 1
	assert_output --partial "NONO_PTY_DRAIN_TIMEOUT: 'soon' is not a number of milliseconds"
}
