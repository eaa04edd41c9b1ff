/*
 * kv_guard.c: the guard's fields and counters in Redis (kv_guard.h).
 */
#include "kv_guard.h"
#include "kv_shard.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
kv_guard_args_init(struct kv_guard_args *g, int64_t aid, int64_t iid, const char *ip,
		   int blocked, int64_t ver)
{
	kv_item_key(g->key, aid, iid, "ipn");
	snprintf(g->ip, sizeof(g->ip), "%s", ip ? ip : "");
	snprintf(g->blocked, sizeof(g->blocked), "%d", blocked ? 1 : 0);
	snprintf(g->ver, sizeof(g->ver), "%" PRId64, ver);
}

int
kv_guard_rules_append(struct kv *kv, const char *meta_key, const char *ipn_key,
		      const struct sale_rules *r, long long expire_at)
{
	/* the address count's hash made here, with its TTL, so the script
	 * only counts (no HLEN to find its first field): ipt says so */
	int with_ipn = ipn_key != NULL && r->max_orders_per_ip > 0;

	/* (hiredis's %s is one argument: two formats) */
	if (kv_append(kv, with_ipn ? "HSET %s age %lld ipmax %lld ipt 1" : "HSET %s age %lld ipmax %lld",
		      meta_key, (long long)r->min_account_age_s,
		      (long long)r->max_orders_per_ip) != FS_OK)
		return FS_ERR;
	if (!with_ipn)
		return 1;
	if (kv_append(kv, "HSET %s %s 0", ipn_key, KV_GUARD_IPN_TTL_FIELD) != FS_OK ||
	    kv_append(kv, "PEXPIREAT %s %lld", ipn_key, expire_at) != FS_OK)
		return FS_ERR;
	return 3;
}

/* KEYS: meta  ARGV: version. Never creates the hash (it would live without
 * the sale's fields and TTL); never lowers the field. */
static struct kv_script raise_script = {"guard_raise",
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"if tonumber(redis.call('HGET', KEYS[1], 'blv') or '0') < tonumber(ARGV[1]) then\n"
	"  redis.call('HSET', KEYS[1], 'blv', ARGV[1])\n"
	"end\n"
	"return 1\n",
	""};

int
kv_guard_raise(struct kv *kv, const int64_t *pairs, int n, int64_t ver)
{
	char meta[KV_KEY_MAX], v[24];
	const char *argv[2] = {meta, v};

	snprintf(v, sizeof(v), "%" PRId64, ver);
	for (int i = 0; i < n; i++) {
		/* every stock shard's meta: each checks the version itself */
		int shards = kv_shard_count(kv, pairs[2 * i], pairs[2 * i + 1]);

		if (shards == FS_ERR)
			return FS_ERR;
		for (int k = 0; k < shards; k++) {
			kv_shard_key(meta, pairs[2 * i], pairs[2 * i + 1], k, "meta");
			if (kv_take_ok(kv_eval_idempotent(kv, &raise_script, 1, 2, argv, NULL),
				       "guard_raise") != FS_OK)
				return FS_ERR;
		}
	}
	return FS_OK;
}

/* KEYS: ipa ipo meta  ARGV: address order_id grace_ms (kv_guard_ip_claim) */
static struct kv_script claim_script = {"guard_ip_claim",
	"local m = redis.call('HMGET', KEYS[3], 'ipmax', 'end')\n"
	"local ipmax = tonumber(m[1] or '0')\n"
	"if ipmax <= 0 or not m[2] then return 2 end\n"
	"if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then return 1 end\n"
	"if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') >= ipmax then return 0 end\n"
	"redis.call('HINCRBY', KEYS[1], ARGV[1], 1)\n"
	"redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])\n"
	"local e = tonumber(m[2]) + tonumber(ARGV[3])\n"
	"redis.call('PEXPIREAT', KEYS[1], e)\n"
	"redis.call('PEXPIREAT', KEYS[2], e)\n"
	"return 1\n",
	""};

/* KEYS: ipa ipo  ARGV: address order_id (kv_guard_ip_unclaim) */
static struct kv_script unclaim_script = {"guard_ip_unclaim",
	"if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[1] then return 0 end\n"
	"redis.call('HDEL', KEYS[2], ARGV[2])\n"
	"redis.call('HINCRBY', KEYS[1], ARGV[1], -1)\n"
	"return 1\n",
	""};

/* Runs the claim script sc (3 keys) or the unclaim one (2) for order oid. */
static int
ip_claim_run(struct kv *kv, struct kv_script *sc, int nkeys, int64_t aid, int64_t iid,
	     const char *ip, int64_t oid, long long *v)
{
	char ipa[KV_KEY_MAX], ipo[KV_KEY_MAX], meta[KV_KEY_MAX], soid[24], grace[16];
	const char *argv[6];
	int k = 0;

	kv_item_key(ipa, aid, iid, "ipa");
	kv_item_key(ipo, aid, iid, "ipo");
	kv_item_key(meta, aid, iid, "meta");
	snprintf(soid, sizeof(soid), "%" PRId64, oid);
	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	argv[k++] = ipa;
	argv[k++] = ipo;
	if (nkeys == 3)
		argv[k++] = meta;
	argv[k++] = ip;
	argv[k++] = soid;
	if (nkeys == 3)
		argv[k++] = grace;
	return kv_take_int(kv_eval_idempotent(kv, sc, nkeys, k, argv, NULL), v);
}

int
kv_guard_ip_claim(struct kv *kv, int64_t aid, int64_t iid, const char *ip, int64_t oid)
{
	long long v;

	if (ip_claim_run(kv, &claim_script, 3, aid, iid, ip, oid, &v) != FS_OK)
		return FS_ERR;
	return (int)v;
}

int
kv_guard_ip_unclaim(struct kv *kv, int64_t aid, int64_t iid, const char *ip, int64_t oid)
{
	long long v;

	return ip_claim_run(kv, &unclaim_script, 2, aid, iid, ip, oid, &v);
}

static int64_t
field_int(const redisReply *rep, size_t i)
{
	if (i >= rep->elements || rep->element[i]->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(rep->element[i]->str, NULL, 10);
}

int
kv_guard_view(struct kv *kv, int64_t aid, int64_t iid, const char *ip, struct kv_guard_view *v)
{
	char meta[KV_KEY_MAX], ipn[KV_KEY_MAX], ipa[KV_KEY_MAX];
	redisReply *m, *c = NULL, *ca = NULL;
	int with_ip = ip != NULL && *ip != '\0', rc = FS_ERR;

	memset(v, 0, sizeof(*v));
	kv_item_key(meta, aid, iid, "meta");
	kv_item_key(ipn, aid, iid, "ipn");
	kv_item_key(ipa, aid, iid, "ipa");
	/* an item's address count is in ipn, or in ipa when it is sharded */
	if (kv_append(kv, "HMGET %s start age ipmax blv", meta) != FS_OK ||
	    (with_ip && (kv_append(kv, "HGET %s %s", ipn, ip) != FS_OK ||
			 kv_append(kv, "HGET %s %s", ipa, ip) != FS_OK)))
		return FS_ERR;
	m = kv_reply(kv);
	if (m == NULL || (with_ip && ((c = kv_reply(kv)) == NULL || (ca = kv_reply(kv)) == NULL)))
		goto out;
	if (m->type == REDIS_REPLY_ARRAY && m->elements == 4) {
		v->warm = m->element[0]->type == REDIS_REPLY_STRING;
		v->rules.min_account_age_s = field_int(m, 1);
		v->rules.max_orders_per_ip = field_int(m, 2);
		v->ver = field_int(m, 3);
		rc = FS_OK;
	} else {
		log_err("HMGET %s: unexpected reply %d", meta, m->type);
	}
	if (c != NULL && c->type == REDIS_REPLY_STRING)
		v->ip_orders = strtoll(c->str, NULL, 10);
	if (ca != NULL && ca->type == REDIS_REPLY_STRING)
		v->ip_orders += strtoll(ca->str, NULL, 10);
out:
	if (ca)
		freeReplyObject(ca);
	if (m)
		freeReplyObject(m);
	if (c)
		freeReplyObject(c);
	return rc;
}
