#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run every test suite against one build directory and print the closing line
#   N passed, N failed, N skipped
# Unit tests and fuzz-corpus replays run through meson (TAP); integration tests
# are bats files driving the real binary. A skip is reported, never counted as a pass.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)

meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 >"$build/meson-test.out" 2>&1
meson_rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$build/meson-test.out" || true
[ $meson_rc -eq 0 ] || tail -n 60 "$build/meson-test.out"

export NONO="$build/nono"
export NONO_PROBES="$build/tests/probes"
export NONO_SRC="$root"
bats_out="$build/bats.tap"
: >"$bats_out"
if compgen -G "$root/tests/integration/*.bats" >/dev/null; then
	bats --tap "$root"/tests/integration/*.bats >"$bats_out" 2>&1
	grep -E '^(not ok|ok .*# skip)' "$bats_out" || true
fi

python3 "$root/tools/test-summary.py" "$build/meson-logs/testlog.json" "$bats_out"
