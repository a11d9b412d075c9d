/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec_from_json is the parser for state a sandboxed process reads (`why --self`);
 * anything it accepts must round-trip: serialise, parse again, same JSON.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = NULL, *a = NULL, *b = NULL;
	_cleanup_spec_ struct sandbox_spec *s = NULL, *again = NULL;

	if (size > SPEC_JSON_MAX + 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (spec_from_json(text, &s) < 0)
		return 0;
	if (spec_to_json(s, &a) < 0)
		abort();
	if (spec_from_json(a, &again) < 0 || spec_to_json(again, &b) < 0 || strcmp(a, b) != 0)
		abort();
	return 0;
}
