/*
 * kv_rain.c: the Redis side of a red-packet rain (layout in kv_rain.h): the
 * grab script, the warmup's load, the journal and the reads.
 */
#include "kv_rain.h"
#include "fs.h"
#include "kv.h"
#include "kv_cluster.h"
#include "kv_journal.h"
#include "log.h"
#include "mem.h"
#include "sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 500
#define LOAD_TTL_MS (10 * 60 * 1000)

static void
rain_key(char buf[KV_KEY_MAX], int64_t rid, const char *suffix)
{
	snprintf(buf, KV_KEY_MAX, "fs:{r%" PRId64 "}:%s", rid, suffix);
}

/* KEYS: meta packets grabbers banned journal pending  ARGV: uid rid
 * Returns {0, "grab amount created"} for a packet taken now, {-4, the same
 * of the packet the user holds}, or {refusal}. The journal line is the one
 * rain_line_encode writes. */
static struct kv_script grab_script = {"rain_grab",
	"local m = redis.call('HMGET', KEYS[1], 'start', 'end')\n"
	"if not m[1] or not m[2] then return {-6} end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"if now < tonumber(m[1]) then return {-1} end\n"
	"if now >= tonumber(m[2]) then return {-2} end\n"
	"if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return {-3} end\n"
	"local g = redis.call('HGET', KEYS[3], ARGV[1])\n"
	"if g then return {-4, g} end\n"
	"local p = redis.call('LPOP', KEYS[2])\n"
	"if not p then return {-5} end\n"
	"local sp = string.find(p, ' ', 1, true)\n"
	"local gid, amt = string.sub(p, 1, sp - 1), string.sub(p, sp + 1)\n"
	"local v = gid .. ' ' .. amt .. ' ' .. now\n"
	"redis.call('HSET', KEYS[3], ARGV[1], v)\n"
	"redis.call('HSET', KEYS[5], gid, 'R ' .. gid .. ' ' .. ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. amt .. ' ' .. now)\n"
	"redis.call('ZADD', KEYS[6], now, gid)\n"
	"redis.call('HINCRBY', KEYS[1], 'grabbed', 1)\n"
	"redis.call('HINCRBY', KEYS[1], 'grabbed_cents', amt)\n"
	"return {0, v}\n",
	""};

/* KEYS: meta packets grabbers load_packets load_grabbers
 * ARGV: start end total packets expire_at grabbed grabbed_cents
 * Puts a warmup's loaded keys in place unless the rain is warm already;
 * users Redis knows as holders stay. 1 loaded, 0 warm already. */
static struct kv_script load_script = {"rain_load",
	"if redis.call('EXISTS', KEYS[1]) == 1 then\n"
	"  redis.call('DEL', KEYS[4], KEYS[5])\n"
	"  return 0\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[4]) == 1 then\n"
	"  redis.call('RENAME', KEYS[4], KEYS[2])\n"
	"  redis.call('PEXPIREAT', KEYS[2], ARGV[5])\n"
	"else redis.call('DEL', KEYS[2]) end\n"
	"local g = redis.call('HGETALL', KEYS[5])\n"
	"for i = 1, #g, 2 do redis.call('HSETNX', KEYS[3], g[i], g[i + 1]) end\n"
	"redis.call('DEL', KEYS[5])\n"
	"redis.call('HSETNX', KEYS[3], '0', '-')\n"
	"redis.call('PEXPIREAT', KEYS[3], ARGV[5])\n"
	"redis.call('HSET', KEYS[1], 'start', ARGV[1], 'end', ARGV[2], 'total', ARGV[3],\n"
	"  'packets', ARGV[4], 'grabbed', ARGV[6], 'grabbed_cents', ARGV[7])\n"
	"redis.call('PEXPIREAT', KEYS[1], ARGV[5])\n"
	"return 1\n",
	""};

/* "grab amount created" of a grabbers value into g. FS_OK or FS_ERR. */
static int
held_parse(const char *s, int64_t rid, int64_t uid, struct rain_grab *g)
{
	long long a, b, c;

	if (sscanf(s, "%lld %lld %lld", &a, &b, &c) != 3 || a <= 0)
		return FS_ERR;
	g->grab_id = a;
	g->amount_cents = b;
	g->created_ms = c;
	g->rain_id = rid;
	g->user_id = uid;
	return FS_OK;
}

/* After a lost reply: the user's packet, if the grabbers hash has one. */
static enum rain_grab_result
grab_settle(struct kv *kv, int64_t rid, int64_t uid, struct rain_grab *g)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	enum rain_grab_result res = RAIN_GRAB_DOWN;

	rain_key(key, rid, "grabbers");
	rep = kv_cmd(kv, "HGET %s %" PRId64, key, uid);
	if (rep && rep->type == REDIS_REPLY_STRING && held_parse(rep->str, rid, uid, g) == FS_OK)
		res = RAIN_GRAB_OK;
	if (rep)
		freeReplyObject(rep);
	log_warn("rain %" PRId64 " user %" PRId64 ": reply to the grab lost; %s", rid, uid,
		 res == RAIN_GRAB_OK ? "the user holds a packet" : "no packet found");
	return res;
}

static enum rain_grab_result
grab_result(const redisReply *rep, int64_t rid, int64_t uid, struct rain_grab *g)
{
	long long v;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		log_err("EVALSHA rain_grab rain=%" PRId64 ": %s", rid,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		return RAIN_GRAB_DOWN;
	}
	v = rep->element[0]->integer;
	if ((v == 0 || v == -4) &&
	    (rep->elements != 2 || rep->element[1]->type != REDIS_REPLY_STRING ||
	     held_parse(rep->element[1]->str, rid, uid, g) != FS_OK))
		return RAIN_GRAB_DOWN;
	switch (v) {
	case 0: return RAIN_GRAB_OK;
	case -1: return RAIN_GRAB_NOT_STARTED;
	case -2: return RAIN_GRAB_ENDED;
	case -3: return RAIN_GRAB_BANNED;
	case -4: return RAIN_GRAB_DUPLICATE;
	case -5: return RAIN_GRAB_EMPTY;
	case -6: return RAIN_GRAB_NOT_WARM;
	default: return RAIN_GRAB_DOWN;
	}
}

enum rain_grab_result
kv_rain_grab(struct kv *kv, int64_t rid, int64_t uid, struct rain_grab *g)
{
	static const char *const sfx[] = {"meta", "packets", "grabbers", "banned", "journal", "pending"};
	char keys[6][KV_KEY_MAX], suid[24], srid[24];
	const char *argv[8];
	redisReply *rep;
	enum rain_grab_result res;

	for (int i = 0; i < 6; i++) {
		rain_key(keys[i], rid, sfx[i]);
		argv[i] = keys[i];
	}
	snprintf(suid, sizeof(suid), "%" PRId64, uid);
	snprintf(srid, sizeof(srid), "%" PRId64, rid);
	argv[6] = suid;
	argv[7] = srid;
	/* not idempotent (a second run pops no packet but answers duplicate):
	 * a lost reply is settled by asking, never by sending it again */
	rep = kv_eval(kv, &grab_script, 6, 8, argv, NULL);
	if (rep == NULL)
		return kv->maybe_ran ? grab_settle(kv, rid, uid, g) : RAIN_GRAB_DOWN;
	res = grab_result(rep, rid, uid, g);
	freeReplyObject(rep);
	return res;
}

int
kv_rain_wait(struct kv *kv, int64_t rid, int replicas, int ms)
{
	char key[KV_KEY_MAX];

	rain_key(key, rid, "journal");
	return kv_cluster_wait(kv, key, replicas, ms);
}

/* RPUSH key "id amount"... or HSET key uid "grab amount created"... in
 * chunks; the first command also gives key its TTL. */
static int
load_chunks(struct kv *kv, const char *key, const struct kv_rain_load *l, int hash)
{
	static char vals[2 * CHUNK][64];
	const char *argv[2 + 2 * CHUNK];
	int total = hash ? l->nheld : l->n;

	for (int i = 0; i < total; i += CHUNK) {
		int m = total - i < CHUNK ? total - i : CHUNK, argc = 2;

		argv[0] = hash ? "HSET" : "RPUSH";
		argv[1] = key;
		for (int k = 0; k < m; k++) {
			const struct rain_grab *h = hash ? &l->held[i + k] : NULL;

			if (hash) {
				snprintf(vals[2 * k], sizeof(vals[0]), "%" PRId64, h->user_id);
				snprintf(vals[2 * k + 1], sizeof(vals[0]), "%" PRId64 " %" PRId64 " %" PRId64,
					 h->grab_id, h->amount_cents, h->created_ms);
				argv[argc++] = vals[2 * k];
			} else {
				snprintf(vals[2 * k + 1], sizeof(vals[0]), "%" PRId64 " %" PRId64,
					 l->ids[i + k], l->amounts[i + k]);
			}
			argv[argc++] = vals[2 * k + 1];
		}
		if (kv_take_ok(kv_cmdargv(kv, argc, argv, NULL), "rain load") != FS_OK ||
		    (i == 0 && kv_take_ok(kv_cmd(kv, "PEXPIRE %s %d", key, LOAD_TTL_MS), "rain load") != FS_OK))
			return FS_ERR;
	}
	return FS_OK;
}

int
kv_rain_put(struct kv *kv, const struct kv_rain_load *l)
{
	char keys[5][KV_KEY_MAX], sfx[2][48], a[7][24];
	const char *argv[12];
	unsigned char rnd[8];
	long long v;
	int64_t expire = l->end_ms + SALE_KEY_GRACE_MS;

	if (expire <= fs_now_ms())
		return 0; /* over: its keys would expire at once */
	if (fs_random_bytes(rnd, sizeof(rnd)) != FS_OK)
		return FS_ERR;
	/* a key of this warmup's own, so two warmups never mix their lists */
	snprintf(sfx[0], sizeof(sfx[0]), "load:%02x%02x%02x%02x%02x%02x%02x%02x:p", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(sfx[1], sizeof(sfx[1]), "%.*sg", (int)strlen(sfx[0]) - 1, sfx[0]);
	rain_key(keys[0], l->rid, "meta");
	rain_key(keys[1], l->rid, "packets");
	rain_key(keys[2], l->rid, "grabbers");
	rain_key(keys[3], l->rid, sfx[0]);
	rain_key(keys[4], l->rid, sfx[1]);
	if (load_chunks(kv, keys[3], l, 0) != FS_OK || load_chunks(kv, keys[4], l, 1) != FS_OK)
		return FS_ERR;
	snprintf(a[0], 24, "%" PRId64, l->start_ms);
	snprintf(a[1], 24, "%" PRId64, l->end_ms);
	snprintf(a[2], 24, "%" PRId64, l->total_cents);
	snprintf(a[3], 24, "%" PRId64, l->packets);
	snprintf(a[4], 24, "%" PRId64, expire);
	snprintf(a[5], 24, "%" PRId64, l->grabbed);
	snprintf(a[6], 24, "%" PRId64, l->grabbed_cents);
	for (int i = 0; i < 5; i++)
		argv[i] = keys[i];
	for (int i = 0; i < 7; i++)
		argv[5 + i] = a[i];
	if (kv_take_int(kv_eval_idempotent(kv, &load_script, 5, 12, argv, NULL), &v) != FS_OK)
		return FS_ERR;
	return v == 1;
}

int
kv_rain_warm(struct kv *kv, int64_t rid)
{
	char key[KV_KEY_MAX];
	long long n;

	rain_key(key, rid, "meta");
	if (kv_take_int(kv_cmd(kv, "EXISTS %s", key), &n) != FS_OK)
		return FS_ERR;
	return n > 0;
}

static int64_t
field_int(const redisReply *rep, size_t i, int *missing)
{
	if (i >= rep->elements || rep->element[i]->type != REDIS_REPLY_STRING) {
		*missing = 1;
		return 0;
	}
	return strtoll(rep->element[i]->str, NULL, 10);
}

int
kv_rain_view(struct kv *kv, int64_t rid, struct kv_rain_view *v)
{
	char meta[KV_KEY_MAX], packets[KV_KEY_MAX];
	redisReply *m = NULL, *l = NULL;
	int rc = FS_ERR, missing = 0;

	rain_key(meta, rid, "meta");
	rain_key(packets, rid, "packets");
	if (kv_append(kv, "HMGET %s start end grabbed grabbed_cents", meta) != FS_OK ||
	    kv_append(kv, "LLEN %s", packets) != FS_OK)
		return FS_ERR;
	m = kv_reply(kv);
	l = m ? kv_reply(kv) : NULL;
	if (m == NULL || l == NULL || m->type != REDIS_REPLY_ARRAY || l->type != REDIS_REPLY_INTEGER)
		goto out;
	v->start_ms = field_int(m, 0, &missing);
	v->end_ms = field_int(m, 1, &missing);
	v->grabbed = field_int(m, 2, &missing);
	v->grabbed_cents = field_int(m, 3, &missing);
	v->left = l->integer;
	rc = !missing;
out:
	if (m)
		freeReplyObject(m);
	if (l)
		freeReplyObject(l);
	return rc;
}

int
kv_rain_journal(struct kv *kv, int64_t rid, struct rain_grab **out)
{
	char key[KV_KEY_MAX];
	redisReply *rep;
	int n = 0;

	*out = NULL;
	rain_key(key, rid, "journal");
	rep = kv_cmd(kv, "HVALS %s", key);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	*out = mem_calloc(rep->elements + 1, sizeof(**out));
	for (size_t i = 0; i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    rain_line_decode(rep->element[i]->str, rep->element[i]->len, &(*out)[n]) == FS_OK)
			n++;
	freeReplyObject(rep);
	return n;
}

/* kv_journal_scan's take for grabs: decodes into the next slot of due. */
struct due_grabs {
	struct rain_grab *out;
	int *n;
};

static int
take_grab(const char *line, size_t len, void *ctx)
{
	struct due_grabs *d = ctx;

	if (rain_line_decode(line, len, &d->out[*d->n]) != FS_OK)
		return FS_ERR;
	(*d->n)++;
	return FS_OK;
}

int
kv_rain_due(struct kv *kv, int64_t rid, int64_t before_ms, int max, struct rain_grab *out, int *n)
{
	char pending[KV_KEY_MAX], journal[KV_KEY_MAX];
	struct due_grabs d = {out, n};

	*n = 0;
	rain_key(pending, rid, "pending");
	rain_key(journal, rid, "journal");
	return kv_journal_scan(kv, pending, journal, before_ms, max, take_grab, &d);
}

int
kv_rain_journal_done(struct kv *kv, const struct rain_grab *g, int n)
{
	static char ids[CHUNK][24];
	const char *argv[2 + CHUNK];
	char journal[KV_KEY_MAX], pending[KV_KEY_MAX];
	int queued = 0, broke = 0;

	/* one HDEL and one ZREM per run of grabs of one rain */
	for (int i = 0; i < n;) {
		int m = 0;

		rain_key(journal, g[i].rain_id, "journal");
		rain_key(pending, g[i].rain_id, "pending");
		for (int k = i; k < n && m < CHUNK && g[k].rain_id == g[i].rain_id; k++, m++) {
			snprintf(ids[m], sizeof(ids[m]), "%" PRId64, g[k].grab_id);
			argv[2 + m] = ids[m];
		}
		argv[0] = "HDEL";
		argv[1] = journal;
		if (kv_appendargv(kv, 2 + m, argv, NULL) != FS_OK) {
			broke = 1;
			break;
		}
		queued++;
		argv[0] = "ZREM";
		argv[1] = pending;
		if (kv_appendargv(kv, 2 + m, argv, NULL) != FS_OK) {
			broke = 1;
			break;
		}
		queued++;
		i += m;
	}
	if (kv_replies(kv, queued, "rain journal done") != FS_OK || broke)
		return FS_ERR;
	return FS_OK;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The members (or fields) of key as sorted positive integers. */
static int
id_set(struct kv *kv, const char *cmd, const char *key, int64_t **out, int *n)
{
	redisReply *rep = kv_cmd(kv, "%s %s", cmd, key);

	*out = NULL;
	*n = 0;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	*out = mem_calloc(rep->elements + 1, sizeof(int64_t));
	for (size_t i = 0; i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    fs_parse_u63(rep->element[i]->str, &(*out)[*n]) == FS_OK)
			(*n)++;
	freeReplyObject(rep);
	qsort(*out, (size_t)*n, sizeof(int64_t), cmp_i64);
	return FS_OK;
}

int
kv_rain_members(struct kv *kv, int64_t rid, int64_t **held, int *nheld, int64_t **banned,
		int *nbanned)
{
	char g[KV_KEY_MAX], b[KV_KEY_MAX];

	rain_key(g, rid, "grabbers");
	rain_key(b, rid, "banned");
	*banned = NULL;
	if (id_set(kv, "HKEYS", g, held, nheld) != FS_OK)
		return FS_ERR;
	if (id_set(kv, "SMEMBERS", b, banned, nbanned) != FS_OK) {
		free(*held);
		*held = NULL;
		return FS_ERR;
	}
	return FS_OK;
}

/* KEYS: banned meta  ARGV: uid grace_ms */
static struct kv_script ban_script = {"rain_ban",
	"redis.call('SADD', KEYS[1], ARGV[1])\n"
	"local e = redis.call('HGET', KEYS[2], 'end')\n"
	"if e then redis.call('PEXPIREAT', KEYS[1], tonumber(e) + tonumber(ARGV[2]))\n"
	"else redis.call('PEXPIRE', KEYS[1], 86400000) end\n"
	"return 1\n",
	""};

int
kv_rain_ban(struct kv *kv, int64_t rid, int64_t uid)
{
	char keys[2][KV_KEY_MAX], suid[24], grace[24];
	const char *argv[4] = {keys[0], keys[1], suid, grace};

	rain_key(keys[0], rid, "banned");
	rain_key(keys[1], rid, "meta");
	snprintf(suid, sizeof(suid), "%" PRId64, uid);
	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	return kv_take_ok(kv_eval_idempotent(kv, &ban_script, 2, 4, argv, NULL), "EVALSHA rain_ban");
}

int
kv_rain_expire(struct kv *kv, int64_t rid, int64_t keep_ms)
{
	static const char *const sfx[] = {"journal", "pending", "banned"};
	char key[KV_KEY_MAX];

	for (size_t i = 0; i < FS_ARRAY_LEN(sfx); i++) {
		rain_key(key, rid, sfx[i]);
		/* NX: only a key without a TTL gets one */
		if (kv_take_ok(kv_cmd(kv, "PEXPIRE %s %" PRId64 " NX", key, keep_ms), "rain expire") != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}
