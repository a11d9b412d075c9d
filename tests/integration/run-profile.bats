#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Profiles: every built-in one starts a shell; user profiles; bad profiles are named errors.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; mkdir -p "$H/.config/nono/profiles"; }
teardown() { common_teardown; }

BUILTIN="default claude-code codex opencode gemini python-dev node-dev go-dev rust-dev openclaw swival"

@test "every built-in profile starts sh -c true" {
	cd "$H/project"
	for p in $BUILTIN; do
		run nono_as user run --profile "$p" --allow-cwd -- /bin/sh -c true
		[ "$status" -eq 0 ] || { echo "profile $p: $output"; false; }
	done
}

@test "every built-in profile keeps ~/.ssh unreadable even with the cwd granted" {
	cd "$H"
	for p in $BUILTIN; do
		run nono_as user run --profile "$p" --allow-cwd -- /bin/sh -c "cat '$H/.ssh/id_rsa'; echo ran"
		[[ "$output" == *ran* ]] || { echo "profile $p did not run: $output"; false; }
		[[ "$output" != *SECRET-SSH-KEY* ]] || { echo "profile $p leaked"; false; }
	done
}

@test "a user profile in ~/.config/nono/profiles is found by name" {
	cat >"$H/.config/nono/profiles/mine.json" <<JSON
{"extends": "default", "meta": {"name": "mine"}, "filesystem": {"read": ["$T/data"]}}
JSON
	chown -R $NOBODY "$H/.config"
	run nono_as user run --profile mine --read "$P" -- "$P/probe-open" "$T/data/file.txt" r
	assert_success
	run nono_as user run --profile mine --read "$P" -- "$P/probe-open" "$T/data/file.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}

@test "a profile given as a path works, with \$HOME and ~ expanded" {
	cat >"$T/p.json" <<'JSON'
{"meta": {"name": "p"}, "filesystem": {"allow": ["$HOME/project"], "read_file": ["~/.config/x"]}}
JSON
	echo x >"$H/.config/x"
	run nono_as root run --profile "$T/p.json" --dry-run -- true
	assert_success
	assert_output --partial "[rw] $H/project"
	assert_output --partial "[r-] $H/.config/x"
}

@test "an unknown key is an error with file:line:column" {
	printf '{\n  "meta": {"name": "bad"},\n  "filesytem": {}\n}\n' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "$T/bad.json:3:"
	assert_output --partial "filesytem"
}

@test "a wrong type is an error with file:line:column" {
	printf '{\n  "filesystem": {\n    "allow": "/tmp"\n  }\n}\n' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "$T/bad.json:3:"
}

@test "a duplicate key is an error with file:line:column" {
	printf '{\n  "meta": {"name": "a"},\n  "meta": {"name": "b"}\n}\n' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "$T/bad.json:3:"
}

@test "malformed JSON is an error with file:line:column" {
	printf '{\n  "meta": {"name": "a",}\n}\n' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "$T/bad.json:2:"
}

@test "an extends cycle is an error naming the chain" {
	echo '{"extends": "b"}' >"$H/.config/nono/profiles/a.json"
	echo '{"extends": "a"}' >"$H/.config/nono/profiles/b.json"
	run nono_as root run --profile a -- true
	assert_failure 1
	assert_output --partial "cycle"
}

@test "an unknown profile is an error" {
	run nono_as root run --profile no-such-profile -- true
	assert_failure 1
	assert_output --partial "no-such-profile"
}

@test "an unknown variable in a profile path is an error naming it" {
	echo '{"filesystem": {"read": ["$NOPE/x"]}}' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "NOPE"
}

@test "excluding a required group is refused" {
	echo '{"extends": "default", "policy": {"exclude_groups": ["deny_credentials"]}}' >"$T/bad.json"
	run nono_as root run --profile "$T/bad.json" -- true
	assert_failure 1
	assert_output --partial "deny_credentials"
}

@test "NONO_PROFILE selects a profile; --profile overrides it" {
	run env NONO_PROFILE=no-such-profile HOME="$H" "$N" run --dry-run -- true
	assert_failure 1
	run env NONO_PROFILE=no-such-profile HOME="$H" "$N" run --profile default --dry-run -- true
	assert_success
}

# A profile's write-granted files under $HOME that do not exist yet (~/.claude.json on a
# first run) are created before the sandbox starts, mode 0600, as the invoking user, and
# -v says so; a .json one starts as "{}"; a .lock name (often a mkdir lock) is left alone.
check_profile_creates_files() {
	local who=$1 owner=$NOBODY
	[ "$who" = root ] && owner=0
	cat >"$H/.config/nono/profiles/files.json" <<JSON
{"extends": "default", "filesystem": {"allow_file": ["~/state.json", "~/notes.txt", "~/state.json.lock"],
 "read_file": ["~/absent-read.txt"]}}
JSON
	chown -R "$owner:$owner" "$H"
	run --separate-stderr nono_as "$who" run -v --profile files -- sh -c \
		"cat '$H/state.json'; echo more >>'$H/notes.txt' && echo wrote"
	assert_success
	assert_output --partial "{}"
	assert_output --partial "wrote"
	[[ "$stderr" == *"created '$H/state.json' (\"{}\", mode 0600) for profile 'files'"* ]]
	[[ "$stderr" == *"created '$H/notes.txt' (empty, mode 0600) for profile 'files'"* ]]
	[ "$(stat -c '%a %u' "$H/state.json")" = "600 $owner" ]
	[ "$(stat -c '%a %u' "$H/notes.txt")" = "600 $owner" ]
	[ "$(cat "$H/notes.txt")" = more ]
	[ ! -e "$H/state.json.lock" ]
	[ ! -e "$H/absent-read.txt" ]
}
@test "a profile's missing write file under \$HOME is created 0600 and -v says so (root)" { check_profile_creates_files root; }
@test "a profile's missing write file under \$HOME is created 0600 and -v says so (user)" { check_profile_creates_files user; }

@test "a profile never creates a file through a symlink or outside \$HOME" {
	ln -s "$T/data/target.txt" "$H/link.json"
	cat >"$H/.config/nono/profiles/sym.json" <<JSON
{"extends": "default", "filesystem": {"allow_file": ["~/link.json", "$T/data/outside.json"]}}
JSON
	run nono_as root run --profile sym -- true
	assert_success
	[ ! -e "$T/data/target.txt" ]
	[ ! -e "$T/data/outside.json" ]
}
