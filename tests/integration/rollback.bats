#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# nono run --rollback and nono rollback: snapshots of the write grants, restore
# byte for byte (contents, types, modes, symlinks, times), a planted symlink that
# cannot redirect restore, a resumed restore, dedup across sessions, exclusions,
# a corrupt object detected. Each case runs as root and as uid 65534.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	W="$H/project/work"
}
teardown() {
	common_teardown
}

# make_tree WHO: the pre-run state, owned by the user that runs the session.
make_tree() {
	mkdir -p "$W/dir/nested" "$W/keep" "$W/moved" "$W/emptydir" "$W/node_modules/pkg"
	echo "original" >"$W/dir/a.txt"
	echo "nested" >"$W/dir/nested/b.txt"
	echo "to be renamed" >"$W/moved/c.txt"
	: >"$W/empty"
	head -c 3000000 /dev/urandom >"$W/large.bin"
	printf '#!/bin/sh\necho hi\n' >"$W/run.sh"
	chmod 0755 "$W/run.sh"
	chmod 0640 "$W/dir/a.txt"
	chmod 0750 "$W/dir/nested"
	ln -s dir/a.txt "$W/link"
	ln -s missing-target "$W/dangling"
	echo "dep" >"$W/node_modules/pkg/index.js"
	echo "log" >"$W/keep/app.log"
	[ "$1" = user ] && chown -R "$NOBODY:$NOBODY" "$W"
	chmod a+rx "$H/project"
}

# Types, modes, sizes, symlink targets and mtimes of everything below $1.
tree_state() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %l %T@\n' | LC_ALL=C sort)
}

# The one session id in $H/.nono/rollback/sessions (the newest when several).
session_id() {
	ls "$H/.nono/rollback/sessions" | LC_ALL=C sort | tail -n1
}

# The agent: modify, create, delete, rename, chmod, re-point, truncate, replace types.
AGENT='set -e; cd "$0"
echo changed >dir/a.txt; chmod 0600 dir/a.txt
rm dir/nested/b.txt; rmdir dir/nested
echo new >created.txt; mkdir -p newdir/deep; echo x >newdir/deep/y
mv moved renamed
echo notempty >empty
head -c 1000 /dev/zero >large.bin
chmod 0644 run.sh
rm link; ln -s elsewhere link
rmdir emptydir; echo file-now >emptydir
echo changed-dep >node_modules/pkg/index.js'

run_roundtrip() {
	local who=$1
	make_tree "$who"
	cp -a "$W" "$T/ref"
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c "$AGENT" "$W"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	local id
	id=$(session_id)
	run nono_as "$who" rollback diff "$id"
	assert_success
	assert_output --partial "~ $W/dir/a.txt"
	assert_output --partial "+ $W/created.txt"
	assert_output --partial "- $W/dir/nested/b.txt"
	assert_output --partial "+ $W/renamed/"
	refute_output --partial "node_modules"
	run nono_as "$who" rollback restore "$id"
	assert_success
	assert_output --partial "restored session $id"
	# node_modules is auto-excluded: not snapshotted, so not restored either.
	grep -qx changed-dep "$W/node_modules/pkg/index.js"
	echo "dep" >"$W/node_modules/pkg/index.js"
	touch -r "$T/ref/node_modules/pkg/index.js" "$W/node_modules/pkg/index.js"
	diff -r --no-dereference "$T/ref" "$W"
	diff <(tree_state "$T/ref") <(tree_state "$W")
	# Restoring again changes nothing.
	run nono_as "$who" rollback restore "$id"
	assert_success
	assert_output --partial "0 written, 0 removed"
}

@test "rollback: restore brings back the tree byte for byte (root)" {
	run_roundtrip root
}

@test "rollback: restore brings back the tree byte for byte (uid 65534)" {
	run_roundtrip user
}

run_planted_symlink() {
	local who=$1
	make_tree "$who"
	mkdir -p "$T/victim"
	chmod 777 "$T/victim"
	# The agent swaps a directory (and the root of a file path) for symlinks to outside.
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'rm -r "$0/dir" && ln -s "$1" "$0/dir" && rm -r "$0/moved" && ln -s "$1" "$0/moved"' \
		"$W" "$T/victim"
	assert_success
	# Restoring only what lies beneath the planted symlink: the symlink on the way is
	# replaced by the directory it stood for; nothing lands outside.
	run nono_as "$who" rollback restore "$(session_id)" --path "$W/dir/nested"
	assert_success
	run ls -A "$T/victim"
	assert_output ""
	[ -d "$W/dir" ] && [ ! -L "$W/dir" ] && [ -L "$W/moved" ]
	grep -qx nested "$W/dir/nested/b.txt"
	run nono_as "$who" rollback restore "$(session_id)"
	assert_success
	# Nothing was written through the symlinks: the victim is still empty.
	run ls -A "$T/victim"
	assert_output ""
	[ -d "$W/dir" ] && [ ! -L "$W/dir" ]
	grep -qx original "$W/dir/a.txt"
	grep -qx nested "$W/dir/nested/b.txt"
	grep -qx "to be renamed" "$W/moved/c.txt"
}

@test "rollback: a symlink planted by the agent cannot redirect restore (root)" {
	run_planted_symlink root
}

@test "rollback: a symlink planted by the agent cannot redirect restore (uid 65534)" {
	run_planted_symlink user
}

run_resume() {
	local who=$1
	make_tree "$who"
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c "$AGENT" "$W"
	assert_success
	# A restore killed midway: a temp file it was writing, some files already back.
	echo "half" >"$W/dir/.nono-restore-0123456789abcdef"
	[ "$who" = user ] && chown "$NOBODY:$NOBODY" "$W/dir/.nono-restore-0123456789abcdef"
	run nono_as "$who" rollback restore "$(session_id)" --path "$W/dir"
	assert_success
	run nono_as "$who" rollback restore "$(session_id)"
	assert_success
	[ ! -e "$W/dir/.nono-restore-0123456789abcdef" ]
	grep -qx original "$W/dir/a.txt"
	[ "$(stat -c %a "$W/dir/a.txt")" = 640 ]
	[ ! -e "$W/created.txt" ] && [ -d "$W/moved" ] && [ ! -e "$W/renamed" ]
	cmp <(head -c 0 /dev/null) "$W/empty"
}

@test "rollback: an interrupted restore is resumed and --path restores part (root)" {
	run_resume root
}

@test "rollback: an interrupted restore is resumed and --path restores part (uid 65534)" {
	run_resume user
}

run_dedup() {
	local who=$1
	make_tree "$who"
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- true
	assert_success
	local before after
	before=$(du -sb "$H/.nono/rollback/objects" | cut -f1)
	sleep 1 # a new session id
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'echo small-change >"$0/dir/a.txt"' "$W"
	assert_success
	after=$(du -sb "$H/.nono/rollback/objects" | cut -f1)
	# The 3 MB file is stored once; the second session adds only the changed bytes
	# (plus directory blocks).
	[ $((after - before)) -lt 65536 ] || { echo "grew by $((after - before))"; return 1; }
	[ "$(ls "$H/.nono/rollback/sessions" | wc -l)" -eq 2 ]
	run nono_as "$who" rollback list
	assert_success
	assert_output --partial "0 created, 1 modified, 0 deleted"
}

@test "rollback: objects are shared across sessions (root)" {
	run_dedup root
}

@test "rollback: objects are shared across sessions (uid 65534)" {
	run_dedup user
}

run_exclusions() {
	local who=$1
	make_tree "$who"
	run nono_as "$who" run --rollback --no-rollback-prompt --rollback-exclude '*.log' \
		--rollback-include node_modules --allow "$W" -- sh -c \
		'echo x >"$0/keep/app.log"; echo y >"$0/node_modules/pkg/index.js"' "$W"
	assert_success
	run nono_as "$who" rollback restore "$(session_id)"
	assert_success
	grep -qx x "$W/keep/app.log"                 # excluded: left as the agent made it
	grep -qx dep "$W/node_modules/pkg/index.js" # forced back in: restored
}

@test "rollback: --rollback-exclude and --rollback-include (root)" {
	run_exclusions root
}

@test "rollback: --rollback-exclude and --rollback-include (uid 65534)" {
	run_exclusions user
}

# A directory unchanged since the previous session is not read again (its names are
# the previous manifest's); one the user or the agent changed is, and restore is exact.
run_dir_names() {
	local who=$1
	make_tree "$who"
	sleep 2 # the directories' last change over a second before the first walk
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- true
	assert_success
	echo "between sessions" >"$W/keep/new.txt"
	[ "$who" = user ] && chown "$NOBODY:$NOBODY" "$W/keep/new.txt"
	sleep 1 # a new session id
	run nono_as "$who" run -v --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'rm "$0/keep/new.txt" && echo agent >"$0/dir/nested/agent.txt"' "$W"
	assert_success
	assert_output --regexp "rollback session [^ ]+: [0-9]+ files .*, 5 directories \(1 listed\)"
	[ ! -e "$W/keep/new.txt" ]
	run nono_as "$who" rollback restore "$(session_id)"
	assert_success
	grep -qx "between sessions" "$W/keep/new.txt"
	[ ! -e "$W/dir/nested/agent.txt" ]
}

@test "rollback: an unchanged directory is not read again; changed ones are (root)" {
	run_dir_names root
}

@test "rollback: an unchanged directory is not read again; changed ones are (uid 65534)" {
	run_dir_names user
}

run_corrupt() {
	local who=$1
	make_tree "$who"
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'echo mine >"$0/dir/a.txt"' "$W"
	assert_success
	local h obj
	h=$(printf 'original\n' | sha256sum | cut -c1-64)
	obj="$H/.nono/rollback/objects/${h:0:2}/${h:2}"
	[ -f "$obj" ]
	chmod u+w "$obj"
	echo tampered >"$obj"
	run nono_as "$who" rollback restore "$(session_id)"
	[ "$status" -eq 1 ]
	assert_output --partial "is corrupt"
	grep -qx mine "$W/dir/a.txt"
	[ -z "$(find "$W" -name '.nono-restore-*')" ]
}

@test "rollback: a corrupt object is detected and not restored (root)" {
	run_corrupt root
}

@test "rollback: a corrupt object is detected and not restored (uid 65534)" {
	run_corrupt user
}

@test "rollback: refusals (wrap, bad session ids) and --no-rollback" {
	for who in root user; do
		make_tree "$who"
		run nono_as "$who" wrap --rollback --allow "$W" -- true
		[ "$status" -eq 1 ]
		assert_output --partial "nono wrap does not support '--rollback'"
		run nono_as "$who" rollback restore ../../etc
		[ "$status" -eq 1 ]
		assert_output --partial "invalid rollback session id '../../etc'"
		run nono_as "$who" rollback show 20990101-000000-1
		[ "$status" -eq 1 ]
		assert_output --partial "no rollback session '20990101-000000-1'"
		run nono_as "$who" run --rollback --no-rollback --allow "$W" -- true
		assert_success
		[ ! -e "$H/.nono/rollback/sessions" ] || [ -z "$(ls "$H/.nono/rollback/sessions")" ]
		rm -rf "$W"
	done
}

@test "rollback: prune keeps the newest sessions and drops unreferenced objects" {
	for who in root user; do
		make_tree "$who"
		run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
			'echo first-only >"$0/dir/a.txt"' "$W"
		assert_success
		sleep 1
		echo second >"$W/dir/a.txt"
		[ "$who" = user ] && chown "$NOBODY" "$W/dir/a.txt"
		run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- true
		assert_success
		run nono_as "$who" rollback prune --keep 1
		assert_success
		assert_output --partial "1 sessions removed, 1 kept"
		h=$(printf 'original\n' | sha256sum | cut -c1-64)
		[ ! -e "$H/.nono/rollback/objects/${h:0:2}/${h:2}" ]
		h=$(printf 'second\n' | sha256sum | cut -c1-64)
		[ -e "$H/.nono/rollback/objects/${h:0:2}/${h:2}" ]
		rm -rf "$W" "$H/.nono/rollback"
	done
}

# nono_tty WHO INPUT ARGS...: nono_as on a terminal (lib/ptyrun.py), INPUT typed once the
# review question is on the screen: typed earlier it would go to the command, which
# runs on a terminal of its own that nono relays to (PTY supervision).
nono_tty() {
	local who=$1 input=$2 cmd
	shift 2
	cmd=$(printf '%q ' nono_as "$who" "$@")
	local acts=()
	[ -n "$input" ] && acts=("e:[K/r]" "w:$input")
	python3 "$NONO_SRC/tests/integration/lib/ptyrun.py" "${acts[@]}" -- bash -c \
		"$(declare -f nono_as); N=$(printf %q "$N") H=$(printf %q "$H") NOBODY=$NOBODY; $cmd"
}

run_prompt() {
	local who=$1
	make_tree "$who"
	# "r": the pre-run state comes back at once.
	run nono_tty "$who" 'r\n' run --rollback --allow "$W" -- sh -c \
		'echo changed >"$0/dir/a.txt"; echo new >"$0/created.txt"' "$W"
	assert_success
	assert_output --partial "STATUS 0"
	assert_output --partial "1 created"
	assert_output --partial "$W/created.txt"
	assert_output --partial "keep these changes or restore the pre-run state?"
	assert_output --partial "restored: "
	grep -qx original "$W/dir/a.txt"
	[ ! -e "$W/created.txt" ]
	# Enter: kept.
	run nono_tty "$who" '\n' run --rollback --allow "$W" -- sh -c \
		'echo changed >"$0/dir/a.txt"' "$W"
	assert_success
	assert_output --partial "STATUS 0"
	assert_output --partial "kept (restore later: nono rollback restore "
	grep -qx changed "$W/dir/a.txt"
	# --no-rollback-prompt: no question even on a terminal.
	run nono_tty "$who" "" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'echo again >"$0/dir/a.txt"' "$W"
	assert_success
	assert_output --partial "STATUS 0"
	refute_output --partial "keep these changes"
	grep -qx again "$W/dir/a.txt"
}

@test "rollback: the post-run review on a terminal restores or keeps (root)" {
	run_prompt root
}

@test "rollback: the post-run review on a terminal restores or keeps (uid 65534)" {
	run_prompt user
}

@test "rollback: [rollback] max_sessions in config.toml; a bad key is refused before the run" {
	for who in root user; do
		make_tree "$who"
		mkdir -p "$H/.config/nono"
		printf '[rollback]\nmax_sessions = 2\n' >"$H/.config/nono/config.toml"
		chmod -R a+rX "$H/.config"
		for i in 1 2 3; do
			run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
				"echo $i >\"\$0/dir/a.txt\"" "$W"
			assert_success
			sleep 1
		done
		[ "$(ls "$H/.nono/rollback/sessions" | wc -l)" -eq 2 ]
		# The oldest session's pre-run content is gone from the store.
		h=$(printf 'original\n' | sha256sum | cut -c1-64)
		[ ! -e "$H/.nono/rollback/objects/${h:0:2}/${h:2}" ]
		printf '[rollback]\nmax_session = 2\n' >"$H/.config/nono/config.toml"
		run nono_as "$who" run --rollback --allow "$W" -- sh -c 'echo ran >"$0/ran"' "$W"
		[ "$status" -eq 1 ]
		assert_output --partial "[rollback] max_session: unknown key"
		[ ! -e "$W/ran" ]
		rm -rf "$W" "$H/.nono/rollback" "$H/.config/nono/config.toml"
	done
}

# merkle_root DIR AS: the Merkle root nono's formats describe (leaf = SHA-256(0x00 ||
# path || content hash), node = SHA-256(0x01 || L || R), odd node promoted) over the
# files and symlinks (hash of the target) below DIR, named as if DIR were AS, without
# the auto-excluded trees. Independent of nono's own code.
merkle_root() {
	python3 - "$1" "$2" <<'PY'
import hashlib, os, sys
src, name = sys.argv[1], sys.argv[2]
skip = {".git", ".hg", ".svn", "target", "node_modules", "__pycache__", ".venv", ".tox",
        ".mypy_cache", ".pytest_cache", ".gradle", ".next", ".nuxt", ".cache"}
leaves = []
for d, dirs, files in os.walk(src):
    dirs[:] = [x for x in dirs if x not in skip and not os.path.islink(os.path.join(d, x))]
    names = files + [x for x in os.listdir(d) if os.path.islink(os.path.join(d, x)) and x not in files]
    for f in set(names):
        p = os.path.join(d, f)
        rel = os.path.relpath(p, src)
        if os.path.islink(p):
            h = hashlib.sha256(os.readlink(p).encode()).digest()
        else:
            h = hashlib.sha256(open(p, "rb").read()).digest()
        leaves.append(((name + "/" + rel).encode(), h))
leaves.sort()
level = [hashlib.sha256(b"\0" + p + h).digest() for p, h in leaves]
if not level:
    print(hashlib.sha256(b"").hexdigest()); sys.exit()
while len(level) > 1:
    nxt = [hashlib.sha256(b"\1" + level[i] + level[i + 1]).digest()
           for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        nxt.append(level[-1])
    level = nxt
print(level[0].hex())
PY
}

# The newest audit session id (ids within one second sort at random: by time).
audit_id() {
	ls -t "$H/.nono/audit" | grep -v '^ledger' | head -n1
}

run_audit_integrity() {
	local who=$1 id before after
	make_tree "$who"
	before=$(merkle_root "$W" "$W")
	run nono_as "$who" run --audit-integrity --allow "$W" -- sh -c \
		'echo more >>"$0/dir/a.txt"; rm "$0/link"' "$W"
	assert_success
	after=$(merkle_root "$W" "$W")
	[ "$before" != "$after" ]
	# Hashes only: --rollback is what stores contents.
	[ ! -e "$H/.nono/rollback/objects" ]
	id=$(audit_id)
	grep -q "\"before\": \"$before\"" "$H/.nono/audit/$id/session.json"
	grep -q "\"after\": \"$after\"" "$H/.nono/audit/$id/session.json"
	run nono_as "$who" audit verify "$id"
	assert_success
	assert_output --partial "filesystem state before $before, after $after"
	# The record edited: verify names the root that no longer matches the log.
	cp "$H/.nono/audit/$id/session.json" "$T/session.json"
	sed -i "s/\"after\": \"$after\"/\"after\": \"$before\"/" "$H/.nono/audit/$id/session.json"
	run nono_as "$who" audit verify "$id"
	[ "$status" -eq 1 ]
	assert_output --partial "FAILED verification"
	assert_output --partial "the filesystem Merkle root 'after' in session.json does not match the audit log ($after)"
	cp "$T/session.json" "$H/.nono/audit/$id/session.json"
	# The log edited instead: the chain breaks.
	cp "$H/.nono/audit/$id/audit-events.ndjson" "$T/events"
	sed -i "s/$before/$after/" "$H/.nono/audit/$id/audit-events.ndjson"
	run nono_as "$who" audit verify "$id"
	[ "$status" -eq 1 ]
	assert_output --partial "FAILED verification"
	assert_output --partial "hash chain broken"
	cp "$T/events" "$H/.nono/audit/$id/audit-events.ndjson"
	# --rollback implies it.
	run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- true
	assert_success
	id=$(audit_id)
	run nono_as "$who" audit verify "$id"
	assert_success
	assert_output --partial "filesystem state before $after, after $after"
	# Nowhere to record it.
	run nono_as "$who" run --audit-integrity --no-audit --allow "$W" -- touch "$W/ran"
	[ "$status" -eq 1 ]
	assert_output --partial "'--audit-integrity' records hashes of the tracked state in the audit trail: it conflicts with --no-audit"
	[ ! -e "$W/ran" ]
	rm -rf "$W" "$H/.nono"
}

@test "rollback: --audit-integrity records Merkle roots that audit verify checks (root)" {
	run_audit_integrity root
}

@test "rollback: --audit-integrity records Merkle roots that audit verify checks (uid 65534)" {
	run_audit_integrity user
}

run_storage_cap() {
	local who=$1 live
	make_tree "$who"
	mkdir -p "$H/.config/nono"
	printf '[rollback]\nmax_storage_mb = 1\n' >"$H/.config/nono/config.toml"
	chmod -R a+rX "$H/.config"
	# A session that is still running when the others prune: never removed.
	nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
		'while [ ! -e "$0/go" ]; do sleep 0.1; done' "$W" 3>&- &
	local pid=$!
	for _ in $(seq 1 600); do
		live=$(session_id)
		[ -n "$live" ] && [ -e "$H/.nono/rollback/sessions/$live/000.json" ] && break
		sleep 0.1
	done
	[ -e "$H/.nono/rollback/sessions/$live/000.json" ]
	sleep 1 # session ids have a one-second clock
	for i in 1 2 3; do
		run nono_as "$who" run --rollback --no-rollback-prompt --allow "$W" -- sh -c \
			"head -c 400000 /dev/urandom >\"\$0/r$i.bin\"; echo $i >\"\$0/dir/a.txt\"" "$W"
		assert_success
		sleep 1
	done
	# Over 1 MB (large.bin alone is 3 MB): the ended sessions but the newest went.
	[ -d "$H/.nono/rollback/sessions/$live" ]
	[ "$(ls "$H/.nono/rollback/sessions" | wc -l)" -eq 2 ]
	# Content only the removed sessions held is gone ("1" was a.txt in run 1 only).
	h=$(printf '1\n' | sha256sum | cut -c1-64)
	[ ! -e "$H/.nono/rollback/objects/${h:0:2}/${h:2}" ]
	h=$(printf '3\n' | sha256sum | cut -c1-64)
	[ -e "$H/.nono/rollback/objects/${h:0:2}/${h:2}" ]
	touch "$W/go"
	wait "$pid"
	rm -rf "$W" "$H/.nono/rollback" "$H/.config/nono/config.toml"
}

@test "rollback: max_storage_mb removes the oldest ended sessions and their objects, not a running one (root)" {
	run_storage_cap root
}

@test "rollback: max_storage_mb removes the oldest ended sessions and their objects, not a running one (uid 65534)" {
	run_storage_cap user
}
