/*
 * sale.h: one activity item on sale: how MySQL holds it (sale_db.c), how it is
 * put into Redis (warm.c), and the atomic Redis decisions on it (kv_sale.c).
 * The Redis key layout is in kv.h.
 *
 * The meta hash fs:{A:I}:meta has the fields
 *   start end      sale window, ms
 *   limit          per-user limit (max quantity of one order)
 *   price          flash price in cents
 *   alloc          units given to the sale (fixed)
 *   status         activity status: draft, published or ended
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

struct sale_item {
	int64_t aid, iid;
	int64_t start_ms, end_ms;
	int64_t price_cents;       /* the item's own price */
	int64_t flash_price_cents;
	int64_t per_user_limit;
	int64_t alloc_stock;       /* units given to the sale */
	int64_t db_stock;          /* units MySQL has not sold yet */
	char status[16];           /* activity status */
	char *detail_json;         /* owned; see the meta hash above */
};

void sale_item_cleanup(struct sale_item *si);

/* --- sale_db.c --- */

/* Loads activity item (aid, iid) from MySQL. Returns 1 found, 0 no such
 * activity item, FS_ERR when MySQL failed (db_down tells if it is down). */
int db_sale_item_load(struct db *d, int64_t aid, int64_t iid, struct sale_item *si);
/* Loads every item of activity aid, by item id. Returns the count and sets
 * *out (caller frees with sale_items_free; NULL when 0), or FS_ERR. */
int db_sale_items_load(struct db *d, int64_t aid, struct sale_item **out);
/* Frees n items loaded by db_sale_items_load; v may be NULL. */
void sale_items_free(struct sale_item *v, int n);

/* --- warm.c --- */

/* Writes si's meta hash and, when with_stock, its stock counter (SET NX, so
 * a live counter is never reset) with TTL end + SALE_KEY_GRACE_MS.
 * FS_OK or FS_ERR (Redis down). */
int kv_sale_put(struct kv *kv, const struct sale_item *si, int with_stock);

/* Loads every item of activity aid into Redis (meta and stock) and marks the
 * activity warmed in MySQL. Returns the number of items, 0 when the activity
 * has none or does not exist, FS_ERR on a Redis or MySQL failure. */
int warm_activity(struct kv *kv, struct db *d, int64_t aid);

/* --- kv_sale.c --- */

/* The static part of an item's sale as Redis holds it (meta hash). */
struct sale_meta {
	int64_t start_ms, end_ms, per_user_limit, flash_price_cents, alloc_stock;
	int published; /* status is "published" */
	int ended;     /* status is "ended" (also early, by an operator) */
};

/* Reads the meta hash of (aid, iid). 1 found, 0 absent, FS_ERR Redis down. */
int kv_sale_meta(struct kv *kv, int64_t aid, int64_t iid, struct sale_meta *m);

enum reserve_result {
	RESERVE_OK,
	RESERVE_NOT_STARTED,
	RESERVE_ENDED,
	RESERVE_BANNED,
	RESERVE_DUPLICATE,
	RESERVE_SOLD_OUT,
	RESERVE_NOT_WARM,     /* meta or stock counter missing: warm, then retry */
	RESERVE_RATE_LIMITED,
	RESERVE_DOWN,         /* Redis unreachable: nothing reserved, nor will be */
	RESERVE_UNKNOWN,      /* the reply was lost and Redis could not be asked:
			       * reserved or not, a retry tells (duplicate) */
};

/* The hot-path decision, one Redis round trip: checks the window (Redis
 * clock), the ban list, the buyers hash and the stock; then takes o->quantity
 * units, records the buyer and journals the order line; with_record also
 * writes the queued status record (kv_order_put_queued) in the same round
 * trip, which only a single Redis allows: the record is in the user's slot,
 * not the item's, so on a Cluster pass 0 and write it separately. With
 * with_record, rate_limit > 0 also counts the user's attempts across items
 * (fs:rl:order:UID, the key ratelimit_user_or_reply(r, "order", ...) uses on
 * a Cluster) and refuses past rate_limit a second. *remaining gets the units
 * left after a success (-1: not known), *held (may be NULL) the order id the
 * user already holds after RESERVE_DUPLICATE. When the reply is lost after
 * the script was sent (a timeout), Redis is asked whether it ran: RESERVE_OK
 * or RESERVE_DOWN then say so for good, RESERVE_UNKNOWN when Redis could not
 * be asked either. */
enum reserve_result kv_sale_reserve(struct kv *kv, const struct order *o, int rate_limit,
				    int with_record, int64_t *remaining, int64_t *held);

/* Gives o's units back to Redis exactly once (however often it is called)
 * and frees the user's buyer slot if it still names o. FS_OK or FS_ERR. */
int kv_sale_release(struct kv *kv, const struct order *o);

/* Marks o confirmed by MySQL: drops it from the journal. FS_OK or FS_ERR. */
int kv_sale_journal_done(struct kv *kv, const struct order *o);

/* Writes o's status record (fs:o:{UID}:ID) for the status poll and lists it among
 * the user's orders. A record only moves forward: queued < unpaid < the final
 * states, so a late writer (a queued record after the handler's, an unpaid
 * one after a cancel) never undoes a newer state. FS_OK or FS_ERR. */
int kv_order_put(struct kv *kv, const struct order *o);
/* The same for a new, queued order in one round trip of plain commands
 * (the hot path): written only if no record exists yet. */
int kv_order_put_queued(struct kv *kv, const struct order *o);

/* Tells Redis what MySQL now holds for the n orders, in one pipeline: gives
 * back the units of refused ones (exactly once), writes their status records
 * and drops their journal entries, which go last. FS_OK, or FS_ERR when
 * anything failed: every step is idempotent, so the caller may redo any of
 * them (reconcile does, from the journal). */
int kv_sale_announce(struct kv *kv, const struct order *orders, int n);

/* Reads the status record of user uid's order id: 1 found, 0 absent (or
 * not uid's), FS_ERR down. */
int kv_order_get(struct kv *kv, int64_t uid, int64_t id, struct order *o);

/* The remaining units Redis can sell: 1 and *left, 0 not warm, FS_ERR down. */
int kv_sale_stock(struct kv *kv, int64_t aid, int64_t iid, int64_t *left);

/* Bans user uid from every item of activity aid (items: their ids). */
int kv_sale_ban(struct kv *kv, int64_t aid, const int64_t *iids, int n, int64_t uid);

#endif
