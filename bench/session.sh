#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PTY throughput of an interactive `nono run` (supervisor/pty.c): `cat` of SIZE MiB of
# text through the child's pseudo-terminal, against script(1) and tmux doing the same,
# and bare `cat` on the terminal (the ceiling). Every contender runs inside one outer
# script(1) that supplies the terminal and discards the output, so its relay cost is
# common to all. Interleaved rounds; medians in MiB/s and the ratio to script(1).
# Attach latency: from the start of a detached session (`nono run --detached`, tmux
# new-session -d) to the first byte on a terminal attached to it (`nono attach`, tmux
# attach), medians in ms over ATTACH_ROUNDS (10); script(1) has no detached mode.
# Figures only: nothing here passes or fails.
# Usage: bench/session.sh [BUILD_DIR] ; env ROUNDS (3), SIZE (256, MiB)
set -eu
build=${1:-build}
rounds=${ROUNDS:-3}
size=${SIZE:-256}
nono="$build/nono"
[ -x "$nono" ] || { echo "session.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")
command -v script >/dev/null || { echo "session.sh: script(1) missing (bsdutils)" >&2; exit 1; }

T=$(mktemp -d "${DIR:-/var/lib}/nono-bench-session.XXXXXX")
# No detached session outlives the bench (a failed stop is reported, then forced here).
cleanup() {
	for id in $(HOME="$T/home" "$nono" ps 2>/dev/null | awk 'NR > 1 { print $1 }'); do
		HOME="$T/home" "$nono" stop --force "$id" >/dev/null 2>&1 || true
	done
	tmux -L nono-bench kill-server 2>/dev/null || true
	tmux -L nono-bench-a kill-server 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/home"
chmod 755 "$T"
# Text lines (a terminal's ONLCR turns each \n into \r\n on every contender alike).
yes 'the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTU' |
	head -c "$((size * 1024 * 1024))" >"$T/data"

inner() { # CONTENDER -> the command the outer terminal runs
	case $1 in
	bare) echo "cat '$T/data'" ;;
	script) echo "script -qc \"cat '$T/data'\" /dev/null" ;;
	nono) echo "HOME='$T/home' '$nono' run -s --no-audit --read '$T' -- cat '$T/data'" ;;
	esac
}

run() { # CONTENDER -> seconds
	local t0 t1
	t0=$(date +%s.%N)
	if [ "$1" = tmux ]; then
		tmux -L nono-bench new-session -d -x 80 -y 24 \
			"cat '$T/data'; tmux -L nono-bench wait-for -S done"
		tmux -L nono-bench wait-for done
		tmux -L nono-bench kill-server 2>/dev/null || true
	else
		script -qc "$(inner "$1")" /dev/null </dev/null >/dev/null
	fi
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

contenders="bare script nono"
command -v tmux >/dev/null && contenders="$contenders tmux"
declare -A times
for r in $(seq "$rounds"); do
	for c in $contenders; do
		times[$c]="${times[$c]:-} $(run "$c")"
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(echo "${times[script]}" | median)
printf '%-8s %10s %12s %10s\n' contender "median s" "MiB/s" "vs script"
for c in $contenders; do
	m=$(echo "${times[$c]}" | median)
	printf '%-8s %10.3f %12.1f %10.2f\n' "$c" "$m" "$(echo "$size / $m" | bc -l)" \
		"$(echo "$ms / $m" | bc -l)"
done
cat >"$T/attach.py" <<'PY'
import os, pty, select, subprocess, sys, time
# attach.py START-CMD ATTACH-CMD STOP-CMD: ms from START to the first byte on ATTACH's terminal
start, attach, stop = sys.argv[1:4]
t0 = time.monotonic()
out = subprocess.run(start, shell=True, capture_output=True, text=True, check=True).stdout
key = out.split()[1] if out.startswith('session ') else ''
pid, fd = pty.fork()
if pid == 0:
    os.execvp('/bin/sh', ['/bin/sh', '-c', attach.replace('KEY', key)])
select.select([fd], [], [], 10)
os.read(fd, 1)
t1 = time.monotonic()
r = subprocess.run(stop.replace('KEY', key), shell=True, capture_output=True, text=True)
if r.returncode:
    sys.stderr.write('attach.py: stop failed: %s' % r.stderr)
os.waitpid(pid, 0)
print('%.1f' % ((t1 - t0) * 1000))
PY
attach_rounds=${ATTACH_ROUNDS:-10}
declare -A lat
for r in $(seq "$attach_rounds"); do
	lat[nono]="${lat[nono]:-} $(python3 "$T/attach.py" \
		"HOME='$T/home' '$nono' run -s --no-audit --detached -- /bin/sh -c 'echo ready; exec cat'" \
		"HOME='$T/home' exec '$nono' attach KEY" "HOME='$T/home' '$nono' stop KEY")"
	if command -v tmux >/dev/null; then
		lat[tmux]="${lat[tmux]:-} $(python3 "$T/attach.py" \
			"tmux -L nono-bench-a new-session -d -x 80 -y 24 'echo ready; exec cat'" \
			"exec tmux -L nono-bench-a attach" "tmux -L nono-bench-a kill-server")"
	fi
done
printf '\n%-8s %18s\n' contender "attach median ms"
for c in nono tmux; do
	[ -n "${lat[$c]:-}" ] || continue
	printf '%-8s %18.1f\n' "$c" "$(echo "${lat[$c]}" | median)"
done
if [ -n "${lat[tmux]:-}" ]; then
	printf 'attach latency nono/tmux: %.2f (goal: nono < 50 ms)\n' \
		"$(echo "$(echo "${lat[nono]}" | median) / $(echo "${lat[tmux]}" | median)" | bc -l)"
fi
