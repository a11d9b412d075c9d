#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The reverse proxy (credential injection) against talking to the upstream directly,
# loopback only. The upstream is tests/probes/tls-upstream over TLS (a CA made here,
# trusted through SSL_CERT_FILE); the client is bench/reverse-load, small GETs over
# keep-alive connections:
#   latency  1 connection, N requests: p50/p99 per request
#   req/s    K connections (forked workers) in parallel
# direct: the client holds the key and speaks TLS to the upstream itself.
# proxy:  the client runs inside `nono run` with a custom credential service, speaks
#         plain HTTP to $LOCAL_BASE_URL with the phantom; the proxy checks it, rewrites
#         the head, injects the key and talks TLS to the upstream over pooled connections.
# Warm-up requests (TLS handshakes included) are not measured. Modes are interleaved per
# round in shuffled order; medians over rounds and proxy/direct ratios are printed.
# bulk: one 64 MiB (BULK_MB) response through the proxy, which scrubs the key from
#         every body; with OLD_NONO=/path/to/an older nono (one without scrubbing, e.g.
#         main's) the same through it too, and the ratio: the scrubbing's cost. Also the
#         CPU seconds nono used (user+sys: the proxy and the client, not the upstream),
#         steadier than throughput on a shared machine. The key has a real key's length
#         (108 bytes, like an Anthropic key; BULK_KEY_LEN): the scan skips by the
#         shortest pattern's length, so a short key costs more.
# Figures only: nothing here passes or fails.
# Usage: bench/reverse.sh [BUILD_DIR] ; env ROUNDS (5), LAT_N (2000), RPS_N (8000), K (4),
#        BULK_MB (64), OLD_NONO, ONLY_BULK=1 (skip latency and req/s)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
lat_n=${LAT_N:-2000}
rps_n=${RPS_N:-8000}
k=${K:-4}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
nono="$build/nono"
upstream="$build/tests/probes/tls-upstream"
[ -x "$nono" ] && [ -x "$upstream" ] || { echo "reverse.sh: build first (make)" >&2; exit 1; }

# /tmp is readable in the sandbox by default: the client runs from there.
T=$(mktemp -d /tmp/nono-bench-reverse.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$T/reverse-load" "$here/reverse-load.c" -lssl -lcrypto
(
	cd "$T"
	printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj /CN=bench-ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
		-out srv.csr -subj /CN=localhost
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
		-days 2 -extfile ext.cnf
) >/dev/null 2>&1
chmod 755 "$T" "$T/reverse-load"
chmod 644 "$T/ca.pem"

"$upstream" --port-file "$T/port" --cert "$T/srv.pem" --key "$T/srv.key" &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
uport=$(cat "$T/port")
cat >"$T/prof.json" <<EOF2
{"meta": {"name": "bench-reverse"}, "extends": "default",
 "network": {"credentials": ["local"], "custom_credentials": {"local": {
   "upstream": "https://127.0.0.1:$uport", "credential_key": "env://BENCH_KEY",
   "inject_header": "x-api-key", "credential_format": "{}", "env_var": "LOCAL_KEY"}}}}
EOF2

run_mode() { # MODE N K -> "rps p50 p99"
	local out
	if [ "$1" = direct ]; then
		out=$(SSL_CERT_FILE="$T/ca.pem" BENCH_UPSTREAM_PORT=$uport "$T/reverse-load" direct "$2" "$3")
	else
		out=$(env SSL_CERT_FILE="$T/ca.pem" BENCH_KEY=bench-real-key "$nono" -s run \
			--profile "$T/prof.json" -- "$T/reverse-load" proxy "$2" "$3")
	fi
	echo "$out" | sed -n 's/.*rps=\([0-9]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\).*/\1 \2 \3/p'
}

bulk_mb=${BULK_MB:-64}
bulk_key="sk-ant-api03-$(head -c 200 /dev/urandom | base64 -w0 | tr '+/' '-_' | head -c $((${BULK_KEY_LEN:-108} - 13)))"
bulk_mode() { # BINARY -> "bytes/s cpu-seconds" of one BULK_MB download through the proxy
	/usr/bin/time -f '%U %S' -o "$T/cpu" env SSL_CERT_FILE="$T/ca.pem" BENCH_KEY="$bulk_key" \
		"$1" -s run --profile "$T/prof.json" -- \
		sh -c "curl -sS -o /dev/null -w '%{speed_download}\n' -H \"x-api-key: \$LOCAL_KEY\" \"\$LOCAL_BASE_URL/bulk/$((bulk_mb << 20))\"" |
		tr -d '\n'
	awk '{printf " %.3f\n", $1 + $2}' "$T/cpu"
}
declare -A bulk
for r in $(seq "$rounds"); do
	for m in $(printf '%s\n' new ${OLD_NONO:+old} | shuf); do
		case $m in
		new) bulk[new]+="$(bulk_mode "$nono")"$'\n' ;;
		old) bulk[old]+="$(bulk_mode "$OLD_NONO")"$'\n' ;;
		esac
	done
done
bmed() { echo -n "${bulk[$1]}" | awk -v c="$2" 'NF {print $c}' | sort -g |
	awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf 'bulk %d MiB through the credential proxy, %d-byte key, %d rounds (medians)\n' \
	"$bulk_mb" "${#bulk_key}" "$rounds"
printf '  scrubbing (%s): %d MB/s, %s CPU s\n' "$nono" "$(echo "$(bmed new 1) / 1000000" | bc)" \
	"$(bmed new 2)"
if [ -n "${OLD_NONO:-}" ]; then
	printf '  without (%s): %d MB/s, %s CPU s\n' "$OLD_NONO" \
		"$(echo "$(bmed old 1) / 1000000" | bc)" "$(bmed old 2)"
	printf '  cost: throughput %.1f%%, CPU %.1f%%\n' \
		"$(echo "(1 - $(bmed new 1) / $(bmed old 1)) * 100" | bc -l)" \
		"$(echo "($(bmed new 2) / $(bmed old 2) - 1) * 100" | bc -l)"
fi
[ -n "${ONLY_BULK:-}" ] && exit 0

declare -A res
for r in $(seq "$rounds"); do
	for m in $(printf '%s\n' direct-lat proxy-lat direct-rps proxy-rps | shuf); do
		case $m in
		*-lat) res[$m]+="$(run_mode "${m%-lat}" "$lat_n" 1)"$'\n' ;;
		*-rps) res[$m]+="$(run_mode "${m%-rps}" "$rps_n" "$k")"$'\n' ;;
		esac
	done
	echo "round $r/$rounds done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { echo -n "${res[$1]}" | awk -v c="$2" 'NF {print $c}' | median; }

dl50=$(col direct-lat 2); pl50=$(col proxy-lat 2)
dl99=$(col direct-lat 3); pl99=$(col proxy-lat 3)
drps=$(col direct-rps 1); prps=$(col proxy-rps 1)
printf 'reverse proxy vs direct TLS, loopback, %d rounds (medians)\n' "$rounds"
printf '  latency, 1 conn:  p50 direct %s us, proxy %s us (+%s us, x%.2f); p99 direct %s us, proxy %s us\n' \
	"$dl50" "$pl50" "$((pl50 - dl50))" "$(echo "$pl50 / $dl50" | bc -l)" "$dl99" "$pl99"
printf '  req/s, %d conns:   direct %s, proxy %s (x%.2f of direct)\n' \
	"$k" "$drps" "$prps" "$(echo "$prps / $drps" | bc -l)"
