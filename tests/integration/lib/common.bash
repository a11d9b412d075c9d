# SPDX-License-Identifier: Apache-2.0
# Shared set-up for the integration suites. Every test gets a tree that BOTH root and
# uid 65534 may read and write by file mode, so a refusal can only come from the
# kernel sandbox (CI runs as root: "permission denied" from DAC would prove nothing).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${NONO:?NONO must point at the nono binary (tests/run-checks.sh sets it)}"
: "${NONO_PROBES:?NONO_PROBES must point at the probe directory}"

NOBODY=65534

common_setup() {
	# Not under /tmp: system_write_linux grants /tmp, /var/tmp and /dev/shm to everyone.
	T=$(mktemp -d "${NONO_TEST_ROOT:-/var/lib}/nono-it.XXXXXX")
	chmod 755 "$T"
	# Private copies: the build tree may sit under a directory uid 65534 cannot enter.
	mkdir -p "$T/bin"
	cp "$NONO" "$T/bin/nono"
	# The init and mediation helpers' binary, found beside nono (sandbox_open_helper_exe).
	NONO_HELPER="$(dirname "$(readlink -f "$NONO")")/nono-helper"
	[ ! -e "$NONO_HELPER" ] || cp "$NONO_HELPER" "$T/bin/nono-helper"
	cp "$NONO_PROBES"/probe-* "$T/bin/" 2>/dev/null || true
	chmod 755 "$T/bin" "$T/bin"/*
	N="$T/bin/nono"
	P="$T/bin"

	# A home with the secrets the deny groups protect.
	H="$T/home"
	mkdir -p "$H/.ssh" "$H/.aws" "$H/project/src" "$H/.config"
	echo "SECRET-SSH-KEY" >"$H/.ssh/id_rsa"
	echo "SECRET-AWS" >"$H/.aws/credentials"
	echo "SECRET-HISTORY" >"$H/.bash_history"
	echo "hello" >"$H/project/src/main.c"
	echo "outside" >"$T/outside.txt"
	mkdir -p "$T/data"
	echo "data" >"$T/data/file.txt"
	echo "sibling" >"$T/data/sibling.txt"
	chown -R "$NOBODY:$NOBODY" "$H" "$T/data" "$T/outside.txt"
	chmod -R u+rwX,go+rX "$H" "$T/data"
	# Root in the sandbox holds no CAP_DAC_OVERRIDE: the project is writable by mode.
	chmod -R a+rwX "$H/project"
	chmod 666 "$T/outside.txt" "$T/data"/*.txt
	chmod 777 "$T/data"
}

common_teardown() {
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	[ -n "${T:-}" ] || return 0
	# A supervisor that was just signalled may still be writing its audit end record
	# into the tree: one bounded retry, then the error stands.
	rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; }
}

# A plain HTTP server on 127.0.0.1 serving $T/www (made if missing): $SRV its pid
# (common_teardown ends it), $HTTP_PORT its port.
start_http() {
	mkdir -p "$T/www"
	python3 -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 3>&- &
	SRV=$!
	HTTP_PORT=""
	for _ in $(seq 100); do
		HTTP_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -n1)
		[ -n "$HTTP_PORT" ] && return 0
		sleep 0.05
	done
	return 1
}

# nono_as root|user ARGS...: run nono with the test HOME, as root or as uid 65534.
nono_as() {
	local who=$1
	shift
	if [ "$who" = user ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
			env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
	else
		env -i PATH=/usr/bin:/bin HOME="$H" TMPDIR=/tmp "$N" "$@"
	fi
}

# Run a probe inside the sandbox with the probes directory readable.
sandboxed() {
	local who=$1
	shift
	nono_as "$who" run --read "$P" "$@"
}

# skip_feature REASON: skip because this machine lacks something the test needs (a
# kernel feature, a Debian package tools/install-deps.sh installs). Under
# NONO_TESTS_MUST_RUN=1 (.ci/run sets it) that is a failure instead: in CI every such
# test must run. Not for skips on something CI cannot provide (the npm registry).
skip_feature() {
	if [ "${NONO_TESTS_MUST_RUN:-}" = 1 ]; then
		echo "NONO_TESTS_MUST_RUN=1 but this test would skip: $*" >&2
		return 1
	fi
	skip "$*"
}
