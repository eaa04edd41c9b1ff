/*
 * kv_challenge.h: the owner of the challenges in Redis (API.md "Guard
 * rails", "Challenge"): fs:ch:{UID}:A:I, one string per user and activity
 * item, "ID pow PREFIX BITS" or "ID quiz ANSWER", TTL challenge_ttl_ms. The
 * user's hash tag puts it on the user's Cluster slot; a new challenge
 * replaces the old one, and taking it is one script that also deletes it,
 * so each challenge is answered at most once.
 */
#ifndef FS_KV_CHALLENGE_H
#define FS_KV_CHALLENGE_H

#include <stdint.h>

#include "challenge.h"

struct kv;

/* One challenge as stored. data: the pow prefix, or the quiz answer. */
struct kv_challenge {
	char id[CHALLENGE_ID_LEN + 1];
	int kind;  /* CHALLENGE_POW or CHALLENGE_QUIZ */
	int bits;  /* pow only */
	char data[CHALLENGE_PREFIX_LEN + 1];
};

/* Stores c as user uid's challenge for item (aid, iid), replacing any
 * other, for ttl_ms. FS_OK or FS_ERR (Redis down). */
int kv_challenge_put(struct kv *kv, int64_t uid, int64_t aid, int64_t iid,
		     const struct kv_challenge *c, int64_t ttl_ms);

/* Takes user uid's challenge for item (aid, iid) if its id is id: deletes
 * it and copies it into c. 1 taken, 0 none (expired, used, replaced, or
 * another id), FS_ERR Redis down or the reply lost. */
int kv_challenge_take(struct kv *kv, int64_t uid, int64_t aid, int64_t iid, const char *id,
		      struct kv_challenge *c);

#endif
