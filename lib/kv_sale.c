/*
 * kv_sale.c: the atomic Redis decisions on one activity item: reserve (the
 * hot-path gate), release (stock back exactly once), the journal, and the
 * order status records the status poll reads. Every key a script touches
 * carries the item's hash tag, so each script runs on one Cluster slot.
 */
#include "kv_sale.h"
#include "challenge.h"
#include "kv_guard.h"
#include "kv_order.h"
#include "kv_shard.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: meta stock buyers banned journal pending rate void [record userlist] guard
 * ARGV: uid qty order_id order_line rate_limit grace_ms [record_json ttl_s created_ms]
 *       address blocked blocklist_version
 * The guard's key and three arguments always come last (kv_guard.h; the
 * sale rules, docs/GUARD-RULES.md): -20 when the caller's blocklist copy is
 * older than the item's, -21 when the address has max_orders_per_ip
 * (checked after the stock: sold out first).
 * Returns the units left after the reservation, a negative refusal, or
 * {-4, held order id} for a duplicate. With the two optional keys (one
 * Redis, not a Cluster: they are in the user's slot) it also writes the
 * queued status record in the same trip. Idempotent by order id: run again
 * for the same order it changes nothing and answers as a success. An order
 * id in the void set (reserve_settle gave it up) is never reserved. The rate
 * key is the user's counter across items (one Redis: rate_limit > 0) or, on
 * a Cluster, the item's hash of the users' counts on it (in the item's slot:
 * rate_limit < 0, its opposite the limit); rate_limit 0 counts nothing. */
static struct kv_script reserve_script = {"reserve",
	/* the same order again (a resend after a lost reply): already done */
	"local b = redis.call('HGET', KEYS[3], ARGV[1])\n"
	"if b == ARGV[3] then return tonumber(redis.call('GET', KEYS[2]) or '0') end\n"
	"if redis.call('SISMEMBER', KEYS[8], ARGV[3]) == 1 then return -8 end\n"
	/* sale rules: decide only with a blocklist copy as new as the item's
	 * (before the rate counter: the caller asks again after a refresh) */
	"local gk, ga = KEYS[#KEYS], #ARGV - 2\n"
	"local gm = redis.call('HMGET', KEYS[1], 'blv', 'ipmax', 'ipt')\n"
	"if tonumber(gm[1] or '0') > tonumber(ARGV[ga + 2]) then return -20 end\n"
	"local rl = tonumber(ARGV[5])\n"
	"if rl > 0 then\n"
	"  local n = redis.call('INCR', KEYS[7])\n"
	"  if n == 1 then redis.call('PEXPIRE', KEYS[7], 1000) end\n"
	"  if n > rl then return -7 end\n"
	"elseif rl < 0 then\n"
	/* a Cluster: the user's attempts this second on this item, a field
	 * "second:count" of the item's hash: one write an order, where a key of
	 * its own would cost three (INCR, PEXPIRE, and the DEL of its expiry,
	 * each copied to the replica); a refused attempt writes nothing */
	"  local sec = redis.call('TIME')[1]\n"
	"  local v = redis.call('HGET', KEYS[7], ARGV[1])\n"
	"  local n = 1\n"
	"  if v then\n"
	"    local s, c = string.match(v, '^(%d+):(%d+)$')\n"
	"    if s == sec then n = tonumber(c) + 1 end\n"
	"  end\n"
	"  if n > -rl then return -7 end\n"
	"  redis.call('HSET', KEYS[7], ARGV[1], sec .. ':' .. n)\n"
	/* made just now: it lives as long as the item's other keys */
	"  if not v and redis.call('PTTL', KEYS[7]) == -1 then\n"
	"    local e = redis.call('HGET', KEYS[1], 'end')\n"
	"    if e then redis.call('PEXPIREAT', KEYS[7], tonumber(e) + tonumber(ARGV[6]))\n"
	"    else redis.call('PEXPIRE', KEYS[7], 86400000) end\n"
	"  end\n"
	"end\n"
	"local m = redis.call('HMGET', KEYS[1], 'start', 'end', 'status')\n"
	"if not m[1] or not m[2] then return -6 end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"if now < tonumber(m[1]) then return -1 end\n"
	"if now >= tonumber(m[2]) or m[3] == 'ended' then return -2 end\n"
	"if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return -3 end\n"
	"if ARGV[ga + 1] == '1' then return -3 end\n"
	"if b then return {-4, b} end\n"
	"local s = redis.call('GET', KEYS[2])\n"
	"if not s then return -6 end\n"
	"s = tonumber(s)\n"
	"local q = tonumber(ARGV[2])\n"
	"if s < q then return -5 end\n"
	/* the address cap, exact: one HINCRBY counts the order, and only an
	 * order past the cap gives it back (no HGET first); after the stock
	 * check, so a sold-out refusal writes nothing. The hash has its TTL
	 * from warmup (ipt, kv_guard.h); an older meta's gets it here. */
	"local ipmax = tonumber(gm[2] or '0')\n"
	"if ipmax > 0 and ARGV[ga] ~= '' then\n"
	"  local n = redis.call('HINCRBY', gk, ARGV[ga], 1)\n"
	"  if n > ipmax then\n"
	"    redis.call('HINCRBY', gk, ARGV[ga], -1)\n"
	"    return -21\n"
	"  end\n"
	"  if n == 1 and gm[3] ~= '1' and redis.call('HLEN', gk) == 1 then\n"
	"    redis.call('PEXPIREAT', gk, tonumber(m[2]) + tonumber(ARGV[6]))\n"
	"  end\n"
	"end\n"
	"redis.call('DECRBY', KEYS[2], q)\n"
	/* a hash's TTL is set when its first field makes it (HLEN 1), not by
	 * every order: one command, and one AOF and replication record, less */
	"if redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]) == 1 and redis.call('HLEN', KEYS[3]) == 1 then\n"
	"  redis.call('PEXPIREAT', KEYS[3], tonumber(m[2]) + tonumber(ARGV[6]))\n"
	"end\n"
	"redis.call('HSET', KEYS[5], ARGV[3], ARGV[4])\n"
	"redis.call('ZADD', KEYS[6], now, ARGV[3])\n"
	"if #KEYS >= 11 then\n"
	"  redis.call('SET', KEYS[9], ARGV[7], 'NX', 'EX', ARGV[8])\n"
	"  redis.call('ZADD', KEYS[10], ARGV[9], ARGV[3])\n"
	"  redis.call('EXPIRE', KEYS[10], ARGV[8])\n"
	"end\n"
	"return s - q\n",
	""};

/* KEYS: buyers journal released void meta  ARGV: uid order_id grace_ms
 * After the reply to a reservation was lost: 1 when the order was reserved
 * (it holds the buyer slot, is journaled, or was reserved and given back
 * already), else puts the id in the void set, so that the reservation, if it
 * is still on its way, is refused when it comes: 0 then means it never
 * will be. Either way the answer holds from now on. */
static struct kv_script settle_script = {"reserve_settle",
	"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] or\n"
	"   redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 or\n"
	"   redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then return 1 end\n"
	"redis.call('SADD', KEYS[4], ARGV[2])\n"
	"local e = redis.call('HGET', KEYS[5], 'end')\n"
	"if e then redis.call('PEXPIREAT', KEYS[4], tonumber(e) + tonumber(ARGV[3]))\n"
	"else redis.call('PEXPIRE', KEYS[4], 86400000) end\n"
	"return 0\n",
	""};

/* KEYS: released stock buyers meta
 * ARGV: order_id uid qty keep_ms
 * The released set makes it exactly once; a stock counter that has expired
 * with its sale is not brought back to life. Returns 1 released, 0 already. */
static struct kv_script release_script = {"release",
	"if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
	"local e = redis.call('HGET', KEYS[4], 'end')\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000\n"
	"local keep = now + tonumber(ARGV[4])\n"
	"if e and tonumber(e) + tonumber(ARGV[4]) > keep then keep = tonumber(e) + tonumber(ARGV[4]) end\n"
	"redis.call('PEXPIREAT', KEYS[1], keep)\n"
	"if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], ARGV[3]) end\n"
	"if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[3], ARGV[2]) end\n"
	"return 1\n",
	""};

/* The integer of rep, which stays the caller's (kv_take_int frees it). */
static int
reply_peek_int(redisReply *rep, long long *out)
{
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
		return FS_ERR;
	*out = rep->integer;
	return FS_OK;
}

static int64_t
reply_field_int(const redisReply *rep, size_t i, int *present)
{
	if (i >= rep->elements || rep->element[i]->type != REDIS_REPLY_STRING) {
		*present = 0;
		return 0;
	}
	*present = 1;
	return strtoll(rep->element[i]->str, NULL, 10);
}

int
kv_sale_meta(struct kv *kv, int64_t aid, int64_t iid, struct sale_meta *m)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int have[7], rc = 0;

	kv_item_key(key, aid, iid, "meta");
	rep = kv_cmd(kv, "HMGET %s start end limit price alloc status shards", key);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 7) {
		/* the shard count, known from here on without a call */
		kv_shard_note(aid, iid, (int)reply_field_int(rep, 6, &have[6]));
		m->start_ms = reply_field_int(rep, 0, &have[0]);
		m->end_ms = reply_field_int(rep, 1, &have[1]);
		m->per_user_limit = reply_field_int(rep, 2, &have[2]);
		m->flash_price_cents = reply_field_int(rep, 3, &have[3]);
		m->alloc_stock = reply_field_int(rep, 4, &have[4]);
		m->published = rep->element[5]->type == REDIS_REPLY_STRING &&
			       strcmp(rep->element[5]->str, "published") == 0;
		m->ended = rep->element[5]->type == REDIS_REPLY_STRING &&
			   strcmp(rep->element[5]->str, "ended") == 0;
		rc = have[0] && have[1] && have[2] && have[3];
	} else if (rep->type == REDIS_REPLY_ERROR) {
		log_err("HMGET %s: %s", key, rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

/* The reply to o's reservation was lost after it was sent: asks Redis
 * whether it ran, and makes sure that a "no" stays true. */
static enum reserve_result
reserve_settle(struct kv *kv, const struct order *o, int sh, int64_t *remaining)
{
	char keys[5][KV_KEY_MAX], uid[24], oid[24], grace[24];
	const char *argv[8] = {keys[0], keys[1], keys[2], keys[3], keys[4], uid, oid, grace};
	redisReply *rep;
	long long v;
	enum reserve_result res = RESERVE_UNKNOWN;

	kv_shard_key(keys[0], o->activity_id, o->item_id, sh, "buyers");
	kv_shard_key(keys[1], o->activity_id, o->item_id, sh, "journal");
	kv_shard_key(keys[2], o->activity_id, o->item_id, sh, "released");
	kv_shard_key(keys[3], o->activity_id, o->item_id, sh, "void");
	kv_shard_key(keys[4], o->activity_id, o->item_id, sh, "meta");
	snprintf(uid, sizeof(uid), "%" PRId64, o->user_id);
	snprintf(oid, sizeof(oid), "%" PRId64, o->id);
	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	rep = kv_eval_idempotent(kv, &settle_script, 5, 8, argv, NULL);
	if (reply_peek_int(rep, &v) == FS_OK) {
		res = v == 1 ? RESERVE_OK : RESERVE_DOWN;
		if (remaining)
			*remaining = -1;
	} else if (rep != NULL) {
		log_err("EVALSHA reserve_settle order=%" PRId64 ": %s", o->id,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
	}
	if (rep)
		freeReplyObject(rep);
	log_warn("order %" PRId64 ": reply to the reservation lost; %s", o->id,
		 res == RESERVE_OK ? "it was taken" : res == RESERVE_DOWN ? "it was not, and never will be" :
		 "whether it was taken is unknown");
	return res;
}

/* The refusals of reserve_script, as it returns them. */
enum {
	LUA_NOT_STARTED = -1,
	LUA_ENDED = -2,
	LUA_BANNED = -3,
	LUA_DUPLICATE = -4, /* {-4, held order id} */
	LUA_SOLD_OUT = -5,
	LUA_NOT_WARM = -6,
	LUA_RATE_LIMITED = -7,
	LUA_VOID = -8,      /* given up by reserve_settle */
	LUA_GUARD_STALE = -20,
	LUA_GUARD_IP = -21,
};

/* The keys and arguments of reserve_script for o, kept alive in the struct
 * while argv is used (free with reserve_args_free). */
struct reserve_args {
	char keys[8][KV_KEY_MAX], uid[24], qty[24], oid[24], rl[16], grace[24];
	char guard[KV_KEY_MAX]; /* g's counter, on shard sh's tag like the rest */
	char line[ORDER_LINE_MAX];
	const char *argv[24];
	size_t lens[24];
	struct kv_order_args rec;
	int with_record, nkeys, argc;
};

static void
reserve_args_init(struct reserve_args *a, const struct order *o, int sh, int rate_limit,
		  int with_record, const struct kv_guard_args *g)
{
	a->with_record = with_record;
	a->nkeys = 8;
	kv_shard_key(a->keys[0], o->activity_id, o->item_id, sh, "meta");
	kv_shard_key(a->keys[1], o->activity_id, o->item_id, sh, "stock");
	kv_shard_key(a->keys[2], o->activity_id, o->item_id, sh, "buyers");
	kv_shard_key(a->keys[3], o->activity_id, o->item_id, sh, "banned");
	kv_shard_key(a->keys[4], o->activity_id, o->item_id, sh, "journal");
	kv_shard_key(a->keys[5], o->activity_id, o->item_id, sh, "pending");
	/* the user's counter across items lives outside the item's slot: only
	 * a single Redis (with_record) lets the script count it; a Cluster
	 * counts the user on this item, in the item's slot, in the same trip
	 * (a call of its own to the user's slot would cost every order one) */
	if (with_record) {
		snprintf(a->keys[6], KV_KEY_MAX, "fs:rl:order:%" PRId64, o->user_id);
	} else {
		/* a hash of the users' counts; rate_limit goes negative to say so */
		kv_shard_key(a->keys[6], o->activity_id, o->item_id, sh, "rl");
		rate_limit = -rate_limit;
	}
	kv_shard_key(a->keys[7], o->activity_id, o->item_id, sh, "void");
	snprintf(a->uid, sizeof(a->uid), "%" PRId64, o->user_id);
	snprintf(a->qty, sizeof(a->qty), "%" PRId64, o->quantity);
	snprintf(a->oid, sizeof(a->oid), "%" PRId64, o->id);
	snprintf(a->rl, sizeof(a->rl), "%d", rate_limit);
	snprintf(a->grace, sizeof(a->grace), "%d", SALE_KEY_GRACE_MS);
	order_encode(o, a->line);
	for (int i = 0; i < 8; i++)
		a->argv[i] = a->keys[i];
	if (with_record) {
		kv_order_args_init(&a->rec, o);
		a->argv[8] = a->rec.key;
		a->argv[9] = a->rec.ukey;
		a->nkeys = 10;
	}
	kv_shard_key(a->guard, o->activity_id, o->item_id, sh, "ipn");
	a->argv[a->nkeys++] = a->guard;
	a->argv[a->nkeys] = a->uid;
	a->argv[a->nkeys + 1] = a->qty;
	a->argv[a->nkeys + 2] = a->oid;
	a->argv[a->nkeys + 3] = a->line;
	a->argv[a->nkeys + 4] = a->rl;
	a->argv[a->nkeys + 5] = a->grace;
	a->argc = a->nkeys + 6;
	if (with_record) {
		a->argv[a->argc++] = a->rec.argv[2];
		a->argv[a->argc++] = a->rec.ttl;
		a->argv[a->argc++] = a->rec.created;
	}
	a->argv[a->argc++] = g->ip;
	a->argv[a->argc++] = g->blocked;
	a->argv[a->argc++] = g->ver;
	for (int i = 0; i < a->argc; i++)
		a->lens[i] = strlen(a->argv[i]);
}

static void
reserve_args_free(struct reserve_args *a)
{
	if (a->with_record)
		kv_order_args_free(&a->rec);
}

/* What reserve_script's answer v (not a duplicate) means. */
static enum reserve_result
reserve_result_of(long long v, int64_t *remaining)
{
	switch (v) {
	case LUA_NOT_STARTED: return RESERVE_NOT_STARTED;
	case LUA_ENDED: return RESERVE_ENDED;
	case LUA_BANNED: return RESERVE_BANNED;
	case LUA_SOLD_OUT: return RESERVE_SOLD_OUT;
	case LUA_NOT_WARM: return RESERVE_NOT_WARM;
	case LUA_RATE_LIMITED: return RESERVE_RATE_LIMITED;
	/* given up by reserve_settle: only a late copy of a command whose
	 * caller has gone meets it; nothing was reserved */
	case LUA_VOID: return RESERVE_DOWN;
	case LUA_GUARD_STALE: return RESERVE_GUARD_STALE;
	case LUA_GUARD_IP: return RESERVE_FORBIDDEN;
	default:
		if (v < 0)
			return RESERVE_DOWN;
		if (remaining)
			*remaining = v;
		return RESERVE_OK;
	}
}

/* One reservation script on shard sh (the user's home; 0 unsharded). */
static enum reserve_result
reserve_once(struct kv *kv, const struct order *o, int sh, int rate_limit, int with_record,
	     const struct kv_guard_args *g, struct kv_sale_wait *w, int64_t *remaining,
	     int64_t *held)
{
	struct reserve_args a;
	redisReply *rep;
	long long v;

	reserve_args_init(&a, o, sh, rate_limit, with_record, g);
	/* idempotent by order id: a resend after a broken connection is safe */
	if (w != NULL && w->replicas > 0)
		rep = kv_eval_wait(kv, &reserve_script, a.nkeys, a.argc, a.argv, a.lens,
				   w->replicas, w->ms, &w->acked, &w->ran_us);
	else
		rep = kv_eval_idempotent(kv, &reserve_script, a.nkeys, a.argc, a.argv, a.lens);
	reserve_args_free(&a);
	if (rep == NULL)
		/* sent, and the reply lost (a timeout): it may have run */
		return kv->maybe_ran ? reserve_settle(kv, o, sh, remaining) : RESERVE_DOWN;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER && rep->element[0]->integer == LUA_DUPLICATE) {
		if (held)
			*held = rep->element[1]->type == REDIS_REPLY_STRING ?
					strtoll(rep->element[1]->str, NULL, 10) : 0;
		freeReplyObject(rep);
		return RESERVE_DUPLICATE;
	}
	if (reply_peek_int(rep, &v) != FS_OK) {
		log_err("EVALSHA reserve item=%" PRId64 ":%" PRId64 ": %s", o->activity_id,
			o->item_id, rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
		freeReplyObject(rep);
		return RESERVE_DOWN;
	}
	freeReplyObject(rep);
	return reserve_result_of(v, remaining);
}

/* The home shard sh is empty: moves o's units from each other shard in
 * turn to sh (kv_shard_borrow) and reserves there again, until one works
 * or every shard said it had too few (sold out; a shard that could not be
 * asked makes it a 503 instead: its units are not gone). The user is
 * checked and recorded on the home shard only: one order per user holds. */
static enum reserve_result
reserve_borrowing(struct kv *kv, const struct order *o, int shards, int sh, int with_record,
		  const struct kv_guard_args *g, struct kv_sale_wait *w, int64_t *held)
{
	enum reserve_result res = RESERVE_SOLD_OUT;
	int down = 0;

	for (int i = 1; i < shards && res == RESERVE_SOLD_OUT; i++) {
		int m = kv_shard_borrow(kv, o, (sh + i) % shards, sh);

		down |= m == FS_ERR;
		/* moved: reserve at home (another buyer may take it first; it
		 * is sold then, not stranded, and the next donor is asked) */
		if (m == 1)
			res = reserve_once(kv, o, sh, 0, with_record, g, w, NULL, held);
	}
	return res == RESERVE_SOLD_OUT && down ? RESERVE_DOWN : res;
}

/* A sharded item: the address's slot is taken on the item's first tag
 * before the home shard's script runs (kv_guard_ip_claim; each shard's own
 * count would let the address have the cap once per shard), and given back
 * when the reservation is refused. A blocked user or address skips it: the
 * script answers banned. A full address of a user who holds an order of
 * the item is a duplicate, as without shards. */
static enum reserve_result
reserve_sharded(struct kv *kv, const struct order *o, int shards, int sh, int rate_limit,
		int with_record, const struct kv_guard_args *g, struct kv_sale_wait *w,
		int64_t *remaining, int64_t *held)
{
	struct kv_guard_args mine = *g;
	enum reserve_result res;
	int c = 2;

	if (g->ip[0] != '\0' && strcmp(g->blocked, "1") != 0) {
		c = kv_guard_ip_claim(kv, o->activity_id, o->item_id, g->ip, o->id);
		if (c == FS_ERR)
			return RESERVE_DOWN;
		if (c == 0) {
			int64_t oid = 0;
			int b = kv_sale_buyer(kv, o->activity_id, o->item_id, o->user_id, &oid);

			if (b == 1 && held)
				*held = oid;
			return b == 1 ? RESERVE_DUPLICATE : b == 0 ? RESERVE_FORBIDDEN : RESERVE_DOWN;
		}
		/* counted here: the shards' scripts count no address */
		mine.ip[0] = '\0';
	}
	res = reserve_once(kv, o, sh, rate_limit, with_record, &mine, w, remaining, held);
	/* a shard's count is not the item's: no sold-out mark from it */
	if (remaining)
		*remaining = -1;
	if (res == RESERVE_SOLD_OUT)
		res = reserve_borrowing(kv, o, shards, sh, with_record, &mine, w, held);
	/* refused for sure: the slot goes back (unknown keeps it) */
	if (c == 1 && res != RESERVE_OK && res != RESERVE_UNKNOWN &&
	    kv_guard_ip_unclaim(kv, o->activity_id, o->item_id, g->ip, o->id) != FS_OK)
		log_warn("order %" PRId64 ": address slot not given back", o->id);
	return res;
}

enum reserve_result
kv_sale_reserve(struct kv *kv, const struct order *o, int rate_limit, int with_record,
		const struct kv_guard_args *g, struct kv_sale_wait *w, int64_t *remaining,
		int64_t *held)
{
	struct kv_guard_args none;
	int shards = 1, sh = kv_shard_of(kv, o, &shards);

	if (sh == FS_ERR)
		return RESERVE_DOWN;
	if (g == NULL) {
		kv_guard_args_init(&none, o->activity_id, o->item_id, "", 0, KV_GUARD_VER_ANY);
		g = &none;
	}
	if (w != NULL) {
		w->acked = FS_ERR;
		w->ran_us = 0;
	}
	if (shards > 1)
		return reserve_sharded(kv, o, shards, sh, rate_limit, with_record, g, w, remaining,
				       held);
	return reserve_once(kv, o, sh, rate_limit, with_record, g, w, remaining, held);
}

/* The keys and arguments of release_script for o on home shard sh. */
struct release_args {
	char keys[4][KV_KEY_MAX], oid[24], uid[24], qty[24], keep[24];
	const char *argv[8];
};

static void
release_args_init(struct release_args *a, const struct order *o, int sh)
{
	static const char *const names[4] = {"released", "stock", "buyers", "meta"};

	for (int i = 0; i < 4; i++) {
		kv_shard_key(a->keys[i], o->activity_id, o->item_id, sh, names[i]);
		a->argv[i] = a->keys[i];
	}
	snprintf(a->oid, sizeof(a->oid), "%" PRId64, o->id);
	snprintf(a->uid, sizeof(a->uid), "%" PRId64, o->user_id);
	snprintf(a->qty, sizeof(a->qty), "%" PRId64, o->quantity);
	/* keep the exactly-once marks a day past the sale (or past now) */
	snprintf(a->keep, sizeof(a->keep), "%d", 24 * 3600 * 1000);
	a->argv[4] = a->oid;
	a->argv[5] = a->uid;
	a->argv[6] = a->qty;
	a->argv[7] = a->keep;
}

int
kv_sale_release(struct kv *kv, const struct order *o)
{
	struct release_args a;
	redisReply *rep;
	long long v;
	int rc, sh = kv_shard_of(kv, o, NULL);

	/* back to the user's home shard, where the order was journaled */
	if (sh == FS_ERR)
		return FS_ERR;
	release_args_init(&a, o, sh);
	rep = kv_eval_idempotent(kv, &release_script, 4, 8, a.argv, NULL);
	rc = reply_peek_int(rep, &v);
	if (rep != NULL && rc != FS_OK)
		log_err("EVALSHA release order=%" PRId64 ": %s", o->id,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
	if (rep)
		freeReplyObject(rep);
	return rc;
}

int
kv_sale_journal_done(struct kv *kv, const struct order *o)
{
	char journal[KV_KEY_MAX], pending[KV_KEY_MAX];
	int sh = kv_shard_of(kv, o, NULL);

	if (sh == FS_ERR)
		return FS_ERR;
	kv_shard_key(journal, o->activity_id, o->item_id, sh, "journal");
	kv_shard_key(pending, o->activity_id, o->item_id, sh, "pending");
	if (kv_append(kv, "HDEL %s %" PRId64, journal, o->id) != FS_OK)
		return FS_ERR;
	if (kv_append(kv, "ZREM %s %" PRId64, pending, o->id) != FS_OK) {
		kv_replies(kv, 1, "journal done");
		return FS_ERR;
	}
	return kv_replies(kv, 2, "journal done");
}



int
kv_sale_stock(struct kv *kv, int64_t aid, int64_t iid, int64_t *left)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc = 0, shards = kv_shard_count(kv, aid, iid), warm;
	int64_t queued;

	if (shards == FS_ERR)
		return FS_ERR;
	if (shards > 1)
		return kv_shard_totals(kv, aid, iid, shards, &warm, left, &queued, NULL) == FS_OK ? warm : FS_ERR;
	kv_item_key(key, aid, iid, "stock");
	rep = kv_cmd(kv, "GET %s", key);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING) {
		*left = strtoll(rep->str, NULL, 10);
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

/* KEYS: banned meta  ARGV: uid grace_ms
 * The ban set lives as long as the sale's other keys. */
static struct kv_script ban_script = {"ban",
	"redis.call('SADD', KEYS[1], ARGV[1])\n"
	"local e = redis.call('HGET', KEYS[2], 'end')\n"
	"if e then redis.call('PEXPIREAT', KEYS[1], tonumber(e) + tonumber(ARGV[2]))\n"
	"else redis.call('PEXPIRE', KEYS[1], 86400000) end\n"
	"return 1\n",
	""};

int
kv_sale_ban(struct kv *kv, int64_t aid, const int64_t *iids, int n, int64_t uid)
{
	char grace[16], suid[24];
	int rc = FS_OK;

	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	snprintf(suid, sizeof(suid), "%" PRId64, uid);
	for (int i = 0; i < n; i++) {
		int shards = kv_shard_count(kv, aid, iids[i]);

		if (shards == FS_ERR)
			return FS_ERR;
		/* each shard checks its own users against its own copy */
		for (int k = 0; k < shards; k++) {
			char banned[KV_KEY_MAX], meta[KV_KEY_MAX];
			const char *argv[4] = {banned, meta, suid, grace};
			redisReply *rep;

			kv_shard_key(banned, aid, iids[i], k, "banned");
			kv_shard_key(meta, aid, iids[i], k, "meta");
			rep = kv_eval_idempotent(kv, &ban_script, 2, 4, argv, NULL);
			if (rep == NULL)
				return FS_ERR;
			if (rep->type == REDIS_REPLY_ERROR) {
				log_err("EVALSHA ban %s: %s", banned, rep->str);
				rc = FS_ERR;
			}
			freeReplyObject(rep);
		}
	}
	return rc;
}

/* Queues "CMD key id id ..." for the orders in [from, to) of one item whose
 * home shard sh[i] is k. Returns the commands queued (0 or 1), or FS_ERR. */
static int
append_ids(struct kv *kv, const char *cmd, const char *key, const struct order *orders,
	   const int *sh, int k, int from, int to)
{
	const char *argv[2 + 256];
	char ids[256][24];
	int n = 0;

	argv[0] = cmd;
	argv[1] = key;
	for (int i = from; i < to; i++) {
		if (sh[i] != k)
			continue;
		snprintf(ids[n], sizeof(ids[n]), "%" PRId64, orders[i].id);
		argv[2 + n] = ids[n];
		n++;
	}
	if (n == 0)
		return 0;
	return kv_appendargv(kv, 2 + n, argv, NULL) == FS_OK ? 1 : FS_ERR;
}

static int
same_item(const struct order *a, const struct order *b)
{
	return a->activity_id == b->activity_id && a->item_id == b->item_id;
}

/* Queues the release (home shard sh) of a refused order. */
static int
announce_release(struct kv *kv, const struct order *o, int sh)
{
	struct release_args a;

	release_args_init(&a, o, sh);
	return kv_eval_append(kv, &release_script, 4, 8, a.argv);
}

/* Queues the journal drops of the n orders, per item and home shard.
 * Returns the commands queued, or FS_ERR. */
static int
announce_journal(struct kv *kv, const struct order *orders, const int *sh, int n)
{
	int queued = 0;

	for (int i = 0; i < n;) {
		int j = i, top = 0;

		while (j < n && j - i < 256 && same_item(&orders[i], &orders[j])) {
			top = sh[j] > top ? sh[j] : top;
			j++;
		}
		for (int k = 0; k <= top; k++) {
			char journal[KV_KEY_MAX], pending[KV_KEY_MAX];
			int a, b;

			kv_shard_key(journal, orders[i].activity_id, orders[i].item_id, k, "journal");
			kv_shard_key(pending, orders[i].activity_id, orders[i].item_id, k, "pending");
			a = append_ids(kv, "HDEL", journal, orders, sh, k, i, j);
			b = a == FS_ERR ? FS_ERR : append_ids(kv, "ZREM", pending, orders, sh, k, i, j);
			if (a == FS_ERR || b == FS_ERR)
				return FS_ERR;
			queued += a + b;
		}
		i = j;
	}
	return queued;
}

int
kv_sale_announce(struct kv *kv, const struct order *orders, int n)
{
	int queued = 0, any_release = 0, rc = FS_ERR, q;
	int *sh = mem_calloc((size_t)(n > 0 ? n : 1), sizeof(*sh));

	for (int i = 0; i < n; i++)
		if (!order_status_live(orders[i].status))
			any_release = 1;
	/* every home shard known before the pipeline starts */
	for (int i = 0; i < n; i++)
		if ((sh[i] = kv_shard_of(kv, &orders[i], NULL)) == FS_ERR)
			goto out;
	if (kv_order_put_load(kv) != FS_OK ||
	    (any_release && kv_script_load(kv, &release_script) != FS_OK))
		goto out;
	for (int i = 0; i < n; i++) {
		struct kv_order_args a;
		int ok;

		if (!order_status_live(orders[i].status)) {
			if (announce_release(kv, &orders[i], sh[i]) != FS_OK)
				goto out;
			queued++;
		}
		kv_order_args_init(&a, &orders[i]);
		ok = kv_order_put_append(kv, &a);
		kv_order_args_free(&a);
		if (ok != FS_OK)
			goto out;
		queued++;
	}
	/* the journal entries go last: only once everything else is queued */
	q = announce_journal(kv, orders, sh, n);
	if (q != FS_ERR)
		rc = kv_replies(kv, queued + q, "announce");
out:
	free(sh);
	return rc;
}

/* Reads the n replies of a MULTI pipeline, the last being its EXEC. FS_OK
 * when every one arrived and neither a queued command nor EXEC failed. */
static int
multi_replies(struct kv *kv, int n, const char *what)
{
	redisReply *exec;
	int rc = kv_replies(kv, n - 1, what);

	if (rc != FS_OK && kv_down(kv))
		return FS_ERR;
	exec = kv_reply(kv);
	if (exec == NULL)
		return FS_ERR;
	if (exec->type == REDIS_REPLY_ARRAY) {
		/* errors of the queued commands show up in here */
		for (size_t k = 0; k < exec->elements; k++)
			if (exec->element[k]->type == REDIS_REPLY_ERROR) {
				log_err("%s: %s", what, exec->element[k]->str);
				rc = FS_ERR;
			}
	} else {
		log_err("%s: transaction aborted%s%s", what,
			exec->type == REDIS_REPLY_ERROR ? ": " : "",
			exec->type == REDIS_REPLY_ERROR ? exec->str : "");
		rc = FS_ERR;
	}
	freeReplyObject(exec);
	return rc;
}

/* Writes shard k's copy of si's meta hash and, when with_stock, its share
 * of the stock (kv_sale_put), in one transaction on the shard's slot. */
static int
put_shard(struct kv *kv, const struct sale_item *si, int shards, int k, int with_stock,
	  long long expire)
{
	char meta[KV_KEY_MAX], stock[KV_KEY_MAX], ipn[KV_KEY_MAX], what[64];
	const char *detail = si->detail_json ? si->detail_json : "{}";
	int n = 4, g;

	kv_shard_key(meta, si->aid, si->iid, k, "meta");
	kv_shard_key(stock, si->aid, si->iid, k, "stock");
	snprintf(what, sizeof(what), "warm %lld:%lld", (long long)si->aid, (long long)si->iid);
	/* one transaction so the hash never lives without its TTL */
	if (kv_append(kv, "MULTI") != FS_OK ||
	    kv_append(kv, "HSET %s start %lld end %lld limit %lld price %lld alloc %lld "
			  "status %s detail %b challenge %s pow_bits %d shards %d",
		      meta, (long long)si->start_ms, (long long)si->end_ms,
		      (long long)si->per_user_limit, (long long)si->flash_price_cents,
		      (long long)si->alloc_stock, si->status, detail, strlen(detail),
		      challenge_kind_name(si->challenge), si->pow_bits, shards) != FS_OK ||
	    kv_append(kv, "PEXPIREAT %s %lld", meta, expire) != FS_OK)
		return FS_ERR;
	/* the sale rules (kv_guard.h); an unsharded item's address count, whose
	 * TTL follows the meta's (a sharded one counts on its first tag, ipa) */
	kv_shard_key(ipn, si->aid, si->iid, k, "ipn");
	g = kv_guard_rules_append(kv, meta, shards == 1 ? ipn : NULL, &si->rules, expire);
	if (g == FS_ERR)
		return FS_ERR;
	n += g;
	if (with_stock) {
		/* NX: a warmup during the sale must not hand out sold units again */
		if (kv_append(kv, "SET %s %lld NX PXAT %lld", stock,
			      (long long)kv_shard_split(si->db_stock, shards, k), expire) != FS_OK)
			return FS_ERR;
		n++;
	}
	if (kv_append(kv, "EXEC") != FS_OK)
		return FS_ERR;
	return multi_replies(kv, n, what);
}

int
kv_sale_put(struct kv *kv, const struct sale_item *si, int with_stock)
{
	long long expire = (long long)(si->end_ms + SALE_KEY_GRACE_MS);
	int shards = si->shards >= 1 && si->shards <= KV_SHARD_MAX ? si->shards : 1;

	/* keys of a sale long over would expire at once: writing them is moot */
	if (expire <= fs_now_ms())
		return FS_OK;
	kv_shard_note(si->aid, si->iid, shards);
	/* every shard has the meta its reservations check (window, status) */
	for (int k = 0; k < shards; k++)
		if (put_shard(kv, si, shards, k, with_stock, expire) != FS_OK)
			return FS_ERR;
	return FS_OK;
}

int
kv_sale_buyer(struct kv *kv, int64_t aid, int64_t iid, int64_t uid, int64_t *oid)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc = 0, shards = kv_shard_count(kv, aid, iid);

	if (shards == FS_ERR)
		return FS_ERR;
	kv_shard_key(key, aid, iid, kv_shard_home(uid, shards), "buyers");
	rep = kv_cmd(kv, "HGET %s %" PRId64, key, uid);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING && fs_parse_u63(rep->str, oid) == FS_OK)
		rc = 1;
	freeReplyObject(rep);
	return rc;
}

int
kv_sale_meta_exists(struct kv *kv, int64_t aid, int64_t iid)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int rc;

	kv_item_key(key, aid, iid, "meta");
	rep = kv_cmd(kv, "EXISTS %s", key);
	if (rep == NULL) {
		log_err("EXISTS %s: %s", key, kv->errstr);
		return FS_ERR;
	}
	if (rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer > 0;
	else {
		log_err("EXISTS %s: unexpected reply type %d", key, rep->type);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

/* A sharded item's view: the stock is the sum of its shards'. */
static int
view_shards(struct kv *kv, int64_t aid, int64_t iid, struct kv_sale_view *v)
{
	int shards = kv_shard_count(kv, aid, iid), warm;
	int64_t queued;

	if (shards == FS_ERR)
		return FS_ERR;
	if (shards == 1)
		return FS_OK;
	if (kv_shard_totals(kv, aid, iid, shards, &warm, &v->stock, &queued, NULL) != FS_OK) {
		free(v->detail);
		memset(v, 0, sizeof(*v));
		return FS_ERR;
	}
	v->stock_known = warm;
	return FS_OK;
}

int
kv_sale_view(struct kv *kv, int64_t aid, int64_t iid, struct kv_sale_view *v)
{
	char meta[KV_KEY_MAX], skey[KV_KEY_MAX];
	redisReply *m = NULL, *s = NULL;
	int rc = FS_ERR;

	memset(v, 0, sizeof(*v));
	kv_item_key(meta, aid, iid, "meta");
	kv_item_key(skey, aid, iid, "stock");
	if (kv_append(kv, "HMGET %s start end status detail challenge pow_bits", meta) != FS_OK ||
	    kv_append(kv, "GET %s", skey) != FS_OK)
		return FS_ERR;
	m = kv_reply(kv);
	s = m ? kv_reply(kv) : NULL;
	if (m == NULL || s == NULL)
		goto out;
	rc = FS_OK;
	if (s->type == REDIS_REPLY_STRING) {
		v->stock_known = 1;
		v->stock = strtoll(s->str, NULL, 10);
	}
	if (m->type != REDIS_REPLY_ARRAY || m->elements != 6)
		goto out;
	for (int i = 0; i < 4; i++)
		if (m->element[i]->type != REDIS_REPLY_STRING)
			goto out;
	v->start_ms = strtoll(m->element[0]->str, NULL, 10);
	v->end_ms = strtoll(m->element[1]->str, NULL, 10);
	snprintf(v->status, sizeof(v->status), "%s", m->element[2]->str);
	v->detail_len = m->element[3]->len;
	v->detail = mem_alloc(v->detail_len + 1);
	memcpy(v->detail, m->element[3]->str, v->detail_len);
	v->detail[v->detail_len] = '\0';
	v->meta = 1;
	/* a meta written before challenges existed has none */
	if (m->element[4]->type == REDIS_REPLY_STRING && m->element[5]->type == REDIS_REPLY_STRING) {
		v->challenge = challenge_kind_parse(m->element[4]->str);
		v->challenge = v->challenge < 0 ? CHALLENGE_NONE : v->challenge;
		v->pow_bits = (int)strtol(m->element[5]->str, NULL, 10);
	}
out:
	if (m)
		freeReplyObject(m);
	if (s)
		freeReplyObject(s);
	return rc == FS_OK ? view_shards(kv, aid, iid, v) : rc;
}
