/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the trust bundle parser (Sigstore bundle JSON, DSSE envelope,
 * base64, in-toto statement), the strict base64 decoder and the public key reader.
 * Invariants: a refused input carries a message; a parsed bundle has 1 to
 * TRUST_MAX_SUBJECTS subjects, each a valid relative path; base64 that decodes
 * re-encodes to a string that decodes to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "trust/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {{0}};
	struct trust_bundle *b = NULL;

	if (size > 1 << 20)
		return 0;
	int r = trust_bundle_parse((const char *)data, size, "fuzz.bundle", &b, &d);
	if (r >= 0) {
		if (!b || b->n_subjects == 0 || b->n_subjects > TRUST_MAX_SUBJECTS || !b->hint ||
		    !b->payload || !b->sig)
			__builtin_trap();
		for (size_t i = 0; i < b->n_subjects; i++)
			if (!trust_path_valid(b->subjects[i].name))
				__builtin_trap();
		b = trust_bundle_free(b);
	} else if (r == -EBADMSG && !d.msg[0])
		__builtin_trap();

	uint8_t *out = malloc(size / 4 * 3 + 3);
	size_t n = 0;
	if (out && trust_b64_decode((const char *)data, size, out, &n) >= 0) {
		char *e = trust_b64_encode(out, n);
		uint8_t *again = e ? malloc(strlen(e) / 4 * 3 + 3) : NULL;
		size_t m = 0;
		if (again && (trust_b64_decode(e, strlen(e), again, &m) < 0 || m != n ||
			      memcmp(again, out, n) != 0))
			__builtin_trap();
		free(again);
		free(e);
	}
	free(out);

	struct trust_key *k = NULL;
	if (trust_key_from_public_text((const char *)data, size, &k) >= 0) {
		if (strlen(trust_key_id(k)) != TRUST_KEY_ID_LEN)
			__builtin_trap();
		k = trust_key_free(k);
	}
	return 0;
}
