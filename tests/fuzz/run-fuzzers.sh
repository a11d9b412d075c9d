#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run every libFuzzer target in BUILD (built with -Dfuzzing=true) for SECONDS each,
# starting from (and adding to) a scratch copy of its corpus.
set -eu
build=${1:-build-fuzz}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
for exe in "$build"/tests/fuzz/fuzz-*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue # skip the meson .p object dirs
	name=$(basename "$exe"); name=${name#fuzz-}
	work=$(mktemp -d)
	cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
	echo "=== fuzz-$name for ${seconds}s ==="
	"$exe" -max_total_time="$seconds" -max_len=65536 "$work"
	rm -rf "$work"
done
