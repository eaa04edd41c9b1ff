/*
 * kv_sale.h: an item's sale in Redis: the meta hash, the stock counter, the
 * buyers, bans and journal, and the atomic decisions on them (layout in
 * sale.h and kv.h).
 */
#ifndef FS_KV_SALE_H
#define FS_KV_SALE_H

#include <stdint.h>

#include "order.h"
#include "sale.h"

struct kv;
struct kv_guard_args; /* kv_guard.h: the sale rules' part (NULL: none) */

/* Writes si's meta hash and, when with_stock, its stock counter (SET NX, so
 * a live counter is never reset) with TTL end + SALE_KEY_GRACE_MS.
 * FS_OK or FS_ERR (Redis down). */
int kv_sale_put(struct kv *kv, const struct sale_item *si, int with_stock);

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
	RESERVE_GUARD_STALE,  /* the blocklist copy is older than the item's:
			       * read it again (guard_refresh), then retry */
	RESERVE_FORBIDDEN,    /* the address has max_orders_per_ip orders */
};

/* The hot-path decision, one Redis round trip: checks the window (Redis
 * clock), the ban list, the buyers hash and the stock; then takes o->quantity
 * units, records the buyer and journals the order line; with_record also
 * writes the queued status record in the same round trip, which only a
 * single Redis allows: the record is in the user's slot, not the item's, so
 * on a Cluster pass 0 (queued.h finds such an order in its journal). With
 * with_record, rate_limit > 0 also counts the user's attempts across items
 * (fs:rl:order:UID, the key ratelimit_user_or_reply(r, "order", ...) uses on
 * a Cluster) and refuses past rate_limit a second. *remaining gets the units
 * left after a success (-1: not known), *held (may be NULL) the order id the
 * user already holds after RESERVE_DUPLICATE. When the reply is lost after
 * the script was sent (a timeout), Redis is asked whether it ran: RESERVE_OK
 * or RESERVE_DOWN then say so for good, RESERVE_UNKNOWN when Redis could not
 * be asked either. */
/* w (NULL: none): a WAIT for w->replicas (redis_wait_replicas) within
 * w->ms on the node of the reservation, so that a failover cannot lose
 * it; on a Cluster it rides in the same trip as the script. w->acked gets
 * how many replicas acknowledged (FS_ERR: not known), w->ran_us when the
 * script's own reply had come (fs_mono_us; 0 not known): Redis's pace,
 * apart from the replicas'. */
struct kv_sale_wait {
	int replicas, ms;
	int acked;
	int64_t ran_us;
};
enum reserve_result kv_sale_reserve(struct kv *kv, const struct order *o, int rate_limit,
				    int with_record, const struct kv_guard_args *g,
				    struct kv_sale_wait *w, int64_t *remaining, int64_t *held);

/* Gives o's units back to Redis exactly once (however often it is called)
 * and frees the user's buyer slot if it still names o. FS_OK or FS_ERR. */
int kv_sale_release(struct kv *kv, const struct order *o);

/* Marks o confirmed by MySQL: drops it from the journal. FS_OK or FS_ERR. */
int kv_sale_journal_done(struct kv *kv, const struct order *o);

/* Tells Redis what MySQL now holds for the n orders, in one pipeline: gives
 * back the units of refused ones (exactly once), writes their status records
 * and drops their journal entries, which go last. FS_OK, or FS_ERR when
 * anything failed: every step is idempotent, so the caller may redo any of
 * them (reconcile does, from the journal). */
int kv_sale_announce(struct kv *kv, const struct order *orders, int n);

/* The remaining units Redis can sell: 1 and *left, 0 not warm, FS_ERR down. */
int kv_sale_stock(struct kv *kv, int64_t aid, int64_t iid, int64_t *left);

/* Bans user uid from every item of activity aid (items: their ids). */
int kv_sale_ban(struct kv *kv, int64_t aid, const int64_t *iids, int n, int64_t uid);

/* The order id that holds user uid's buyer slot of item (aid, iid): 1 and
 * *oid, 0 none, FS_ERR Redis down. */
int kv_sale_buyer(struct kv *kv, int64_t aid, int64_t iid, int64_t uid, int64_t *oid);

/* 1 when the meta hash of (aid, iid) exists, 0 not, FS_ERR down. */
int kv_sale_meta_exists(struct kv *kv, int64_t aid, int64_t iid);

/* What the item pages read of a sale in Redis: the meta hash's window,
 * status and detail, and the stock counter. */
struct kv_sale_view {
	int meta;              /* the meta hash had all four fields */
	int64_t start_ms, end_ms;
	char status[16];
	char *detail;          /* owned (free); NULL without meta */
	size_t detail_len;
	int stock_known;       /* the stock counter exists */
	int64_t stock;
	int challenge, pow_bits; /* the activity's challenge (challenge.h) */
};

/* Reads the view of (aid, iid) in one round trip. FS_OK (check ->meta and
 * ->stock_known; free ->detail), or FS_ERR when Redis is down. */
int kv_sale_view(struct kv *kv, int64_t aid, int64_t iid, struct kv_sale_view *v);

#endif
