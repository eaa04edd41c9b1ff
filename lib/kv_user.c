/*
 * kv_user.c: refresh-token sessions and failed-login counts in Redis
 * (kv_user.h for the key layout).
 */
#include "kv_user.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* KEYS[1] family, KEYS[2] used set; ARGV[1] old hash, ARGV[2] new hash,
 * ARGV[3] ttl ms. Returns {1, uid}, {0} unknown, {-1} reuse (revoked).
 * Idempotent: the new hash is this call's own random, so finding it current
 * means this very rotation ran already (its reply was lost): the same
 * answer again, not a reuse that would revoke a good session. */
static struct kv_script rotate_script = {
	"session_rotate",
	"local cur = redis.call('HGET', KEYS[1], 'cur')\n"
	"if not cur then return {0} end\n"
	"if cur == ARGV[2] and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then\n"
	"  return {1, tonumber(redis.call('HGET', KEYS[1], 'uid'))}\n"
	"end\n"
	"if cur == ARGV[1] then\n"
	"  redis.call('HSET', KEYS[1], 'cur', ARGV[2])\n"
	"  redis.call('SADD', KEYS[2], ARGV[1])\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
	"  redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
	"  return {1, tonumber(redis.call('HGET', KEYS[1], 'uid'))}\n"
	"end\n"
	"if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then\n"
	"  redis.call('DEL', KEYS[1], KEYS[2])\n"
	"  return {-1}\n"
	"end\n"
	"return {0}\n",
	{0},
};

/* KEYS[1] family, KEYS[2] used set; ARGV[1] uid. 1 closed, 0 not ours. */
static struct kv_script close_script = {
	"session_close",
	"if redis.call('HGET', KEYS[1], 'uid') ~= ARGV[1] then return 0 end\n"
	"redis.call('DEL', KEYS[1], KEYS[2])\n"
	"return 1\n",
	{0},
};

/* KEYS[1] failure counter. Never creates the key (a DECR would, without
 * an expiry). Not idempotent: each run takes one back, so kv_eval never
 * sends it twice (a lost reply leaves the count one too high at worst). */
static struct kv_script refund_script = {
	"login_refund",
	"local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
	"if n and n > 0 then return redis.call('DECR', KEYS[1]) end\n"
	"return 0\n",
	{0},
};

static void
fam_keys(const char *fam, char famkey[KV_KEY_MAX], char usedkey[KV_KEY_MAX])
{
	snprintf(famkey, KV_KEY_MAX, "fs:{rf:%s}", fam);
	snprintf(usedkey, KV_KEY_MAX, "fs:{rf:%s}:used", fam);
}

int
kv_user_session_open(struct kv *kv, const char *fam, int64_t uid, const char *hash, int64_t ttl_ms)
{
	char famkey[KV_KEY_MAX], usedkey[KV_KEY_MAX], ukey[KV_KEY_MAX];

	fam_keys(fam, famkey, usedkey);
	snprintf(ukey, sizeof(ukey), "fs:u:%lld:sess", (long long)uid);
	/* one round trip; the user's index may outlive a family, never the
	 * other way round, and logout copes with stale entries */
	if (kv_append(kv, "HSET %s uid %lld cur %s", famkey, (long long)uid, hash) != FS_OK ||
	    kv_append(kv, "PEXPIRE %s %lld", famkey, (long long)ttl_ms) != FS_OK ||
	    kv_append(kv, "SADD %s %s", ukey, fam) != FS_OK ||
	    kv_append(kv, "PEXPIRE %s %lld", ukey, (long long)ttl_ms) != FS_OK)
		return FS_ERR;
	return kv_replies(kv, 4, "session open");
}

enum kv_rotate
kv_user_session_rotate(struct kv *kv, const char *fam, const char *old_hash, const char *new_hash,
		  int64_t ttl_ms, int64_t *uid)
{
	char famkey[KV_KEY_MAX], usedkey[KV_KEY_MAX], ttl[24];
	const char *argv[5];
	redisReply *rep;
	enum kv_rotate rc = KV_ROTATE_DOWN;

	fam_keys(fam, famkey, usedkey);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	argv[0] = famkey;
	argv[1] = usedkey;
	argv[2] = old_hash;
	argv[3] = new_hash;
	argv[4] = ttl;
	rep = kv_eval_idempotent(kv, &rotate_script, 2, 5, argv, NULL);
	if (rep == NULL)
		return KV_ROTATE_DOWN;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER) {
		long long v = rep->element[0]->integer;

		if (v == 1 && rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_INTEGER &&
		    rep->element[1]->integer > 0) {
			*uid = rep->element[1]->integer;
			rc = KV_ROTATE_OK;
		} else if (v == -1) {
			rc = KV_ROTATE_REUSED;
		} else {
			rc = KV_ROTATE_UNKNOWN;
		}
	} else {
		log_err("EVALSHA session_rotate %s: %s", fam,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_user_session_close(struct kv *kv, const char *fam, int64_t uid)
{
	char famkey[KV_KEY_MAX], usedkey[KV_KEY_MAX], u[24];
	const char *argv[3];
	redisReply *rep;
	int rc = FS_ERR;

	fam_keys(fam, famkey, usedkey);
	snprintf(u, sizeof(u), "%lld", (long long)uid);
	argv[0] = famkey;
	argv[1] = usedkey;
	argv[2] = u;
	rep = kv_eval_idempotent(kv, &close_script, 2, 3, argv, NULL);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 1 ? 1 : 0;
	else
		log_err("EVALSHA session_close %s: %s", fam,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	freeReplyObject(rep);
	return rc;
}

int
kv_user_session_close_all(struct kv *kv, int64_t uid)
{
	char ukey[KV_KEY_MAX];
	redisReply *rep;
	int rc = FS_OK;

	snprintf(ukey, sizeof(ukey), "fs:u:%lld:sess", (long long)uid);
	rep = kv_cmd(kv, "SMEMBERS %s", ukey);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type != REDIS_REPLY_ARRAY) {
		log_err("SMEMBERS %s: %s", ukey, rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
		freeReplyObject(rep);
		return FS_ERR;
	}
	/* each family is its own slot: one script each; the index goes last so
	 * a failure half way leaves the rest findable for the next logout */
	for (size_t i = 0; i < rep->elements && rc == FS_OK; i++) {
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    kv_user_session_close(kv, rep->element[i]->str, uid) == FS_ERR)
			rc = FS_ERR;
	}
	freeReplyObject(rep);
	if (rc == FS_OK) {
		rep = kv_cmd(kv, "DEL %s", ukey);
		if (rep == NULL)
			return FS_ERR;
		freeReplyObject(rep);
	}
	return rc;
}

int
kv_user_login_refund(struct kv *kv, const char *key)
{
	const char *argv[1] = {key};
	redisReply *rep = kv_eval(kv, &refund_script, 1, 1, argv, NULL);
	int rc;

	if (rep == NULL)
		return FS_ERR;
	rc = rep->type == REDIS_REPLY_ERROR ? FS_ERR : FS_OK;
	if (rc != FS_OK)
		log_err("EVALSHA login_refund %s: %s", key, rep->str);
	freeReplyObject(rep);
	return rc;
}

void
kv_user_login_key(char key[KV_KEY_MAX], const char *day, const char *lower)
{
	snprintf(key, KV_KEY_MAX, "fs:lf:%s:%s", day, lower);
}

static void
born_key(char key[KV_KEY_MAX], int64_t uid)
{
	snprintf(key, KV_KEY_MAX, "fs:u:{%lld}:born", (long long)uid);
}

int
kv_user_born_get(struct kv *kv, int64_t uid, int64_t *ms)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc = 0;

	born_key(key, uid);
	rep = kv_cmd(kv, "GET %s", key);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING) {
		*ms = strtoll(rep->str, NULL, 10);
		rc = 1;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		log_err("GET %s: %s", key, rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_user_born_put(struct kv *kv, int64_t uid, int64_t ms, int64_t ttl_s)
{
	char key[KV_KEY_MAX];

	born_key(key, uid);
	return kv_take_ok(kv_cmd(kv, "SET %s %lld EX %lld", key, (long long)ms, (long long)ttl_s),
			  "born");
}
