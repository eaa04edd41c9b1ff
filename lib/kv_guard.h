/*
 * kv_guard.h: the Redis side of the rules against scalpers
 * (docs/GUARD-RULES.md). Every key is in the item's hash tag, so the
 * reservation script (kv_sale.c) checks and counts them in its one trip:
 *   fs:{A:I}:meta  fields age (min_account_age_s), ipmax (max_orders_per_ip),
 *                  written with the sale by kv_sale_put; blv, the blocklist
 *                  version this item has seen (only ever raised)
 *   fs:{A:I}:ipn   hash client address bucket -> accepted orders, TTL as the
 *                  meta (end + SALE_KEY_GRACE_MS); made by kv_sale_put with
 *                  a placeholder field and its TTL (meta field ipt 1)
 *   fs:{A:I}:ipa   the same for a sharded item (docs/SHARDS.md): counted
 *                  once for the item on its first tag by kv_guard_ip_claim
 *                  before the reservation, as each shard's own ipn would let
 *                  the address have the cap again on every shard
 *   fs:{A:I}:ipo   hash order id -> address bucket of those claims (the
 *                  claim is idempotent by order id), TTL as ipa
 */
#ifndef FS_KV_GUARD_H
#define FS_KV_GUARD_H

#include <stdint.h>

#include "kv.h"
#include "sale.h"

/* a version that passes every check (a copy that could not be refreshed) */
#define KV_GUARD_VER_ANY INT64_MAX

/* What the reservation script needs of the guard: its key and its last
 * three arguments (address bucket, "" when not counted; blocked flag; the
 * version of the caller's blocklist copy). */
struct kv_guard_args {
	char key[KV_KEY_MAX];
	char ip[48];
	char blocked[2];
	char ver[24];
};

void kv_guard_args_init(struct kv_guard_args *g, int64_t aid, int64_t iid, const char *ip,
			int blocked, int64_t ver);

/* The placeholder field of ipn: it makes the hash, with its TTL, at warmup
 * (never an address bucket, which the script never counts empty or named so) */
#define KV_GUARD_IPN_TTL_FIELD "_ttl"

/* Queues "HSET meta age .. ipmax .." on kv's pipeline and, with ipn_key
 * (the item's address count, NULL for none: a sharded item counts in ipa)
 * and a cap, the hash's placeholder and its PEXPIREAT expire_at, with
 * ipt 1 in meta: the reservation script then never sets that TTL itself.
 * Returns the number of replies queued, or FS_ERR. */
int kv_guard_rules_append(struct kv *kv, const char *meta_key, const char *ipn_key,
			  const struct sale_rules *r, long long expire_at);

/* Raises the blv field of each of the n items (pairs aid, iid) whose meta
 * hash exists to at least ver. FS_OK or FS_ERR (Redis failed). */
int kv_guard_raise(struct kv *kv, const int64_t *pairs, int n, int64_t ver);

/* A sharded item's per-address cap: takes a slot of address bucket ip for
 * order oid on the item's first tag, before the reservation on the home
 * shard. 1 taken (now, or before for the same order), 0 the address has
 * max_orders_per_ip, 2 the item has no cap (nothing taken), FS_ERR Redis
 * failed (a lost reply may have taken it: the slot then stays taken). */
int kv_guard_ip_claim(struct kv *kv, int64_t aid, int64_t iid, const char *ip, int64_t oid);
/* Gives back the slot order oid took (its reservation was refused).
 * FS_OK or FS_ERR (the slot stays taken: the cap errs on the safe side). */
int kv_guard_ip_unclaim(struct kv *kv, int64_t aid, int64_t iid, const char *ip, int64_t oid);

/* What the order secret checks read, in one round trip. */
struct kv_guard_view {
	int warm;             /* the meta hash holds the sale */
	struct sale_rules rules;
	int64_t ver;          /* blv */
	int64_t ip_orders;    /* accepted orders of the address bucket */
};

/* Reads the view of (aid, iid) for address bucket ip (NULL or "": none).
 * FS_OK or FS_ERR (Redis down). */
int kv_guard_view(struct kv *kv, int64_t aid, int64_t iid, const char *ip,
		  struct kv_guard_view *v);

#endif
