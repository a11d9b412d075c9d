#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nono why: answers per spec (cli-reference "nono why"), JSON fields scripts rely on,
# and agreement with what `nono run` actually enforces for the same flags.
# Exit status: 0 whenever an answer is printed (denied included), 1 when none could be.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# why_json WHO ARGS...: run `nono why --json ARGS` with stdout kept apart from warnings.
why_json() {
	local who=$1
	shift
	run --separate-stderr nono_as "$who" why --json "$@"
}

# field NAME: a top-level field of the JSON in $output ("null" for null, "true"/"false").
field() {
	python3 -c 'import json,sys
v = json.loads(sys.argv[2])[sys.argv[1]]
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" "$output"
}

@test "~/.ssh under --allow \$HOME is denied: sensitive_path with a category" {
	why_json root --path "$H/.ssh" --op read --allow "$H"
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field reason)" = sensitive_path ]
	[ "$(field category)" != null ]
	[ "$(field path)" = "$H/.ssh" ]
	[ "$(field op)" = read ]
	# Inside the protected directory too, and for writing.
	why_json root --path "$H/.ssh/id_rsa" --op write --allow "$H"
	[ "$(field status)" = denied ]
	[ "$(field reason)" = sensitive_path ]
}

@test "~/.ssh without any grant is still reported as a sensitive path" {
	why_json root --path "$H/.ssh/id_rsa"
	assert_success
	[ "$(field reason)" = sensitive_path ]
	[[ "$(field suggestion)" == *--bypass-protection* ]]
}

@test "a granted path is allowed: reason granted, rule and origin name the grant" {
	chmod 777 "$H/project/src" # root runs without capabilities: the mode must let it write
	why_json root --path "$H/project/src" --op write --allow "$H"
	assert_success
	[ "$(field status)" = allowed ]
	[ "$(field reason)" = granted ]
	[ "$(field rule)" = "$H" ]
	[ "$(field origin)" = --allow ]
	[ "$(field suggestion)" = null ]
}

@test "a path outside every grant is denied: not_granted, with a suggestion" {
	why_json root --path "$T/outside.txt" --allow "$H"
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field reason)" = not_granted ]
	[ "$(field suggestion)" = "--read $T/outside.txt" ]
}

@test "read granted but write asked is denied as partial" {
	why_json root --path "$H/project/src" --op write --read "$H/project"
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field reason)" = partial ]
	why_json root --path "$H/project/src" --op readwrite --read "$H/project"
	[ "$(field reason)" = partial ]
	why_json root --path "$H/project/src" --op read --read "$H/project"
	[ "$(field status)" = allowed ]
}

@test "--op defaults to read; an unknown op is an error" {
	why_json root --path "$T/data" --read "$T/data"
	[ "$(field op)" = read ]
	[ "$(field status)" = allowed ]
	run nono_as root why --path "$T/data" --op delete
	assert_failure 1
	assert_output --partial "'delete'"
}

@test "a file grant covers only that file" {
	why_json root --path "$T/data/file.txt" --read-file "$T/data/file.txt"
	[ "$(field status)" = allowed ]
	[ "$(field origin)" = --read-file ]
	why_json root --path "$T/data/sibling.txt" --read-file "$T/data/file.txt"
	[ "$(field reason)" = not_granted ]
	why_json root --path "$T/data" --read-file "$T/data/file.txt"
	[ "$(field reason)" = not_granted ]
}

@test "relative paths and symlinks are canonicalised before the answer" {
	ln -s "$H/.ssh/id_rsa" "$H/project/innocent"
	cd "$H/project"
	why_json root --path src --allow "$H"
	[ "$(field path)" = "$H/project/src" ]
	why_json root --path innocent --allow "$H"
	[ "$(field path)" = "$H/.ssh/id_rsa" ]
	[ "$(field reason)" = sensitive_path ]
}

@test "NONO_ALLOW gives the same context as --allow" {
	run --separate-stderr env -i PATH=/usr/bin:/bin HOME="$H" NONO_ALLOW="$T/data" "$N" why --json --path "$T/data/file.txt" --op write
	assert_success
	[ "$(field status)" = allowed ]
	[ "$(field origin)" = NONO_ALLOW ]
}

@test "--host with --block-net is denied: network_blocked; default port 443" {
	why_json root --host api.openai.com --block-net
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field reason)" = network_blocked ]
	[ "$(field host)" = api.openai.com ]
	[ "$(field port)" = 443 ]
	why_json root --host example.com --port 8080 --block-net
	[ "$(field port)" = 8080 ]
	[ "$(field status)" = denied ]
}

@test "--host with --allow-net is allowed: network_unrestricted" {
	why_json root --host https://github.com/my-org/repo --allow-net
	assert_success
	[ "$(field status)" = allowed ]
	[ "$(field reason)" = network_unrestricted ]
	[ "$(field host)" = github.com ]
}

@test "--host follows the proxy allowlist: network profile hosts, --allow-domain, metadata" {
	why_json root --host api.anthropic.com --profile claude-code
	assert_success
	[ "$(field status)" = allowed ]
	[ "$(field reason)" = domain_allowed ]
	why_json root --host evil.example --profile claude-code
	[ "$(field status)" = denied ]
	[ "$(field reason)" = domain_not_allowed ]
	[ "$(field suggestion)" = "--allow-domain evil.example" ]
	why_json root --host http://169.254.169.254/latest/meta-data --profile claude-code
	[ "$(field reason)" = metadata_denied ]
	run --separate-stderr env -i PATH=/usr/bin:/bin HOME="$H" NONO_ALLOW_DOMAIN='*.example.org' "$N" why --json --host a.example.org
	[ "$(field status)" = allowed ]
}

@test "scope queries report requested, supported and enforced consistently" {
	for scope in signal abstract-unix-socket; do
		why_json root --scope "$scope"
		assert_success
		[ "$(field scope)" = "$scope" ]
		local req sup enf
		req=$(field requested) sup=$(field supported) enf=$(field enforced)
		# This kernel has Landlock ABI >= 6.
		[ "$sup" = true ]
		if [ "$req" = true ] && [ "$sup" = true ]; then [ "$enf" = true ]; else [ "$enf" = false ]; fi
		case "$(field status)" in allowed | denied) ;; *) false ;; esac
	done
	run nono_as root why --scope ptrace
	assert_failure 1
	assert_output --partial "'ptrace'"
}

@test "human output starts with the status and names the category" {
	run --separate-stderr nono_as root why --path "$H/.ssh/id_rsa" --allow "$H"
	assert_success
	[[ "${lines[0]}" == denied:* ]]
	assert_output --partial "--bypass-protection"
}

@test "exactly one of --path, --host, --scope" {
	run nono_as root why --allow "$H"
	assert_failure 1
	assert_output --partial "exactly one"
	run nono_as root why --path "$H" --host example.com
	assert_failure 1
	run nono_as root why --port 80 --path "$H"
	assert_failure 1
}

@test "--self outside a sandbox is a clear error" {
	run nono_as root why --self --path /tmp --op write --json
	assert_failure 1
	assert_output --partial "NONO_SANDBOX_STATE_FD"
	assert_output --partial "inside a nono sandbox"
	# A forged descriptor (not a sealed memfd) is refused.
	run env -i PATH=/usr/bin:/bin HOME="$H" NONO_SANDBOX_STATE_FD=0 "$N" why --self --path /tmp
	assert_failure 1
	run bash -c 'exec 7</etc/hostname; NONO_SANDBOX_STATE_FD=7 "$0" why --self --path /tmp' "$N"
	assert_failure 1
	assert_output --partial "sealed"
}

@test "--self cannot be combined with capability flags" {
	run nono_as root why --self --path /tmp --allow /tmp
	assert_failure 1
}

# Needs the supervisor to publish the state fd (sandbox_state_publish) to the child.
check_self_inside() {
	chmod 777 "$H/project/src" # root runs without capabilities: the mode must let it write
	run --separate-stderr sandboxed "$1" --allow "$H" -- "$P/nono" why --self --json --path "$H/.ssh/id_rsa"
	assert_success
	[ "$(field reason)" = sensitive_path ]
	run --separate-stderr sandboxed "$1" --allow "$H" -- "$P/nono" why --self --json --path "$H/project/src" --op write
	assert_success
	[ "$(field status)" = allowed ]
	run --separate-stderr sandboxed "$1" --allow "$H" -- "$P/nono" why --self --json --path "$T/outside.txt"
	[ "$(field reason)" = not_granted ]
	# The state cannot be rewritten from inside.
	run sandboxed "$1" --allow "$H" -- /bin/sh -c 'echo x >/proc/self/fd/"$NONO_SANDBOX_STATE_FD"'
	assert_failure 2
	assert_output --partial "Operation not permitted"
}
@test "--self inside a sandbox answers from its own capabilities (root)" { check_self_inside root; }
@test "--self inside a sandbox answers from its own capabilities (user)" { check_self_inside user; }

# For each path, why's status must match what run lets a process do with the same flags.
# A mask hides content without refusing open(2) (an empty read-only file stands in for a
# protected file), so "read allowed" means the real content came back, not that open worked.
check_agreement() {
	local who=$1 path op verdict rc want got
	local -a flags=(--read "$P" --allow "$H" --read "$T/data" --read-file "$T/outside.txt")
	for path in "$H/project/src/main.c" "$H/.ssh/id_rsa" "$H/.aws/credentials" "$H/.bash_history" \
		"$T/data/file.txt" "$T/data/sibling.txt" "$T/outside.txt" "/etc/hostname"; do
		want=$(cat "$path")
		for op in read write; do
			run --separate-stderr nono_as "$who" why --json "${flags[@]}" --path "$path" --op "$op"
			assert_success
			verdict=$(field status)
			if [ "$op" = read ]; then
				run --separate-stderr nono_as "$who" run "${flags[@]}" -- "$P/probe-read-print" "$path"
				rc=$status got=$output
				[ $rc -eq 0 ] && [ "$got" = "$want" ] && rc=0 || rc=1
			else
				run nono_as "$who" run "${flags[@]}" -- "$P/probe-open" "$path" w
				rc=$status
			fi
			if [ "$verdict" = allowed ] && [ $rc -ne 0 ]; then
				echo "why says allowed, run refused: $op $path"
				return 1
			fi
			if [ "$verdict" = denied ] && [ $rc -eq 0 ]; then
				echo "why says denied, run allowed: $op $path"
				return 1
			fi
		done
	done
}
@test "why agrees with what run enforces (root)" { check_agreement root; }
@test "why agrees with what run enforces (user)" { check_agreement user; }

# As root without capabilities, a granted file whose mode refuses uid 0 is denied by
# run; why says so (file_mode) instead of "allowed".
@test "why reports file_mode when root's missing capabilities refuse a granted path" {
	echo data >"$T/data/mine"
	chown "$NOBODY:$NOBODY" "$T/data/mine"
	chmod 644 "$T/data/mine"
	why_json root --path "$T/data/mine" --op write --allow "$T/data"
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field reason)" = file_mode ]
	run nono_as root run --allow "$T/data" --read "$P" -- "$P/probe-open" "$T/data/mine" w
	assert_failure 13
	why_json user --path "$T/data/mine" --op write --allow "$T/data"
	[ "$(field status)" = allowed ]
}

@test "why agrees with run for cat under --allow \$HOME" {
	local path verdict
	for path in "$H/project/src/main.c" "$H/.ssh/id_rsa" "$T/outside.txt"; do
		run --separate-stderr nono_as root why --json --allow "$H" --read /usr --path "$path"
		verdict=$(field status)
		run nono_as root run --allow "$H" --read /usr -- cat "$path"
		if [ "$verdict" = allowed ]; then assert_success; else assert_failure 1; assert_output --regexp "cat: $path: (Permission denied|No such file or directory)"; fi
	done
}

# why's suggestion for a missing file is one that works as typed: --write-file, which
# creates it (mode 0600) in its existing directory when the sandbox starts.
check_why_missing_file() {
	why_json "$1" --path "$H/first-run.json" --op write
	assert_success
	[ "$(field status)" = denied ]
	[ "$(field suggestion)" = "--write-file $H/first-run.json" ]
	run --separate-stderr nono_as "$1" run -v --write-file "$H/first-run.json" -- sh -c "echo '{\"a\":1}' >'$H/first-run.json' && echo ok"
	assert_success
	assert_output ok
	[[ "$stderr" == *"created '$H/first-run.json' (\"{}\", mode 0600) for --write-file"* ]]
	[ "$(stat -c %a "$H/first-run.json")" = 600 ]
	[ "$(cat "$H/first-run.json")" = '{"a":1}' ]
	# Reading one, too: the suggestion grants write so that the file can come to be.
	why_json "$1" --path "$H/other.txt" --op read
	[ "$(field suggestion)" = "--allow-file $H/other.txt" ]
	# An existing file keeps the plain flag, which takes files.
	why_json "$1" --path "$T/outside.txt" --op read
	[ "$(field suggestion)" = "--read $T/outside.txt" ]
}
@test "why suggests --write-file for a missing file, and that command works (root)" { check_why_missing_file root; }
@test "why suggests --write-file for a missing file, and that command works (user)" { check_why_missing_file user; }
