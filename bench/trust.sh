#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cost of the pre-exec trust scan: a repository of N files (default 50000, in 500
# directories) holding 20 signed CLAUDE.md files (one .nono-trust.bundle), scanned by
# `nono trust verify --all` (the same policy load + walk + verify that `nono run` does
# before starting the agent), against `find . -type f` over the same tree. Warm cache:
# one untimed pass first, then the median of ROUNDS; cold (as root, when
# /proc/sys/vm/drop_caches is writable): caches dropped before each pass.
# Figures only: nothing here passes or fails. Goal: under 150 ms warm.
# Usage: bench/trust.sh [BUILD_DIR] ; env ROUNDS (7), N (50000), DIR (/var/lib)
set -eu
build=${1:-build}
rounds=${ROUNDS:-7}
n=${N:-50000}
nono="$build/nono"
[ -x "$nono" ] || { echo "trust.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")

T=$(mktemp -d "${DIR:-/var/lib}/nono-bench-trust.XXXXXX")
trap 'rm -rf "$T"' EXIT
H=$T/home
R=$T/repo
mkdir -p "$H/.config/nono" "$R"
ndirs=500
per=$((n / ndirs))
for ((d = 0; d < ndirs; d++)); do
	mkdir -p "$R/pkg$((d % 25))/mod$d"
	(cd "$R/pkg$((d % 25))/mod$d" && for ((f = 0; f < per; f++)); do : >"f$f.c"; done)
done
for ((i = 0; i < 20; i++)); do
	echo "instructions $i" >"$R/pkg$i/CLAUDE.md"
done
HOME=$H "$nono" -s trust keygen --keyref "file://$T/key" >/dev/null
pk=$(HOME=$H "$nono" trust export-key --keyref "file://$T/key")
printf '{"version": 1, "includes": ["CLAUDE.md"], "publishers": [{"name": "bench", "public_key": "%s"}]}\n' \
	"$pk" >"$H/.config/nono/trust-policy.json"
(cd "$R" && HOME=$H "$nono" -s trust sign --all --keyref "file://$T/key")
total=$(find "$R" -type f | wc -l)

ms() { # COMMAND... -> wall milliseconds
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}
scan() { (cd "$R" && HOME=$H "$nono" -s trust verify --all); }
walk() { (cd "$R" && find . -type f); }
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

scan >/dev/null || { echo "trust.sh: the scan failed" >&2; exit 1; }
walk >/dev/null
s_warm="" f_warm=""
for ((r = 0; r < rounds; r++)); do
	s_warm+="$(ms scan) "
	f_warm+="$(ms walk) "
done
sw=$(median "$s_warm")
fw=$(median "$f_warm")
echo "tree: $total files, 20 signed CLAUDE.md"
printf 'warm  nono trust scan %6s ms   find %6s ms   ratio %s\n' "$sw" "$fw" \
	"$(awk -v a="$sw" -v b="$fw" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
if [ -w /proc/sys/vm/drop_caches ]; then
	s_cold="" f_cold=""
	for ((r = 0; r < 3; r++)); do
		sync
		echo 3 >/proc/sys/vm/drop_caches
		s_cold+="$(ms scan) "
		sync
		echo 3 >/proc/sys/vm/drop_caches
		f_cold+="$(ms walk) "
	done
	sc=$(median "$s_cold")
	fc=$(median "$f_cold")
	printf 'cold  nono trust scan %6s ms   find %6s ms   ratio %s\n' "$sc" "$fc" \
		"$(awk -v a="$sc" -v b="$fc" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
fi
