#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run every libFuzzer target in BUILD (built with -Dfuzzing=true) for SECONDS each,
# starting from (and adding to) a scratch copy of its corpus. A finding does not stop
# the run: every target gets its time, the crash inputs are kept under
# BUILD/fuzz-findings/<target>/, each target's last coverage line ("cov: N") is
# reported, and the exit status is 1 when any target found something.
set -u
build=${1:-build-fuzz}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
findings="$build/fuzz-findings"
failed=()
summary=()
for exe in "$build"/tests/fuzz/fuzz-*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue # skip the meson .p object dirs
	name=$(basename "$exe"); name=${name#fuzz-}
	work=$(mktemp -d)
	log=$(mktemp)
	cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
	mkdir -p "$findings/$name"
	echo "=== fuzz-$name for ${seconds}s ==="
	rc=0
	"$exe" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$findings/$name/" "$work" >"$log" 2>&1 || rc=$?
	grep -E '^#[0-9]+.*(INITED|DONE)|ERROR|SUMMARY|Test unit written' "$log" || true
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		failed+=("$name")
		summary+=("fuzz-$name: FINDING (exit $rc, ${cov:-cov: ?}); inputs in $findings/$name/")
	else
		summary+=("fuzz-$name: ok, ${cov:-cov: ?}")
	fi
	rm -rf "$work" "$log"
done
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ]
