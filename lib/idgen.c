/*
 * idgen.c: snowflake ids with a worker id leased from Redis (see idgen.h).
 * A lease is the key fs:snowflake:w:<worker> holding its owner,
 * "host:pid:nonce", for idgen_lease_s seconds (default LEASE_S); it is
 * renewed while ids are made, so no two live processes ever hold the same
 * worker id, however many have come and gone before. A pid alone would not
 * do: two hosts (or containers) run processes of the same pid, and the
 * random nonce tells apart even those with the same host name.
 */
#include "idgen.h"
#include "conf.h"
#include "conf_keys.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "snowflake.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LEASE_S 600

static struct snowflake gen;
static int worker = -1;
static int64_t lease_until_ms;
static int64_t lease_s;        /* the lease's length; renewed at half of it */
static char owner[128];        /* host:pid:nonce */

/* Fills owner once per process. */
static void
owner_init(void)
{
	char host[64];
	unsigned char nonce[8];
	char hex[2 * sizeof(nonce) + 1];

	if (owner[0])
		return;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		die("getrandom for the worker lease failed");
	for (size_t i = 0; i < sizeof(nonce); i++)
		snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
	snprintf(owner, sizeof(owner), "%s:%d:%s", host, (int)getpid(), hex);
	lease_s = conf_keys_int(CONF_IDGEN_LEASE_S);
	if (lease_s < 2)
		lease_s = 2;
}

const char *
idgen_owner(void)
{
	owner_init();
	return owner;
}

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
	owner_init();
	for (int k = 0; k <= SNOWFLAKE_MAX_WORKER; k++) {
		int w = (int)((start + k) % (SNOWFLAKE_MAX_WORKER + 1));
		int ok;

		rep = kv_cmd(kv, "SET fs:snowflake:w:%d %s NX EX %lld", w, owner, (long long)lease_s);
		if (rep == NULL)
			return FS_ERR;
		ok = rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
		if (ok) {
			worker = w;
			lease_until_ms = fs_now_ms() + lease_s * 1000;
			snowflake_init(&gen, w);
			return FS_OK;
		}
	}
	log_err("all %d snowflake worker ids are leased", SNOWFLAKE_MAX_WORKER + 1);
	return FS_ERR;
}

/* KEYS: lease  ARGV: owner ttl_s. Renews a lease that is ours, takes back
 * one that lapsed unclaimed; 0 when another owner holds it now. Idempotent. */
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
	char key[48], ttl[24];
	const char *argv[3] = {key, owner, ttl};
	redisReply *rep;
	int ours;

	snprintf(key, sizeof(key), "fs:snowflake:w:%d", worker);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)lease_s);
	rep = kv_eval_idempotent(kv, &renew_script, 1, 3, argv, NULL);
	if (rep == NULL)
		/* Redis down: the lease still holds until it runs out */
		return fs_now_ms() < lease_until_ms ? FS_OK : FS_ERR;
	ours = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!ours) {
		log_warn("snowflake worker id %d was taken over; leasing another", worker);
		return lease_acquire(kv);
	}
	lease_until_ms = fs_now_ms() + lease_s * 1000;
	return FS_OK;
}

int
idgen_next(struct kv *kv, int64_t *id)
{
	if (worker < 0 && lease_acquire(kv) != FS_OK)
		return FS_ERR;
	if (lease_until_ms - fs_now_ms() < lease_s * 500 && lease_renew(kv) != FS_OK)
		return FS_ERR;
	*id = snowflake_next(&gen);
	return FS_OK;
}
