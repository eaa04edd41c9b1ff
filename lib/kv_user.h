/*
 * kv_user.h: the Redis side of users: refresh-token sessions and the count
 * of failed logins (cgi-bin/user.c).
 *
 * A login opens a session (a "family" of refresh tokens, id FAM). Only the
 * SHA-256 of a token's secret part is stored, never the token:
 *   fs:{rf:FAM}        hash  uid, cur (hash of the live refresh token)   TTL refresh_ttl_s
 *   fs:{rf:FAM}:used   set   hashes of rotated-out tokens (reuse detection), same TTL
 *   fs:u:UID:sess      set   the user's session ids (for logout)          TTL refresh_ttl_s
 *   fs:lf:YYYYMMDD:NAME string failed logins of lower-cased NAME that UTC day, TTL to midnight
 *   fs:u:{UID}:born    string when UID registered here (ms; 0: not registered here),
 *                      a copy of users.created_ms for the sale rules (guard.h)
 * The two family keys share a hash tag, so a rotation is one script on one
 * Redis Cluster slot.
 */
#ifndef FS_KV_USER_H
#define FS_KV_USER_H

#include <stdint.h>

#include "kv.h"

struct kv;

/* A SHA-256 in lowercase hex with its NUL. */
#define KV_USER_HASH_LEN 65

enum kv_rotate {
	KV_ROTATE_OK,       /* *uid set; the old token is now used */
	KV_ROTATE_UNKNOWN,  /* no such live session or token */
	KV_ROTATE_REUSED,   /* a rotated-out token came back: session revoked */
	KV_ROTATE_DOWN,     /* Redis failed: nothing changed, unless a timeout hid
			     * that the rotation ran */
};

/* Opens session fam for uid whose live token hashes to hash. FS_OK/FS_ERR. */
int kv_user_session_open(struct kv *kv, const char *fam, int64_t uid, const char *hash,
		    int64_t ttl_ms);

/* Replaces the live token old_hash of session fam by new_hash, atomically.
 * A token of fam that was already rotated out revokes the whole session. */
enum kv_rotate kv_user_session_rotate(struct kv *kv, const char *fam, const char *old_hash,
				 const char *new_hash, int64_t ttl_ms, int64_t *uid);

/* Ends session fam if it belongs to uid. 1 ended, 0 not found or another
 * user's, FS_ERR Redis failed. */
int kv_user_session_close(struct kv *kv, const char *fam, int64_t uid);

/* Ends every session of uid. FS_OK or FS_ERR. */
int kv_user_session_close_all(struct kv *kv, int64_t uid);

/* Takes back one counted failed login (a correct password was given) from
 * key, without ever creating the key. FS_OK or FS_ERR. */
int kv_user_login_refund(struct kv *kv, const char *key);

/* The failed-login counter of username lower (lowercased) on UTC day
 * (YYYYMMDD): fs:lf:DAY:NAME, KV_KEY_MAX bytes. */
void kv_user_login_key(char key[KV_KEY_MAX], const char *day, const char *lower);

/* The registration time of uid as Redis caches it: 1 and *ms (0: known not
 * to be registered here), 0 not cached, FS_ERR Redis down. */
int kv_user_born_get(struct kv *kv, int64_t uid, int64_t *ms);
/* Caches it for ttl_s seconds. FS_OK or FS_ERR. */
int kv_user_born_put(struct kv *kv, int64_t uid, int64_t ms, int64_t ttl_s);

#endif
