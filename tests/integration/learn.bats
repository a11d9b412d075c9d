#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# SPDX-License-Identifier: Apache-2.0
# nono learn: the JSON fragment it prints, plus "extends": "default", is a profile under
# which the same command then runs without a denial; without it the command is denied.

load lib/common

setup() {
	common_setup
	W="$T/work"
	mkdir -p "$W/cfg" "$W/out"
	echo '{"name": "demo"}' >"$W/cfg/app.json"
	chown -R "$NOBODY:$NOBODY" "$W"
	chmod -R a+rwX "$W"
}
teardown() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	common_teardown
}

# learn_profile CMD...: trace CMD, turn the fragment into $T/learned.json.
learn_profile() {
	env HOME="$H" "$N" learn --json -- "$@" >"$T/fragment.json"
	python3 - "$T/fragment.json" "$T/learned.json" <<'PY'
import json, sys
frag = json.load(open(sys.argv[1]))
prof = {"extends": "default", "meta": {"name": "learned"}, "filesystem": frag["filesystem"]}
json.dump(prof, open(sys.argv[2], "w"), indent=2)
PY
	cat "$T/learned.json"
}

@test "learn --json prints the profile fragment format of the spec" {
	run --separate-stderr env HOME="$H" "$N" learn --json -- cat "$W/cfg/app.json"
	assert_success
	# The traced command's own output went to stderr, not into the fragment.
	[[ "$stderr" == *demo* ]]
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert set(d)=={"filesystem","network"}; assert set(d["filesystem"])>={"allow","read","write"}; assert set(d["network"])=={"outbound","listening"}' "$output"
	assert_output --partial "$W/cfg/app.json"
}

@test "round trip: a shell pipeline" {
	local cmd=(/bin/sh -c "cat '$W/cfg/app.json' | tr a-z A-Z > '$W/out/upper.txt'")
	run env HOME="$H" "$N" run --no-diagnostics -- "${cmd[@]}"
	assert_failure 2
	assert_output --partial "Permission denied"
	learn_profile "${cmd[@]}"
	rm -f "$W/out/upper.txt"
	run env HOME="$H" "$N" run --profile "$T/learned.json" -- "${cmd[@]}"
	assert_success
	grep -q DEMO "$W/out/upper.txt"
}

@test "round trip: python3 reading a config" {
	# The system python3: one under /root (pyenv) is masked when HOME is not /root.
	local cmd=(/usr/bin/python3 -c "import json; print(json.load(open('$W/cfg/app.json'))['name'])")
	run env HOME="$H" "$N" run --no-diagnostics -- "${cmd[@]}"
	assert_failure 1
	assert_output --partial "Permission denied"
	learn_profile "${cmd[@]}"
	run env HOME="$H" "$N" run --profile "$T/learned.json" -- "${cmd[@]}"
	assert_success
	assert_output "demo"
}

@test "round trip: git status in a repository" {
	git -c safe.directory='*' -C "$W" init -q
	git -c safe.directory='*' -C "$W" -c user.name=t -c user.email=t@t commit -q --allow-empty -m init
	local cmd=(git -c safe.directory='*' -C "$W" status --short)
	run env HOME="$H" "$N" run --no-diagnostics -- "${cmd[@]}"
	assert_failure 128
	assert_output --partial "not a git repository"
	learn_profile "${cmd[@]}"
	run env HOME="$H" "$N" run --profile "$T/learned.json" -- "${cmd[@]}"
	assert_success
	refute_output --partial "fatal"
}

@test "round trip: curl to a local server, with the endpoint reported" {
	python3 -m http.server 0 --bind 127.0.0.1 --directory "$W/cfg" >"$T/http.log" 2>&1 3>&- &
	SRV=$!
	local port=""
	for _ in $(seq 50); do
		port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -n1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	local cmd=(curl -sS -o "$W/out/app.json" "http://127.0.0.1:$port/app.json")
	run env HOME="$H" "$N" learn -- "${cmd[@]}"
	assert_success
	assert_output --partial "OUTBOUND NETWORK"
	assert_output --partial ":$port"
	rm -f "$W/out/app.json" # learn again on a clean slate: the file is born in the run
	learn_profile "${cmd[@]}"
	rm -f "$W/out/app.json"
	run env HOME="$H" "$N" run --profile "$T/learned.json" -- "${cmd[@]}"
	assert_success
	grep -q demo "$W/out/app.json"
}

@test "learn --profile reports only what the profile lacks" {
	echo "{\"extends\": \"default\", \"filesystem\": {\"read\": [\"$W/cfg\"]}}" >"$T/p.json"
	run env HOME="$H" "$N" learn --profile "$T/p.json" -- cat "$W/cfg/app.json"
	assert_success
	refute_output --partial "$W/cfg"
	run env HOME="$H" "$N" learn -- cat "$W/cfg/app.json"
	assert_output --partial "$W/cfg"
}

@test "learn --timeout stops a command that would run on, and reports what it saw" {
	run timeout 20 env HOME="$H" "$N" learn --timeout 1 -- /bin/sh -c "cat '$W/cfg/app.json' >/dev/null; sleep 60"
	assert_success
	assert_output --partial "$W/cfg"
}

@test "learn with a missing command is a clear error" {
	run env HOME="$H" "$N" learn -- no-such-command-nono
	assert_failure 1
	assert_output --partial "no-such-command-nono"
}
