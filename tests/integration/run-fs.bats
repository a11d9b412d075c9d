#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nono run: filesystem grants, enforced by Landlock, as root and as uid 65534.
# Probe exit codes: 0 allowed, 13 EACCES, 1 EPERM, 30 EROFS, 2 ENOENT (tests/probes).
# Writes outside every write grant fail with EROFS: the mount namespace is read-only there.

load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

check_read_grant() {
	run sandboxed "$1" --read "$T/data" -- "$P/probe-open" "$T/data/file.txt" r
	assert_success
	run sandboxed "$1" --read "$T/data" -- "$P/probe-open" "$T/data/file.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
	run sandboxed "$1" --read "$T/data" -- "$P/probe-open" "$T/data/new.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}
@test "read grant allows reading and refuses writing (root)" { check_read_grant root; }
@test "read grant allows reading and refuses writing (user)" { check_read_grant user; }

check_allow_grant() {
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/data/file.txt" w
	assert_success
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/data/new.txt" w
	assert_success
	[ -e "$T/data/new.txt" ]
}
@test "allow grant permits read, write and create (root)" { check_allow_grant root; }
@test "allow grant permits read, write and create (user)" { check_allow_grant user; }

check_outside() {
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/outside.txt" r
	assert_failure 13
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/outside.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}
@test "paths outside every grant are refused (root)" { check_outside root; }
@test "paths outside every grant are refused (user)" { check_outside user; }

check_write_only() {
	run sandboxed "$1" --write "$T/data" -- "$P/probe-open" "$T/data/file.txt" w
	assert_success
	run sandboxed "$1" --write "$T/data" -- "$P/probe-open" "$T/data/file.txt" r
	assert_failure 13
}
@test "write-only grant refuses reading (root)" { check_write_only root; }
@test "write-only grant refuses reading (user)" { check_write_only user; }

check_file_grant() {
	run sandboxed "$1" --read-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/file.txt" r
	assert_success
	run sandboxed "$1" --read-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/sibling.txt" r
	assert_failure 13
	run sandboxed "$1" --read-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/file.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
	run sandboxed "$1" --allow-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/file.txt" w
	assert_success
	run sandboxed "$1" --allow-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/new.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}
@test "file grants do not widen to their directory (root)" { check_file_grant root; }
@test "file grants do not widen to their directory (user)" { check_file_grant user; }

check_symlink_escape() {
	ln -s "$T/outside.txt" "$T/data/link"
	ln -s "$T" "$T/data/dirlink"
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/data/link" r
	assert_failure 13
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/data/dirlink/outside.txt" r
	assert_failure 13
	run sandboxed "$1" --allow "$T/data" -- "$P/probe-open" "$T/data/../outside.txt" r
	assert_failure 13
}
@test "symlinks and .. cannot escape a granted tree (root)" { check_symlink_escape root; }
@test "symlinks and .. cannot escape a granted tree (user)" { check_symlink_escape user; }

@test "a grant given through a symlink is canonicalised to its target" {
	ln -s "$T/data" "$T/alias"
	run sandboxed root --read "$T/alias" --dry-run -- true
	assert_success
	assert_output --partial "[r-] $T/data"
	refute_output --partial "$T/alias"
}

@test "relative grants resolve against the current directory" {
	cd "$T"
	run sandboxed root --read ./data -- "$P/probe-open" "$T/data/file.txt" r
	assert_success
}

@test "a grant of a missing path is an error naming the flag and the path" {
	run sandboxed root --read "$T/nope" -- true
	assert_failure 1
	assert_output --partial "$T/nope"
	assert_output --partial "--read"
}

@test "--allow-cwd grants the working directory read-only by default" {
	cd "$T/data"
	run sandboxed root --allow-cwd -- "$P/probe-open" "$T/data/file.txt" r
	assert_success
	run sandboxed root --allow-cwd -- "$P/probe-open" "$T/data/file.txt" w
	assert_failure 30 # EROFS: read-only outside the write grants
}

# --allow-gpu: a /dev of the test's own (a mount namespace) with a render node and KFD
# (both /dev/null's device numbers) and a display node; the grant covers render and
# compute nodes only.
gpu_dev_ns() {
	cat >"$T/gpu-ns.sh" <<-'EOF2'
	#!/bin/sh
	who=$1
	shift
	mount --make-rprivate / || exit 90
	d=$(mktemp -d "$T/dev.XXXXXX")
	mount -t tmpfs -o mode=755 tmpfs "$d" || exit 91
	cp -a /dev/null /dev/zero /dev/urandom /dev/random /dev/full /dev/tty "$d"/
	mkdir -p "$d/pts" "$d/shm" "$d/dri"
	mknod -m 666 "$d/dri/renderD128" c 1 3
	mknod -m 666 "$d/dri/card0" c 1 3
	mknod -m 666 "$d/kfd" c 1 3
	ln -s /proc/self/fd "$d/fd"
	mount --rbind /dev/pts "$d/pts"
	mount -t tmpfs tmpfs "$d/shm"
	mount --move "$d" /dev || exit 92
	if [ "$who" = user ]; then
		exec setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
	fi
	exec env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
	EOF2
	chmod 755 "$T/gpu-ns.sh"
	export T H N
}

check_allow_gpu() {
	gpu_dev_ns
	local probe='for f in /dev/dri/renderD128 /dev/kfd /dev/dri/card0; do if echo x >"$f"; then echo "ok $f"; else echo "refused $f"; fi; done'
	run unshare -m "$T/gpu-ns.sh" "$1" run --allow-gpu -- sh -c "$probe"
	assert_output --partial "ok /dev/dri/renderD128"
	assert_output --partial "ok /dev/kfd"
	assert_output --partial "refused /dev/dri/card0"
	assert_output --regexp "card0: Permission denied"
	run unshare -m "$T/gpu-ns.sh" "$1" run -- sh -c "$probe"
	assert_output --partial "refused /dev/dri/renderD128"
	assert_output --partial "refused /dev/kfd"
	assert_output --regexp "renderD128: Permission denied"
}
@test "--allow-gpu grants the render and compute nodes, not the display node (root)" { check_allow_gpu root; }
@test "--allow-gpu grants the render and compute nodes, not the display node (user)" { check_allow_gpu user; }

@test "--allow-gpu with a profile that does not opt in fails closed, naming it" {
	run nono_as root run --profile claude-code --allow-gpu -- true
	assert_failure 1
	assert_output --partial "profile 'claude-code' does not opt into GPU access"
	mkdir -p "$H/.config/nono/profiles"
	echo '{"extends": "default", "security": {"allow_gpu": true}}' >"$H/.config/nono/profiles/gpu.json"
	run nono_as root run --profile gpu --allow-gpu -- true
	assert_success
}
