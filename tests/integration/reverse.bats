#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Credential injection through the reverse proxy, end to end through nono run: a local
# HTTPS upstream (tests/probes/tls-upstream, with a CA made here and trusted through
# SSL_CERT_FILE in nono's environment) records what it receives. Loopback only.

bats_require_minimum_version 1.5.0
load lib/common

setup() {
	common_setup
	mkdir -p "$T/tls"
	(
		cd "$T/tls"
		printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=nono-test-ca
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout srv.key -out srv.csr -subj /CN=localhost
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out srv.pem -days 2 -extfile ext.cnf
	) >/dev/null 2>&1
	chmod 755 "$T/tls"
	chmod 644 "$T/tls/ca.pem"
	"$NONO_PROBES/tls-upstream" --port-file "$T/port" --cert "$T/tls/srv.pem" \
		--key "$T/tls/srv.key" --log "$T/up.log" --gate "$T/data/gate" 3>&- &
	UP=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
	UPORT=$(cat "$T/port")
	KEY="sk-nono-test-$RANDOM$RANDOM-real-secret"
	cat >"$T/prof.json" <<-EOF
	{
	  "meta": {"name": "rev"},
	  "extends": "default",
	  "network": {
	    "credentials": ["local"],
	    "custom_credentials": {
	      "local": {
	        "upstream": "https://127.0.0.1:$UPORT",
	        "credential_key": "env://NONO_TEST_KEY",
	        "inject_header": "x-api-key",
	        "credential_format": "{}",
	        "env_var": "LOCAL_KEY"
	      },
	      "bearer": {
	        "upstream": "https://localhost:$UPORT/base",
	        "credential_key": "env://NONO_TEST_KEY"
	      }
	    }
	  }
	}
	EOF
	chmod 644 "$T/prof.json"
}

teardown() {
	[ -n "${UP:-}" ] && kill "$UP" 2>/dev/null
	[ -n "${CHAIN:-}" ] && kill "$CHAIN" 2>/dev/null
	common_teardown
}

# rev_as root|user ARGS...: nono with the test key in its environment and the test CA
# trusted; the child runs inside with the probes and $T/data granted.
rev_as() {
	local who=$1
	shift
	local envs=(PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp SSL_CERT_FILE="$T/tls/ca.pem"
		NONO_TEST_KEY="$KEY")
	# A short response deadline for the tests that need one.
	[ -n "${REV_RESPONSE_TIMEOUT:-}" ] && envs+=(NONO_PROXY_RESPONSE_TIMEOUT="$REV_RESPONSE_TIMEOUT")
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups env -i "${envs[@]}" "$N" "$@"
	else
		env -i "${envs[@]}" "$N" "$@"
	fi
}

# Run a shell command inside the sandbox under the test profile.
child() {
	local who=$1
	shift
	rev_as "$who" run --profile "$T/prof.json" --allow "$T/data" "$@"
}

CURL='curl -sS --max-time 20 --path-as-is'

upstream_requests() { cat "$T/up.log" 2>/dev/null | grep -c '^REQ ' || true; }

check_injection() {
	run --separate-stderr child "$1" -- sh -c "$CURL -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models?limit=2\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	# The real key arrived upstream in the service's header, the phantom did not.
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	grep -qF "REQ 1 1 GET /v1/models?limit=2 HTTP/1.1" "$T/up.log"
	run grep -c 'x-api-key' "$T/up.log"
	assert_output 1
}
@test "the key arrives upstream in the service's header (root)" { check_injection root; }
@test "the key arrives upstream in the service's header (user)" { check_injection user; }

@test "Authorization-style services get 'Bearer <key>' under the upstream's base path" {
	run child root --credential bearer -- sh -c "$CURL -H \"Authorization: Bearer \$BEARER_API_KEY\" \"\$BEARER_BASE_URL/x/y\""
	assert_success
	assert_output --partial '"path":"/base/x/y"'
	grep -qxF "H Authorization: Bearer $KEY" "$T/up.log"
	grep -qxF "H Host: localhost:$UPORT" "$T/up.log"
}

check_key_never_in_child() {
	run child "$1" -v -- sh -c 'env; tr "\0" "\n" </proc/self/environ; echo "phantom=$LOCAL_KEY"'
	assert_success
	refute_output --partial "$KEY"
	refute_output --partial "NONO_TEST_KEY"
	assert_output --regexp 'phantom=[0-9a-f]{64}'
	assert_output --partial "LOCAL_BASE_URL=http://127.0.0.1:"
	# Nor in any file nono or the child wrote.
	run grep -rlF "$KEY" "$H" "$T/data"
	assert_failure 1
}
@test "the key is not in the child's environment, output or files (root)" { check_key_never_in_child root; }
@test "the key is not in the child's environment, output or files (user)" { check_key_never_in_child user; }

check_unauthorised() {
	# No credential, a wrong one, the right phantom in the wrong header, a guessed token.
	run child "$1" -- sh -c "
		$CURL -o /dev/null -w '%{http_code}\n' \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -H 'x-api-key: sk-guess' \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -H \"Authorization: Bearer \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -H 'X-Nono-Token: 00' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output "$(printf '401\n401\n401\n401')"
	assert_equal "$(upstream_requests)" 0
}
@test "a wrong or missing phantom gets 401 and never reaches upstream (root)" { check_unauthorised root; }
@test "a wrong or missing phantom gets 401 and never reaches upstream (user)" { check_unauthorised user; }

@test "the session token in X-Nono-Token is accepted instead of the phantom" {
	run child root -- sh -c "tok=\${HTTP_PROXY#http://nono:}; tok=\${tok%%@*}; $CURL -H \"X-Nono-Token: \$tok\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	run grep -ci 'x-nono-token' "$T/up.log"
	assert_output 0
}

@test "endpoint rules hold against hostile spellings" {
	run child root --allow-endpoint 'local:GET:/v1/models' --allow-endpoint 'local:POST:/v1/chat/*' -- sh -c "
		for p in /v1/models //v1//models/ /v1/./models /%76%31/models /v1/x/../models \
			/v1/../admin /v1/%2e%2e/admin /v1/%2E%2E/%2e%2e/admin /v1%2Fmodels /v1/models%2F.. \
			/admin /v1/chat/x/../../../admin '/v1/..\\\\admin' /v1/%00 /../x; do
			printf '%s %s\n' \"\$p\" \"\$($CURL -o /dev/null -w '%{http_code}' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL\$p\")\"
		done
		printf 'POST-models %s\n' \"\$($CURL -o /dev/null -w '%{http_code}' -X POST -d x -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\")\"
		printf 'get-lower %s\n' \"\$($CURL -o /dev/null -w '%{http_code}' -X get -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\")\"
		printf 'POST-chat %s\n' \"\$($CURL -o /dev/null -w '%{http_code}' -X POST -d x -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/chat/completions\")\""
	assert_success
	for ok in '/v1/models 200' '/%76%31/models 200' 'POST-chat 200'; do
		assert_line "$ok"
	done
	# Dot segments, empty segments and encoded separators or dots are refused outright
	# (400, endpoint.h), not resolved; what is unambiguous but not allowed is 403.
	for no in '//v1//models/ 400' '/v1/./models 400' '/v1/x/../models 400' \
		'/v1/../admin 400' '/v1/%2e%2e/admin 400' '/v1/%2E%2E/%2e%2e/admin 400' \
		'/v1%2Fmodels 400' '/v1/models%2F.. 400' '/admin 403' '/v1/chat/x/../../../admin 400' \
		'/v1/%00 400' '/../x 400' 'POST-models 403' 'get-lower 400'; do
		assert_line "$no"
	done
	assert_output --regexp "/v1/\.\.\\\\+admin 400"
	# The upstream saw only the allowed requests, each under the one normalised path.
	run grep '^REQ ' "$T/up.log"
	refute_output --partial admin
	refute_output --partial '%'
	refute_output --partial '..'
	assert_equal "$(grep -c '^REQ .* GET /v1/models HTTP/1.1' "$T/up.log")" 2
	assert_equal "$(grep -c '^REQ .* GET /v1/models/ HTTP/1.1' "$T/up.log")" 0
	assert_equal "$(grep -c '^REQ .* POST /v1/chat/completions HTTP/1.1' "$T/up.log")" 1
}

# Spellings a second decoder, a path-parameter-stripping server or a lax UTF-8 decoder
# upstream could read as /secret (or as something else than what was matched). curl's
# --request-target sends each one byte for byte.
AMBIGUOUS=(
	'/allowed/%2E%2E%2Fsecret%2Fx' '/allowed/..%2fsecret/x' '/allowed/..%2Fsecret/x'
	'/allowed/%252e%252e/secret/x' '/allowed/%25%32%65%25%32%65/secret' '/allowed/..;/secret/x'
	'/allowed/x;jsessionid=1' '/allowed/%2e%2e/secret/x' '/allowed/%2E%2e/secret/x'
	'/allowed/.%2e/secret' '/allowed/%2e' '/allowed/%c0%ae%c0%ae/secret/x' '/allowed/%C0%AF'
	'/allowed/%e0%80%ae%e0%80%ae/secret' '/allowed/./..' '/allowed/../secret/x'
	'/allowed//secret' '//allowed/x' '/allowed/x%00' '/allowed/x%0d%0aX-Injected:%201'
	'/allowed/x#frag' '/allowed/..\secret\x' '/allowed/%5c..%5csecret' '/allowed/%3b/x'
)

check_ambiguous() {
	printf '%s\n' "${AMBIGUOUS[@]}" >"$T/data/spellings"
	cat >"$T/data/spell.sh" <<-'EOF'
	svc=${LOCAL_BASE_URL##*/}
	while IFS= read -r p; do
		printf '%s %s\n' "$p" "$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
			-H "x-api-key: $LOCAL_KEY" --request-target "/$svc$p" "$LOCAL_BASE_URL/")"
	done <"$1"
	EOF
	chmod 644 "$T/data/spellings" "$T/data/spell.sh"
	run child "$1" --allow-endpoint 'local:GET:/allowed/**' -- sh "$T/data/spell.sh" "$T/data/spellings"
	assert_success
	for p in "${AMBIGUOUS[@]}"; do
		assert_line "$p 400"
	done
	assert_equal "$(upstream_requests)" 0
	# The same rule still lets the plain spelling through, under that one path.
	run child "$1" --allow-endpoint 'local:GET:/allowed/**' -- sh -c "$CURL -o /dev/null -w '%{http_code}\n' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/allowed/%61b?q=%2e%2e\""
	assert_success
	assert_output 200
	assert_equal "$(upstream_requests)" 1
	grep -qF 'GET /allowed/ab?q=%2e%2e HTTP/1.1' "$T/up.log"
}
@test "ambiguous path spellings get 400 and never reach the upstream (root)" { check_ambiguous root; }
@test "ambiguous path spellings get 400 and never reach the upstream (user)" { check_ambiguous user; }

@test "a streamed response reaches the child before the upstream has finished" {
	# The upstream holds its last event back until the child, having read the first,
	# creates the gate file; a proxy that buffered would deliver "last-after-timeout".
	run child root -- sh -c "$CURL -N -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/stream\" |
		while IFS= read -r line; do
			case \$line in 'data: first') echo saw-first; : >\"$T/data/gate\" ;; data:*) echo \"\$line\" ;; esac
		done"
	assert_success
	assert_line saw-first
	assert_line 'data: last'
	refute_output --partial after-timeout
}

@test "keep-alive: two requests on one client connection, one pooled upstream connection" {
	run child root -- sh -c "$CURL -w '%{num_connects}\n' -o /dev/null -o /dev/null -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/a\" \"\$LOCAL_BASE_URL/b\""
	assert_success
	assert_output "$(printf '1\n0')"
	grep -qF 'REQ 1 1 GET /a ' "$T/up.log"
	grep -qF 'REQ 1 2 GET /b ' "$T/up.log"
}

@test "request bodies stream up, chunked or with a length" {
	head -c 300000 /dev/zero >"$T/data/body"
	chmod 644 "$T/data/body"
	run child root -- sh -c "
		$CURL -o /dev/null -H \"x-api-key: \$LOCAL_KEY\" --data-binary @$T/data/body \"\$LOCAL_BASE_URL/up1\"
		$CURL -o /dev/null -H \"x-api-key: \$LOCAL_KEY\" -H 'Transfer-Encoding: chunked' --data-binary @$T/data/body \"\$LOCAL_BASE_URL/up2\""
	assert_success
	assert_equal "$(grep -c '^BODY 300000$' "$T/up.log")" 2
}

@test "Landlock placement (host loopback) injects too (user)" {
	# Nested in an outer sandbox, whose seccomp filter refuses new user namespaces, nono
	# falls back to the host-loopback placement. The inner run cannot reach ~/.nono.
	run --separate-stderr rev_as user run --allow-net --read "$T" -- \
		"$N" run --no-audit --profile "$T/prof.json" --allow "$T/data" -v -- \
		sh -c "$CURL -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	[[ "$stderr" == *"host loopback"* ]]
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
}

@test "an upstream whose certificate does not verify gets 502, and no key" {
	# Without the test CA in SSL_CERT_FILE the system store does not know the server.
	run env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp NONO_TEST_KEY="$KEY" "$N" run \
		--profile "$T/prof.json" -- sh -c "$CURL -o /dev/null -w '%{http_code}' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_output 502
	assert_equal "$(upstream_requests)" 0
}

@test "dry-run and why name the credential services, never the key" {
	run rev_as root run --dry-run --profile "$T/prof.json" --credential bearer \
		--allow-endpoint 'bearer:GET:/x/**' -- true
	assert_success
	assert_output --partial "[credential] local -> https://127.0.0.1:$UPORT"
	assert_output --partial "[credential] bearer"
	assert_output --partial "[endpoint] bearer GET /x/**"
	refute_output --partial "$KEY"
	run rev_as root why --host 127.0.0.1 --profile "$T/prof.json"
	assert_output --partial "[credential] local"
	refute_output --partial "$KEY"
}

@test "a missing key fails closed, naming the service and the reference" {
	run env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" run --profile "$T/prof.json" -- true
	assert_failure 1
	assert_output --partial "service 'local'"
	assert_output --partial "env://NONO_TEST_KEY"
}

@test "custom credentials are validated strictly, with file:line" {
	for bad in '"upstream": "http://api.example.com", "credential_key": "env://X"' \
		'"upstream": "https://u@h", "credential_key": "env://X"' \
		'"upstream": "https://h?x=1", "credential_key": "env://X"' \
		'"upstream": "https://h:99999", "credential_key": "env://X"' \
		'"upstream": "https://h", "credential_key": "env://X", "inject_header": "x bad"' \
		'"upstream": "https://h", "credential_key": "env://X", "credential_format": "Bearer"' \
		'"upstream": "https://h", "credential_key": "env://X", "endpoint_rules": [{"method": "GET", "path": "/a/../b"}]'; do
		printf '{"meta": {"name": "bad"}, "extends": "default",\n "network": {"custom_credentials": {"x": {\n  %s}}}}\n' "$bad" >"$T/bad.json"
		run rev_as root run --profile "$T/bad.json" --credential x -- true
		assert_failure 1
		assert_output --regexp "bad.json:3:[0-9]+:"
	done
	# Loopback upstreams may be plain HTTP (local test servers).
	printf '{"meta": {"name": "ok"}, "extends": "default", "network": {"custom_credentials": {"x": {"upstream": "http://127.0.0.1:9", "credential_key": "env://X"}}}}\n' >"$T/ok.json"
	run rev_as root run --dry-run --profile "$T/ok.json" --credential x -- true
	assert_success
	assert_output --partial "[credential] x -> http://127.0.0.1:9"
}

# The upstream reflects the request (tests/probes/tls-upstream /echo): headers, base64,
# "user:key" base64, %XX, hex, in 7-byte chunks, with a length, or until the close.
check_echo_scrubbed() {
	run --separate-stderr child "$1" --credential bearer -- sh -c "
		for q in '' '?cl' '?eof'; do
			$CURL -i -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/echo\$q\"
			$CURL -i --http1.0 -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/echo\$q\"
			$CURL -i --compressed -H \"Authorization: Bearer \$BEARER_API_KEY\" \"\$BEARER_BASE_URL/echo\$q\"
		done
		$CURL -i -H 'Range: bytes=20-30' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/echo?cl\"
		echo \"phantom=\$LOCAL_KEY\""
	assert_success
	# The key did go upstream, and came back as the phantom only.
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	local ph
	ph=$(sed -n 's/^phantom=//p' <<<"$output")
	[[ "$ph" =~ ^[0-9a-f]{64}$ ]]
	refute_output --partial "$KEY"
	local b64 hex pct
	b64=$(printf '%s' "$KEY" | base64 -w0)
	hex=$(printf '%s' "$KEY" | od -An -tx1 | tr -d ' \n')
	pct=$(printf '%s' "$KEY" | od -An -tx1 | tr -d '\n' | sed 's/ /%/g' | tr a-f A-F)
	refute_output --partial "${b64:0:40}"
	refute_output --partial "$hex"
	refute_output --partial "$pct"
	local out=$output enc
	assert_equal "$(grep -cx "raw x-api-key: $ph" <<<"$out")" 7
	assert_equal "$(grep -cE "^raw Authorization: Bearer [0-9a-f]{64}$" <<<"$out")" 3
	assert_equal "$(grep -c "^X-Echo-[0-9]*: x-api-key: $ph" <<<"$out")" 7
	# Nothing in any base64 or basic "user:<value>" form decodes back to the key.
	while read -r enc; do
		run sh -c "printf '%s' '$enc' | base64 -d"
		refute_output --partial "$KEY"
	done < <(sed -n 's/^\(b64\|basic\) //p' <<<"$out" | tr -d '\r')
	# Compression was not asked of the upstream, nor a range.
	refute grep -qi '^H Accept-Encoding: .*gzip' "$T/up.log"
	refute grep -qi '^H Range' "$T/up.log"
}
@test "a key the upstream echoes back reaches the child only as the phantom (root)" { check_echo_scrubbed root; }
@test "a key the upstream echoes back reaches the child only as the phantom (user)" { check_echo_scrubbed user; }

check_xnono_phantom() {
	run child "$1" -- sh -c "
		$CURL -w '%{http_code}\n' -H \"X-Nono-Token: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -H \"X-Nono-Token: \${LOCAL_KEY}0\" \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -H \"X-Nono-Token: \${LOCAL_KEY}0\" -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_line --index 0 '{"ok":true,"path":"/v1/models"}'
	assert_line --index 1 200
	assert_line --index 2 401
	assert_line --index 3 401
	assert_equal "$(upstream_requests)" 1
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	run grep -ci 'x-nono-token' "$T/up.log"
	assert_output 0
}
@test "X-Nono-Token takes the service's phantom; a wrong one is 401 (root)" { check_xnono_phantom root; }
@test "X-Nono-Token takes the service's phantom; a wrong one is 401 (user)" { check_xnono_phantom user; }

check_hung_upstream() {
	# 40 requests hang upstream; another service answers meanwhile, the hung service
	# answers again once their clients have given up, and the upstream connections
	# close as soon as the clients leave (no 600 s idle wait).
	run --separate-stderr child "$1" --credential bearer -- sh -c "
		for i in \$(seq 40); do
			curl -sS -o /dev/null --max-time 4 -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/hang\" 2>/dev/null &
		done
		sleep 2
		$CURL -o /dev/null --max-time 5 -w 'other %{http_code}\n' -H \"Authorization: Bearer \$BEARER_API_KEY\" \"\$BEARER_BASE_URL/x\"
		wait
		sleep 1
		$CURL -o /dev/null --max-time 5 -w 'same %{http_code}\n' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_line 'other 200'
	assert_line 'same 200'
	local hung gone
	hung=$(grep -c '^REQ .* GET /hang ' "$T/up.log")
	gone=$(grep -c '^GONE ' "$T/up.log")
	[ "$hung" -ge 1 ] && [ "$hung" -le 32 ]
	assert_equal "$gone" "$hung"
}
@test "a hung upstream holds only its own share of workers, and lets go when clients leave (root)" { check_hung_upstream root; }
@test "a hung upstream holds only its own share of workers, and lets go when clients leave (user)" { check_hung_upstream user; }

check_slow_head() {
	REV_RESPONSE_TIMEOUT=2 run child "$1" -- sh -c "$CURL -o /dev/null -w '%{http_code} %{time_total}\n' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/slowhead\""
	assert_success
	[[ "$output" =~ ^504\ ([0-9]+)\. ]]
	[ "${BASH_REMATCH[1]}" -lt 6 ]
}
@test "a response head trickling in at 1 B/s gets 504 at the response deadline (root)" { check_slow_head root; }
@test "a response head trickling in at 1 B/s gets 504 at the response deadline (user)" { check_slow_head user; }

@test "an upstream that compresses although asked for identity gets 502, not an unscanned body" {
	run child root -- sh -c "
		$CURL -w '\n%{http_code}\n' --compressed -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/gzip\"
		$CURL -o /dev/null -w '%{http_code}\n' -I -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/gzip\""
	assert_success
	assert_line encoded_response
	assert_line --index 1 502
	assert_line --index 2 200 # a HEAD answer has no body to scan
	refute_output --partial zipped
	assert_equal "$(grep -cxF 'H Accept-Encoding: identity' "$T/up.log")" 2
	refute grep -qi '^H Accept-Encoding: .*gzip' "$T/up.log"
}

# A profile whose custom entries are named like presets: only the upstream (the local
# fake) is given; header, format and variables come from the preset, the key from
# --credential SERVICE=SOURCE (no keyring, no D-Bus).
preset_profile() {
	cat >"$T/presets.json" <<-EOF2
	{
	  "meta": {"name": "presets"},
	  "extends": "default",
	  "network": {
	    "custom_credentials": {
	      "anthropic": {"upstream": "https://127.0.0.1:$UPORT/v1"},
	      "openai": {"upstream": "https://127.0.0.1:$UPORT/v1",
	                 "endpoint_rules": [{"method": "POST", "path": "/v1/responses"}]},
	      "gemini": {"upstream": "https://127.0.0.1:$UPORT"}
	    }
	  }
	}
	EOF2
	chmod 644 "$T/presets.json"
}

check_preset_source() {
	preset_profile
	# Claude Code posts to $ANTHROPIC_BASE_URL/v1/messages, the AI SDK (opencode) to
	# $ANTHROPIC_BASE_URL/messages: both reach the upstream's /v1/messages.
	run --separate-stderr rev_as "$1" run --profile "$T/presets.json" --allow "$T/data" \
		--credential anthropic=env://NONO_TEST_KEY -- sh -c "
		$CURL -H \"x-api-key: \$ANTHROPIC_API_KEY\" -d '{}' \"\$ANTHROPIC_BASE_URL/v1/messages\"; echo
		$CURL -H \"x-api-key: \$ANTHROPIC_API_KEY\" -d '{}' \"\$ANTHROPIC_BASE_URL/messages\"; echo"
	assert_success
	assert_equal "$(grep -c '"path":"/v1/messages"' <<<"$output")" 2
	assert_equal "$(grep -cxF "H x-api-key: $KEY" "$T/up.log")" 2
	assert_equal "$(grep -c '^REQ .* POST /v1/messages HTTP/1.1$' "$T/up.log")" 2
	refute_output --partial "$KEY"
	# The preset's header survives a custom entry that does not name one.
	run grep -ci '^H authorization' "$T/up.log"
	assert_output 0
}
@test "--credential SERVICE=env://: preset header, /v1 with or without the client repeating it (root)" { check_preset_source root; }
@test "--credential SERVICE=env://: preset header, /v1 with or without the client repeating it (user)" { check_preset_source user; }

check_preset_vars() {
	preset_profile
	# gemini-cli and @google/genai read GOOGLE_GEMINI_BASE_URL; OpenAI SDKs append
	# /responses to a base URL that stands for .../v1. Endpoint rules written with the
	# base (/v1/responses) still match.
	run --separate-stderr rev_as "$1" run --profile "$T/presets.json" --allow "$T/data" \
		--credential gemini=env://NONO_TEST_KEY --credential openai=env://NONO_TEST_KEY -- sh -c "
		$CURL -H \"x-goog-api-key: \$GEMINI_API_KEY\" \"\$GOOGLE_GEMINI_BASE_URL/v1beta/models/m:generateContent\"; echo
		$CURL -H \"Authorization: Bearer \$OPENAI_API_KEY\" -d '{}' \"\$OPENAI_BASE_URL/responses\"; echo
		$CURL -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer \$OPENAI_API_KEY\" \"\$OPENAI_BASE_URL/models\"; echo
		echo \"gemini_base=\${GEMINI_BASE_URL:-unset}\""
	assert_success
	assert_output --partial '"path":"/v1beta/models/m:generateContent"'
	assert_output --partial '"path":"/v1/responses"'
	assert_output --partial '403'
	assert_output --partial 'gemini_base=unset'
	grep -qxF "H x-goog-api-key: $KEY" "$T/up.log"
	grep -qxF "H Authorization: Bearer $KEY" "$T/up.log"
	assert_equal "$(upstream_requests)" 2
}
@test "gemini's base URL is GOOGLE_GEMINI_BASE_URL; openai's upstream carries /v1 (root)" { check_preset_vars root; }
@test "gemini's base URL is GOOGLE_GEMINI_BASE_URL; openai's upstream carries /v1 (user)" { check_preset_vars user; }

@test "--credential SERVICE=SOURCE overrides the source; malformed ones are refused by name" {
	preset_profile
	run rev_as root run --dry-run --credential anthropic=env://NONO_TEST_KEY -- true
	assert_success
	assert_output --partial "[credential] anthropic -> https://api.anthropic.com/v1"
	for bad in 'anthropic=' '=env://X' 'anthropic=a b'; do
		run rev_as root run --dry-run --credential "$bad" -- true
		assert_failure 1
		assert_output --partial "bad credential '$bad'; use SERVICE or SERVICE=SOURCE"
	done
	# The source is loaded, and a missing one named, instead of the preset's keyring name.
	run env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" run \
		--credential anthropic=env://NONO_NO_SUCH_VAR -- true
	assert_failure 1
	assert_output --partial "service 'anthropic' from 'env://NONO_NO_SUCH_VAR'"
}

check_tls_ca() {
	# No SSL_CERT_FILE: the test CA is trusted only through the service's tls_ca, and
	# only for that service.
	cat >"$T/ca-prof.json" <<-EOF2
	{
	  "meta": {"name": "ca"},
	  "extends": "default",
	  "network": {
	    "credentials": ["private", "public"],
	    "custom_credentials": {
	      "private": {"upstream": "https://127.0.0.1:$UPORT", "credential_key": "env://NONO_TEST_KEY",
	                  "tls_ca": "$T/tls/ca.pem"},
	      "public": {"upstream": "https://localhost:$UPORT", "credential_key": "env://NONO_TEST_KEY"}
	    }
	  }
	}
	EOF2
	chmod 644 "$T/ca-prof.json"
	local envs=(PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp NONO_TEST_KEY="$KEY")
	local pre=()
	[ "$1" = user ] && pre=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
	run --separate-stderr "${pre[@]}" env -i "${envs[@]}" "$N" run --profile "$T/ca-prof.json" -- sh -c "
		$CURL -H \"Authorization: Bearer \$PRIVATE_API_KEY\" \"\$PRIVATE_BASE_URL/v1/models\"; echo
		$CURL -o /dev/null -w 'public=%{http_code}' -H \"Authorization: Bearer \$PUBLIC_API_KEY\" \"\$PUBLIC_BASE_URL/v1/models\"; echo"
	assert_success
	assert_output --partial '"path":"/v1/models"'
	assert_output --partial 'public=502'
	assert_equal "$(upstream_requests)" 1
	grep -qxF "H Authorization: Bearer $KEY" "$T/up.log"
}
@test "tls_ca trusts a private CA for that service's upstream only (root)" { check_tls_ca root; }
@test "tls_ca trusts a private CA for that service's upstream only (user)" { check_tls_ca user; }

@test "a tls_ca that is not a PEM file fails closed, naming it" {
	echo "not a certificate" >"$T/bad-ca.pem"
	chmod 644 "$T/bad-ca.pem"
	printf '{"meta": {"name": "badca"}, "extends": "default", "network": {"credentials": ["x"], "custom_credentials": {"x": {"upstream": "https://127.0.0.1:%s", "credential_key": "env://NONO_TEST_KEY", "tls_ca": "%s"}}}}\n' "$UPORT" "$T/bad-ca.pem" >"$T/badca.json"
	run rev_as root run --profile "$T/badca.json" -- true
	assert_failure 1
	assert_output --partial "cannot load the CA certificates in tls_ca '$T/bad-ca.pem'"
}

check_bundled() {
	# network-policy.json's codex profile bundles openai: enabled without --credential,
	# here with its key from env:// through a preset-named entry pointing at the fake.
	cat >"$T/bundled.json" <<-EOF2
	{
	  "meta": {"name": "bundled"},
	  "extends": "default",
	  "network": {
	    "network_profile": "codex",
	    "custom_credentials": {
	      "openai": {"upstream": "https://127.0.0.1:$UPORT/v1", "credential_key": "env://NONO_TEST_KEY"}
	    }
	  }
	}
	EOF2
	chmod 644 "$T/bundled.json"
	run --separate-stderr rev_as "$1" run --profile "$T/bundled.json" -- sh -c \
		"$CURL -H \"Authorization: Bearer \$OPENAI_API_KEY\" -d '{}' \"\$OPENAI_BASE_URL/responses\""
	assert_success
	assert_output --partial '"path":"/v1/responses"'
	grep -qxF "H Authorization: Bearer $KEY" "$T/up.log"
	# Without its key the run goes on without the service, and -v says why.
	local pre=()
	[ "$1" = user ] && pre=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
	run --separate-stderr "${pre[@]}" env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp \
		SSL_CERT_FILE="$T/tls/ca.pem" "$N" run -v --profile "$T/bundled.json" -- \
		sh -c 'echo "base=${OPENAI_BASE_URL:-unset}"'
	assert_success
	assert_output "base=unset"
	[[ "$stderr" == *"network profile 'codex' bundles credential 'openai', not enabled"* ]]
}
@test "a network profile's bundled credential is enabled when its key loads (root)" { check_bundled root; }
@test "a network profile's bundled credential is enabled when its key loads (user)" { check_bundled user; }

# WebSocket (codex's transport): the handshake carries the real key upstream, frames
# go both ways, and what comes back is scrubbed (doc/design/websocket-relay.md).
ws_client() {
	cp "$NONO_PROBES/ws-client" "$T/data/ws-client"
	chmod 755 "$T/data/ws-client"
	local who=$1 path=$2
	shift 2
	run --separate-stderr child "$who" "$@" -- sh -c "
		\"$T/data/ws-client\" \"\$LOCAL_BASE_URL$path\" \"x-api-key: \$LOCAL_KEY\" $WS_MSGS
		echo rc=\$?; echo phantom=\$LOCAL_KEY"
}

check_ws_roundtrip() {
	WS_MSGS='hello key big' ws_client "$1" /v1/ws
	assert_success
	assert_line 'STATUS 101'
	assert_line 'RECV 1 1 hello'
	assert_equal "$(printf '%s\n' "$output" | sed -n 's/^RECV 2 1 //p' | tr -d '\n' | tr -d b | wc -c)" 0
	assert_equal "$(printf '%s\n' "$output" | sed -n 's/^RECV 2 1 //p' | tr -d '\n' | wc -c)" 70000
	assert_line 'CLOSED 1000'
	assert_line rc=0
	# The upstream's echo of the key reaches the child as the phantom only.
	local ph
	ph=$(printf '%s\n' "$output" | sed -n 's/^phantom=//p')
	assert_line "RECV 1 1 key=$ph"
	refute_output --partial "$KEY"
	# The handshake went up with the real key, the upgrade and no extension offer.
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	grep -qxF "H Upgrade: websocket" "$T/up.log"
	grep -qxF "H Connection: Upgrade" "$T/up.log"
	run grep -ci 'sec-websocket-extensions\|permessage' "$T/up.log"
	assert_output 0
	grep -qxF "WS 1 hello" "$T/up.log"
	grep -qxF "WS 8 "$'\x03\xe8' "$T/up.log"
	# One audit event for the upgrade, with its 101.
	run grep -h '/v1/ws' "$H"/.nono/audit/*/audit-events.ndjson
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '"allow":true,"method":"GET",.*"path":"/v1/ws","service":"local".*"status":101'
}
@test "a WebSocket upgrade carries the key upstream and frames both ways, scrubbed (root)" { check_ws_roundtrip root; }
@test "a WebSocket upgrade carries the key upstream and frames both ways, scrubbed (user)" { check_ws_roundtrip user; }

@test "an Upgrade other than websocket is dropped: the request is plain HTTP" {
	run --separate-stderr child root -- sh -c "
		$CURL -H 'Upgrade: h2c' -H 'Connection: Upgrade, HTTP2-Settings' -H 'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\"
		$CURL -o /dev/null -w '%{http_code}\n' -X POST -d x -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/ws\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	# The POST "upgrade" reached /ws as plain HTTP: the test upstream's 426.
	assert_line 426
	run grep -ci '^H \(upgrade\|connection\|http2-settings\):' "$T/up.log"
	assert_output 0
}

check_ws_split() {
	# A message in two fragments cut inside the key goes out whole, rewritten; the key
	# cut across two messages cannot be: the second closes the connection (1008).
	WS_MSGS='split split2 hello' ws_client "$1" /v1/ws
	assert_success
	local ph
	ph=$(printf '%s\n' "$output" | sed -n 's/^phantom=//p')
	assert_line "RECV 1 1 key=$ph"
	assert_line 'CLOSE 1008'
	assert_line rc=3
	refute_output --partial "${KEY: -12}"
}
@test "a key cut across WebSocket fragments is scrubbed, across messages closes 1008 (root)" { check_ws_split root; }
@test "a key cut across WebSocket fragments is scrubbed, across messages closes 1008 (user)" { check_ws_split user; }

check_ws_denied() {
	WS_MSGS=hello ws_client "$1" /v1/ws --allow-endpoint 'local:GET:/v1/models'
	assert_success
	assert_line 'STATUS 403'
	assert_output --partial endpoint_denied
	assert_line rc=2
	assert_equal "$(upstream_requests)" 0
}
@test "a WebSocket upgrade to a disallowed endpoint is 403 and never reaches upstream (root)" { check_ws_denied root; }
@test "a WebSocket upgrade to a disallowed endpoint is 403 and never reaches upstream (user)" { check_ws_denied user; }

check_ws_client_gone() {
	# The child gives up on an upgraded connection: the upstream one goes at once.
	cp "$NONO_PROBES/ws-client" "$T/data/ws-client"
	chmod 755 "$T/data/ws-client"
	# (seen from inside while the session, and so the proxy, still runs)
	: >"$T/up.log"
	chmod 644 "$T/up.log"
	run --separate-stderr child "$1" --read "$T/up.log" -- sh -c "
		timeout 2 \"$T/data/ws-client\" \"\$LOCAL_BASE_URL/v1/ws\" \"x-api-key: \$LOCAL_KEY\" hello silent
		echo rc=\$?
		for i in 1 2 3 4 5 6 7 8 9 10; do
			grep -q '^WSGONE ' \"$T/up.log\" && { echo upstream-gone; break; }
			sleep 0.3
		done"
	assert_success
	assert_line 'RECV 1 1 hello'
	assert_line rc=124
	assert_line upstream-gone
	grep -qxF "WS 1 silent" "$T/up.log"
}
@test "a child that leaves a WebSocket frees the upstream connection (root)" { check_ws_client_gone root; }
@test "a child that leaves a WebSocket frees the upstream connection (user)" { check_ws_client_gone user; }

# --upstream-proxy carries the credential traffic too (a corporate network): CONNECT
# through it, then TLS to the upstream; --upstream-bypass names hosts reached directly.
start_upstream_proxy() {
	python3 "$NONO_SRC/tests/integration/lib/upstream-proxy.py" "$T/chain.log" >"$T/chain.port" 3>&- &
	CHAIN=$!
	for _ in $(seq 100); do [ -s "$T/chain.port" ] && break; sleep 0.05; done
	CPORT=$(cat "$T/chain.port")
}

check_upstream_proxy() {
	start_upstream_proxy
	run --separate-stderr child "$1" --upstream-proxy "127.0.0.1:$CPORT" -- sh -c "$CURL -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	run cat "$T/chain.log"
	assert_output "CONNECT 127.0.0.1:$UPORT HTTP/1.1"
	# A WebSocket goes the same way.
	: >"$T/chain.log"
	WS_MSGS='hello key' ws_client "$1" /v1/ws --upstream-proxy "127.0.0.1:$CPORT"
	assert_line 'STATUS 101'
	assert_line 'RECV 1 1 hello'
	assert_line rc=0
	refute_output --partial "$KEY"
	run cat "$T/chain.log"
	assert_output "CONNECT 127.0.0.1:$UPORT HTTP/1.1"
	kill "$CHAIN" 2>/dev/null || true
}
@test "--upstream-proxy carries the credential traffic as a CONNECT tunnel (root)" { check_upstream_proxy root; }
@test "--upstream-proxy carries the credential traffic as a CONNECT tunnel (user)" { check_upstream_proxy user; }

check_upstream_bypass() {
	start_upstream_proxy
	run --separate-stderr child "$1" --upstream-proxy "127.0.0.1:$CPORT" --upstream-bypass 127.0.0.1 -- sh -c "$CURL -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output --partial '"path":"/v1/models"'
	grep -qxF "H x-api-key: $KEY" "$T/up.log"
	run cat "$T/chain.log"
	assert_output ""
	# A proxy that refuses the tunnel is 502, and the key goes nowhere.
	kill "$CHAIN" 2>/dev/null || true
	: >"$T/up.log"
	run --separate-stderr child "$1" --upstream-proxy "127.0.0.1:$CPORT" -- sh -c "$CURL -o /dev/null -w '%{http_code}\n' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/v1/models\""
	assert_success
	assert_output 502
	assert_equal "$(upstream_requests)" 0
}
@test "--upstream-bypass reaches the credential upstream directly; a dead proxy is 502 (root)" { check_upstream_bypass root; }
@test "--upstream-bypass reaches the credential upstream directly; a dead proxy is 502 (user)" { check_upstream_bypass user; }

check_idle_keepalive_evicted() {
	# The child holds as many keep-alive connections at rest as the proxy has
	# workers (64); a new connection still gets an answer, because the one at rest
	# longest gives up its slot. The others keep working.
	cat >"$T/data/hold.py" <<-'EOF2'
	import http.client, os, sys, time, urllib.parse
	u = urllib.parse.urlsplit(os.environ["LOCAL_BASE_URL"])
	hdr = {"x-api-key": os.environ["LOCAL_KEY"]}
	def get(c):
	    c.request("GET", u.path + "/v1/models", headers=hdr)
	    r = c.getresponse()
	    r.read()
	    return r.status
	held = []
	for i in range(64):
	    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
	    assert get(c) == 200, "held %d" % i
	    held.append(c)
	time.sleep(0.6)
	print("new", get(http.client.HTTPConnection(u.hostname, u.port, timeout=20)))
	closed = ok = 0
	for c in held:
	    try:
	        ok += get(c) == 200
	    except (http.client.RemoteDisconnected, ConnectionError):
	        closed += 1
	print("closed", closed, "ok", ok)
	EOF2
	chmod 644 "$T/data/hold.py"
	run --separate-stderr child "$1" -- python3 "$T/data/hold.py"
	assert_success
	assert_line 'new 200'
	assert_line --regexp '^closed [1-9][0-9]* ok [0-9]+$'
	local closed ok
	read -r _ closed _ ok <<<"$(grep '^closed ' <<<"$output")"
	assert_equal $((closed + ok)) 64
}
@test "keep-alive connections at rest give up their worker to a new connection (root)" { check_idle_keepalive_evicted root; }
@test "keep-alive connections at rest give up their worker to a new connection (user)" { check_idle_keepalive_evicted user; }
