#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# skip_feature (lib/common.bash) and NONO_TESTS_MUST_RUN: a test that would skip for a
# missing feature is a skip normally and a failure when CI demands that everything runs;
# the unit tests' skip_feature (tests/unit/must-run.h) likewise.

bats_require_minimum_version 1.5.0
load lib/common

setup() { common_setup; }
teardown() { common_teardown; }

# (Written with printf: a test line here would be taken as one of this file's.)
write_meta() {
	printf '%s\n' "load '$BATS_TEST_DIRNAME/lib/common'" \
		'@test "needs a feature" { skip_feature "no such feature"; echo "reach""ed" >&2; }' \
		>"$T/meta.bats"
}

@test "skip_feature skips without NONO_TESTS_MUST_RUN" {
	write_meta
	run env -u NONO_TESTS_MUST_RUN bats --tap "$T/meta.bats"
	assert_success
	assert_output --partial "ok 1 needs a feature # skip no such feature"
	refute_output --partial "reached"
}

@test "skip_feature fails under NONO_TESTS_MUST_RUN=1, naming the reason" {
	write_meta
	run env NONO_TESTS_MUST_RUN=1 bats --tap "$T/meta.bats"
	[ "$status" -eq 1 ]
	assert_output --partial "not ok 1 needs a feature"
	assert_output --partial "NONO_TESTS_MUST_RUN=1 but this test would skip: no such feature"
	refute_output --partial "reached"
}

@test ".ci/run sets NONO_TESTS_MUST_RUN=1" {
	run grep -x 'export NONO_TESTS_MUST_RUN=1' "${NONO_SRC:?}/.ci/run"
	assert_success
}
