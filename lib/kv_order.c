/*
 * kv_order.c: the owner of the order status records in Redis: fs:o:{UID}:ID
 * (the order's JSON, for the status poll) and fs:u:{UID}:orders (the user's
 * order ids by creation time), both with the user's hash tag. A record only
 * moves forward (queued < unpaid < final), whoever writes it last.
 */
#include "kv_order.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: record list  ARGV: json rank ttl_s order_id created_ms
 * Writes the record unless the one there has a higher rank, and lists the
 * order among the user's (both keys carry the user's hash tag). */
static struct kv_script order_put_script = {"order_put",
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur then\n"
	"  local st = string.match(cur, '\"status\":\"(%a+)\"')\n"
	"  local rank = 2\n"
	"  if st == 'queued' then rank = 0 elseif st == 'unpaid' then rank = 1 end\n"
	"  if rank > tonumber(ARGV[2]) then return 0 end\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])\n"
	"if redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4]) == 1 then\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
	"end\n"
	"return 1\n",
	""};

static int
order_rank(enum order_status s)
{
	return s == ORDER_QUEUED ? 0 : s == ORDER_UNPAID ? 1 : 2;
}

void
kv_order_args_init(struct kv_order_args *a, const struct order *o)
{
	a->json = order_to_json(o);
	snprintf(a->key, sizeof(a->key), "fs:o:{%" PRId64 "}:%" PRId64, o->user_id, o->id);
	snprintf(a->ukey, sizeof(a->ukey), "fs:u:{%" PRId64 "}:orders", o->user_id);
	snprintf(a->rank, sizeof(a->rank), "%d", order_rank(o->status));
	snprintf(a->ttl, sizeof(a->ttl), "%d", KV_ORDER_TTL_S);
	snprintf(a->oid, sizeof(a->oid), "%" PRId64, o->id);
	snprintf(a->created, sizeof(a->created), "%" PRId64, o->created_ms);
	a->argv[0] = a->key;
	a->argv[1] = a->ukey;
	a->argv[2] = json_object_to_json_string_ext(a->json, JSON_C_TO_STRING_PLAIN);
	a->argv[3] = a->rank;
	a->argv[4] = a->ttl;
	a->argv[5] = a->oid;
	a->argv[6] = a->created;
}

void
kv_order_args_free(struct kv_order_args *a)
{
	json_object_put(a->json);
	a->json = NULL;
}

int
kv_order_put_load(struct kv *kv)
{
	return kv_script_load(kv, &order_put_script);
}

int
kv_order_put_append(struct kv *kv, struct kv_order_args *a)
{
	return kv_eval_append(kv, &order_put_script, 2, 7, a->argv);
}

int
kv_order_put(struct kv *kv, const struct order *o)
{
	struct kv_order_args a;
	redisReply *rep;
	int rc = FS_OK;

	kv_order_args_init(&a, o);
	rep = kv_eval_idempotent(kv, &order_put_script, 2, 7, a.argv, NULL);
	kv_order_args_free(&a);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_err("EVALSHA order_put %s: %s", a.key, rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_order_get(struct kv *kv, int64_t uid, int64_t id, struct order *o)
{
	redisReply *rep = kv_cmd(kv, "GET fs:o:{%" PRId64 "}:%" PRId64, uid, id);
	int rc = 0;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING)
		rc = order_from_json(rep->str, rep->len, o) == FS_OK ? 1 : 0;
	freeReplyObject(rep);
	return rc;
}

int
kv_order_ids(struct kv *kv, int64_t uid, int64_t *ids, int max)
{
	redisReply *rep = kv_cmd(kv, "ZREVRANGE fs:u:{%" PRId64 "}:orders 0 %d", uid, max - 1);
	int n = 0;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < rep->elements && n < max; i++)
			if (rep->element[i]->type == REDIS_REPLY_STRING &&
			    fs_parse_u63(rep->element[i]->str, &ids[n]) == FS_OK)
				n++;
	freeReplyObject(rep);
	return n;
}
