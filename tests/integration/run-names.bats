#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Protected names inside write grants (supervisor/unotify.c, "protected names"): a deny
# path that is missing at launch, or is a symlink, may not be created, replaced or
# re-pointed by the agent under --allow ~ (a mask only covers an inode that exists).
# Everything else in the grant keeps working, with the agent's modes and umask.
# As root and as uid 65534; the home is writable by both, so only the sandbox refuses.

load lib/common

setup() {
	common_setup
	mkdir -p "$H/dotfiles/gnupg" "$H/project/dir"
	ln -s dotfiles/gnupg "$H/.gnupg"
	ln -s "$H" "$H/project/up"
	echo x >"$H/project/file"
	chown -hR "$NOBODY:$NOBODY" "$H"
	chmod -R u+rwX,go+rwX "$H"
}

teardown() {
	common_teardown
}

names() {
	local who=$1
	shift
	sandboxed "$who" --allow "$H" -- "$P/probe-names" "$@"
}

# Nothing the agent tried may be left behind for the next login or the next nono run.
assert_untouched() {
	local f
	for f in .bash_profile .bash_login .profile .bashrc .zshenv .zprofile .zshrc .zlogin \
		.config/fish .config/nono; do
		[ ! -e "$H/$f" ] && [ ! -L "$H/$f" ] || {
			echo "$H/$f was planted"
			return 1
		}
	done
}

check_plant() {
	local who=$1 f
	# (after a first run, which makes ~/.nono for its audit log)
	nono_as "$who" run --allow "$H" -- true
	before=$(nono_as "$who" run --allow "$H" --dry-run -- true 2>&1)
	for f in .bash_profile .bash_login .profile .bashrc .zshenv .zprofile .zshrc .zlogin; do
		run names "$who" create "$H/$f"
		assert_failure 13
		assert_output --partial EACCES
	done
	# ~/.config/fish/conf.d/x.fish and ~/.config/nono/profiles/default.json need their
	# directories first; a file in their place is refused as well.
	for f in .config/fish .config/nono; do
		run names "$who" mkdir "$H/$f"
		assert_failure 13
		run names "$who" create "$H/$f"
		assert_failure 13
	done
	# The same names reached by a relative path, "..", a symlink in the parent and a
	# trailing slash.
	run sandboxed "$who" --allow "$H" -- sh -c "cd '$H/project' && exec '$P/probe-names' create ../.zshenv"
	assert_failure 13
	run names "$who" create "$H/project/dir/../../.zprofile"
	assert_failure 13
	run names "$who" create "$H/project/up/.bashrc"
	assert_failure 13
	run names "$who" mkdir "$H/.config/nono/"
	assert_failure 13
	# Through the shell, as an agent would, with the reason at -v.
	run nono_as "$who" run -v --allow "$H" -- sh -c "mkdir -p '$H/.config/nono/profiles' && echo '{\"filesystem\":{\"allow\":[\"/\"]}}' >'$H/.config/nono/profiles/default.json'"
	assert_failure 1
	assert_output --partial "denied mkdir of '$H/.config/nono'"
	assert_output --partial "Permission denied"
	assert_untouched
	after=$(nono_as "$who" run --allow "$H" --dry-run -- true 2>&1)
	[ "$before" = "$after" ]
}

@test "protected startup files and nono's profiles cannot be planted under --allow ~ (root)" { check_plant root; }
@test "protected startup files and nono's profiles cannot be planted under --allow ~ (user)" { check_plant user; }

check_symlink() {
	local who=$1
	run names "$who" unlink "$H/.gnupg"
	assert_failure 13
	run names "$who" rename "$H/project/file" "$H/.gnupg"
	assert_failure 13
	run names "$who" symlink /tmp "$H/.gnupg"
	assert_failure 17 # EEXIST, as without the sandbox: it is there and stays
	run names "$who" rename "$H/.gnupg" "$H/project/g"
	assert_failure 13
	run names "$who" exchange "$H/project/dir" "$H/.gnupg"
	assert_failure 13
	# the directory it points to, and its parent, stay where they are
	run names "$who" rename "$H/dotfiles" "$H/project/d2"
	assert_failure 13
	[ "$(readlink "$H/.gnupg")" = dotfiles/gnupg ]
	[ -d "$H/dotfiles/gnupg" ]
}

@test "a protected symlink cannot be removed, replaced or re-pointed (root)" { check_symlink root; }
@test "a protected symlink cannot be removed, replaced or re-pointed (user)" { check_symlink user; }

check_onto() {
	local who=$1
	run names "$who" rename "$H/project/file" "$H/.bashrc"
	assert_failure 13
	run names "$who" link "$H/project/file" "$H/.profile"
	assert_failure 13
	run names "$who" symlink "$H/project/file" "$H/.zshrc"
	assert_failure 13
	# a directory moved or linked into place above a protected name
	run names "$who" rename "$H/project/dir" "$H/.config/fish"
	assert_failure 13
	run names "$who" rename "$H/.config" "$H/project/cfg"
	assert_failure 13
	rmdir "$H/.config"
	run names "$who" symlink "$H/project" "$H/.config"
	assert_failure 13
	run names "$who" rename "$H/project/dir" "$H/.config"
	assert_failure 13
	# making ~/.config itself is fine; nono's directory inside it is not
	run sandboxed "$who" --allow "$H" -- sh -c "'$P/probe-names' mkdir '$H/.config' && '$P/probe-names' mkdir '$H/.config/nono'"
	assert_failure 13
	[ -d "$H/.config" ]
	[ -f "$H/project/file" ]
	assert_untouched
}

@test "renaming, linking or symlinking onto a protected name is refused (root)" { check_onto root; }
@test "renaming, linking or symlinking onto a protected name is refused (user)" { check_onto user; }

check_ordinary() {
	local who=$1 uid
	[ "$who" = root ] && uid=0 || uid=$NOBODY
	run sandboxed "$who" --allow "$H" -- sh -c "umask 027 && exec '$P/probe-names' create '$H/project/new' 0666"
	assert_success
	assert_output "mode=0640 cloexec=1"
	[ "$(stat -c %u "$H/project/new")" = "$uid" ]
	run names "$who" excl "$H/project/x"
	assert_success
	run names "$who" excl "$H/project/x"
	assert_failure 17
	run names "$who" mkdir "$H/project/sub"
	assert_success
	[ "$(stat -c %a "$H/project/sub")" = 755 ]
	run names "$who" rename "$H/project/x" "$H/project/sub/y"
	assert_success
	run names "$who" symlink sub/y "$H/project/ln"
	assert_success
	[ "$(readlink "$H/project/ln")" = sub/y ]
	run names "$who" link "$H/project/sub/y" "$H/project/hard"
	assert_success
	# O_CREAT through a symlink opens its target, as without the sandbox
	run names "$who" create "$H/project/ln"
	assert_success
	run names "$who" unlink "$H/project/hard"
	assert_success
	run names "$who" unlink "$H/project/sub/y"
	assert_success
	run names "$who" rmdir "$H/project/sub"
	assert_success
	[ ! -e "$H/project/sub" ]
	# a dangling symlink to a protected name does not plant it either
	run names "$who" symlink ../.bash_login "$H/project/dangling"
	assert_success
	run names "$who" create "$H/project/dangling"
	assert_failure 13
	assert_untouched
	# an O_TMPFILE file given a name through /proc/self/fd, here and onto a protected one
	run names "$who" tmpfile "$H/project" "$H/project/tmp"
	assert_success
	[ "$(cat "$H/project/tmp")" = tmp ]
	run names "$who" tmpfile "$H/project" "$H/.bash_logout"
	assert_failure 13
	# a protected directory that exists (masked) is there for mkdir -p: EEXIST
	run names "$who" mkdir "$H/.ssh"
	assert_failure 17
	assert_untouched
	# with a shell, as an agent would: redirections to its own descriptors reopen them
	# (into a file of the agent's own: a pipe of the test's may not be reopened by uid 65534)
	run sandboxed "$who" --allow "$H" -- sh -c "cd '$H/project' && exec >o 2>&1 && echo hi >a && mv a b && cat b >>/dev/stdout && rm b && echo err >>/dev/fd/2 && echo out >>/proc/self/fd/1"
	assert_success
	[ "$(cat "$H/project/o")" = "hi
err
out" ]
}

@test "ordinary creation, O_EXCL, rename and symlink elsewhere in the grant still work (root)" { check_ordinary root; }
@test "ordinary creation, O_EXCL, rename and symlink elsewhere in the grant still work (user)" { check_ordinary user; }

check_race() {
	local op
	# Root holds no CAP_DAC_OVERRIDE inside: the home (65534's) must be writable by mode.
	chmod a+rwx "$H"
	for op in create mkdir symlink rename; do
		run names "$1" race "$H" harmless_file .bash_profile 1000 "$op"
		assert_success
		assert_output --partial "made="
		[ ! -e "$H/.bash_profile" ] && [ ! -L "$H/.bash_profile" ]
	done
}

@test "a thread flipping the name in memory never creates the protected name (root)" { check_race root; }
@test "a thread flipping the name in memory never creates the protected name (user)" { check_race user; }

check_cost() {
	local who=$1
	# No write grant reaches a protected name: no name mediation (openat2 is untouched).
	run sandboxed "$who" --allow "$T/data" -- "$P/probe-names" openat2 "$T/data/new"
	assert_success
	# Under --allow ~ it is mediated, and openat2, whose flags a filter cannot see, is
	# refused with ENOSYS so that callers fall back to openat.
	run names "$who" openat2 "$H/project/new2"
	assert_failure 38
	assert_output --partial ENOSYS
}

@test "only a write grant reaching a protected name pays for the mediation (root)" { check_cost root; }
@test "only a write grant reaching a protected name pays for the mediation (user)" { check_cost user; }

check_bind() {
	local who=$1
	# A socket file is a name too (network allowed: bind is otherwise left to Landlock).
	run sandboxed "$who" --allow "$H" -- "$P/probe-unix" bind "$H/.zlogin"
	assert_failure 13
	[ ! -e "$H/.zlogin" ]
	run sandboxed "$who" --allow "$H" -- "$P/probe-unix" bind "$H/project/sock"
	assert_success
	[ -S "$H/project/sock" ]
}

@test "an AF_UNIX socket cannot be bound at a protected name (root)" { check_bind root; }
@test "an AF_UNIX socket cannot be bound at a protected name (user)" { check_bind user; }
