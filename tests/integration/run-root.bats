#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What root keeps inside the sandbox (nothing), host secrets root could read by owning
# them, ambient credentials in the environment, and the audit chain's shared state.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# Every capability set is empty inside, for root as for any user.
check_caps() {
	run sandboxed "$1" --read /proc -- /usr/bin/grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
	assert_success
	[ "$(echo "$output" | wc -l)" -eq 5 ]
	refute_output --regexp $'\t0*[1-9a-f][0-9a-f]*$'
	echo "$output" | while read -r _ v; do [ "$v" = 0000000000000000 ]; done
}
@test "no capability survives in any set (root)" { check_caps root; }
@test "no capability survives in any set (user)" { check_caps user; }

# uid 0 without capabilities still owns /etc/shadow: the required group masks it.
check_shadow() {
	[ -e /etc/shadow ] || { [ -z "${NONO_TESTS_MUST_RUN:-}" ] || false; skip "no /etc/shadow"; }
	run sandboxed "$1" --read /etc -- "$P/probe-read-print" /etc/shadow
	# The mask is empty (reads as nothing) or refuses the open with EACCES.
	if [ "$status" -ne 0 ]; then
		assert_failure 13
		assert_output --partial EACCES
	fi
	refute_output --partial 'root:'
	# The rest of /etc stays readable.
	run sandboxed "$1" --read /etc -- "$P/probe-read-print" /etc/passwd
	assert_success
	assert_output --partial 'root:'
}
@test "/etc/shadow is unreadable inside --read /etc (root)" { check_shadow root; }
@test "/etc/shadow is unreadable inside --read /etc (user)" { check_shadow user; }

@test "/root is protected unless it is \$HOME" {
	mkdir -p /root
	run nono_as root run --dry-run -v --read /root -- true
	assert_success
	assert_output --partial '/root (deny_system_secrets_linux)'
	run env -i PATH=/usr/bin:/bin HOME=/root "$N" run --dry-run -v --read /root -- true
	assert_success
	refute_output --partial '/root (deny_system_secrets_linux)'
}
