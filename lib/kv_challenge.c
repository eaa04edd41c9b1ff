/*
 * kv_challenge.c: challenges in Redis (see kv_challenge.h).
 */
#include "kv_challenge.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* KEYS: challenge  ARGV: id
 * The stored challenge if it carries id, deleted in the same step; nil
 * otherwise (a stale or foreign id leaves the current one alone). */
static struct kv_script take_script = {"challenge_take",
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return false end\n"
	"if string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return false end\n"
	"redis.call('DEL', KEYS[1])\n"
	"return v\n",
	""};

static void
challenge_key(char key[KV_KEY_MAX], int64_t uid, int64_t aid, int64_t iid)
{
	snprintf(key, KV_KEY_MAX, "fs:ch:{%" PRId64 "}:%" PRId64 ":%" PRId64, uid, aid, iid);
}

int
kv_challenge_put(struct kv *kv, int64_t uid, int64_t aid, int64_t iid,
		 const struct kv_challenge *c, int64_t ttl_ms)
{
	char key[KV_KEY_MAX], val[128];

	challenge_key(key, uid, aid, iid);
	if (c->kind == CHALLENGE_POW)
		snprintf(val, sizeof(val), "%s pow %s %d", c->id, c->data, c->bits);
	else
		snprintf(val, sizeof(val), "%s quiz %s", c->id, c->data);
	return kv_take_ok(kv_cmd(kv, "SET %s %s PX %lld", key, val, (long long)ttl_ms), "SET challenge");
}

/* Parses a stored value into c: FS_OK or FS_ERR (not ours). */
static int
challenge_parse(const char *v, struct kv_challenge *c)
{
	char kind[8];
	int n;

	memset(c, 0, sizeof(*c));
	n = sscanf(v, "%32s %7s %32s %d", c->id, kind, c->data, &c->bits);
	c->kind = challenge_kind_parse(kind);
	if (c->kind == CHALLENGE_POW && n == 4)
		return FS_OK;
	return c->kind == CHALLENGE_QUIZ && n == 3 ? FS_OK : FS_ERR;
}

int
kv_challenge_take(struct kv *kv, int64_t uid, int64_t aid, int64_t iid, const char *id,
		  struct kv_challenge *c)
{
	char key[KV_KEY_MAX];
	const char *argv[2] = {key, id};
	redisReply *rep;
	int rc = 0;

	challenge_key(key, uid, aid, iid);
	rep = kv_eval(kv, &take_script, 1, 2, argv, NULL);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_err("EVALSHA challenge_take %s: %s", key, rep->str);
		rc = FS_ERR;
	} else if (rep->type == REDIS_REPLY_STRING && challenge_parse(rep->str, c) == FS_OK) {
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}
