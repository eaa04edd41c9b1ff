/*
 * sale.h: the types of one activity item on sale, shared by db_sale.c (how
 * MySQL holds it), kv_sale.c (the meta hash, the stock and the atomic Redis
 * decisions on it) and warm.c (MySQL to Redis).
 * The Redis key layout is in kv.h.
 *
 * The meta hash fs:{A:I}:meta has the fields
 *   start end      sale window, ms
 *   limit          per-user limit (max quantity of one order)
 *   price          flash price in cents
 *   alloc          units given to the sale (fixed)
 *   status         activity status: draft, published or ended
 *   challenge      none, pow or quiz; pow_bits: the pow's zero bits (challenge.h)
 *   detail         JSON object of the static detail fields of API.md:
 *                  activity_id item_id name title description images
 *                  price_cents flash_price_cents per_user_limit start_ms end_ms
 * and lives until end + 5 minutes. fs:{A:I}:stock is written only by a
 * warmup (SET NX: a live counter is never reset) and by the scripts here.
 */
#ifndef FS_SALE_H
#define FS_SALE_H

#include <stdint.h>

#include "order.h"

struct db;
struct kv;

#define SALE_KEY_GRACE_MS (5 * 60 * 1000)

/* An activity's rules against scalpers (docs/GUARD-RULES.md); 0 is off.
 * The meta hash carries them as fields age and ipmax (kv_guard.h). */
struct sale_rules {
	int64_t min_account_age_s;
	int64_t max_orders_per_ip;
};

struct sale_item {
	int64_t aid, iid;
	int64_t start_ms, end_ms;
	int64_t price_cents;       /* the item's own price */
	int64_t flash_price_cents;
	int64_t per_user_limit;
	int64_t alloc_stock;       /* units given to the sale */
	int64_t db_stock;          /* units MySQL has not sold yet */
	int shards;                /* stock shards (kv_shard.h); 0 or 1: one */
	char status[16];           /* activity status */
	char *detail_json;         /* owned; see the meta hash above */
	int challenge, pow_bits;   /* the activity's challenge (enum challenge_kind) */
	struct sale_rules rules;   /* guard_rules_fill (guard.h) */
};

/* One activity item as reconcile lists it from MySQL (db_sale_rebuild_items)
 * for a rebuild (rebuild.h). */
struct rebuild_item {
	int64_t aid, iid;
	int64_t end_ms;  /* sale end; its Redis keys live to end + SALE_KEY_GRACE_MS */
	int warmed;      /* the activity was put into Redis once */
	int shards;      /* stock shards (kv_shard.h), 1 unsharded */
};

#endif
