#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run every benchmark against one build directory. Figures only: nothing here passes or fails.
set -eu
build=${1:-build}
here=$(dirname "$0")
echo "== launch"; python3 "$here/launch.py" "$build/nono"
for b in "$here"/learn.sh "$here"/proxy.sh "$here"/reverse.sh "$here"/portfwd.sh \
	"$here"/unix-mediation.sh "$here"/names.sh "$here"/trust.sh "$here"/session.sh "$here"/rollback.sh; do
	[ -x "$b" ] && { echo "== $(basename "$b" .sh)"; "$b" "$build"; }
done
true
