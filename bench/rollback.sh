#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Rollback snapshots and restore against their peers, on one tree of N small files
# (default 100000, in 1000 directories):
#   first snapshot      `nono run --rollback -- true` on a new store (one full snapshot,
#                       one incremental), against `tar cf` of the same tree
#   incremental         a second such run, unchanged tree; the cost of one snapshot is
#                       (that run - a plain `nono run -- true`) / 2 (pre and post run),
#                       against `git add -A` with a warm index and, when installed,
#                       `rsync -a --link-dest` of the tree against the previous copy
#   restore             1000 files changed: `nono rollback restore`, against
#                       `rsync -a --delete` from a full copy
# Medians of ROUNDS, warm cache. Figures only: nothing here passes or fails.
# Goal: incremental snapshot faster than `git add -A`, restore faster than rsync.
# Usage: bench/rollback.sh [BUILD_DIR] ; env ROUNDS (5), N (100000), DIR (/var/lib)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
n=${N:-100000}
nono="$build/nono"
[ -x "$nono" ] || { echo "rollback.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")

T=$(mktemp -d "${DIR:-/var/lib}/nono-bench-rollback.XXXXXX")
trap 'rm -rf "$T"' EXIT
H=$T/home
R=$T/repo
mkdir -p "$H" "$R"
ndirs=1000
per=$((n / ndirs))
for ((d = 0; d < ndirs; d++)); do
	mkdir -p "$R/d$d"
	(cd "$R/d$d" && for ((f = 0; f < per; f++)); do echo "file $d/$f" >"f$f"; done)
done
total=$(find "$R" -type f | wc -l)

ms() { # COMMAND... -> wall milliseconds
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

run_rb() { HOME=$H "$nono" -s run --rollback --no-rollback-prompt --no-audit --allow "$R" -- true; }
run_plain() { HOME=$H "$nono" -s run --no-audit --allow "$R" -- true; }

echo "tree: $total files in $ndirs directories ($R)"

# First snapshot (new store each round) vs tar.
first=() tarr=()
for ((i = 0; i < rounds; i++)); do
	rm -rf "$H/.nono"
	first+=("$(ms run_rb)")
	tarr+=("$(ms tar cf "$T/t.tar" -C "$R" .)")
	rm -f "$T/t.tar"
done
first=$(printf '%s\n' "${first[@]}" | median)
tarr=$(printf '%s\n' "${tarr[@]}" | median)

# Incremental: the store holds the last session's manifest.
run_rb >/dev/null 2>&1
(cd "$R" && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm base)
gitadd() { git -C "$R" add -A; }
have_rsync=0
command -v rsync >/dev/null && have_rsync=1
[ "$have_rsync" = 1 ] && rsync -a --exclude .git "$R/" "$T/prev/"
rsyncld() {
	rm -rf "$T/next"
	rsync -a --exclude .git --link-dest="$T/prev" "$R/" "$T/next/"
}
inc=() plain=() git=() rs=()
for ((i = 0; i < rounds; i++)); do
	inc+=("$(ms run_rb)")
	plain+=("$(ms run_plain)")
	git+=("$(ms gitadd)")
	[ "$have_rsync" = 1 ] && rs+=("$(ms rsyncld)")
done
inc=$(printf '%s\n' "${inc[@]}" | median)
plain=$(printf '%s\n' "${plain[@]}" | median)
git=$(printf '%s\n' "${git[@]}" | median)
snap=$(((inc - plain) / 2))
[ "$snap" -lt 1 ] && snap=1

# Restore of 1000 changed files.
rm -rf "$H/.nono" "$R/.git"
run_rb >/dev/null 2>&1
id=$(ls "$H/.nono/rollback/sessions" | sort | tail -n1)
cp -a "$R" "$T/ref"
change() { for ((d = 0; d < 1000; d++)); do echo changed >"$R/d$d/f0"; done; }
rest=() rsr=()
for ((i = 0; i < rounds; i++)); do
	change
	rest+=("$(ms env HOME="$H" "$nono" -s rollback restore "$id")")
	if [ "$have_rsync" = 1 ]; then
		change
		rsr+=("$(ms rsync -a --delete "$T/ref/" "$R/")")
	fi
done
diff -r "$T/ref" "$R" >/dev/null || echo "WARNING: restore left differences"
rest=$(printf '%s\n' "${rest[@]}" | median)

printf 'first snapshot run (full + incremental): %6d ms   tar cf: %6d ms   ratio %s\n' \
	"$first" "$tarr" "$(ratio "$first" "$tarr")"
printf 'incremental snapshot (one, derived):      %6d ms   git add -A (warm): %6d ms   ratio %s\n' \
	"$snap" "$git" "$(ratio "$snap" "$git")"
printf '  (run with --rollback %d ms, plain run %d ms)\n' "$inc" "$plain"
if [ "$have_rsync" = 1 ]; then
	rs=$(printf '%s\n' "${rs[@]}" | median)
	rsr=$(printf '%s\n' "${rsr[@]}" | median)
	printf 'incremental vs rsync -a --link-dest:      %6d ms   rsync: %6d ms   ratio %s\n' \
		"$snap" "$rs" "$(ratio "$snap" "$rs")"
	printf 'restore of 1000 changed files:            %6d ms   rsync -a --delete: %6d ms   ratio %s\n' \
		"$rest" "$rsr" "$(ratio "$rest" "$rsr")"
else
	printf 'restore of 1000 changed files:            %6d ms   (rsync not installed: tools/install-deps.sh --bench)\n' "$rest"
fi
