/*
 * ratelimit.c: Redis counters for the per-address and per-user limits
 * (ratelimit.h); the address logic itself is in clientip.c.
 */
#include "ratelimit.h"
#include "clientip.h"
#include "conf.h"
#include "conf_keys.h"
#include "kv.h"
#include "log.h"
#include "reply.h"
#include "req.h"

#include <stdio.h>
#include <string.h>

/* KEYS[1] counter; ARGV[1] window ms. Returns {count, ms left}. A key that
 * lost its expiry (should never happen) gets it back, or it would limit
 * forever. */
static struct kv_script rl_script = {
	"ratelimit",
	"local n = redis.call('INCR', KEYS[1])\n"
	"local ttl = -1\n"
	"if n == 1 then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"  ttl = tonumber(ARGV[1])\n"
	"else\n"
	"  ttl = redis.call('PTTL', KEYS[1])\n"
	"  if ttl < 0 then\n"
	"    redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"    ttl = tonumber(ARGV[1])\n"
	"  end\n"
	"end\n"
	"return {n, ttl}\n",
	{0},
};

/* the limiter's own connection, for programs opened without APP_KV */
static struct kv *rl_kv;

static struct kv *
limiter_kv(struct req *r)
{
	if (r->kv != NULL)
		return r->kv;
	if (rl_kv == NULL)
		rl_kv = kv_open_conf();
	return rl_kv;
}

int
ratelimit_hit(struct kv *kv, const char *key, int64_t limit, int64_t window_ms,
	      int *retry_after_s)
{
	char win[24];
	const char *argv[2];
	redisReply *rep;
	int rc = FS_ERR;

	snprintf(win, sizeof(win), "%lld", (long long)window_ms);
	argv[0] = key;
	argv[1] = win;
	rep = kv_eval(kv, &rl_script, 1, 2, argv, NULL);
	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER) {
		long long n = rep->element[0]->integer, left = rep->element[1]->integer;

		rc = n <= limit ? 1 : 0;
		if (rc == 0 && retry_after_s != NULL) {
			long long s = (left + 999) / 1000;

			*retry_after_s = s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
		}
	} else {
		log_err("EVALSHA ratelimit %s: %s", key,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	}
	freeReplyObject(rep);
	return rc;
}

/* trusted_proxies, parsed once; a malformed list trusts nothing (every
 * request is then limited by its own address) and says so in the log */
static struct cidr rl_nets[CLIENTIP_MAX_CIDRS];
static int rl_nnets = -1;

int
ratelimit_client(struct req *r, char out[48])
{
	char addr[CLIENTIP_LEN];

	if (rl_nnets < 0) {
		const char *list = conf_keys_str(CONF_TRUSTED_PROXIES);

		rl_nnets = clientip_parse_cidrs(list, rl_nets, CLIENTIP_MAX_CIDRS);
		if (rl_nnets < 0) {
			log_err("trusted_proxies \"%s\" is malformed: no proxy is trusted", list);
			rl_nnets = 0;
		}
	}
	if (clientip_pick(req_param(r, "REMOTE_ADDR"), req_param(r, "HTTP_X_FORWARDED_FOR"),
			  rl_nets, rl_nnets, addr) != 1)
		return 0;
	snprintf(r->client_ip, sizeof(r->client_ip), "%s", addr);
	clientip_bucket(addr, out);
	return 1;
}

/* One limit: FS_OK to go on, FS_ERR after the 429. */
static int
limit_or_reply(struct req *r, const char *key, int64_t limit, int64_t window_ms)
{
	int retry = 1, rc;

	if (limit <= 0)
		return FS_OK;
	rc = ratelimit_hit(limiter_kv(r), key, limit, window_ms, &retry);
	if (rc == 0) {
		reply_rate_limited(r, retry);
		return FS_ERR;
	}
	/* rc FS_ERR: Redis is down; fail open rather than refuse everyone */
	return FS_OK;
}

/* The per-client counter "fs:rl:KIND:BUCKET" against the limit of conf
 * key ck per window_ms (off when the limit is 0 or the client has no
 * bucket). */
static int
client_limit_or_reply(struct req *r, const char *kind, enum conf_key ck, int64_t window_ms)
{
	char bucket[CLIENTIP_LEN], key[96];
	int64_t limit = conf_keys_int(ck);

	if (limit <= 0 || !ratelimit_client(r, bucket))
		return FS_OK;
	snprintf(key, sizeof(key), "fs:rl:%s:%s", kind, bucket);
	return limit_or_reply(r, key, limit, window_ms);
}

int
ratelimit_ip_or_reply(struct req *r)
{
	return client_limit_or_reply(r, "ip", CONF_RATE_IP_PER_SEC, 1000);
}

int
ratelimit_auth_or_reply(struct req *r)
{
	return client_limit_or_reply(r, "auth", CONF_RATE_AUTH_PER_IP_PER_MIN, 60000);
}

int
ratelimit_user_or_reply(struct req *r, const char *name, int64_t limit)
{
	char key[96];

	if (r->user_id <= 0)
		return FS_OK;
	snprintf(key, sizeof(key), "fs:rl:%s:%lld", name, (long long)r->user_id);
	return limit_or_reply(r, key, limit, 1000);
}

int
ratelimit_local_hit(struct ratelimit_local *t, int64_t uid, int64_t limit, int64_t now_ms,
		    int *retry_after_s)
{
	uint64_t h = (uint64_t)uid * 0x9E3779B97F4A7C15ULL;
	int64_t second = now_ms / 1000;
	size_t i = (size_t)(h >> 32) % RATELIMIT_LOCAL_SLOTS;

	if (limit <= 0)
		return 1;
	if (t->slot[i].uid != uid || t->slot[i].second != second) {
		t->slot[i].uid = uid;
		t->slot[i].second = second;
		t->slot[i].count = 0;
	}
	if (++t->slot[i].count <= limit)
		return 1;
	if (retry_after_s != NULL)
		*retry_after_s = 1;
	return 0;
}

int
ratelimit_local_or_reply(struct req *r, struct ratelimit_local *t, int64_t limit)
{
	int retry = 1;

	if (r->user_id <= 0 || ratelimit_local_hit(t, r->user_id, limit, fs_now_ms(), &retry))
		return FS_OK;
	reply_rate_limited(r, retry);
	return FS_ERR;
}

int
ratelimit_secret_or_reply(struct req *r)
{
	static struct ratelimit_local secret_rl;
	int64_t limit = conf_keys_int(CONF_RATE_ORDER_PER_USER);

	if (ratelimit_local_or_reply(r, &secret_rl, limit) != FS_OK)
		return FS_ERR;
	return ratelimit_user_or_reply(r, "secret", limit);
}
