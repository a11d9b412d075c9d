#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The built-in agent profiles, proven with the real agents from npm: each one starts
# (--version) and then does a real offline start-up under its profile, as uid 65534,
# with nothing refused. When the npm registry is unreachable every case is a visible
# SKIP, never a pass.

bats_require_minimum_version 1.5.0
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
	# The profile's ~/.claude.json is created for the first run (Claude Code refuses to
	# start without it). Claude Code 2.1 then rewrites it atomically through a temporary
	# file beside it in $HOME; under the read-only root that creation fails with EROFS,
	# and Claude Code falls back to writing the file in place only on EACCES, so its
	# first-run state is not kept (doc/agents.md). The file must still be valid JSON.
	[ -f "$H/.claude.json" ]
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$H/.claude.json"
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

# ---- A prompt round trip, offline, against a local fake of the provider's API --------
# The provider's hostnames are mapped to the fake (tests/integration/lib/fake-llm.py,
# HTTPS on 443 with a test CA that nono trusts through SSL_CERT_FILE) inside a mount and
# network namespace the test creates; nono and the agent run there as uid 65534 or root,
# exactly as a user types it: --profile AGENT --allow-cwd --credential SVC=env://KEY.

RT_REPLY="FAKE-REPLY-$RANDOM$RANDOM"
RT_KEY="sk-nono-agent-test-$RANDOM$RANDOM-secret"

rt_setup() {
	mkdir -p "$T/tls"
	(
		cd "$T/tls"
		printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:api.anthropic.com,DNS:api.openai.com,DNS:generativelanguage.googleapis.com\n' >ext.cnf
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=nono-agents-test-ca
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout srv.key -out srv.csr -subj /CN=fake-llm
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out srv.pem -days 2 -extfile ext.cnf
	) >/dev/null 2>&1
	chmod 755 "$T/tls"
	chmod 644 "$T/tls/ca.pem"
	printf '127.0.0.1 localhost\n127.0.0.1 api.anthropic.com api.openai.com generativelanguage.googleapis.com\n' >"$T/hosts"
	chmod 644 "$T/hosts"
	cat >"$T/ns.sh" <<-'EOF2'
	#!/bin/sh
	# ns.sh WHO NONO-ARGS...: inside the test's namespaces (as root), bring up lo, map
	# the hosts, start the fake on 443, run nono as WHO with the test CA and key.
	who=$1
	shift
	ip link set lo up || exit 90
	mount --bind "$T/hosts" /etc/hosts || exit 91
	# The test CA where a system's own CAs live, so the agent can read it too (codex
	# configures TLS from SSL_CERT_FILE even for a plain-HTTP base URL).
	mount --bind "$T/tls" /usr/local/share/ca-certificates || exit 92
	python3 "$NONO_SRC/tests/integration/lib/fake-llm.py" --port 443 --port-file "$T/fake.port" \
		--cert "$T/tls/srv.pem" --key "$T/tls/srv.key" --log "$T/up.log" --reply "$RT_REPLY" &
	fp=$!
	for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
	set -- env -i PATH="$AGENTS_DIR/node_modules/.bin:/usr/bin:/bin" HOME="$H" TMPDIR=/tmp \
		TERM=dumb SSL_CERT_FILE=/usr/local/share/ca-certificates/ca.pem AGENT_TEST_KEY="$RT_KEY" "$N" "$@"
	if [ "$who" = user ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@" </dev/null
	else
		"$@" </dev/null
	fi
	rc=$?
	kill "$fp"
	wait "$fp" 2>/dev/null
	exit $rc
	EOF2
	chmod 755 "$T/ns.sh"
	export T H N AGENTS_DIR RT_REPLY RT_KEY NONO_SRC
}

# roundtrip WHO PROFILE SVC AGENT-ARGV...: the exact command, in the test's namespaces.
roundtrip() {
	local who=$1 profile=$2 svc=$3
	shift 3
	rm -f "$T/fake.port" "$T/up.log"
	run --separate-stderr timeout 180 unshare -mn "$T/ns.sh" "$who" run --profile "$profile" --read "$AGENTS_DIR" \
		--allow-cwd --credential "$svc=env://AGENT_TEST_KEY" -- "$@"
}

# assert_roundtrip WHO PROFILE SVC HEADER: what the issue asks of every agent.
assert_roundtrip() {
	local who=$1 profile=$2 svc=$3 header=$4
	assert_success
	assert_output --partial "$RT_REPLY"
	# The real key reached the fake, in the provider's header.
	grep -qiF "H $header: $(
		[ "$header" = authorization ] && printf 'Bearer '
	)$RT_KEY" "$T/up.log"
	# No denial in what the agent or nono printed.
	output=$stderr refute_denied
	# The key is nowhere in the child's environment...
	run --separate-stderr timeout 60 unshare -mn "$T/ns.sh" "$who" run --profile "$profile" --read "$AGENTS_DIR" \
		--allow-cwd --credential "$svc=env://AGENT_TEST_KEY" -- sh -c 'tr "\0" "\n" </proc/self/environ'
	assert_success
	refute_output --partial "$RT_KEY"
	refute_output --partial AGENT_TEST_KEY
	# ...nor in any file under its HOME or cwd.
	run grep -rlF "$RT_KEY" "$H"
	assert_failure 1
}

@test "claude: a prompt round trip under claude-code with --credential anthropic=env:// (user)" {
	rt_setup
	roundtrip user claude-code anthropic claude -p hi
	assert_roundtrip user claude-code anthropic x-api-key
	grep -q '^REQ POST /v1/messages' "$T/up.log"
}

@test "claude: a prompt round trip under claude-code with --credential anthropic=env:// (root)" {
	rt_setup
	chown -R root:root "$H"
	roundtrip root claude-code anthropic claude -p hi
	assert_roundtrip root claude-code anthropic x-api-key
}

@test "opencode: the AI SDK's ANTHROPIC_BASE_URL/messages reaches /v1/messages (user)" {
	AGENT_BIN=opencode
	rt_setup
	roundtrip user opencode anthropic opencode run -m anthropic/claude-sonnet-4-5 hi
	assert_roundtrip user opencode anthropic x-api-key
	grep -q '^REQ POST /v1/messages$' "$T/up.log"
}

# gemini-cli asks for a workspace-trust decision before -p in a directory it was never
# told to trust; that is gemini's own gate against a repository's .gemini/ settings
# (hooks, MCP servers), which nono cannot answer for the user: --skip-trust is gemini's
# flag for it (it sets GEMINI_CLI_TRUST_WORKSPACE=true).
gemini_roundtrip() {
	local who=$1
	roundtrip "$who" gemini gemini gemini --skip-trust -p hi
	assert_roundtrip "$who" gemini gemini x-goog-api-key
	grep -q '^REQ POST /v1beta/models/[^/]*:streamGenerateContent' "$T/up.log"
	# The settings file nono wrote is gone, and the user's settings were not touched.
	run compgen -G "$H/.nono/sessions/*/tmp/nono-gemini-system-defaults.json"
	assert_failure 1
	assert_output ""
}

@test "gemini: a prompt round trip under gemini with --credential gemini=env:// (root)" {
	AGENT_BIN=gemini
	rt_setup
	chown -R root:root "$H"
	gemini_roundtrip root
	[ ! -e "$H/.gemini/settings.json" ]
}

@test "gemini: a prompt round trip under gemini, auth type in ~/.gemini/settings.json (user)" {
	AGENT_BIN=gemini
	rt_setup
	# As a user, gemini-cli skips nono's system-defaults file: it wants root to own it
	# and every directory above it, and in the user namespace nothing is root's. The
	# documented recipe (doc/agents.md) names the auth type once in the user's settings.
	mkdir -p "$H/.gemini"
	echo '{"security": {"auth": {"selectedType": "gemini-api-key"}}}' >"$H/.gemini/settings.json"
	chown -R "$NOBODY:$NOBODY" "$H"
	gemini_roundtrip user
}

# codex reads its key from CODEX_API_KEY and its base URL from the openai_base_url config
# key only: nono sets the first to the phantom and passes the second with -c, and under
# the codex profile picks danger-full-access (session-agent.h). codex talks WebSocket to
# /responses: the reverse proxy relays it, the key injected into the handshake.
codex_roundtrip() {
	local who=$1
	roundtrip "$who" codex openai codex exec --skip-git-repo-check hi
	assert_roundtrip "$who" codex openai authorization
	grep -q '^REQ GET /v1/responses$' "$T/up.log"
	grep -q '^WS response.create$' "$T/up.log"
	[[ "$stderr" != *"Falling back from WebSockets"* ]]
	# What nono added is in -v, never the key.
	[[ "$stderr" != *"$RT_KEY"* ]]
}

@test "codex: a prompt round trip under codex with --credential openai=env:// (user)" {
	AGENT_BIN=codex
	rt_setup
	codex_roundtrip user
}

@test "codex: a prompt round trip under codex with --credential openai=env:// (root)" {
	AGENT_BIN=codex
	rt_setup
	chown -R root:root "$H"
	codex_roundtrip root
}
