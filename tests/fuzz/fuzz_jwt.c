/*
 * fuzz_jwt: jwt_verify on any token text, and the sign/verify round trip.
 */
#include "fs.h"
#include "jwt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-secret";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tok[JWT_MAX];
	int64_t sub = 0, now = 1700000000;

	if (jwt_verify(secret, (const char *)data, size, now, &sub) == FS_OK &&
	    (sub <= 0 || sub >= ((int64_t)1 << 53)))
		abort();
	/* an empty secret trusts nothing */
	if (jwt_verify("", (const char *)data, size, now, &sub) == FS_OK)
		abort();
	if (size >= 8) {
		int64_t s, e, got = 0;

		memcpy(&s, data, 8);
		s = s < 0 ? -(s + 1) : s;
		s = s % (((int64_t)1 << 53) - 1) + 1;
		e = now + 1 + (int64_t)(data[0] % 100);
		jwt_sign(secret, s, e, tok);
		if (jwt_verify(secret, tok, strlen(tok), now, &got) != FS_OK || got != s)
			abort();
		if (jwt_verify(secret, tok, strlen(tok), e, &got) == FS_OK)
			abort(); /* expired at e */
		if (jwt_verify("other", tok, strlen(tok), now, &got) == FS_OK)
			abort();
	}
	return 0;
}
