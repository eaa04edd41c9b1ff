/*
 * order_secret.c: order secrets (see order_secret.h).
 */
#include "order_secret.h"
#include "fs.h"
#include "hmac.h"

#include <stdio.h>
#include <string.h>

void
order_secret_make(const char *key, int64_t uid, int64_t aid, int64_t iid,
		  char out[SECRET_LEN + 1])
{
	char msg[96], hex[2 * HMAC_LEN + 1];
	int n = snprintf(msg, sizeof(msg), "order-secret|%lld|%lld|%lld", (long long)uid,
			 (long long)aid, (long long)iid);

	hmac_sha256_hex(key, msg, (size_t)n, hex);
	memcpy(out, hex, SECRET_LEN);
	out[SECRET_LEN] = '\0';
}

int
order_secret_check(const char *key, int64_t uid, int64_t aid, int64_t iid, const char *given,
		   size_t len)
{
	char want[SECRET_LEN + 1];

	if (given == NULL)
		return 0;
	order_secret_make(key, uid, aid, iid, want);
	return fs_ct_equal(want, SECRET_LEN, given, len);
}

int
order_secret_usable(const char *key)
{
	return key != NULL && strlen(key) >= ORDER_SECRET_KEY_MIN;
}
