/*
 * idgen.c: snowflake ids with a worker id leased from Redis (see idgen.h).
 * A lease is the key fs:snowflake:w:<worker> holding our pid for LEASE_S;
 * it is renewed while ids are made, so no two live processes ever hold the
 * same worker id, however many have come and gone before.
 */
#include "idgen.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "snowflake.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LEASE_S 600
/* renew when less than this is left */
#define RENEW_MS (300 * 1000)

static struct snowflake gen;
static int worker = -1;
static int64_t lease_until_ms;

/* Takes the first free worker id, starting from a rotating counter so that
 * processes starting together try different ones first. */
static int
lease_acquire(struct kv *kv)
{
	redisReply *rep = kv_cmd(kv, "INCR fs:snowflake:next");
	long long start;

	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	start = rep->integer;
	freeReplyObject(rep);
	for (int k = 0; k <= SNOWFLAKE_MAX_WORKER; k++) {
		int w = (int)((start + k) % (SNOWFLAKE_MAX_WORKER + 1));
		int ok;

		rep = kv_cmd(kv, "SET fs:snowflake:w:%d %d NX EX %d", w, (int)getpid(), LEASE_S);
		if (rep == NULL)
			return FS_ERR;
		ok = rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
		if (ok) {
			worker = w;
			lease_until_ms = fs_now_ms() + LEASE_S * 1000LL;
			snowflake_init(&gen, w);
			return FS_OK;
		}
	}
	log_err("all %d snowflake worker ids are leased", SNOWFLAKE_MAX_WORKER + 1);
	return FS_ERR;
}

/* KEYS: lease  ARGV: pid ttl_s. Renews a lease that is ours, takes back one
 * that lapsed unclaimed; 0 when another process holds it now. */
static struct kv_script renew_script = {"lease_renew",
	"local v = redis.call('GET', KEYS[1])\n"
	"if v and v ~= ARGV[1] then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
	"return 1\n",
	""};

/* Renews the lease; if it lapsed and another process took the id, takes a
 * new one before any id is made with the old. */
static int
lease_renew(struct kv *kv)
{
	char key[48], pid[16], ttl[16];
	const char *argv[3] = {key, pid, ttl};
	redisReply *rep;
	int ours;

	snprintf(key, sizeof(key), "fs:snowflake:w:%d", worker);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(ttl, sizeof(ttl), "%d", LEASE_S);
	rep = kv_eval(kv, &renew_script, 1, 3, argv, NULL);
	if (rep == NULL)
		/* Redis down: the lease still holds until it runs out */
		return fs_now_ms() < lease_until_ms ? FS_OK : FS_ERR;
	ours = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!ours) {
		log_warn("snowflake worker id %d was taken over; leasing another", worker);
		return lease_acquire(kv);
	}
	lease_until_ms = fs_now_ms() + LEASE_S * 1000LL;
	return FS_OK;
}

int
idgen_next(struct kv *kv, int64_t *id)
{
	if (worker < 0 && lease_acquire(kv) != FS_OK)
		return FS_ERR;
	if (lease_until_ms - fs_now_ms() < RENEW_MS && lease_renew(kv) != FS_OK)
		return FS_ERR;
	*id = snowflake_next(&gen);
	return FS_OK;
}
