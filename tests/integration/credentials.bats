#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# --env-credential / --env-credential-map through the real binary: each source
# (env://, file://, op:// with a fake 1Password CLI, the keyring through a fake Secret
# Service on a private session bus, apple-password://),
# the variable rules, errors that name the reference and never the value, and no
# secret in anything nono writes.

bats_require_minimum_version 1.5.0
load lib/common
load lib/keyring

SECRET=sk-test-9f8e7d6c5b4a
setup() {
	common_setup
	mkdir -p "$T/opbin"
	chmod 755 "$T/opbin"
}
teardown() {
	[ -n "${KR_PID:-}" ] && kill "$KR_PID" 2>/dev/null
	[ -n "${DBUS_PID:-}" ] && kill "$DBUS_PID" 2>/dev/null
	common_teardown
}

# creds_as root|user ENV... -- NONO-ARGS: nono with extra variables in its environment.
creds_as() {
	local who=$1
	shift
	local vars=()
	while [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	local base=(env -i PATH="$T/opbin:/usr/bin:/bin" HOME="$H" TMPDIR=/tmp "${vars[@]}" "$N")
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "${base[@]}" "$@"
	else
		"${base[@]}" "$@"
	fi
}

check_env_source() {
	run creds_as "$1" SRC_TOKEN="$SECRET" -- run --allow-cwd \
		--env-credential-map env://SRC_TOKEN GH_TOKEN -- /bin/sh -c 'echo "[$GH_TOKEN]"'
	assert_success
	assert_output --partial "[$SECRET]"
	# The suffix form of --env-credential.
	run creds_as "$1" SRC_TOKEN="$SECRET" -- run --allow-cwd \
		--env-credential 'env://SRC_TOKEN=OTHER_VAR' -- /bin/sh -c 'echo "[$OTHER_VAR]"'
	assert_success
	assert_output --partial "[$SECRET]"
}
@test "env:// reaches the child in the named variable (root)" { check_env_source root; }
@test "env:// reaches the child in the named variable (user)" { check_env_source user; }

check_file_source() {
	printf '%s\n' "$SECRET" >"$H/key.txt"
	chown "$NOBODY:$NOBODY" "$H/key.txt"
	chmod 600 "$H/key.txt"
	[ "$1" = root ] && chown root:root "$H/key.txt"
	run creds_as "$1" -- run --allow-cwd --env-credential-map "file://$H/key.txt" API_KEY \
		-- /bin/sh -c 'echo "[$API_KEY]"'
	assert_success
	assert_output --partial "[$SECRET]"
	run creds_as "$1" -- run --allow-cwd --env-credential-map "file://~/key.txt" API_KEY \
		-- /bin/sh -c 'echo "[$API_KEY]"'
	assert_success
	assert_output --partial "[$SECRET]"
}
@test "file:// (absolute and ~/) reaches the child (root)" { check_file_source root; }
@test "file:// (absolute and ~/) reaches the child (user)" { check_file_source user; }

@test "file:// refuses a symlink, a directory, an empty and a missing file" {
	printf '%s\n' "$SECRET" >"$H/real.txt"
	chmod 600 "$H/real.txt"
	ln -s "$H/real.txt" "$H/link.txt"
	: >"$H/empty.txt"
	for f in link.txt .ssh empty.txt missing.txt; do
		run creds_as root -- run --allow-cwd --env-credential-map "file://$H/$f" K -- /bin/echo RAN
		assert_failure 1
		refute_output --partial RAN
		assert_output --partial "file://$H/$f"
		refute_output --partial "$SECRET"
	done
	run creds_as root -- run --allow-cwd --env-credential-map "file://$H/link.txt" K -- /bin/true
	assert_output --partial "symbolic link"
}

@test "op:// goes through the 1Password CLI; its failures never echo its output" {
	cat >"$T/opbin/op" <<-EOF
		#!/bin/sh
		[ "\$1" = read ] && [ "\$2" = "op://Dev/OpenAI/credential" ] || { echo "LEAK-\$*" >&2; exit 2; }
		echo "$SECRET"
	EOF
	chmod 755 "$T/opbin/op"
	for who in root user; do
		run creds_as "$who" -- run --allow-cwd --env-credential-map op://Dev/OpenAI/credential \
			OPENAI_API_KEY -- /bin/sh -c 'echo "[$OPENAI_API_KEY]"'
		assert_success
		assert_output --partial "[$SECRET]"
	done
	run creds_as root -- run --allow-cwd --env-credential 'op://Dev/Other/x=X' -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "'op read' failed with exit status 2"
	refute_output --partial LEAK
	rm "$T/opbin/op"
	run creds_as root -- run --allow-cwd --env-credential 'op://Dev/Other/x=X' -- /bin/true
	assert_failure 1
	assert_output --partial "1Password CLI 'op' is not installed"
}

@test "a keyring name without a Secret Service is a clear error" {
	run creds_as root -- run --allow-cwd --env-credential openai_api_key -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "openai_api_key"
	assert_output --regexp "D-Bus|without libsecret"
}

@test "apple-password:// is refused on Linux with a clear message" {
	run creds_as root -- run --allow-cwd --env-credential-map \
		'apple-password://github.com/alice@example.com' GITHUB_PASSWORD -- /bin/echo RAN
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "not available on Linux"
}

@test "destination variables are validated; loader variables are refused" {
	for v in 1BAD BAD-NAME LD_PRELOAD BASH_ENV NONO_X; do
		run creds_as root SRC="$SECRET" -- run --allow-cwd --env-credential-map env://SRC "$v" -- /bin/echo RAN
		assert_failure 1
		refute_output --partial RAN
		refute_output --partial "$SECRET"
	done
}

@test "the secret is in exactly the named variable (not the env:// source) and in no file nono writes" {
	run creds_as user SRC="$SECRET" -- run --allow-cwd --env-credential-map env://SRC MY_KEY \
		-- /usr/bin/env
	assert_success
	assert_line "MY_KEY=$SECRET"
	[ "$(printf '%s\n' "$output" | grep -c -- "$SECRET")" -eq 1 ]
	# Also passed on the command line: the audit record redacts it.
	run creds_as user SRC="$SECRET" -- run --allow-cwd --env-credential-map env://SRC MY_KEY \
		-- /bin/echo --token "$SECRET"
	assert_success
	[ -n "$(find "$H/.nono/audit" -name session.json)" ]
	run grep -rl -- "$SECRET" "$H/.nono"
	assert_failure 1
}

@test "a profile's env_credentials are loaded like the flags; the profile is in the audit record" {
	mkdir -p "$H/.config/nono/profiles"
	cat >"$H/.config/nono/profiles/withcreds.json" <<-'JSON'
		{"extends": "default", "meta": {"name": "withcreds"},
		 "env_credentials": {"env://SRC": "PROFILE_KEY"}}
	JSON
	chown -R "$NOBODY:$NOBODY" "$H/.config"
	run creds_as user SRC="$SECRET" -- run --profile withcreds --allow-cwd -- /bin/sh -c 'echo "[$PROFILE_KEY]"'
	assert_success
	assert_output --partial "[$SECRET]"
	f=$(find "$H/.nono/audit" -name session.json)
	run python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["profile"])' "$f"
	assert_output withcreds
	run grep -rl -- "$SECRET" "$H/.nono"
	assert_failure 1
}


check_keyring() {
	start_keyring "$1" "service=nono,account=openai_api_key:$SECRET" "service=nono,username=legacy_key:old-$SECRET"
	# The lookup runs in a helper process: the supervisor (the child's parent) never
	# gets GLib's threads (gmain, gdbus), which must not exist for the
	# forks that follow. (Its own AF_UNIX mediation threads start after the fork.)
	run creds_as "$1" DBUS_SESSION_BUS_ADDRESS="$BUS" -- run --allow-cwd --read /proc \
		--env-credential openai_api_key,legacy_key -- /bin/sh -c \
		'echo "[$OPENAI_API_KEY] [$LEGACY_KEY]"; cat /proc/$PPID/task/*/comm | sort -u | sed "s/^/thread: /"'
	kill "$KR_PID" "$DBUS_PID" 2>/dev/null || true
	assert_success
	assert_output --partial "[$SECRET] [old-$SECRET]"
	assert_line --regexp '^thread: '
	refute_line --regexp '^thread: (gmain|gdbus|pool-|gdbus-)'
	run cat "$T/kr/log"
	assert_output --partial "'account'), dbus.String('openai_api_key')"
	assert_output --partial "'service'), dbus.String('nono')"
}
@test "keyring names are read from the Secret Service (service=nono, account=NAME), upper-cased (root)" {
	check_keyring root
}
@test "keyring names are read from the Secret Service (service=nono, account=NAME), upper-cased (user)" {
	check_keyring user
}

@test "a keyring name missing from the Secret Service is a clear error naming it" {
	start_keyring root "service=nono,account=other:$SECRET"
	run creds_as root DBUS_SESSION_BUS_ADDRESS="$BUS" -- run --allow-cwd --env-credential missing_key -- /bin/echo RAN
	kill "$KR_PID" "$DBUS_PID" 2>/dev/null || true
	assert_failure 1
	refute_output --partial RAN
	assert_output --partial "no keyring item with service 'nono' and account 'missing_key'"
	refute_output --partial "$SECRET"
}
