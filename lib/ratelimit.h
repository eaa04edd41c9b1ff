/*
 * ratelimit.h: fixed-window request counters in Redis (API.md "Rate limits").
 * One Lua script per hit, one round trip: INCR, and PEXPIRE on the first hit
 * of a window. When Redis is down the limiter lets requests through (fail
 * open): the endpoints answer 503 themselves if they need Redis.
 *
 * Keys (outside any item's hash tag; one key per script call):
 *   fs:rl:ip:ADDR       per client address, window 1 s      rate_ip_per_sec
 *   fs:rl:auth:ADDR     login and register, window 60 s     rate_auth_per_ip_per_min
 *   fs:rl:NAME:UID      per user, window 1 s                (rate_order_per_user for the secret)
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
 * rate_order_per_user a second. Call after req_user_or_reply. */
int ratelimit_secret_or_reply(struct req *r);

#endif
