#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Exit codes, environment, fds, command checks, wrap, option errors.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

@test "the child's exit code is passed through" {
	run nono_as root run -- /bin/sh -c 'exit 7'
	assert_failure 7
}

@test "a child killed by a signal gives 128+signal" {
	run nono_as root run --no-diagnostics -- /bin/sh -c 'kill -9 $$'
	assert_failure 137
}

@test "a nono error exits 1 and names the problem" {
	run nono_as root run --open-port 70000 -- true
	assert_failure 1
	assert_output --partial "70000"
}

@test "a missing command is a clear error" {
	run nono_as root run -- no-such-command-nono
	assert_failure 1
	assert_output --partial "no-such-command-nono"
}

@test "unknown options are named" {
	run nono_as root run --allw /tmp -- true
	assert_failure 1
	assert_output --partial "--allw"
}

@test "the diagnostic footer appears on failure and --no-diagnostics removes it" {
	run nono_as root run -- /bin/sh -c 'exit 3'
	assert_failure 3
	assert_output --partial "nono why"
	run nono_as root run --no-diagnostics -- /bin/sh -c 'exit 3'
	assert_failure 3
	refute_output --partial "nono why"
}

@test "dangerous loader variables are stripped from the child's environment" {
	run env LD_PRELOAD=/nonexistent.so BASH_ENV=/tmp/x NODE_OPTIONS=--require=/x KEEP_ME=1 \
		HOME="$H" "$N" run -- /usr/bin/env
	assert_success
	refute_line --regexp '^LD_PRELOAD='
	refute_line --regexp '^BASH_ENV='
	refute_line --regexp '^NODE_OPTIONS='

	assert_output --partial "KEEP_ME=1"
}

@test "inherited descriptors above 2 are closed" {
	exec 7<"$T/outside.txt"
	run "$N" run --read "$P" -- /bin/sh -c 'ls /proc/self/fd'
	exec 7<&-
	assert_success
	refute_line "7"
}

@test "dangerous commands are refused at startup unless allowed" {
	run nono_as root run -- rm -f "$T/nothing"
	assert_failure 1
	assert_output --partial "--allow-command"
	run nono_as root run --allow "$T/data" --allow-command rm -- rm -f "$T/data/sibling.txt"
	assert_success
	assert_output --partial "deprecated"
	[ ! -e "$T/data/sibling.txt" ]
}

@test "--dry-run prints the grants and runs nothing" {
	run nono_as root run --allow "$T/data" --read-file "$T/outside.txt" --block-net --dry-run -- touch "$T/ran"
	assert_success
	assert_output --partial "Capabilities that would be granted:"
	assert_output --partial "[rw] $T/data"
	assert_output --partial "[r-] $T/outside.txt"
	assert_output --partial "[net] blocked"
	assert_output --partial "Would execute: touch"
	[ ! -e "$T/ran" ]
}

@test "--dry-run -v reports the Landlock ABI and scopes" {
	run nono_as root run --dry-run -v -- true
	assert_success
	assert_output --partial "Landlock ABI:"
	assert_output --partial "Scope signal: requested="
}

@test "NONO_ALLOW grants directories, and a flag takes precedence over it" {
	run env NONO_ALLOW="$T/data" HOME="$H" "$N" run --read "$P" -- "$P/probe-open" "$T/data/file.txt" w
	assert_success
	run env NONO_ALLOW="$T/data" HOME="$H" "$N" run --allow "$H/project" --read "$P" -- "$P/probe-open" "$T/data/file.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}

@test "invalid NONO_BLOCK_NET is an error naming the variable" {
	run env NONO_BLOCK_NET=maybe HOME="$H" "$N" run -- true
	assert_failure 1
	assert_output --partial "NONO_BLOCK_NET"
}

@test "NONO_BLOCK_NET and NONO_ALLOW_NET together conflict, like the flags" {
	run env NONO_BLOCK_NET=true NONO_ALLOW_NET=yes HOME="$H" "$N" run -- true
	assert_failure 1
	run nono_as root run --block-net --allow-net -- true
	assert_failure 1
}

@test "unsupported features are refused, never silently ignored" {
	run nono_as root run --capability-elevation -- true
	assert_failure 1
	assert_output --partial "'--capability-elevation' is not supported by this build of nono yet"
}

@test "nono wrap execs in place: no nono process stays behind" {
	run /bin/sh -c 'echo $$; exec env HOME="'"$H"'" "'"$N"'" wrap --read /proc -- /bin/sh -c "echo \$\$"'
	assert_success
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "nono wrap refuses proxy flags with a pointer to nono run" {
	run nono_as root wrap --allow-domain example.com -- true
	assert_failure 1
	assert_output --partial "nono run"
}

@test "nono shell runs the given shell in the sandbox" {
	run bash -c "echo 'echo in-shell; exit 4' | env HOME='$H' '$N' shell --shell /bin/sh"
	assert_failure 4
	assert_output --partial "in-shell"
}

@test "--help lists the options it parses" {
	run "$N" run --help
	assert_success
	assert_output --partial "--allow-unix-socket-subtree-bind"
	assert_output --partial "--bypass-protection"
}

@test "--credential without its key fails closed, naming the service and the key" {
	run nono_as root run --credential openai -- true
	assert_failure 1
	assert_output --partial "service 'openai'"
	assert_output --partial "openai_api_key"
}

# -s: nothing from nono at all (cli-reference: "Only the executed command's output"),
# --dry-run and errors included; the exit code still tells.
check_silent() {
	run --separate-stderr nono_as "$1" -s run --dry-run --allow "$T/data" -- true
	assert_success
	assert_output ""
	[ -z "$stderr" ]
	run --separate-stderr nono_as "$1" run -s --dry-run -- true
	assert_success
	assert_output ""
	[ -z "$stderr" ]
	run --separate-stderr nono_as "$1" -s run --credential nosuch -- true
	assert_failure 1
	assert_output ""
	[ -z "$stderr" ]
	# The command's own output passes; a refusal inside gets no footer from nono.
	run --separate-stderr nono_as "$1" -s run -- sh -c "echo out; echo err >&2; cat '$T/outside.txt' 2>/dev/null; exit 3"
	assert_failure 3
	assert_output out
	[ "$stderr" = err ]
}
@test "-s silences everything nono prints, --dry-run and errors included (root)" { check_silent root; }
@test "-s silences everything nono prints, --dry-run and errors included (user)" { check_silent user; }
