#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nono setup (cli-reference "nono setup Options") and the generated shell completions.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

@test "setup --check-only reports Landlock, seccomp and user namespaces and writes nothing" {
	run nono_as root setup --check-only
	assert_success
	assert_output --regexp "Landlock: +ABI [0-9]+, live restriction test passed"
	assert_output --partial "seccomp:"
	assert_output --partial "User namespaces:"
	assert_output --partial "TCP bind/connect port rules"
	assert_output --partial "Degraded:"
	[ ! -e "$H/.config/nono" ]
}

@test "setup --check-only works for an unprivileged user" {
	run nono_as user setup --check-only
	assert_success
	assert_output --partial "Running as root:  no"
	[ ! -e "$H/.config/nono" ]
}

@test "setup on this kernel (ABI >= 6) enforces every feature" {
	run nono_as root setup --check-only
	assert_success
	assert_output --partial "[x] ABI 6"
	assert_output --partial "every feature enforced"
}

@test "setup -v says how user namespaces were probed" {
	run nono_as root setup --check-only -v
	assert_success
	assert_output --partial "unshare(CLONE_NEWUSER|CLONE_NEWNS)"
}

@test "setup --profiles writes example profiles and never overwrites" {
	mkdir -p "$H/.config/nono/profiles"
	echo '{"mine": true}' >"$H/.config/nono/profiles/example-agent.json"
	run nono_as root setup --profiles
	assert_success
	assert_output --partial "kept"
	assert_output --partial "created"
	grep -q '"mine"' "$H/.config/nono/profiles/example-agent.json"
	[ -s "$H/.config/nono/profiles/example-offline.json" ]
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$H/.config/nono/profiles/example-offline.json"
	# A planted symlink is not followed.
	rm "$H/.config/nono/profiles/example-offline.json"
	ln -s "$T/outside.txt" "$H/.config/nono/profiles/example-offline.json"
	run nono_as root setup --profiles
	grep -qx outside "$T/outside.txt"
}

@test "the example profiles load in nono run --dry-run" {
	run nono_as root setup --profiles
	assert_success
	cd "$H/project"
	run nono_as root run --profile example-agent --dry-run -- true
	assert_success
	run nono_as root run --profile example-offline --dry-run -- true
	assert_success
	assert_output --partial "blocked"
}

@test "setup --check-only --profiles is refused" {
	run nono_as root setup --check-only --profiles
	assert_failure 1
	[ ! -e "$H/.config/nono" ]
}

@test "setup --shell-integration explains completions and aliases" {
	run nono_as root setup --shell-integration
	assert_success
	assert_output --partial "nono __generate bash"
	assert_output --partial "alias "
}

@test "setup rejects unknown options" {
	run nono_as root setup --bogus
	assert_failure 1
	assert_output --partial "'--bogus'"
}

@test "generated bash completion completes commands, options and --op values" {
	"$N" __generate bash >"$T/nono.bash"
	run bash -c 'source "$1"
		COMP_WORDS=(nono wh); COMP_CWORD=1; _nono; echo "${COMPREPLY[*]}"
		COMP_WORDS=(nono why --op ""); COMP_CWORD=3; _nono; echo "${COMPREPLY[*]}"
		COMP_WORDS=(nono run --allow-cw); COMP_CWORD=2; _nono; echo "${COMPREPLY[*]}"' _ "$T/nono.bash"
	assert_success
	assert_line --index 0 why
	assert_line --index 1 "read write readwrite"
	assert_line --index 2 "--allow-cwd"
}

@test "__generate is hidden from help and validates its arguments" {
	run "$N" --help
	refute_output --partial "__generate"
	run "$N" __generate man nosuchcommand
	assert_failure 1
	run "$N" __generate troff
	assert_failure 1
	run "$N" __generate man why
	assert_success
	assert_output --partial '.SH OPTIONS'
}
