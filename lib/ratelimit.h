/*
 * ratelimit.h: fixed-window request counters in Redis (API.md "Rate limits").
 * One Lua script per hit, one round trip: INCR, and PEXPIRE on the first hit
 * of a window. When Redis is down the limiter lets requests through (fail
 * open): the endpoints answer 503 themselves if they need Redis.
 *
 * Keys (outside any item's hash tag; one key per script call):
 *   fs:rl:ip:ADDR       per client address, window 1 s      rate_ip_per_sec
 *   fs:rl:auth:ADDR     login and register, window 60 s     rate_auth_per_ip_per_min
 *   fs:rl:NAME:UID      per user, window 1 s                rate_order_per_user (NAME
 *                       secret: the order secret; order: POST /api/order, counted by
 *                       the reservation script on a single Redis)
 * ADDR is the bucket of clientip.h (IPv6 by /64).
 */
#ifndef FS_RATELIMIT_H
#define FS_RATELIMIT_H

#include <stdint.h>

struct kv;
struct req;

/* Counts one hit on key in a window of window_ms and compares with limit.
 * Returns 1 allowed, 0 over the limit (then *retry_after_s, when not NULL,
 * gets the whole seconds until the window ends, at least 1), FS_ERR when
 * Redis failed. */
int ratelimit_hit(struct kv *kv, const char *key, int64_t limit, int64_t window_ms,
		  int *retry_after_s);

/* The address r is limited by (clientip_pick with REMOTE_ADDR,
 * X-Forwarded-For and trusted_proxies), bucketed. Returns 1 and fills out
 * (48 bytes), or 0 when the request is not limited per address. Also sets
 * r->client_ip to the picked address. */
int ratelimit_client(struct req *r, char out[48]);

/* The per-address limit on everything under /api/: FS_OK to go on, or
 * FS_ERR after answering 429. Costs no Redis call for a trusted proxy
 * without X-Forwarded-For. Uses r->kv, or a connection of its own when the
 * program has none. */
int ratelimit_ip_or_reply(struct req *r);

/* The strict per-address limit of login and register (per minute). */
int ratelimit_auth_or_reply(struct req *r);

/* The per-user limit named name (a short word) at limit hits a second, for
 * r->user_id (set by req_user_or_reply first). FS_OK or FS_ERR (429 sent). */
int ratelimit_user_or_reply(struct req *r, const char *name, int64_t limit);

/* The per-user limit of GET /api/detail/{aid}/{iid}/secret:
 * rate_order_per_user a second, across items: the in-process tier, then the
 * Redis counter. Call after req_user_or_reply. */
int ratelimit_secret_or_reply(struct req *r);

/* The in-process tier of a per-user limit: a fixed table of counters per
 * user and second in this process, so that a user's flood is refused
 * without a Redis call. Each process counts only what it answers, so the
 * exact count across processes stays with Redis (fs:rl:NAME:UID, or the
 * reservation script for orders); this tier only ever refuses a user who is
 * over the limit in this process alone. Users sharing a slot take it over
 * from each other (the count then starts again: lenient, never strict). */
#define RATELIMIT_LOCAL_SLOTS 4096

struct ratelimit_local {
	struct {
		int64_t uid;
		int64_t second;
		int64_t count;
	} slot[RATELIMIT_LOCAL_SLOTS];
};

/* Counts one hit of uid at now_ms in t. 1 allowed, 0 over limit (then
 * *retry_after_s, when not NULL, gets 1: the window is a second). */
int ratelimit_local_hit(struct ratelimit_local *t, int64_t uid, int64_t limit, int64_t now_ms,
			int *retry_after_s);

/* The same for r->user_id at limit a second (0: no limit): FS_OK to go on,
 * FS_ERR after answering 429 with Retry-After. */
int ratelimit_local_or_reply(struct req *r, struct ratelimit_local *t, int64_t limit);

#endif
