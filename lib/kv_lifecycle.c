/*
 * kv_lifecycle.c: the Redis side of the lifecycle that kv_sale.c does not
 * have: marking a sale ended in its meta hash, and the cancels recorded for
 * queued orders (fs:{A:I}:cancels, a set of order ids, kept a day past the
 * sale's end or the last cancel, whichever is later).
 */
#include "kv_lifecycle.h"
#include "fs.h"
#include "kv.h"
#include "kv_shard.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* how long a recorded cancel is kept at least */
#define CANCEL_KEEP_MS (24 * 3600 * 1000)

/* KEYS: meta. HSET on a missing hash would make a key without the sale's
 * TTL, so only an existing one is touched. Returns 1 set, 0 absent. */
static struct kv_script mark_ended_script = {"mark_ended",
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'status', 'ended')\n"
	"return 1\n",
	""};

/* Marks shard k's copy of the meta hash ended: 1, 0 absent, FS_ERR. */
static int
mark_ended_shard(struct kv *kv, int64_t aid, int64_t iid, int k)
{
	char key[KV_KEY_MAX];
	const char *argv[1];
	redisReply *rep;
	int rc = FS_ERR;

	kv_shard_key(key, aid, iid, k, "meta");
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

int
kv_lifecycle_mark_ended(struct kv *kv, int64_t aid, int64_t iid)
{
	int shards = kv_shard_count(kv, aid, iid), rc = FS_ERR;

	if (shards == FS_ERR)
		return FS_ERR;
	/* every shard's reservations read their own copy */
	for (int k = shards - 1; k >= 0; k--)
		if ((rc = mark_ended_shard(kv, aid, iid, k)) == FS_ERR)
			return FS_ERR;
	return rc;
}

/* KEYS: journal cancels meta  ARGV: order_id keep_ms
 * The journal entry goes only after MySQL has the order, and its writer
 * reads the cancels after that: so a cancel recorded here is seen by it.
 * Returns 1 recorded, 0 not in the journal. */
static struct kv_script cancel_request_script = {"cancel_request",
	"if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"local t = redis.call('TIME')\n"
	"local keep = tonumber(t[1]) * 1000 + tonumber(ARGV[2])\n"
	"local e = redis.call('HGET', KEYS[3], 'end')\n"
	"if e and tonumber(e) + tonumber(ARGV[2]) > keep then keep = tonumber(e) + tonumber(ARGV[2]) end\n"
	"redis.call('PEXPIREAT', KEYS[2], keep)\n"
	"return 1\n",
	""};

int
kv_lifecycle_cancel_request(struct kv *kv, const struct order *o)
{
	char keys[3][KV_KEY_MAX], oid[24], keep[24];
	const char *argv[5] = {keys[0], keys[1], keys[2], oid, keep};
	redisReply *rep;
	int rc = FS_ERR, sh = kv_shard_of(kv, o, NULL);

	/* the order's journal entry is on its user's home shard */
	if (sh == FS_ERR)
		return FS_ERR;
	kv_shard_key(keys[0], o->activity_id, o->item_id, sh, "journal");
	kv_shard_key(keys[1], o->activity_id, o->item_id, sh, "cancels");
	kv_shard_key(keys[2], o->activity_id, o->item_id, sh, "meta");
	snprintf(oid, sizeof(oid), "%" PRId64, o->id);
	snprintf(keep, sizeof(keep), "%d", CANCEL_KEEP_MS);
	rep = kv_eval(kv, &cancel_request_script, 3, 5, argv, NULL);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 1;
	else
		log_err("EVALSHA cancel_request order=%" PRId64 ": %s", o->id,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
	freeReplyObject(rep);
	return rc;
}

/* Appends shard k's recorded cancels to *ids (grown; *n counts). */
static int
cancels_shard(struct kv *kv, int64_t aid, int64_t iid, int k, int64_t **ids, int *n)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc = FS_OK;

	kv_shard_key(key, aid, iid, k, "cancels");
	rep = kv_cmd(kv, "SMEMBERS %s", key);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
		*ids = mem_realloc(*ids, sizeof(**ids) * ((size_t)*n + rep->elements));
		for (size_t i = 0; i < rep->elements; i++) {
			int64_t id;

			if (rep->element[i]->type == REDIS_REPLY_STRING &&
			    fs_parse_u63(rep->element[i]->str, &id) == FS_OK)
				(*ids)[(*n)++] = id;
		}
	} else if (rep->type == REDIS_REPLY_ERROR) {
		log_err("SMEMBERS %s: %s", key, rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_lifecycle_cancels(struct kv *kv, int64_t aid, int64_t iid, int64_t **ids, int *n)
{
	int shards = kv_shard_count(kv, aid, iid);

	*ids = NULL;
	*n = 0;
	if (shards == FS_ERR)
		return FS_ERR;
	for (int k = 0; k < shards; k++)
		if (cancels_shard(kv, aid, iid, k, ids, n) != FS_OK) {
			free(*ids);
			*ids = NULL;
			*n = 0;
			return FS_ERR;
		}
	return FS_OK;
}

int
kv_lifecycle_cancel_done(struct kv *kv, int64_t aid, int64_t iid, int64_t oid)
{
	int shards = kv_shard_count(kv, aid, iid), rc = FS_OK;

	if (shards == FS_ERR)
		return FS_ERR;
	/* the caller knows the order id only: its shard is one of these */
	for (int k = 0; k < shards && rc == FS_OK; k++) {
		char key[KV_KEY_MAX];
		redisReply *rep;

		kv_shard_key(key, aid, iid, k, "cancels");
		rep = kv_cmd(kv, "SREM %s %" PRId64, key, oid);
		if (rep == NULL)
			return FS_ERR;
		rc = rep->type == REDIS_REPLY_INTEGER ? FS_OK : FS_ERR;
		freeReplyObject(rep);
	}
	return rc;
}

int
kv_lifecycle_journaled(struct kv *kv, int64_t aid, int64_t iid, int64_t oid)
{
	int shards = kv_shard_count(kv, aid, iid), rc = 0;

	if (shards == FS_ERR)
		return FS_ERR;
	for (int k = 0; k < shards && rc == 0; k++) {
		char key[KV_KEY_MAX];
		redisReply *rep;

		kv_shard_key(key, aid, iid, k, "journal");
		rep = kv_cmd(kv, "HEXISTS %s %" PRId64, key, oid);
		if (rep == NULL)
			return FS_ERR;
		rc = rep->type == REDIS_REPLY_INTEGER ? rep->integer == 1 : FS_ERR;
		freeReplyObject(rep);
	}
	return rc;
}
