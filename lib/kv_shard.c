/*
 * kv_shard.c: sharded stock (kv_shard.h, docs/SHARDS.md): the shard tags,
 * each process's cache of an item's shard count, the transfer of units
 * from a donor shard to an empty home shard, and the reads reconcile's
 * rebuild and the stats make over every shard.
 */
#include "kv_shard.h"
#include "fs.h"
#include "kv_slot.h"
#include "sale.h"
#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_SLOTS 1024
#define KEEP_MS (24 * 3600 * 1000)

/* item -> shard count; item, shard -> tag salt. Both direct-mapped, filled
 * on a miss; the push hub's stats thread shares them with its main loop. */
static struct { int64_t aid, iid; int shards; } counts[CACHE_SLOTS];
static struct { int64_t aid, iid; int k; unsigned salt; } salts[4 * CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned
item_hash(int64_t aid, int64_t iid, int k)
{
	uint64_t h = (uint64_t)aid * 0x9E3779B97F4A7C15ULL ^ (uint64_t)iid * 0xC2B2AE3D27D4EB4FULL ^
		     (uint64_t)k * 0x165667B19E3779F9ULL;

	return (unsigned)(h >> 40);
}

void
kv_shard_note(int64_t aid, int64_t iid, int shards)
{
	unsigned i = item_hash(aid, iid, 0) % CACHE_SLOTS;

	if (shards < 1 || shards > KV_SHARD_MAX)
		shards = 1;
	pthread_mutex_lock(&cache_lock);
	counts[i].aid = aid;
	counts[i].iid = iid;
	counts[i].shards = shards;
	pthread_mutex_unlock(&cache_lock);
}

int
kv_shard_count(struct kv *kv, int64_t aid, int64_t iid)
{
	unsigned i = item_hash(aid, iid, 0) % CACHE_SLOTS;
	char meta[KV_KEY_MAX];
	redisReply *rep;
	int n = 0;

	pthread_mutex_lock(&cache_lock);
	if (counts[i].aid == aid && counts[i].iid == iid)
		n = counts[i].shards;
	pthread_mutex_unlock(&cache_lock);
	if (n > 0)
		return n;
	kv_item_key(meta, aid, iid, "meta");
	rep = kv_cmd(kv, "HGET %s shards", meta);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	n = 1;
	if (rep->type == REDIS_REPLY_STRING) {
		n = atoi(rep->str);
		/* known for good: an activity's items never change once sold */
		kv_shard_note(aid, iid, n);
		n = n >= 1 && n <= KV_SHARD_MAX ? n : 1;
	}
	freeReplyObject(rep);
	return n;
}

int
kv_shard_home(int64_t uid, int shards)
{
	return shards > 1 ? (int)((uint64_t)uid % (uint64_t)shards) : 0;
}

/* Redis's three-master layout (redis-cli --cluster create): 0-5460,
 * 5461-10922, 10923-16383. Shard k aims at third (t0 + k) mod 3, lap k / 3
 * picks one sixth of it, so shards get distinct slots. */
static int
slot_third(unsigned slot)
{
	return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2;
}

static int
fits(unsigned slot, unsigned slot0, int k)
{
	static const unsigned first[3] = {0, 5461, 10923}, width[3] = {5461, 5462, 5461};
	int t = (slot_third(slot0) + k) % 3, lap = k / 3;

	if (slot == slot0 || slot_third(slot) != t)
		return 0;
	return (int)((slot - first[t]) * 6 / width[t]) == lap;
}

static int
tag_write(char *buf, size_t cap, int64_t aid, int64_t iid, int k, unsigned salt)
{
	return snprintf(buf, cap, "%" PRId64 ":%" PRId64 ":%d:%u", aid, iid, k, salt);
}

static unsigned
salt_of(int64_t aid, int64_t iid, int k)
{
	unsigned i = item_hash(aid, iid, k) % FS_ARRAY_LEN(salts), slot0, salt = 0;
	char tag[80];
	int n, found = 0;

	pthread_mutex_lock(&cache_lock);
	if (salts[i].aid == aid && salts[i].iid == iid && salts[i].k == k) {
		salt = salts[i].salt;
		found = 1;
	}
	pthread_mutex_unlock(&cache_lock);
	if (found)
		return salt;
	n = snprintf(tag, sizeof(tag), "%" PRId64 ":%" PRId64, aid, iid);
	slot0 = kv_slot_crc16(tag, (size_t)n) % KV_SLOTS;
	/* about one salt in 18 fits; the bound is never reached in practice */
	for (salt = 0; salt < 100000; salt++) {
		n = tag_write(tag, sizeof(tag), aid, iid, k, salt);
		if (fits(kv_slot_crc16(tag, (size_t)n) % KV_SLOTS, slot0, k))
			break;
	}
	pthread_mutex_lock(&cache_lock);
	salts[i].aid = aid;
	salts[i].iid = iid;
	salts[i].k = k;
	salts[i].salt = salt;
	pthread_mutex_unlock(&cache_lock);
	return salt;
}

void
kv_shard_tag(char *buf, size_t cap, int64_t aid, int64_t iid, int k)
{
	if (k <= 0)
		snprintf(buf, cap, "%" PRId64 ":%" PRId64, aid, iid);
	else
		tag_write(buf, cap, aid, iid, k, salt_of(aid, iid, k));
}

void
kv_shard_key(char buf[KV_KEY_MAX], int64_t aid, int64_t iid, int k, const char *suffix)
{
	char tag[80];

	if (k <= 0) {
		kv_item_key(buf, aid, iid, suffix);
		return;
	}
	tag_write(tag, sizeof(tag), aid, iid, k, salt_of(aid, iid, k));
	snprintf(buf, KV_KEY_MAX, "fs:{%s}:%s", tag, suffix);
}

int
kv_shard_of(struct kv *kv, const struct order *o, int *shards)
{
	int n = kv_shard_count(kv, o->activity_id, o->item_id);

	if (n == FS_ERR)
		return FS_ERR;
	if (shards)
		*shards = n;
	return kv_shard_home(o->user_id, n);
}

int64_t
kv_shard_split(int64_t db_stock, int shards, int k)
{
	if (shards <= 1)
		return db_stock;
	return db_stock / shards + (k < db_stock % shards ? 1 : 0);
}

/* KEYS: stock lent meta  ARGV: tid qty home now_ms grace_ms
 * Takes qty units when the shard has them and records the transfer. Run
 * again for the same id it changes nothing. 1 taken, 0 too few. */
static struct kv_script take_script = {"shard_take",
	"if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end\n"
	"local s = tonumber(redis.call('GET', KEYS[1]) or '-1')\n"
	"if s < tonumber(ARGV[2]) then return 0 end\n"
	"redis.call('DECRBY', KEYS[1], ARGV[2])\n"
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])\n"
	"if redis.call('PTTL', KEYS[2]) == -1 then\n"
	"  local e = redis.call('HGET', KEYS[3], 'end')\n"
	"  if e then redis.call('PEXPIREAT', KEYS[2], tonumber(e) + tonumber(ARGV[5]))\n"
	"  else redis.call('PEXPIRE', KEYS[2], 86400000) end\n"
	"end\n"
	"return 1\n",
	""};

/* KEYS: stock borrowed meta  ARGV: tid qty grace_ms
 * Credits a transfer once: an id already in borrowed was credited or voided
 * (reconcile gave the units back to the donor). 1 credited, 0 not. */
static struct kv_script credit_script = {"shard_credit",
	"if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end\n"
	"if redis.call('PTTL', KEYS[2]) == -1 then\n"
	"  local e = redis.call('HGET', KEYS[3], 'end')\n"
	"  if e then redis.call('PEXPIREAT', KEYS[2], tonumber(e) + tonumber(ARGV[3]))\n"
	"  else redis.call('PEXPIRE', KEYS[2], 86400000) end\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[2]) end\n"
	"return 1\n",
	""};

/* KEYS: stock lent  ARGV: tid give_back
 * Forgets a transfer, giving its units back to the donor when give_back is
 * 1 (only once: the entry goes with it). 1 forgotten, 0 not there. */
static struct kv_script untake_script = {"shard_untake",
	"local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"if not v then return 0 end\n"
	"redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"if ARGV[2] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then\n"
	"  redis.call('INCRBY', KEYS[1], tonumber(string.match(v, '^(%d+)')))\n"
	"end\n"
	"return 1\n",
	""};

/* KEYS: stock journal lent  Returns {has, stock, journal units, lent units}. */
static struct kv_script own_script = {"shard_own",
	"local s = redis.call('GET', KEYS[1])\n"
	"local units, lent = 0, 0\n"
	"local j = redis.call('HGETALL', KEYS[2])\n"
	"for i = 2, #j, 2 do\n"
	"  local f = {}\n"
	"  for w in string.gmatch(j[i], '%S+') do f[#f + 1] = w end\n"
	"  if #f == 7 and f[1] == j[i - 1] and tonumber(f[5]) then units = units + tonumber(f[5]) end\n"
	"end\n"
	"local l = redis.call('HVALS', KEYS[3])\n"
	"for _, v in ipairs(l) do lent = lent + (tonumber(string.match(v, '^(%d+)')) or 0) end\n"
	"return {s and 1 or 0, tonumber(s or '0'), units, lent}\n",
	""};

static int
run_int(struct kv *kv, struct kv_script *sc, int nkeys, int argc, const char **argv,
	long long *v)
{
	redisReply *rep = kv_eval_idempotent(kv, sc, nkeys, argc, argv, NULL);

	if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
		log_err("EVALSHA %s: %s", sc->name, rep->str);
	return kv_take_int(rep, v);
}

/* Forgets transfer tid on donor, giving its units back when give_back. */
static int
untake(struct kv *kv, int64_t aid, int64_t iid, int donor, const char *tid, int give_back)
{
	char stock[KV_KEY_MAX], lent[KV_KEY_MAX];
	const char *argv[4] = {stock, lent, tid, give_back ? "1" : "0"};
	long long v;

	kv_shard_key(stock, aid, iid, donor, "stock");
	kv_shard_key(lent, aid, iid, donor, "lent");
	return run_int(kv, &untake_script, 2, 4, argv, &v);
}

/* Credits transfer tid of qty units to shard home: 1, 0 (voided), FS_ERR;
 * *sent is 0 when the script surely never ran. */
static int
credit(struct kv *kv, int64_t aid, int64_t iid, int home, const char *tid, const char *qty,
       int *sent)
{
	char keys[3][KV_KEY_MAX], grace[16];
	const char *argv[6] = {keys[0], keys[1], keys[2], tid, qty, grace};
	long long v;

	kv_shard_key(keys[0], aid, iid, home, "stock");
	kv_shard_key(keys[1], aid, iid, home, "borrowed");
	kv_shard_key(keys[2], aid, iid, home, "meta");
	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	if (run_int(kv, &credit_script, 3, 6, argv, &v) != FS_OK) {
		*sent = kv->maybe_ran || !kv_down(kv);
		return FS_ERR;
	}
	return v == 1;
}

int
kv_shard_borrow(struct kv *kv, const struct order *o, int donor, int home)
{
	static unsigned attempts; /* this process's borrows, for the transfer ids */
	char keys[3][KV_KEY_MAX], tid[64], qty[24], shome[16], now[24], grace[16];
	const char *argv[8] = {keys[0], keys[1], keys[2], tid, qty, shome, now, grace};
	long long v;
	int got, sent = 1;

	kv_shard_key(keys[0], o->activity_id, o->item_id, donor, "stock");
	kv_shard_key(keys[1], o->activity_id, o->item_id, donor, "lent");
	kv_shard_key(keys[2], o->activity_id, o->item_id, donor, "meta");
	/* one id per attempt, not per order: a retried reservation of the same
	 * order (stale blocklist copy, warmup) that borrows from this donor
	 * again must be credited again, not refused as a transfer seen before */
	snprintf(tid, sizeof(tid), "%" PRId64 ":%d:%ld.%u", o->id, donor, (long)getpid(),
		 __atomic_add_fetch(&attempts, 1, __ATOMIC_RELAXED));
	snprintf(qty, sizeof(qty), "%" PRId64, o->quantity);
	snprintf(shome, sizeof(shome), "%d", home);
	snprintf(now, sizeof(now), "%" PRId64, fs_now_ms());
	snprintf(grace, sizeof(grace), "%d", SALE_KEY_GRACE_MS);
	if (run_int(kv, &take_script, 3, 8, argv, &v) != FS_OK)
		return FS_ERR; /* a take in doubt stays recorded: reconcile settles it */
	if (v != 1)
		return 0;
	got = credit(kv, o->activity_id, o->item_id, home, tid, qty, &sent);
	if (got == 1) {
		/* settled: the donor need not remember it (reconcile would) */
		(void)untake(kv, o->activity_id, o->item_id, donor, tid, 0);
		return 1;
	}
	/* never credited, and never will be by us: back to the donor */
	if (got == FS_ERR && !sent)
		(void)untake(kv, o->activity_id, o->item_id, donor, tid, 1);
	return got;
}

int
kv_shard_totals(struct kv *kv, int64_t aid, int64_t iid, int shards, int *warm, int64_t *left,
		int64_t *queued, int64_t *each)
{
	redisReply *r;
	int rc = FS_OK, got = 0;

	*warm = 0;
	*left = *queued = 0;
	for (int k = 0; k < shards; k++) {
		char stock[KV_KEY_MAX], pending[KV_KEY_MAX];

		kv_shard_key(stock, aid, iid, k, "stock");
		kv_shard_key(pending, aid, iid, k, "pending");
		if (kv_append(kv, "GET %s", stock) != FS_OK || kv_append(kv, "ZCARD %s", pending) != FS_OK)
			break;
		got += 2;
	}
	if (got < 2 * shards)
		rc = FS_ERR;
	for (int i = 0; i < got; i++) {
		r = kv_reply(kv);
		if (r == NULL) {
			rc = FS_ERR;
			continue;
		}
		if (i % 2 == 0 && each)
			each[i / 2] = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
		if (i % 2 == 0 && r->type == REDIS_REPLY_STRING) {
			*warm |= i == 0;
			*left += strtoll(r->str, NULL, 10);
		} else if (i % 2 == 1 && r->type == REDIS_REPLY_INTEGER) {
			*queued += r->integer;
		} else if (i % 2 == 1 || r->type == REDIS_REPLY_ERROR) {
			rc = FS_ERR;
		}
		freeReplyObject(r);
	}
	return rc;
}

/* Settles the transfers lent out of shard d (kv_shard_loans_settle). */
static int
settle_shard(struct kv *kv, int64_t aid, int64_t iid, int d, int shards)
{
	char lent[KV_KEY_MAX];
	redisReply *rep;
	int rc = FS_OK;

	kv_shard_key(lent, aid, iid, d, "lent");
	rep = kv_cmd(kv, "HGETALL %s", lent);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	for (size_t i = 0; i + 1 < rep->elements && rc == FS_OK; i += 2) {
		const char *tid = rep->element[i]->str, *v = rep->element[i + 1]->str;
		char borrowed[KV_KEY_MAX];
		int home = 0;
		redisReply *s;

		if (sscanf(v ? v : "", "%*d %d", &home) != 1 || home < 0 || home >= shards)
			home = 0;
		kv_shard_key(borrowed, aid, iid, home, "borrowed");
		/* in borrowed from now on: a credit still on its way is refused */
		s = kv_cmd(kv, "SADD %s %s", borrowed, tid);
		if (s == NULL || s->type != REDIS_REPLY_INTEGER) {
			rc = FS_ERR;
		} else {
			rc = untake(kv, aid, iid, d, tid, s->integer == 1);
			if (rc == FS_OK && s->integer == 1)
				log_info("item %" PRId64 ":%" PRId64 ": transfer %s voided, back to shard %d",
					 aid, iid, tid, d);
		}
		if (s)
			freeReplyObject(s);
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_shard_loans_settle(struct kv *kv, int64_t aid, int64_t iid, int shards)
{
	for (int d = 0; d < shards; d++)
		if (settle_shard(kv, aid, iid, d, shards) != FS_OK)
			return FS_ERR;
	return FS_OK;
}

static int64_t
elem_int(const redisReply *rep, size_t i)
{
	return rep->element[i]->type == REDIS_REPLY_INTEGER ? rep->element[i]->integer : 0;
}

int
kv_shard_own(struct kv *kv, int64_t aid, int64_t iid, int k, int *has, int64_t *stock,
	     int64_t *units, int64_t *lent)
{
	char keys[3][KV_KEY_MAX];
	const char *argv[3] = {keys[0], keys[1], keys[2]};
	redisReply *r;
	int rc = FS_ERR;

	kv_shard_key(keys[0], aid, iid, k, "stock");
	kv_shard_key(keys[1], aid, iid, k, "journal");
	kv_shard_key(keys[2], aid, iid, k, "lent");
	r = kv_eval(kv, &own_script, 3, 3, argv, NULL);
	if (r == NULL)
		return FS_ERR;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
		*has = elem_int(r, 0) == 1;
		*stock = elem_int(r, 1);
		*units = elem_int(r, 2);
		*lent = elem_int(r, 3);
		rc = FS_OK;
	} else {
		log_err("EVALSHA shard_own: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected");
	}
	freeReplyObject(r);
	return rc;
}
