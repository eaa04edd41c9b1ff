/*
 * fuzz_paynotify: the payment provider's callback body (paynotify_parse),
 * the signed message and the signature check.
 */
#include "fs.h"
#include "paynotify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "fuzz-pay-secret";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct paynotify n, n2;
	const char *why = NULL;
	char msg[PAYNOTIFY_MSG_MAX];

	if (paynotify_parse((const char *)data, size, &n, &why) != FS_OK) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (n.payment_id <= 0 || n.order_id <= 0 || n.amount_cents < 0 || n.ts_ms < 0)
		abort();
	if (paynotify_message(&n, msg) >= PAYNOTIFY_MSG_MAX)
		abort();
	(void)paynotify_verify(key, &n);
	if (paynotify_verify("", &n))
		abort();
	/* signed by us, it verifies, and its JSON parses back to the same */
	paynotify_sign(key, &n);
	if (!paynotify_verify(key, &n))
		abort();
	json_object *j = paynotify_to_json(&n);
	const char *s = json_object_to_json_string(j);
	if (paynotify_parse(s, strlen(s), &n2, &why) != FS_OK || n2.order_id != n.order_id ||
	    n2.amount_cents != n.amount_cents || !paynotify_verify(key, &n2))
		abort();
	json_object_put(j);
	return 0;
}
