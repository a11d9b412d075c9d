#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cost of protected-name mediation (supervisor/unotify.c): N files created (O_CREAT|O_EXCL,
# close) and then removed in a project directory, bare, under `nono run --allow PROJECT`
# (what --allow-cwd grants when the working directory is writable; no write grant
# reaches a protected name: no name mediation) and under
# `nono run --allow ~` (every create and unlink goes through the supervisor and the
# in-sandbox helper; the opened file comes back with SECCOMP_IOCTL_NOTIF_ADDFD). The
# client times its own loops, so start-up is excluded. Modes interleaved per round;
# medians. Figures only: nothing here passes or fails.
# Usage: bench/names.sh [BUILD_DIR] ; env ROUNDS (5), N (5000), DIR (/var/lib: where the
# test home goes; on a busy disk the journal dominates, e.g. as root
# `unshare -m sh -c 'mount -t tmpfs t /mnt && DIR=/mnt bench/names.sh'`)
set -eu
build=${1:-build}
rounds=${ROUNDS:-5}
n=${N:-5000}
here=$(cd "$(dirname "$0")" && pwd)
nono="$build/nono"
[ -x "$nono" ] || { echo "names.sh: no $nono" >&2; exit 1; }
nono=$(cd "$(dirname "$nono")" && pwd)/$(basename "$nono")

# Not under /tmp or /var/tmp: the default profile grants those for writing, and a home
# beneath them would have its protected names mediated in every mode.
T=$(mktemp -d "${DIR:-/var/lib}/nono-bench-names.XXXXXX")
trap 'rm -rf "$T"' EXIT
cc -O2 -o "$T/create-bench" "$here/create-bench.c"
H=$T/home
mkdir -p "$H/project"
chmod -R 755 "$T"

run() { # MODE -> "create unlink" us/op
	case $1 in
	bare) (cd "$H/project" && "$T/create-bench" . "$n") ;;
	project) (cd "$H/project" && HOME=$H "$nono" run -s --read "$T" --allow "$H/project" -- \
		"$T/create-bench" . "$n") ;;
	allow-home) (cd "$H/project" && HOME=$H "$nono" run -s --read "$T" --allow "$H" -- \
		"$T/create-bench" . "$n") ;;
	esac | awk '{print $3, $6}'
}
modes=(bare project allow-home)
declare -A cr ul
for ((r = 0; r < rounds; r++)); do
	for m in $(printf '%s\n' "${modes[@]}" | shuf); do
		read -r c u < <(run "$m")
		cr[$m]+="$c "
		ul[$m]+="$u "
	done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-11s %14s %14s\n' mode create-us/op unlink-us/op
for m in "${modes[@]}"; do
	printf '%-11s %14.2f %14.2f\n' "$m" "$(median "${cr[$m]}")" "$(median "${ul[$m]}")"
done
printf 'ratio create (allow-home/project): %.1fx\n' \
	"$(echo "$(median "${cr[allow-home]}") / $(median "${cr[project]}")" | bc -l)"
