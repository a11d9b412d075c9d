#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Overhead of `nono learn`'s tracer against strace, on two file-system-heavy workloads:
#   find /usr >/dev/null            (a tree walk: one directory open per directory)
#   tar cf /dev/null SRC            (GNU tar notices /dev/null and skips file contents,
#                                    so this is again mostly a walk plus per-file opens)
# Each workload runs bare, under learn (learn-driver: liblearn without the CLI) and
# under `strace -f -e trace=%file,%network -o /dev/null`, interleaved round by round so
# machine noise hits all three alike. Prints medians and
#   ratio = (learn - bare) / (strace - bare)          target: <= 0.20
# Usage: bench/learn.sh [BUILD_DIR] ; env ROUNDS (default 9), TAR_SRC (default /usr/include)
set -eu
build=${1:-build}
rounds=${ROUNDS:-9}
tar_src=${TAR_SRC:-/usr/include}
driver="$build/tests/unit/learn/learn-driver"
[ -x "$driver" ] || { echo "learn.sh: no $driver (build with -Dtests=true)" >&2; exit 1; }
have_strace=1
command -v strace >/dev/null || have_strace=0

now() { date +%s%N; }

# run_ms CMD...: wall time of one run in ms, output discarded.
run_ms() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>&1 || true
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

bench() {
	local name=$1
	shift
	local bare="" learn="" strc="" i
	"$@" >/dev/null 2>&1 || true # warm the page cache
	for ((i = 0; i < rounds; i++)); do
		bare+="$(run_ms "$@") "
		learn+="$(run_ms "$driver" --quiet --no-rdns -- "$@") "
		if [ $have_strace = 1 ]; then
			strc+="$(run_ms strace -f -e trace=%file,%network -o /dev/null "$@") "
		fi
	done
	local mb ml ms
	mb=$(tr ' ' '\n' <<<"$bare" | grep . | median)
	ml=$(tr ' ' '\n' <<<"$learn" | grep . | median)
	printf '%-24s bare %6d ms   learn %6d ms' "$name" "$mb" "$ml"
	if [ $have_strace = 1 ]; then
		ms=$(tr ' ' '\n' <<<"$strc" | grep . | median)
		awk -v b="$mb" -v l="$ml" -v s="$ms" 'BEGIN {
			ol = l - b; os = s - b; if (os <= 0) os = 1
			printf "   strace %6d ms   overhead learn %d ms, strace %d ms, ratio %.3f%s\n",
				s, ol, os, ol / os, (ol / os <= 0.2) ? "  (target <= 0.20: met)" : "  (target <= 0.20: MISSED)"
		}'
	else
		echo "   strace: not installed"
	fi
	# Stops taken by the tracer, from one extra run.
	"$driver" --quiet --no-rdns -- "$@" 2>&1 >/dev/null | sed -n 's/.*stops=\([0-9]*\).*/    learn stops: \1/p'
}

echo "learn tracer benchmark: $rounds interleaved rounds, medians, $(nproc) CPUs, kernel $(uname -r)"
bench "find /usr" find /usr
bench "tar cf /dev/null $tar_src" tar cf /dev/null "$tar_src"
