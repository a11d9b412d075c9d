#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The placement is decided once, by policy_resolve: --dry-run, why and setup print the
# same "Placement:" line, and the run does what it says (probed from inside). Host
# patterns are validated in resolve, before anything starts. As root and as uid 65534.

load lib/common

setup() {
	common_setup
	MARK="/tmp/nono-it-placement.$$"
}
teardown() {
	rm -f "$MARK"
	common_teardown
}

yn() { if "$@"; then echo yes; else echo no; fi; }

check_placement() {
	local who=$1 dry why_line setup_line
	run nono_as "$who" run --dry-run --allow-domain example.com -- true
	assert_success
	dry=$(grep '^Placement: ' <<<"$output")
	[ -n "$dry" ]
	run nono_as "$who" why --path /etc/passwd
	assert_success
	why_line=$(grep '^Placement: ' <<<"$output")
	run nono_as "$who" setup --check-only
	setup_line=$(grep '^Placement: ' <<<"$output")
	echo "dry-run: $dry"
	echo "why:     $why_line"
	echo "setup:   $setup_line"
	[ "$dry" = "$why_line" ]
	[ "$dry" = "$setup_line" ]

	# What the run gets, seen from inside: namespaces by their ids, the private /tmp by
	# a file that must not reach the host's, the read-only root by chmod's EROFS.
	run nono_as "$who" run --allow-domain example.com --read "$P" --allow "$H/project" -- \
		/bin/sh -c "readlink /proc/self/ns/user /proc/self/ns/mnt /proc/self/ns/pid \
			/proc/self/ns/net; echo x >'$MARK'; '$P/probe-meta' chmod '$T/outside.txt' \
			>/dev/null 2>&1; echo meta=\$?; '$P/nono' why --self --path /etc/passwd"
	assert_success
	local -a ns
	mapfile -t ns < <(grep '^[a-z]*:\[' <<<"$output")
	[ "${#ns[@]}" -eq 4 ]
	local got
	got="userns=$(yn [ "${ns[0]}" != "$(readlink /proc/self/ns/user)" ])"
	got+=" mountns=$(yn [ "${ns[1]}" != "$(readlink /proc/self/ns/mnt)" ])"
	got+=" pidns=$(yn [ "${ns[2]}" != "$(readlink /proc/self/ns/pid)" ])"
	got+=" ro_root=$(yn grep -qx 'meta=30' <<<"$output")"
	got+=" private_tmp=$(yn [ ! -e "$MARK" ])"
	if [ "${ns[3]}" != "$(readlink /proc/self/ns/net)" ]; then
		got+=" proxy=network-namespace"
	else
		got+=" proxy=landlock-ports"
	fi
	# The printed line without masks= (masks go with the mount namespace) and the reason.
	local want
	want=$(sed -E 's/^Placement: //; s/ masks=[a-z]+//; s/ \(.*\)$//' <<<"$dry")
	echo "printed: $want"
	echo "probed:  $got"
	[ "$want" = "$got" ]
	# And the sandbox's own state says the same (why --self: the published spec).
	local self
	self=$(grep '^Placement: ' <<<"$output")
	echo "self:    $self"
	[ "$self" = "${dry% (*}" ]

	# --shared-tmp: the placement says the host's /tmp, and the run writes there.
	rm -f "$MARK"
	run nono_as "$who" run --dry-run --shared-tmp -- true
	assert_success
	assert_output --regexp $'(^|\n)Placement: [^\n]* private_tmp=no '
	run nono_as "$who" run --shared-tmp -- /bin/sh -c "echo x >'$MARK'"
	assert_success
	[ -e "$MARK" ]
}

@test "dry-run, why and setup print one placement, and the run gets it (root)" {
	check_placement root
}

@test "dry-run, why and setup print one placement, and the run gets it (user)" {
	check_placement user
}

check_bad_pattern() {
	local who=$1
	mkdir -p "$H/.config/nono/profiles"
	cat >"$H/.config/nono/profiles/badhost.json" <<-'EOF'
		{"meta": {"name": "badhost"},
		 "network": {"allow_domain": ["ok.example.com", "exa mple.com"]}}
	EOF
	chown -R "$NOBODY:$NOBODY" "$H/.config"
	local msg="invalid host pattern 'exa mple.com' in network.allow_domain of profile 'badhost'"
	# Refused before anything starts: the command never runs.
	run nono_as "$who" run --profile badhost --allow "$T/data" -- /bin/sh -c "touch '$T/data/started'"
	assert_failure 1
	assert_output --partial "badhost.json: $msg"
	[ ! -e "$T/data/started" ]
	# The same refusal from --dry-run and why: they read the same resolved spec.
	run nono_as "$who" run --dry-run --profile badhost -- true
	assert_failure 1
	assert_output --partial "badhost.json: $msg"
	run nono_as "$who" why --profile badhost --path /etc/passwd
	assert_failure 1
	assert_output --partial "badhost.json: $msg"
	# On the command line: the flag and the pattern, from resolve (not the proxy).
	run nono_as "$who" run --dry-run --allow-domain 'a b' -- true
	assert_failure 1
	assert_line "nono: error: --allow-domain: invalid host pattern 'a b'"
	run nono_as "$who" run --dry-run --network-profile nosuch -- true
	assert_failure 1
	assert_output --partial "nono: error: --network-profile: unknown network profile 'nosuch' (available: "
}

@test "an invalid host pattern in a profile is refused before launch (root)" {
	check_bad_pattern root
}

@test "an invalid host pattern in a profile is refused before launch (user)" {
	check_bad_pattern user
}
