#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nono policy / nono profile: golden output for show and diff of small profiles written
# here under the test HOME (so every path is stable once $H is replaced by HOME), the
# error cases scripts rely on (exit 1, file:line:column), and every built-in profile
# conforming to `nono profile schema`.

bats_require_minimum_version 1.5.0
load lib/common

GOLDEN="$BATS_TEST_DIRNAME/golden"

setup() {
	common_setup
	mkdir -p "$H/proj"
	touch "$H/.gitconfig"
	cat >"$H/small.json" <<'JSON'
{
  "meta": {"name": "small", "description": "golden test profile"},
  "security": {"groups": ["deny_credentials"]},
  "filesystem": {"allow": ["$HOME/proj"], "read_file": ["~/.gitconfig"]},
  "network": {"block": true}
}
JSON
	cat >"$H/bigger.json" <<'JSON'
{
  "extends": "$HOME/small.json",
  "meta": {"name": "bigger"},
  "filesystem": {"read": ["~/.config"]},
  "network": {"block": false}
}
JSON
	sed -i "s|\\\$HOME/small.json|$H/small.json|" "$H/bigger.json"
}
teardown() { common_teardown; }

# golden NAME: compare $output, with the test HOME spelt HOME, to golden/NAME.
golden() {
	diff -u "$GOLDEN/$1" <(printf '%s\n' "$output" | sed "s|$H|HOME|g")
}

@test "policy show: resolved grants, protected paths and network of a small profile" {
	run --separate-stderr nono_as root policy show "$H/small.json"
	assert_success
	golden policy-show-small.txt
}

@test "profile show is the same code path as policy show" {
	run --separate-stderr nono_as root policy show "$H/small.json"
	local a=$output
	run --separate-stderr nono_as root profile show "$H/small.json"
	assert_success
	[ "$output" = "$a" ]
}

@test "policy diff: lines the second profile adds or drops" {
	run --separate-stderr nono_as root policy diff "$H/small.json" "$H/bigger.json"
	assert_success
	golden policy-diff-small-bigger.txt
}

@test "policy show --raw prints the profile as written, variables unexpanded" {
	run --separate-stderr nono_as root policy show --raw "$H/small.json"
	assert_success
	assert_output --partial '"$HOME/proj"'
}

@test "policy show --json is the resolved spec as JSON" {
	run --separate-stderr nono_as root policy show "$H/small.json" --json
	assert_success
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["profile_name"]=="small", d' "$output"
}

@test "policy groups lists Linux groups; NAME shows its rules; --all-platforms adds macOS" {
	run --separate-stderr nono_as root policy groups
	assert_success
	assert_output --partial deny_credentials
	refute_output --partial deny_macos_private
	run --separate-stderr nono_as root policy groups --all-platforms
	assert_output --partial deny_macos_private
	run --separate-stderr nono_as root policy groups deny_credentials
	assert_success
	assert_output --partial '~/.ssh'
}

@test "unknown group and unknown profile: exit 1 with the name" {
	run --separate-stderr nono_as root policy groups no_such_group
	assert_failure 1
	[[ "$stderr" == *"'no_such_group'"* ]]
	run --separate-stderr nono_as root policy show no-such-profile
	assert_failure 1
	[[ "$stderr" == *"no-such-profile"* ]]
}

@test "policy validate: valid file, and an unknown key reported at file:line:column" {
	run --separate-stderr nono_as root policy validate "$H/small.json"
	assert_success
	assert_output "$H/small.json: valid"
	printf '{\n  "meta": {"name": "bad"},\n  "bogus": 1\n}\n' >"$H/bad.json"
	run --separate-stderr nono_as root policy validate "$H/bad.json"
	assert_failure 1
	[[ "$stderr" == *"$H/bad.json:3:3:"*"bogus"* ]]
}

@test "profile init writes a skeleton that validates, refuses to overwrite, --force does" {
	run --separate-stderr nono_as root profile init my-agent --extends default --groups python_runtime
	assert_success
	local f="$H/.config/nono/profiles/my-agent.json"
	[ -f "$f" ]
	run --separate-stderr nono_as root policy validate my-agent
	assert_success
	run --separate-stderr nono_as root profile init my-agent
	assert_failure 1
	[[ "$stderr" == *"already exists"* ]]
	run --separate-stderr nono_as root profile init my-agent --force --full --description "x y"
	assert_success
	grep -q '"write_file"' "$f"
	run --separate-stderr nono_as root profile list
	assert_output --partial my-agent
}

@test "profile init: unknown group is refused and nothing is written" {
	run --separate-stderr nono_as root profile init x --groups python_runtime,bogus_group
	assert_failure 1
	[[ "$stderr" == *"'bogus_group'"* ]]
	[ ! -e "$H/.config/nono/profiles/x.json" ]
}

@test "every built-in profile conforms to 'nono profile schema'; an unknown key does not" {
	run --separate-stderr nono_as root profile schema
	assert_success
	echo "$output" >"$T/schema.json"
	run --separate-stderr nono_as root policy profiles --json
	assert_success
	local names
	names=$(python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.loads(sys.argv[1]) if p["source"]=="builtin"))' "$output")
	[ -n "$names" ]
	for n in $names; do
		nono_as root policy show --raw "$n" >"$T/p-$n.json"
		python3 "$BATS_TEST_DIRNAME/lib/schema-check.py" "$T/schema.json" "$T/p-$n.json"
	done
	printf '{"meta": {"name": "x"}, "filesystem": {"alow": []}}\n' >"$T/unknown.json"
	run python3 "$BATS_TEST_DIRNAME/lib/schema-check.py" "$T/schema.json" "$T/unknown.json"
	assert_failure 1
	assert_output --partial alow
}
