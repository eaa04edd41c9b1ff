/*
 * order_secret.h: the per-user order secret (DESIGN.md "Order secret"): an HMAC of
 * user, activity and item under the configured order_secret, so checking it
 * needs no storage and it is useless to anyone else.
 */
#ifndef FS_SECRET_H
#define FS_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_LEN 32
/* the shortest order_secret (the HMAC key) served with: an empty or short
 * key is one anyone can compute or guess, so no secret and no order is
 * served without a longer one (flashctl writes 64 random hex digits) */
#define ORDER_SECRET_KEY_MIN 16

/* 1 when key (the configured order_secret) is long enough to serve with. */
int order_secret_usable(const char *key);

/* out receives SECRET_LEN hex digits and a NUL. */
void order_secret_make(const char *key, int64_t uid, int64_t aid, int64_t iid,
		       char out[SECRET_LEN + 1]);
/* 1 when given (len bytes, may be NULL) is the secret of (uid, aid, iid);
 * compared in constant time. */
int order_secret_check(const char *key, int64_t uid, int64_t aid, int64_t iid,
		       const char *given, size_t len);

#endif
