#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Count TAP results from meson's testlog.json and a bats TAP file.

Prints failing test names, then the closing line "N passed, N failed, N skipped".
Exits 1 when anything failed or when no test ran at all.
"""
import json
import re
import sys

passed = failed = skipped = 0
failures = []
tap_line = re.compile(r'^(ok|not ok)\b\s*\d*\s*-?\s*(.*)$')


def count_tap(name, text):
    global passed, failed, skipped
    seen = 0
    for line in text.splitlines():
        m = tap_line.match(line)
        if not m:
            continue
        seen += 1
        desc = m.group(2)
        if re.search(r'#\s*skip', desc, re.I):
            skipped += 1
        elif m.group(1) == 'ok':
            passed += 1
        else:
            failed += 1
            failures.append(f'{name}: {desc}')
    return seen


log_path, bats_path = sys.argv[1], sys.argv[2]
try:
    with open(log_path) as f:
        for raw in f:
            t = json.loads(raw)
            seen = count_tap(t['name'], t.get('stdout') or '')
            # meson 1.0 calls a TAP "not ok N # SKIP" (cmocka's skip) a FAIL: when every
            # TAP line is ok or skip and the binary exited 0, judge by those instead.
            if seen and t.get('returncode') == 0 and not any(
                    x.startswith(t['name'] + ':') for x in failures):
                continue
            if t['result'] not in ('OK', 'SKIP', 'EXPECTEDFAIL'):
                if seen == 0 or not any(x.startswith(t['name'] + ':') for x in failures):
                    failed += 1
                    failures.append(f"{t['name']}: {t['result']}")
            elif seen == 0:
                if t['result'] == 'SKIP':
                    skipped += 1
                else:
                    passed += 1
except FileNotFoundError:
    failures.append('meson: no testlog.json')
    failed += 1

with open(bats_path) as f:
    count_tap('bats', f.read())

for x in failures:
    print(f'FAILED {x}')
print(f'{passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed or passed == 0 else 0)
