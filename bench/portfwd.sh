#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The --open-port forwarder of the namespace placement against a direct connection,
# loopback only: a download with curl -o /dev/null from bench/blast-server, directly and
# from inside `nono run --allow-domain ... --open-port PORT` (the port is taken on the
# host, so the child reaches it through the forwarder's listener in its namespace).
# nono's start-up (a few ms) is inside the forwarded download's time. Modes interleaved
# per round, medians and the ratio printed. Figures only: nothing passes or fails.
# Usage: bench/portfwd.sh [BUILD_DIR] ; env ROUNDS (5), SIZE (bytes, 1 GiB)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
size=${SIZE:-1073741824}
here=$(cd "$(dirname "$0")" && pwd)
nono="$build/nono"
[ -x "$nono" ] || { echo "portfwd.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")
command -v curl >/dev/null || { echo "portfwd.sh: curl not installed" >&2; exit 1; }

T=$(mktemp -d /tmp/nono-bench-portfwd.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$T/blast-server" "$here/blast-server.c"
"$T/blast-server" "$size" 4 >"$T/origin.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/origin.port" ] && break; sleep 0.1; done
oport=$(cat "$T/origin.port")
[ -n "$oport" ] || { echo "portfwd.sh: origin did not start" >&2; exit 1; }
url="http://127.0.0.1:$oport/big"

dl_direct() { timeout 120 curl --noproxy '*' -sS -o /dev/null -w '%{speed_download}' "$url" || echo fail; }
dl_forwarded() {
	timeout 120 "$nono" run --allow-domain example.invalid --open-port "$oport" -- \
		curl --noproxy '*' -sS -o /dev/null -w '%{speed_download}' "$url" || echo fail
}
median() {
	tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g |
		awk '{a[NR]=$1} END {if (!NR) print 0; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

modes=(direct forwarded)
declare -A dl
for m in "${modes[@]}"; do dl[$m]=""; done
echo "port forward benchmark: $rounds interleaved rounds, $((size >> 20)) MiB download, $(nproc) CPUs, kernel $(uname -r)"
dl_direct >/dev/null # fault in the sparse file's page cache
for ((r = 1; r <= rounds; r++)); do
	line="round $r:"
	for m in $(printf '%s\n' "${modes[@]}" | shuf); do
		v=$(dl_$m)
		dl[$m]+="$v "
		line+=" $m $(awk -v v="$v" 'BEGIN {printf (v == "fail") ? "fail" : "%.0fMB/s", v / 1e6}')"
	done
	echo "$line"
done
for m in "${modes[@]}"; do
	fails=$(tr ' ' '\n' <<<"${dl[$m]}" | grep -c fail || true)
	[ "$fails" = 0 ] || echo "WARNING: $m failed $fails runs (excluded from its median)"
done
awk -v d="$(median <<<"${dl[direct]}")" -v f="$(median <<<"${dl[forwarded]}")" 'BEGIN {
	printf "\nmedian MB/s: direct %.0f, forwarded (--open-port) %.0f, ratio %.2f\n",
		d / 1e6, f / 1e6, (d > 0) ? f / d : 0
}'
