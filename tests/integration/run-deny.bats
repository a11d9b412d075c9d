#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Deny groups hold inside granted trees (mount masks, DESIGN.md), as root and as uid 65534.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

check_ssh_masked() {
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.ssh/id_rsa"
	assert_failure 13
	refute_output --partial "SECRET-SSH-KEY"
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.aws/credentials"
	assert_failure 13
	refute_output --partial "SECRET-AWS"
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.bash_history"
	assert_failure 13
	refute_output --partial "SECRET-HISTORY"
	# The rest of the granted tree still works.
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/project/src/main.c"
	assert_success
	assert_output --partial "hello"
}
@test "--allow ~ does not expose ~/.ssh, ~/.aws or shell history (root)" { check_ssh_masked root; }
@test "--allow ~ does not expose ~/.ssh, ~/.aws or shell history (user)" { check_ssh_masked user; }

check_mask_readonly() {
	run sandboxed "$1" --allow "$H" -- "$P/probe-open" "$H/.ssh/id_rsa" w
	# A mask refuses writes: EROFS (read-only mount) or EACCES, and nothing else.
	[[ "$status" -eq 30 && "$output" == EROFS* ]] || [[ "$status" -eq 13 && "$output" == EACCES* ]]
	run sandboxed "$1" --allow "$H" -- "$P/probe-open" "$H/.ssh/authorized_keys" w
	# A mask refuses writes: EROFS (read-only mount) or EACCES, and nothing else.
	[[ "$status" -eq 30 && "$output" == EROFS* ]] || [[ "$status" -eq 13 && "$output" == EACCES* ]]
	# Nothing reached the real directory.
	[ ! -e "$H/.ssh/authorized_keys" ]
	grep -q SECRET-SSH-KEY "$H/.ssh/id_rsa"
}
@test "masks are read-only: no key can be planted in ~/.ssh (root)" { check_mask_readonly root; }
@test "masks are read-only: no key can be planted in ~/.ssh (user)" { check_mask_readonly user; }

@test "cat of a protected key under --allow ~ prints nothing secret" {
	run nono_as user run --allow "$H" -- cat "$H/.ssh/id_rsa"
	refute_output --partial "SECRET-SSH-KEY"
}

@test "a sandboxed process cannot unmount a mask" {
	run sandboxed root --allow "$H" -- /bin/sh -c "umount '$H/.ssh' 2>/dev/null; cat '$H/.ssh/id_rsa'"
	refute_output --partial "SECRET-SSH-KEY"
}

@test "--bypass-protection with a matching grant lifts one mask, with a warning" {
	run sandboxed user --allow "$H" --bypass-protection "$H/.ssh" -- "$P/probe-read-print" "$H/.ssh/id_rsa"
	assert_success
	assert_output --partial "SECRET-SSH-KEY"
	assert_output --partial "warning"
	# Other masks stay.
	run sandboxed user --allow "$H" --bypass-protection "$H/.ssh" -- "$P/probe-read-print" "$H/.aws/credentials"
	refute_output --partial "SECRET-AWS"
}

@test "--bypass-protection without a matching grant is an error" {
	run sandboxed root --bypass-protection "$H/.ssh" -- true
	assert_failure 1
	assert_output --partial ".ssh"
}

@test "a protected path outside every grant stays unreadable" {
	run sandboxed user --allow "$H/project" -- "$P/probe-open" "$H/.ssh/id_rsa" r
	assert_failure 13
}

# A mask refuses (EACCES), never reads as empty: `cat ~/.bashrc` exiting 0 with no output
# would look like real, empty content.
check_mask_refuses() {
	run sandboxed "$1" --allow "$H" -- cat "$H/.ssh/id_rsa"
	assert_failure 1
	assert_output --partial "Permission denied"
	run sandboxed "$1" --allow "$H" -- cat "$H/.bash_history"
	assert_failure 1
	assert_output --partial "Permission denied"
	run sandboxed "$1" --allow "$H" -- ls "$H/.ssh"
	assert_failure 2
	assert_output --partial "Permission denied"
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.ssh"
	assert_failure 13
	run sandboxed "$1" --allow "$H" -- "$P/probe-open" "$H/.ssh/id_rsa" r
	assert_failure 13
	assert_output --partial "EACCES"
}
@test "a masked file or directory fails with EACCES, not an empty read (root)" { check_mask_refuses root; }
@test "a masked file or directory fails with EACCES, not an empty read (user)" { check_mask_refuses user; }

check_docker_masked() {
	mkdir -p "$H/.docker"
	echo "SECRET-DOCKER-KEY" >"$H/.docker/key.pem"
	echo "SECRET-DOCKER-CERT" >"$H/.docker/cert.pem"
	chown -R "$NOBODY:$NOBODY" "$H/.docker"
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.docker/key.pem"
	assert_failure 13
	refute_output --partial "SECRET-DOCKER-KEY"
	run sandboxed "$1" --allow "$H" -- "$P/probe-read-print" "$H/.docker/cert.pem"
	assert_failure 13
	refute_output --partial "SECRET-DOCKER-CERT"
}
@test "~/.docker as a whole (TLS keys too) is protected under --allow ~ (root)" { check_docker_masked root; }
@test "~/.docker as a whole (TLS keys too) is protected under --allow ~ (user)" { check_docker_masked user; }

# A protected name that is a symlink protects its target: ~/.aws -> $T/data/aws-real
# (outside the home, inside a grant) is denied there, by either name, and why says so.
check_deny_symlink_target() {
	rm -rf "$H/.aws"
	mkdir "$T/data/aws-real"
	echo "SECRET-AWS" >"$T/data/aws-real/credentials"
	chown -R "$NOBODY:$NOBODY" "$T/data/aws-real"
	chmod -R a+rX "$T/data/aws-real"
	ln -s "$T/data/aws-real" "$H/.aws"
	run sandboxed "$1" --allow "$H" --allow "$T/data" -- "$P/probe-read-print" "$T/data/aws-real/credentials"
	assert_failure 13
	refute_output --partial "SECRET-AWS"
	run sandboxed "$1" --allow "$H" --allow "$T/data" -- "$P/probe-read-print" "$H/.aws/credentials"
	assert_failure 13
	refute_output --partial "SECRET-AWS"
	# The rest of the granted tree still works.
	run sandboxed "$1" --allow "$H" --allow "$T/data" -- "$P/probe-read-print" "$T/data/file.txt"
	assert_success
	assert_output --partial "data"
	local json
	json=$(nono_as "$1" why --json --path "$T/data/aws-real/credentials" --op read --allow "$T/data" 2>/dev/null)
	[ "$(jq -r .status <<<"$json")" = denied ]
	[ "$(jq -r .reason <<<"$json")" = sensitive_path ]
}
@test "a protected name that is a symlink is denied at its target (root)" { check_deny_symlink_target root; }
@test "a protected name that is a symlink is denied at its target (user)" { check_deny_symlink_target user; }
