/*
 * kv_lifecycle.c: the Redis side of the lifecycle that kv_sale.c does not
 * have: marking a sale ended in its meta hash.
 */
#include "lifecycle.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <inttypes.h>
#include <string.h>

/* KEYS: meta. HSET on a missing hash would make a key without the sale's
 * TTL, so only an existing one is touched. Returns 1 set, 0 absent. */
static struct kv_script mark_ended_script = {"mark_ended",
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'status', 'ended')\n"
	"return 1\n",
	""};

int
kv_sale_mark_ended(struct kv *kv, int64_t aid, int64_t iid)
{
	char key[KV_KEY_MAX];
	const char *argv[1];
	redisReply *rep;
	int rc = FS_ERR;

	kv_item_key(key, aid, iid, "meta");
	argv[0] = key;
	rep = kv_eval(kv, &mark_ended_script, 1, 1, argv, NULL);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 1;
	else
		log_err("EVALSHA mark_ended item=%" PRId64 ":%" PRId64 ": %s", aid, iid,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
	freeReplyObject(rep);
	return rc;
}
