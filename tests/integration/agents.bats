#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The built-in agent profiles, proven with the real agents from npm: each one starts
# (--version) and then does a real offline start-up under its profile, as uid 65534,
# with nothing refused. When the npm registry is unreachable every case is a visible
# SKIP, never a pass.

load lib/common

AGENTS_DIR=${NONO_AGENTS_DIR:-/var/cache/nono-test-agents}

setup_file() {
	mkdir -p "$AGENTS_DIR"
	if [ ! -x "$AGENTS_DIR/node_modules/.bin/claude" ] || [ ! -x "$AGENTS_DIR/node_modules/.bin/gemini" ]; then
		timeout 600 npm install --no-audit --no-fund --prefix "$AGENTS_DIR" \
			@anthropic-ai/claude-code @openai/codex opencode-ai @google/gemini-cli \
			>"$AGENTS_DIR/npm.log" 2>&1 || true
	fi
	chmod -R go+rX "$AGENTS_DIR" 2>/dev/null || true
}

setup() {
	common_setup
	[ -x "$AGENTS_DIR/node_modules/.bin/${AGENT_BIN:-claude}" ] ||
		skip "npm registry unreachable, agents not installed: $(tail -n 1 "$AGENTS_DIR/npm.log" 2>/dev/null)"
	mkdir -p "$H/work"
	chown -R "$NOBODY:$NOBODY" "$H"
	cd "$H/work"
}
teardown() { common_teardown; }

# agent PROFILE ARGS...: run an agent binary as uid 65534 under PROFILE, cwd granted.
agent() {
	local profile=$1
	shift
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
		env -i PATH="$AGENTS_DIR/node_modules/.bin:/usr/bin:/bin" HOME="$H" TMPDIR=/tmp \
		TERM=dumb "$N" run --profile "$profile" --allow-cwd --read "$AGENTS_DIR" -- "$@" </dev/null
}

refute_denied() {
	refute_output --partial "EACCES"
	refute_output --partial "EPERM"
	refute_output --regexp "[Pp]ermission denied"
	refute_output --partial "EROFS"
}

@test "claude --version under the claude-code profile" {
	run agent claude-code claude --version
	assert_success
	assert_output --regexp "[0-9]+\.[0-9]+\.[0-9]+ \(Claude Code\)"
}

@test "claude starts offline under claude-code and reaches its login check" {
	run agent claude-code claude -p hello
	refute_denied
	assert_output --partial "Not logged in"
	[ -d "$H/.claude" ]
}

@test "codex --version under the codex profile" {
	AGENT_BIN=codex
	run agent codex codex --version
	assert_success
	assert_output --partial "codex-cli"
}

@test "codex starts offline under codex and reaches its trust check" {
	run agent codex codex exec hello
	refute_denied
	assert_output --partial "trusted directory"
	[ -d "$H/.codex" ]
}

@test "opencode --version under the opencode profile" {
	run agent opencode opencode --version
	assert_success
	assert_output --regexp "^[0-9]+\.[0-9]+\.[0-9]+"
}

@test "opencode loads its configuration offline under opencode" {
	run agent opencode opencode debug config
	assert_success
	refute_denied
	run agent opencode opencode debug paths
	assert_success
	assert_output --partial "$H/.local/share/opencode"
}

@test "gemini --version under the gemini profile" {
	run agent gemini gemini --version
	assert_success
	assert_output --regexp "^[0-9]+\.[0-9]+\.[0-9]+"
}

@test "gemini starts offline under gemini and reaches its auth check" {
	run agent gemini gemini -p hello
	refute_denied
	assert_output --partial "Auth method"
	[ -d "$H/.gemini" ]
}

@test "an agent profile does not expose ~/.ssh to the agent's shell tool" {
	echo "SECRET-SSH-KEY" >"$H/.ssh/id_rsa"
	run agent claude-code /bin/sh -c "cat '$H/.ssh/id_rsa'"
	refute_output --partial "SECRET-SSH-KEY"
}
