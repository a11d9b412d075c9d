#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/agents.sh [NONO]: start-up time of the real agents, bare and under their nono
# profile: `<agent> --version`, and a one-prompt round trip against the local fake of the
# provider (tests/integration/lib/fake-llm.py) with the provider's hostnames mapped to it
# inside a mount + network namespace this script creates. Run as root (unshare, mounts).
# The agents come from tests/integration/agents.bats' install (NONO_AGENTS_DIR,
# /var/cache/nono-test-agents). Prints the median of BENCH_ROUNDS (5) runs of each, in
# seconds, and nono's ratio. Bare runs get the real key and the fake's CA directly
# (NODE_EXTRA_CA_CERTS / SSL_CERT_FILE); nono runs are the exact commands of agents.bats.
set -euo pipefail
NONO=$(realpath "${1:-build/nono}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
AGENTS_DIR=${NONO_AGENTS_DIR:-/var/cache/nono-test-agents}
ROUNDS=${BENCH_ROUNDS:-5}
[ "$(id -u)" = 0 ] || { echo "bench/agents.sh: run as root (it creates namespaces)" >&2; exit 2; }
[ -x "$AGENTS_DIR/node_modules/.bin/codex" ] || { echo "bench/agents.sh: no agents in $AGENTS_DIR (run agents.bats once)" >&2; exit 2; }
W=$(mktemp -d /var/lib/nono-bench-agents.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tls" "$W/home/work"
(
	cd "$W/tls"
	printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:api.anthropic.com,DNS:api.openai.com,DNS:generativelanguage.googleapis.com\n' >ext.cnf
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=fake-llm
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf
) >/dev/null 2>&1
printf '127.0.0.1 localhost\n127.0.0.1 api.anthropic.com api.openai.com generativelanguage.googleapis.com\n' >"$W/hosts"
mkdir -p "$W/home/.gemini"
echo '{"security": {"auth": {"selectedType": "gemini-api-key"}}}' >"$W/home/.gemini/settings.json"
cat >"$W/inner.sh" <<EOF2
#!/bin/bash
set -e
ip link set lo up
mount --bind "$W/hosts" /etc/hosts
mount --bind "$W/tls" /usr/local/share/ca-certificates
python3 "$SRC/tests/integration/lib/fake-llm.py" --port 443 --port-file "$W/fake.port" \
	--cert "$W/tls/srv.pem" --key "$W/tls/srv.key" --log /dev/null --reply BENCH-REPLY &
fp=\$!
trap 'kill \$fp 2>/dev/null' EXIT
for _ in \$(seq 100); do [ -s "$W/fake.port" ] && break; sleep 0.05; done
cd "$W/home/work"
python3 - "$NONO" "$AGENTS_DIR" "$W" "$ROUNDS" <<'PY'
import os, statistics, subprocess, sys, time
nono, agents, w, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ca = '/usr/local/share/ca-certificates/ca.pem'
key = 'sk-bench-0123456789'
base = {'PATH': agents + '/node_modules/.bin:/usr/bin:/bin', 'HOME': w + '/home',
        'TMPDIR': '/tmp', 'TERM': 'dumb'}
bare_env = dict(base, NODE_EXTRA_CA_CERTS=ca, SSL_CERT_FILE=ca, ANTHROPIC_API_KEY=key,
                CODEX_API_KEY=key, GEMINI_API_KEY=key, GEMINI_CLI_TRUST_WORKSPACE='true')
nono_env = dict(base, SSL_CERT_FILE=ca, KEY=key)
def under(profile, svc, argv):
    return [nono, 'run', '-s', '--profile', profile, '--read', agents, '--allow-cwd',
            '--credential', svc + '=env://KEY', '--'] + argv
cases = [
    ('claude', 'claude-code', 'anthropic', ['claude', '-p', 'hi']),
    ('opencode', 'opencode', 'anthropic', ['opencode', 'run', '-m', 'anthropic/claude-sonnet-4-5', 'hi']),
    ('gemini', 'gemini', 'gemini', ['gemini', '--skip-trust', '-p', 'hi']),
    ('codex', 'codex', 'openai', ['codex', 'exec', '--skip-git-repo-check', 'hi']),
]
def timed(argv, env, want):
    t = time.monotonic()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    d = time.monotonic() - t
    ok = p.returncode == 0 and want.encode() in p.stdout + p.stderr
    return d, ok
print('%-9s %-10s %9s %9s %7s  %s' % ('agent', 'what', 'bare s', 'nono s', 'ratio', 'ok bare/nono'))
for name, profile, svc, argv in cases:
    for what, a, want in (('--version', [argv[0], '--version'], ''), ('roundtrip', argv, 'BENCH-REPLY')):
        bare, non, oks = [], [], [True, True]
        for _ in range(rounds):
            d, ok = timed(a, bare_env, want); bare.append(d); oks[0] &= ok
            d, ok = timed(under(profile, svc, a), nono_env, want); non.append(d); oks[1] &= ok
        mb, mn = statistics.median(bare), statistics.median(non)
        print('%-9s %-10s %9.2f %9.2f %7.2f  %s/%s' % (name, what, mb, mn, mn / mb, oks[0], oks[1]), flush=True)
PY
EOF2
chmod +x "$W/inner.sh"
unshare -mn "$W/inner.sh"
