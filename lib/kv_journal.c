/*
 * kv_journal.c: the Redis side of reconcile's rebuild of one activity item
 * (rebuild.h): reading the journal, dropping confirmed entries, marking
 * returned orders, the atomic stock rebuild, refilling buyers, expiring an
 * ended item's keys, and reconcile's watermark. Every script touches the
 * keys of one item tag only (one Cluster slot); all of them are idempotent,
 * so a resend after a dropped connection is harmless.
 */
#include "kv_journal.h"
#include "fs.h"
#include "kv.h"
#include "kv_shard.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pairs of arguments per script call: big enough for few round trips,
 * small enough that one call never holds Redis for long */
#define CHUNK 500

#define WATERMARK_KEY "fs:reconcile:watermark"

/* KEYS: released buyers  ARGV: keep_at id1 uid1 id2 uid2 ...
 * The units of these orders are back in MySQL's stock, which the rebuild
 * copies: marking them released keeps a late kv_sale_release from adding
 * them a second time. */
static const char mark_returned_src[] =
	"for i = 2, #ARGV, 2 do\n"
	"  redis.call('SADD', KEYS[1], ARGV[i])\n"
	"  if redis.call('HGET', KEYS[2], ARGV[i + 1]) == ARGV[i] then\n"
	"    redis.call('HDEL', KEYS[2], ARGV[i + 1])\n"
	"  end\n"
	"end\n"
	"if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1])\n"
	"else redis.call('PEXPIREAT', KEYS[1], ARGV[1], 'GT') end\n"
	"return 1\n";

/* KEYS: buyers released  ARGV: expire_at uid1 id1 uid2 id2 ...
 * A live MySQL order's user is a buyer, unless the order was released
 * since MySQL was read (the release wrote its mark first). */
static const char buyers_put_src[] =
	"for i = 2, #ARGV, 2 do\n"
	"  if redis.call('SISMEMBER', KEYS[2], ARGV[i + 1]) == 0 then\n"
	"    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
	"  end\n"
	"end\n"
	"if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end\n"
	"return 1\n";

/* KEYS: stock journal pending buyers rebuilt
 * ARGV: mysql_stock expire_at create
 * Returns {had_stock, stock_before, have_stock, stock, units, entries, junk,
 * same_server, run_id}. An order line is "id uid aid iid qty amount created"
 * (order.h); a field whose line is not one is junk, counted, left alone. */
static struct kv_script rebuild_script = {"rebuild",
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local alive = now < tonumber(ARGV[2])\n"
	"local j = redis.call('HGETALL', KEYS[2])\n"
	"local units, n, junk = 0, 0, 0\n"
	"for i = 1, #j, 2 do\n"
	"  local f = {}\n"
	"  for w in string.gmatch(j[i + 1], '%S+') do f[#f + 1] = w end\n"
	"  if #f == 7 and f[1] == j[i] and tonumber(f[5]) and tonumber(f[7]) then\n"
	"    units = units + tonumber(f[5])\n"
	"    n = n + 1\n"
	"    redis.call('ZADD', KEYS[3], 'NX', f[7], j[i])\n"
	"    if alive then redis.call('HSETNX', KEYS[4], f[2], j[i]) end\n"
	"  else\n"
	"    junk = junk + 1\n"
	"  end\n"
	"end\n"
	"for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do\n"
	"  if redis.call('HEXISTS', KEYS[2], id) == 0 then redis.call('ZREM', KEYS[3], id) end\n"
	"end\n"
	"local old = redis.call('GET', KEYS[1])\n"
	"local new = tonumber(ARGV[1]) - units\n"
	"local have = 0\n"
	"if alive and old then\n"
	"  redis.call('SET', KEYS[1], new, 'KEEPTTL')\n"
	"  have = 1\n"
	"elseif alive and ARGV[3] == '1' then\n"
	"  redis.call('SET', KEYS[1], new, 'PXAT', ARGV[2])\n"
	"  have = 1\n"
	"elseif old then\n"
	"  new = tonumber(old)\n"
	"  have = 1\n"
	"end\n"
	"if alive and redis.call('PTTL', KEYS[4]) == -1 then\n"
	"  redis.call('PEXPIREAT', KEYS[4], ARGV[2])\n"
	"end\n"
	"local runid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''\n"
	"local same = 0\n"
	"if redis.call('GET', KEYS[5]) == runid then same = 1 end\n"
	"return {old and 1 or 0, tonumber(old or '0'), have, new, units, n, junk, same, runid}\n",
	""};

/* KEYS: rebuilt  ARGV: run_id expire_at */
static struct kv_script rebuilt_script = {"rebuilt",
	"if string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') ~= ARGV[1] then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])\n"
	"return 1\n",
	""};

/* KEYS: every key of the item  ARGV: keep_ms */
static struct kv_script expire_script = {"expire_item",
	"local n = 0\n"
	"for _, k in ipairs(KEYS) do\n"
	"  if redis.call('PTTL', k) == -1 then redis.call('PEXPIRE', k, ARGV[1]); n = n + 1 end\n"
	"end\n"
	"return n\n",
	""};

/* KEYS: watermark  ARGV: ms. Only forward. */
static struct kv_script watermark_script = {"watermark",
	"local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
	"if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end\n"
	"return 1\n",
	""};

/* The item keys a rebuild knows (kv.h's layout). */
static const char *const item_keys[] = {"meta", "stock", "buyers", "banned", "journal",
					"pending", "released", "rebuilt", "lent", "borrowed", "rl"};

/* EVAL of src with nkeys keys and fixed arguments, then pairs a[i], b[i]
 * for i in [0, n): EVAL, not EVALSHA, because the argument count is not
 * bounded like kv_eval's (Redis caches the compiled script by its SHA). */
static int
eval_pairs(struct kv *kv, const char *what, const char *src, int nkeys, const char **fixed,
	   int nfixed, const int64_t *a, const int64_t *b, int n)
{
	static char nums[2 * CHUNK][24];
	const char *argv[3 + 16 + 2 * CHUNK];
	char nk[8];
	int argc = 0;

	if (nfixed > 16 || n > CHUNK)
		die("eval_pairs %s: %d fixed, %d pairs", what, nfixed, n);
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[argc++] = "EVAL";
	argv[argc++] = src;
	argv[argc++] = nk;
	for (int i = 0; i < nfixed; i++)
		argv[argc++] = fixed[i];
	for (int i = 0; i < n; i++) {
		snprintf(nums[2 * i], sizeof(nums[0]), "%" PRId64, a[i]);
		snprintf(nums[2 * i + 1], sizeof(nums[0]), "%" PRId64, b[i]);
		argv[argc++] = nums[2 * i];
		argv[argc++] = nums[2 * i + 1];
	}
	return kv_take_ok(kv_cmdargv(kv, argc, argv, NULL), what);
}

int
kv_journal_read(struct kv *kv, int64_t aid, int64_t iid, int shard, struct order **out, long *junk)
{
	char journal[KV_KEY_MAX];
	redisReply *rep;
	int n = 0;

	*out = NULL;
	*junk = 0;
	kv_shard_key(journal, aid, iid, shard, "journal");
	rep = kv_cmd(kv, "HGETALL %s", journal);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type != REDIS_REPLY_ARRAY) {
		log_err("HGETALL %s: %s", journal, rep->type == REDIS_REPLY_ERROR ? rep->str : "not an array");
		freeReplyObject(rep);
		return FS_ERR;
	}
	if (rep->elements >= 2)
		*out = mem_calloc(rep->elements / 2, sizeof(**out));
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		redisReply *line = rep->element[i + 1];

		if (line->type == REDIS_REPLY_STRING &&
		    order_decode(line->str, line->len, &(*out)[n]) == FS_OK &&
		    (*out)[n].activity_id == aid && (*out)[n].item_id == iid)
			n++;
		else
			(*junk)++;
	}
	freeReplyObject(rep);
	if (n == 0) {
		free(*out);
		*out = NULL;
	}
	return n;
}

int
kv_journal_mark_returned(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t keep_at,
			 const struct order *o, int n)
{
	char released[KV_KEY_MAX], buyers[KV_KEY_MAX], keep[24];
	const char *fixed[] = {released, buyers, keep};
	int64_t ids[CHUNK], uids[CHUNK];

	kv_shard_key(released, aid, iid, shard, "released");
	kv_shard_key(buyers, aid, iid, shard, "buyers");
	snprintf(keep, sizeof(keep), "%" PRId64, keep_at);
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;

		for (int k = 0; k < m; k++) {
			ids[k] = o[i + k].id;
			uids[k] = o[i + k].user_id;
		}
		if (eval_pairs(kv, "mark returned", mark_returned_src, 2, fixed, 3, ids, uids, m) != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

int
kv_journal_drop(struct kv *kv, int64_t aid, int64_t iid, int shard, const struct order *o, int n)
{
	char journal[KV_KEY_MAX], pending[KV_KEY_MAX];
	static char ids[CHUNK][24];
	const char *argv[2 + CHUNK];

	kv_shard_key(journal, aid, iid, shard, "journal");
	kv_shard_key(pending, aid, iid, shard, "pending");
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;

		for (int k = 0; k < m; k++) {
			snprintf(ids[k], sizeof(ids[k]), "%" PRId64, o[i + k].id);
			argv[2 + k] = ids[k];
		}
		argv[0] = "HDEL";
		argv[1] = journal;
		if (kv_appendargv(kv, 2 + m, argv, NULL) != FS_OK)
			return FS_ERR;
		argv[0] = "ZREM";
		argv[1] = pending;
		if (kv_appendargv(kv, 2 + m, argv, NULL) != FS_OK) {
			kv_replies(kv, 1, "journal drop");
			return FS_ERR;
		}
		if (kv_replies(kv, 2, "journal drop") != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

static int64_t
elem_int(const redisReply *rep, size_t i)
{
	return rep->element[i]->type == REDIS_REPLY_INTEGER ? rep->element[i]->integer : 0;
}

int
kv_journal_rebuild(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t mysql_stock,
		   int64_t expire_at, int create, struct rebuild_report *rep, int *same,
		   char runid[41])
{
	char keys[5][KV_KEY_MAX], stock[24], exp[24];
	const char *argv[8] = {keys[0], keys[1], keys[2], keys[3], keys[4], stock, exp,
			       create ? "1" : "0"};
	redisReply *r;
	int rc = FS_ERR;

	kv_shard_key(keys[0], aid, iid, shard, "stock");
	kv_shard_key(keys[1], aid, iid, shard, "journal");
	kv_shard_key(keys[2], aid, iid, shard, "pending");
	kv_shard_key(keys[3], aid, iid, shard, "buyers");
	kv_shard_key(keys[4], aid, iid, shard, "rebuilt");
	snprintf(stock, sizeof(stock), "%" PRId64, mysql_stock);
	snprintf(exp, sizeof(exp), "%" PRId64, expire_at);
	r = kv_eval(kv, &rebuild_script, 5, 8, argv, NULL);
	if (r == NULL)
		return FS_ERR;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 9 &&
	    r->element[8]->type == REDIS_REPLY_STRING) {
		rep->had_stock = elem_int(r, 0) == 1;
		rep->stock_before = elem_int(r, 1);
		rep->have_stock = elem_int(r, 2) == 1;
		rep->stock = elem_int(r, 3);
		rep->pending_units = elem_int(r, 4);
		rep->pending = elem_int(r, 5);
		rep->junk = elem_int(r, 6);
		*same = elem_int(r, 7) == 1;
		snprintf(runid, 41, "%s", r->element[8]->str);
		rc = FS_OK;
	} else {
		log_err("EVALSHA rebuild item=%" PRId64 ":%" PRId64 ": %s", aid, iid,
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	freeReplyObject(r);
	return rc;
}

int
kv_journal_buyers_put(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t expire_at,
		      const int64_t *uids, const int64_t *ids, int n)
{
	char buyers[KV_KEY_MAX], released[KV_KEY_MAX], exp[24];
	const char *fixed[] = {buyers, released, exp};

	kv_shard_key(buyers, aid, iid, shard, "buyers");
	kv_shard_key(released, aid, iid, shard, "released");
	snprintf(exp, sizeof(exp), "%" PRId64, expire_at);
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;

		if (eval_pairs(kv, "buyers put", buyers_put_src, 2, fixed, 3, uids + i, ids + i, m) != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

int
kv_journal_rebuilt(struct kv *kv, int64_t aid, int64_t iid, int shard, const char *runid, int64_t expire_at)
{
	char key[KV_KEY_MAX], exp[24];
	const char *argv[3] = {key, runid, exp};

	kv_shard_key(key, aid, iid, shard, "rebuilt");
	snprintf(exp, sizeof(exp), "%" PRId64, expire_at);
	return kv_take_ok(kv_eval(kv, &rebuilt_script, 1, 3, argv, NULL), "EVALSHA rebuilt");
}

int
kv_journal_expire(struct kv *kv, int64_t aid, int64_t iid, int64_t keep_ms)
{
	char keys[FS_ARRAY_LEN(item_keys)][KV_KEY_MAX], keep[24];
	const char *argv[FS_ARRAY_LEN(item_keys) + 1];
	int n = (int)FS_ARRAY_LEN(item_keys), shards = kv_shard_count(kv, aid, iid);

	if (shards == FS_ERR)
		return FS_ERR;
	snprintf(keep, sizeof(keep), "%" PRId64, keep_ms);
	argv[n] = keep;
	for (int k = 0; k < shards; k++) {
		for (int i = 0; i < n; i++) {
			kv_shard_key(keys[i], aid, iid, k, item_keys[i]);
			argv[i] = keys[i];
		}
		if (kv_take_ok(kv_eval(kv, &expire_script, n, n + 1, argv, NULL),
			       "EVALSHA expire_item") != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

int
kv_journal_watermark_get(struct kv *kv, int64_t *ms)
{
	redisReply *rep = kv_cmd(kv, "GET " WATERMARK_KEY);
	int rc = 0;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING) {
		*ms = strtoll(rep->str, NULL, 10);
		rc = 1;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		log_err("GET " WATERMARK_KEY ": %s", rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_journal_watermark_set(struct kv *kv, int64_t ms)
{
	char v[24];
	const char *argv[2] = {WATERMARK_KEY, v};

	snprintf(v, sizeof(v), "%" PRId64, ms);
	return kv_take_ok(kv_eval(kv, &watermark_script, 1, 2, argv, NULL), "EVALSHA watermark");
}

int
kv_journal_pending_count(struct kv *kv, int64_t aid, int64_t iid, long long *n)
{
	int shards = kv_shard_count(kv, aid, iid);

	*n = 0;
	if (shards == FS_ERR)
		return FS_ERR;
	for (int k = 0; k < shards; k++) {
		char key[KV_KEY_MAX];
		long long m;

		kv_shard_key(key, aid, iid, k, "pending");
		if (kv_take_int(kv_cmd(kv, "ZCARD %s", key), &m) != FS_OK)
			return FS_ERR;
		*n += m;
	}
	return FS_OK;
}

int
kv_journal_scan(struct kv *kv, const char *pending, const char *journal, int64_t before_ms,
		int max, int (*take)(const char *line, size_t len, void *ctx), void *ctx)
{
	redisReply *ids, *line;
	int seen;

	ids = kv_cmd(kv, "ZRANGEBYSCORE %s -inf %" PRId64 " LIMIT 0 %d", pending, before_ms, max);
	if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
		if (ids)
			freeReplyObject(ids);
		return FS_ERR;
	}
	seen = (int)ids->elements;
	for (size_t i = 0; i < ids->elements; i++) {
		const char *id = ids->element[i]->str;

		line = kv_cmd(kv, "HGET %s %s", journal, id);
		if (line == NULL) {
			freeReplyObject(ids);
			return FS_ERR;
		}
		if (line->type != REDIS_REPLY_STRING || take(line->str, line->len, ctx) != FS_OK) {
			/* a pending id without a journal line cannot be
			 * replayed; drop it so it is not retried forever */
			log_err("%s: %s has no journal line", journal, id);
			kv_take_ok(kv_cmd(kv, "ZREM %s %s", pending, id), "ZREM pending");
		}
		freeReplyObject(line);
	}
	freeReplyObject(ids);
	return seen;
}

/* kv_journal_scan's take for orders: decodes into the next slot of due. */
struct due_orders {
	struct order *out;
	int *n;
};

static int
take_order(const char *line, size_t len, void *ctx)
{
	struct due_orders *d = ctx;

	if (order_decode(line, len, &d->out[*d->n]) != FS_OK)
		return FS_ERR;
	(*d->n)++;
	return FS_OK;
}

/* kv_journal_due on shard k: the ids seen, or FS_ERR. */
static int
due_shard(struct kv *kv, int64_t aid, int64_t iid, int k, int64_t before_ms, int max,
	  struct order *out, int *n)
{
	char pending[KV_KEY_MAX], journal[KV_KEY_MAX];
	struct due_orders d = {out, n};

	kv_shard_key(pending, aid, iid, k, "pending");
	kv_shard_key(journal, aid, iid, k, "journal");
	return kv_journal_scan(kv, pending, journal, before_ms, max, take_order, &d);
}

int
kv_journal_due(struct kv *kv, int64_t aid, int64_t iid, int64_t before_ms, int max,
	       struct order *out, int *n)
{
	int shards = kv_shard_count(kv, aid, iid), seen = 0;

	*n = 0;
	if (shards == FS_ERR)
		return FS_ERR;
	/* shard after shard until max ids are seen */
	for (int k = 0; k < shards && seen < max; k++) {
		int m = due_shard(kv, aid, iid, k, before_ms, max - seen, out, n);

		if (m == FS_ERR)
			return FS_ERR;
		seen += m;
	}
	return seen;
}

/* Reads the replies of n HGETs into line[i] (NULL when nil); FS_ERR when
 * any failed (every reply read all the same). */
static int
hget_replies(struct kv *kv, int n, redisReply **line)
{
	int rc = FS_OK;

	for (int i = 0; i < n; i++) {
		line[i] = kv_reply(kv);
		if (line[i] == NULL || line[i]->type == REDIS_REPLY_ERROR)
			rc = FS_ERR;
		if (line[i] != NULL && line[i]->type != REDIS_REPLY_STRING) {
			freeReplyObject(line[i]);
			line[i] = NULL;
		}
	}
	return rc;
}

int
kv_journal_find(struct kv *kv, const struct kv_journal_item *items, int n, int64_t uid,
		int64_t oid, struct order *out, int max)
{
	char key[KV_KEY_MAX];
	redisReply **rep = mem_calloc((size_t)(n > 0 ? n : 1), sizeof(*rep));
	int64_t *ids = mem_calloc((size_t)(n > 0 ? n : 1), sizeof(*ids));
	int found = 0, rc = FS_OK, asked = 0;

	/* without an id: the order each item's buyers hash names for uid */
	for (int i = 0; i < n && oid <= 0 && rc == FS_OK; i++) {
		kv_shard_key(key, items[i].aid, items[i].iid, items[i].home, "buyers");
		rc = kv_append(kv, "HGET %s %" PRId64, key, uid);
		asked += rc == FS_OK;
	}
	if (oid <= 0 && asked > 0 && hget_replies(kv, asked, rep) != FS_OK)
		rc = FS_ERR;
	for (int i = 0; i < n; i++) {
		ids[i] = oid;
		if (oid <= 0 && i < asked && rep[i] != NULL)
			ids[i] = strtoll(rep[i]->str, NULL, 10);
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
		rep[i] = NULL;
	}
	asked = 0;
	for (int i = 0; i < n && rc == FS_OK; i++) {
		kv_shard_key(key, items[i].aid, items[i].iid, items[i].home, "journal");
		/* an item without an order of uid's asks for id 0: nil */
		rc = kv_append(kv, "HGET %s %" PRId64, key, ids[i] > 0 ? ids[i] : 0);
		asked += rc == FS_OK;
	}
	if (asked > 0 && hget_replies(kv, asked, rep) != FS_OK)
		rc = FS_ERR;
	for (int i = 0; i < asked; i++) {
		if (rep[i] != NULL && found < max &&
		    order_decode(rep[i]->str, rep[i]->len, &out[found]) == FS_OK &&
		    out[found].user_id == uid && out[found].id == ids[i] &&
		    out[found].activity_id == items[i].aid && out[found].item_id == items[i].iid) {
			out[found].status = ORDER_QUEUED;
			found++;
		}
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	}
	free(rep);
	free(ids);
	return rc == FS_OK ? found : FS_ERR;
}
