#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The mount namespace every launch gets where user namespaces (or root) allow: read-only
# outside the write grants, a private /tmp per session. As root and as uid 65534.
# Probe exit codes: 0 ok, 1 EPERM, 2 ENOENT, 13 EACCES, 30 EROFS (tests/probes).

load lib/common

setup() {
	common_setup
	PLANT="/tmp/nono-it-planted.$$"
	echo "HOST-TMP" >"$PLANT"
	chmod 644 "$PLANT"
}
teardown() {
	rm -rf "$PLANT" "/tmp/nono-it-granted.$$"
	common_teardown
}

# Landlock has no right for metadata changes: the read-only mount refuses them.
check_metadata() {
	# Root runs without CAP_FOWNER/CAP_CHOWN inside: it changes what it owns, like anyone.
	[ "$1" = root ] && chown 0:0 "$T/data/file.txt"
	for op in chmod utimes chown setxattr; do
		run sandboxed "$1" --read "$T/data" -- "$P/probe-meta" $op "$T/data/file.txt"
		assert_failure 30
		assert_output --partial "EROFS"
		# Outside every grant too (Landlock lets chmod and friends through).
		run sandboxed "$1" --allow "$H/project" -- "$P/probe-meta" $op "$T/data/file.txt"
		assert_failure 30
		run sandboxed "$1" --allow "$T/data" -- "$P/probe-meta" $op "$T/data/file.txt"
		assert_success
	done
	# The change inside the write grant reached the real file.
	[ "$(stat -c %a "$T/data/file.txt")" = 600 ]
	# The secret key the issue names: chmod refused although the user owns it.
	run sandboxed "$1" --allow "$H/project" -- "$P/probe-meta" chmod "$H/.ssh/id_rsa"
	assert_failure 30
	[ "$(stat -c %a "$H/.ssh/id_rsa")" = 644 ]
	run sandboxed "$1" --allow "$T/data" -- /bin/sh -c "touch -m '$T/outside.txt'"
	assert_failure 1
	assert_output --partial "Read-only file system"
}
@test "chmod, utimes, chown, setxattr outside write grants fail with EROFS, inside work (root)" { check_metadata root; }
@test "chmod, utimes, chown, setxattr outside write grants fail with EROFS, inside work (user)" { check_metadata user; }

check_file_write_grant() {
	[ "$1" = root ] && chown 0:0 "$T/data/file.txt"
	run sandboxed "$1" --allow-file "$T/data/file.txt" -- "$P/probe-open" "$T/data/file.txt" w
	assert_success
	run sandboxed "$1" --allow-file "$T/data/file.txt" -- "$P/probe-meta" chmod "$T/data/sibling.txt"
	assert_failure 30
	run sandboxed "$1" --allow-file "$T/data/file.txt" -- "$P/probe-meta" chmod "$T/data/file.txt"
	assert_success
}
@test "a single-file write grant is writable, its siblings are not (root)" { check_file_write_grant root; }
@test "a single-file write grant is writable, its siblings are not (user)" { check_file_write_grant user; }

check_private_tmp() {
	local mark="nono-it-mark.$$"
	# Sandbox A writes into its /tmp and waits; B must not see it, nor the host's file.
	sandboxed "$1" --allow "$T/data" -- /bin/sh -c \
		"echo A >/tmp/$mark && touch '$T/data/a-ready' && for i in \$(seq 200); do [ -e '$T/data/b-done' ] && break; sleep 0.05; done; cat /tmp/$mark" \
		>"$T/a.out" 2>&1 &
	local a=$!
	for _ in $(seq 200); do [ -e "$T/data/a-ready" ] && break; sleep 0.05; done
	[ -e "$T/data/a-ready" ] || { wait "$a"; false; }
	run sandboxed "$1" -- "$P/probe-open" "/tmp/$mark" r
	assert_failure 2
	run sandboxed "$1" -- "$P/probe-open" "$PLANT" r
	assert_failure 2
	[ ! -e "/tmp/$mark" ] # nor did A's file reach the host
	touch "$T/data/b-done"
	wait "$a"
	grep -q '^A$' "$T/a.out"
}
@test "concurrent sandboxes do not see each other's /tmp nor the host's (root)" { check_private_tmp root; }
@test "concurrent sandboxes do not see each other's /tmp nor the host's (user)" { check_private_tmp user; }

check_tmp_kept() {
	# Not from a directory under /tmp: that one is bound back into the private /tmp,
	# whose emptiness this case checks.
	cd "$T"
	run sandboxed "$1" -- /bin/sh -c "echo kept >/tmp/result.txt; mkdir /var/tmp/d; exit 3"
	assert_failure 3
	assert_output --partial "the command's /tmp is kept in $H/.nono/sessions/"
	local dir
	dir=$(printf '%s\n' "$output" | sed -n "s|.*the command's /tmp is kept in ||p")
	[ "$(cat "$dir/result.txt")" = kept ]
	[ -d "$(dirname "$dir")/var-tmp/d" ]
	[ "$(stat -c %a "$dir")" = 700 ]
	# -v names it on success too; a run that leaves /tmp empty leaves nothing behind.
	local before
	before=$(ls "$H/.nono/sessions" | wc -l)
	run sandboxed "$1" -v -- true
	assert_success
	assert_output --partial "private /tmp and /var/tmp, kept after the run: $H/.nono/sessions/"
	[ "$(ls "$H/.nono/sessions" | wc -l)" = "$before" ]
}
@test "the session's /tmp survives the run where the diagnostics say (root)" { check_tmp_kept root; }
@test "the session's /tmp survives the run where the diagnostics say (user)" { check_tmp_kept user; }

check_shared_tmp() {
	run sandboxed "$1" --shared-tmp -- "$P/probe-read-print" "$PLANT"
	assert_success
	assert_output --partial "HOST-TMP"
	mkdir -p "$T/prof"
	printf '{"extends": "default", "meta": {"name": "st"}, "security": {"shared_tmp": true}}\n' >"$T/prof/st.json"
	chmod -R a+rX "$T/prof"
	run sandboxed "$1" --profile "$T/prof/st.json" -- "$P/probe-read-print" "$PLANT"
	assert_success
	assert_output --partial "HOST-TMP"
}
@test "--shared-tmp and security.shared_tmp restore the host's /tmp (root)" { check_shared_tmp root; }
@test "--shared-tmp and security.shared_tmp restore the host's /tmp (user)" { check_shared_tmp user; }

check_tmp_grant_bound_back() {
	local g="/tmp/nono-it-granted.$$"
	mkdir -p "$g/rw" "$g/ro"
	echo "REAL" >"$g/ro/file"
	chmod -R a+rwX "$g"
	run sandboxed "$1" --read "$g/ro" --allow "$g/rw" -- /bin/sh -c \
		"cat '$g/ro/file' && echo new >'$g/rw/new' && cat '$PLANT'"
	assert_output --partial "REAL"
	assert_output --partial "No such file"
	[ "$(cat "$g/rw/new")" = new ]
	run sandboxed "$1" --read "$g/ro" -- "$P/probe-meta" chmod "$g/ro/file"
	assert_failure 30
}
@test "explicit grants under /tmp still see the real path (root)" { check_tmp_grant_bound_back root; }
@test "explicit grants under /tmp still see the real path (user)" { check_tmp_grant_bound_back user; }

check_tmp_symlink() {
	# A planted symlink must not make nono create the session's /tmp elsewhere.
	mkdir -p "$H/.nono" "$T/elsewhere"
	chmod 700 "$H/.nono"
	chmod 777 "$T/elsewhere"
	ln -s "$T/elsewhere" "$H/.nono/sessions"
	chown -h -R "$NOBODY:$NOBODY" "$H/.nono"
	run sandboxed "$1" --no-audit -- true
	assert_failure 1
	assert_output --partial "cannot create the session's private /tmp"
	assert_output --partial "symbolic link"
	[ -z "$(ls -A "$T/elsewhere")" ]
}
@test "the private /tmp is never created through a planted symlink (root)" { check_tmp_symlink root; }
@test "the private /tmp is never created through a planted symlink (user)" { check_tmp_symlink user; }

@test "--dry-run -v says what the mount namespace enforces" {
	run sandboxed user --dry-run -v -- true
	assert_success
	assert_output --partial "Read-only outside write grants: yes"
	assert_output --partial "Private /tmp: yes"
	run sandboxed user --dry-run -v --shared-tmp -- true
	assert_output --partial "Private /tmp: no (--shared-tmp)"
}

check_tmp_unix_grant() {
	# An AF_UNIX grant under /tmp (e.g. /tmp/.X11-unix/X0) still reaches the host's socket.
	local g="/tmp/nono-it-granted.$$"
	mkdir -p "$g" && chmod 777 "$g"
	"$P/probe-unix" serve "$g/sock" hosttag >/dev/null 3>&- &
	local srv=$!
	for _ in $(seq 100); do [ -S "$g/sock" ] && break; sleep 0.05; done
	chmod 777 "$g/sock"
	run sandboxed "$1" --allow-unix-socket "$g/sock" -- "$P/probe-unix" connect "$g/sock"
	kill "$srv"
	assert_success
	assert_output --partial hosttag
}
@test "an AF_UNIX grant under /tmp reaches the host's socket through the private /tmp (root)" { check_tmp_unix_grant root; }
@test "an AF_UNIX grant under /tmp reaches the host's socket through the private /tmp (user)" { check_tmp_unix_grant user; }

@test "a HOME reached through a symlink still gets its private /tmp" {
	ln -s "$H" "$T/homelink"
	run env -i PATH=/usr/bin:/bin HOME="$T/homelink" "$N" run --read "$P" -- /bin/sh -c "echo x >/tmp/f; exit 4"
	assert_failure 4
	assert_output --partial "the command's /tmp is kept in $H/.nono/sessions/"
}

@test "nono setup says whether the mount namespace (read-only root, private /tmp) is in force" {
	run nono_as root setup --check-only
	assert_success
	assert_output --partial "Mount namespace:  yes: read-only outside the write grants, private /tmp, masks"
	assert_output --partial "Process tree:     yes: private PID and IPC namespaces, PID 1 is nono's init"
	assert_output --partial "for unprivileged users: yes"
}

# A working directory under the host's /tmp stays reachable through the private /tmp
# (bound back with /tmp's own rights), while the rest of the host's /tmp stays hidden.
check_cwd_under_tmp() {
	local d="/tmp/nono-it-cwd.$$"
	mkdir -p "$d/sub"
	echo hi >"$d/sub/f"
	chmod -R a+rwX "$d"
	cd "$d/sub"
	run nono_as "$1" run -- /bin/sh -c 'cat f && echo w >g && ls /tmp'
	cd /
	assert_success
	assert_output "hi
nono-it-cwd.$$"
	[ -s "$d/sub/g" ]
	# The mount point made for it in the private /tmp goes after the run: a run that
	# left /tmp untouched leaves no session directory behind.
	local before
	before=$(ls "$H/.nono/sessions" 2>/dev/null | wc -l)
	cd "$d/sub"
	run nono_as "$1" run -v -- /bin/sh -c 'cat f'
	cd /
	assert_success
	refute_output --partial "the command's /tmp is kept"
	[ "$(ls "$H/.nono/sessions" 2>/dev/null | wc -l)" = "$before" ]
	rm -rf "$d"
}
@test "a working directory under /tmp stays reachable through the private /tmp (root)" { check_cwd_under_tmp root; }
@test "a working directory under /tmp stays reachable through the private /tmp (user)" { check_cwd_under_tmp user; }

# nono wrap leaves no process behind to remove a session directory: its private /tmp
# and /var/tmp are fresh tmpfs mounts that end with the command. Nothing appears under
# ~/.nono/sessions; the host's /tmp stays hidden; grants and a working directory under
# /tmp are still bound back at their real paths.
check_wrap_tmpfs() {
	local g="/tmp/nono-it-granted.$$" before
	mkdir -p "$g/rw" "$g/cwd" "$H/.nono/sessions"
	chmod -R a+rwX "$g"
	before=$(ls -A "$H/.nono/sessions" | wc -l)
	run nono_as "$1" wrap --read "$P" -- /bin/sh -c \
		"echo x >/tmp/w && mkdir /var/tmp/d && cat /tmp/w && stat -f -c %T /tmp /var/tmp"
	assert_success
	assert_output "x
tmpfs
tmpfs"
	run nono_as "$1" wrap --read "$P" -- "$P/probe-open" "$PLANT" r
	assert_failure 2
	cd "$g/cwd"
	run nono_as "$1" wrap --read "$P" --allow "$g/rw" -- /bin/sh -c \
		"echo new >'$g/rw/new' && pwd && echo here >here"
	cd /
	assert_success
	assert_output "$g/cwd"
	[ "$(cat "$g/rw/new")" = new ]
	[ "$(cat "$g/cwd/here")" = here ]
	[ "$(ls -A "$H/.nono/sessions" | wc -l)" = "$before" ]
}
@test "nono wrap: /tmp is a tmpfs that ends with the command, grants under it bound back (root)" { check_wrap_tmpfs root; }
@test "nono wrap: /tmp is a tmpfs that ends with the command, grants under it bound back (user)" { check_wrap_tmpfs user; }
