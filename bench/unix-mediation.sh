#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cost of the AF_UNIX mediation on the connect hot path: N sequential connect+close to a
# loopback TCP listener and to a path socket, bare (no sandbox) and inside `nono run`
# (every connect goes through the supervisor: seccomp notification, pidfd_getfd, the
# in-sandbox helper; path sockets also resolved and pinned). The client times its own
# loop, so nono's start-up is excluded. Modes interleaved per round; medians and ratios.
# Figures only: nothing here passes or fails.
# Usage: bench/unix-mediation.sh [BUILD_DIR] ; env ROUNDS (5), N (10000)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
n=${N:-10000}
here=$(cd "$(dirname "$0")" && pwd)
nono="$build/nono"
[ -x "$nono" ] || { echo "unix-mediation.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")

# /tmp is readable in the sandbox by default: the client binary is run from there.
T=$(mktemp -d /tmp/nono-bench-unix.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
cc -O2 -o "$T/connect-bench" "$here/connect-bench.c"
chmod 755 "$T" "$T/connect-bench"
"$T/connect-bench" listen-tcp >"$T/port" &
pids+=($!)
"$T/connect-bench" listen-unix "$T/s" >"$T/ready" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && [ -S "$T/s" ] && break; sleep 0.05; done
port=$(cat "$T/port")

run() { # MODE -> us/connect
	case $1 in
	tcp-bare) "$T/connect-bench" tcp "$port" "$n" ;;
	tcp-nono) "$nono" run -s -- "$T/connect-bench" tcp "$port" "$n" ;;
	unix-bare) "$T/connect-bench" unix "$T/s" "$n" ;;
	unix-nono) "$nono" run -s --allow-unix-socket "$T/s" -- "$T/connect-bench" unix "$T/s" "$n" ;;
	esac | awk '{print $4}'
}
modes=(tcp-bare tcp-nono unix-bare unix-nono)
declare -A res
for ((r = 0; r < rounds; r++)); do
	for m in $(printf '%s\n' "${modes[@]}" | shuf); do
		res[$m]+="$(run "$m") "
	done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-10s %12s %12s\n' mode us/connect connects/s
for m in "${modes[@]}"; do
	med=$(median "${res[$m]}")
	printf '%-10s %12.2f %12.0f\n' "$m" "$med" "$(echo "1000000 / $med" | bc -l)"
	eval "med_${m//-/_}=$med"
done
printf 'ratio tcp  (nono/bare): %.2fx\n' "$(echo "$med_tcp_nono / $med_tcp_bare" | bc -l)"
printf 'ratio unix (nono/bare): %.2fx\n' "$(echo "$med_unix_nono / $med_unix_bare" | bc -l)"
