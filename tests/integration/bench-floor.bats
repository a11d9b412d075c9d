#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# bench/floor.c is the lower bound bench/launch.py sets issue 18's goals against. A
# floor that skipped part of the work would make goals look out of reach that are not:
# these cases hold it to every guarantee it claims. As root (it makes namespaces
# without a user namespace) and as uid 65534, where it must refuse at the clone.

load lib/common

setup() {
	common_setup
	command -v cc >/dev/null || skip_feature "no C compiler (build-essential)"
	cc -std=gnu17 -O2 -Wall -Wextra -Werror -o "$P/floor" "$NONO_SRC/bench/floor.c"
	chmod 755 "$P/floor"
}

teardown() {
	common_teardown
}

floor_as() {
	local who=$1
	shift
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$P/floor" "$@"
	else
		"$P/floor" "$@"
	fi
}

@test "the floor confines as it claims: read-only root, writable grant, masks, PID 1, own /proc, no capabilities, Landlock, seccomp (root)" {
	local run_floor=("$P/floor" fs,record "$T/data" "$H/.ssh" "$H/.bash_history" --)
	run "${run_floor[@]}" "$P/probe-open" "$T/outside.txt" w
	[ "$status" -eq 30 ] || fail "write outside the grant: exit $status (want 30, EROFS): $output"
	run "${run_floor[@]}" "$P/probe-open" "$T/data/new.txt" w
	assert_success
	run "${run_floor[@]}" "$P/probe-open" "$H/.ssh/id_rsa" r
	[ "$status" -eq 2 ] || fail "masked directory: exit $status (want 2, ENOENT): $output"
	run "${run_floor[@]}" /bin/sh -c 'cat "$0"; echo "pid=$$"; ls /proc | grep -c "^[0-9]"; grep -E "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status' "$H/.bash_history"
	assert_success
	refute_output --partial SECRET-HISTORY
	assert_line 'pid=1'
	assert_line --regexp '^[1-3]$'
	assert_line --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --regexp '^CapPrm:[[:space:]]+0+$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	# Landlock: a mask's tmpfs is a writable mount, but outside the grant's rule.
	run "${run_floor[@]}" "$P/probe-open" "$H/.ssh/new" w
	[ "$status" -eq 13 ] || fail "write outside the Landlock rules: exit $status (want 13, EACCES): $output"
	# The record: a session directory for each of the five runs, the end written over
	# the start.
	run sh -c 'ls "$1" | wc -l; cat "$1"/*/session.json | sort -u' sh "$T/data/.floor"
	assert_output $'5\n{"start":1,"end":0}'
	# ... and made durable after the command: a flush of the file, one of its directory.
	if command -v strace >/dev/null; then
		run strace -f -e trace=fdatasync,fsync,exit_group -o "$T/data/floor.strace" "${run_floor[@]}" /bin/true
		assert_success
		run grep -oE '(fdatasync|fsync|exit_group)\(' "$T/data/floor.strace"
		assert_output $'exit_group(\nfdatasync(\nfsync(\nexit_group('
	else
		skip_feature "strace is not installed"
	fi
	# wrap's floor: in place, no PID namespace, the same mounts and rules.
	run "$P/floor" inplace,fs "$T/data" -- "$P/probe-open" "$T/outside.txt" w
	[ "$status" -eq 30 ] || fail "in place, write outside the grant: exit $status (want 30): $output"
	# Proxy mode's: a network namespace with only its loopback, up.
	run "$P/floor" fs,net "$T/data" -- /sbin/ip -o link show
	assert_success
	assert_output --regexp '^1: lo: <LOOPBACK,UP,LOWER_UP>'
	[ "${#lines[@]}" -eq 1 ] || fail "more than the loopback: $output"
}

@test "the floor refuses at the clone without privilege, so launch.py leaves it out (user)" {
	run floor_as user fs,record "$T/data" -- /bin/true
	[ "$status" -eq 72 ] || fail "exit $status (want 72, clone refused): $output"
	run floor_as user inplace,fs "$T/data" -- /bin/true
	[ "$status" -eq 92 ] || fail "exit $status (want 92, unshare refused): $output"
}
