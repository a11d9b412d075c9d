#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nono's filtering proxy against a direct connection and against tinyproxy, loopback only:
#   throughput  a 1 GiB download with curl -o /dev/null: direct, through nono's CONNECT
#               tunnel (curl -p inside `nono run --allow-domain 127.0.0.1`), through
#               tinyproxy's CONNECT (curl -x ... -p)
#   conns/s     bench/connect-storm: N short CONNECT + tiny GET + close cycles from K
#               forked workers; inside the sandbox for nono (proxy URL and token from
#               $HTTPS_PROXY), outside for tinyproxy and for the direct baseline (GET only)
# The origin is bench/blast-server (sendfile from a sparse file, forked workers); one
# extra sink run checks it is faster than the paths measured. Modes are interleaved per
# round in shuffled order so machine noise hits all alike; medians and ratios printed.
# nono's own start-up (a few ms) is inside the tunnel's download time, negligible
# against 1 GiB. Figures only: nothing here passes or fails (targets are reported).
# Targets: tunnel MB/s >= 0.90 x direct; nono ahead of tinyproxy on MB/s and conns/s.
# Usage: bench/proxy.sh [BUILD_DIR] ; env ROUNDS (5), SIZE (bytes, 1 GiB),
#        CONNS (conns per storm run, 5000), WORKERS (4)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
size=${SIZE:-1073741824}
conns=${CONNS:-5000}
workers=${WORKERS:-4}
here=$(cd "$(dirname "$0")" && pwd)
nono="$build/nono"
[ -x "$nono" ] || { echo "proxy.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")
command -v curl >/dev/null || { echo "proxy.sh: curl not installed" >&2; exit 1; }
have_tp=1
command -v tinyproxy >/dev/null || {
	echo "proxy.sh: tinyproxy not installed (apt-get install -y tinyproxy); skipping it" >&2
	have_tp=0
}

# /tmp is readable in the sandbox by default: the storm binary is run from there.
T=$(mktemp -d /tmp/nono-bench-proxy.XXXXXX)
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
cc -O2 -o "$T/connect-storm" "$here/connect-storm.c"
chmod 755 "$T" "$T/connect-storm"

"$T/blast-server" "$size" 4 >"$T/origin.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/origin.port" ] && break; sleep 0.1; done
oport=$(cat "$T/origin.port")
[ -n "$oport" ] || { echo "proxy.sh: origin did not start" >&2; exit 1; }

if [ $have_tp = 1 ]; then
	tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$T/tinyproxy.conf" <<-EOF
		Port $tport
		Listen 127.0.0.1
		Timeout 60
		MaxClients 1024
		Allow 127.0.0.1
		ConnectPort $oport
		LogLevel Critical
		LogFile "$T/tinyproxy.log"
		PidFile "$T/tinyproxy.pid"
	EOF
	tinyproxy -d -c "$T/tinyproxy.conf" >"$T/tinyproxy.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		curl -sS -o /dev/null -x "http://127.0.0.1:$tport" -p "http://127.0.0.1:$oport/" 2>/dev/null && break
		sleep 0.1
	done
fi

url="http://127.0.0.1:$oport"
timeout_dl=120 # per download; 1 GiB at 10 MB/s would be far off anyway

# Each prints one number (bytes/s from curl, conns/s from the storm) or "fail".
dl_direct() { timeout $timeout_dl curl -sS -o /dev/null -w '%{speed_download}' "$url/big" || echo fail; }
dl_nono() {
	timeout $timeout_dl "$nono" run --allow-domain 127.0.0.1 -- \
		curl --noproxy '' -p -sS -o /dev/null -w '%{speed_download}' "$url/big" || echo fail
}
dl_tinyproxy() {
	timeout $timeout_dl curl -x "http://127.0.0.1:$tport" -p -sS -o /dev/null \
		-w '%{speed_download}' "$url/big" || echo fail
}
storm_out() { sed -n 's/^conns\/s \([0-9]*\) .* failed 0 .*/\1/p' | grep . || echo fail; }
cs_direct() { timeout 60 "$T/connect-storm" direct 127.0.0.1 "$oport" "$conns" "$workers" | storm_out; }
cs_nono() {
	timeout 60 "$nono" run --allow-domain 127.0.0.1 -- \
		"$T/connect-storm" proxy 127.0.0.1 "$oport" "$conns" "$workers" | storm_out
}
cs_tinyproxy() {
	timeout 60 "$T/connect-storm" proxy 127.0.0.1 "$oport" "$conns" "$workers" \
		"http://127.0.0.1:$tport" | storm_out
}

median() {
	tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g |
		awk '{a[NR]=$1} END {if (!NR) print 0; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

modes=(direct nono)
[ $have_tp = 1 ] && modes+=(tinyproxy)
declare -A dl cs
for m in "${modes[@]}"; do dl[$m]=""; cs[$m]=""; done

echo "proxy benchmark: $rounds interleaved rounds, $((size >> 20)) MiB download, $conns conns x $workers workers per storm run, $(nproc) CPUs, kernel $(uname -r)"
"$T/connect-storm" sink 127.0.0.1 "$oport" >/dev/null # fault in the sparse file's page cache
echo "origin check (direct, 1 MiB reads, no curl): $("$T/connect-storm" sink 127.0.0.1 "$oport")"
for ((r = 1; r <= rounds; r++)); do
	line="round $r:"
	for m in $(printf '%s\n' "${modes[@]}" | shuf); do
		v=$(dl_$m)
		dl[$m]+="$v "
		line+=" dl/$m $(awk -v v="$v" 'BEGIN {printf (v == "fail") ? "fail" : "%.0fMB/s", v / 1e6}')"
	done
	for m in $(printf '%s\n' "${modes[@]}" | shuf); do
		v=$(cs_$m)
		cs[$m]+="$v "
		line+=" cs/$m $v"
	done
	echo "$line"
done

for m in "${modes[@]}"; do
	fails=$(tr ' ' '\n' <<<"${dl[$m]} ${cs[$m]}" | grep -c fail || true)
	[ "$fails" = 0 ] || echo "WARNING: $m failed $fails runs (excluded from its median)"
done
mdl_direct=$(median <<<"${dl[direct]}")
mdl_nono=$(median <<<"${dl[nono]}")
mcs_direct=$(median <<<"${cs[direct]}")
mcs_nono=$(median <<<"${cs[nono]}")
mdl_tp=0 mcs_tp=0
if [ $have_tp = 1 ]; then
	mdl_tp=$(median <<<"${dl[tinyproxy]}")
	mcs_tp=$(median <<<"${cs[tinyproxy]}")
fi
awk -v dd="$mdl_direct" -v dn="$mdl_nono" -v dt="$mdl_tp" \
	-v cd="$mcs_direct" -v cn="$mcs_nono" -v ct="$mcs_tp" -v tp=$have_tp 'BEGIN {
	printf "\n%-26s %12s %12s\n", "median", "MB/s", "conns/s"
	printf "%-26s %12.0f %12.0f\n", "direct", dd / 1e6, cd
	printf "%-26s %12.0f %12.0f\n", "nono (CONNECT tunnel)", dn / 1e6, cn
	if (tp) printf "%-26s %12.0f %12.0f\n", "tinyproxy (CONNECT)", dt / 1e6, ct
	printf "\n"
	r = (dd > 0) ? dn / dd : 0
	printf "nono/direct     throughput %.2f  (target >= 0.90: %s)   conns/s %.2f\n",
		r, (r >= 0.9) ? "met" : "MISSED", (cd > 0) ? cn / cd : 0
	if (tp) {
		r1 = (dt > 0) ? dn / dt : 0; r2 = (ct > 0) ? cn / ct : 0
		printf "nono/tinyproxy  throughput %.2f  (target > 1: %s)      conns/s %.2f  (target > 1: %s)\n",
			r1, (r1 > 1) ? "met" : "MISSED", r2, (r2 > 1) ? "met" : "MISSED"
	} else
		printf "nono/tinyproxy: tinyproxy not installed\n"
}'
