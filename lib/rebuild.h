/*
 * rebuild.h: putting one activity item's Redis state back in line with MySQL
 * (the truth) and the Redis journal (reserved orders MySQL does not have
 * yet), after a Redis crash, a lost AOF tail or a failover: rebuild.c holds
 * the MySQL side and the order of the steps, kv_journal.c the Redis scripts.
 * Everything works on one item tag {aid:iid} (one Redis Cluster slot).
 *
 * What the rebuild makes true, atomically against orders placed meanwhile:
 *   Redis stock  = MySQL stock - units of journal entries MySQL lacks
 *   journal      = only entries MySQL lacks (the others are dropped, whatever
 *                  their age, and their status records written from MySQL)
 *   buyers       = every live MySQL order's user + every journal entry's user
 *                  (refilled when the Redis server changed, see below)
 *   released     = every closed, cancelled or failed order (MySQL counted its
 *                  units back already, so a late release must not add them)
 * MySQL's activity_items row of the item is locked (SELECT ... FOR UPDATE)
 * while the Redis side is computed: no handler, cancel or expiry can change
 * the item's MySQL stock meanwhile, so MySQL and the journal are read at
 * one instant.
 */
#ifndef FS_REBUILD_H
#define FS_REBUILD_H

#include <stdint.h>

#include "order.h"

struct db;
struct kv;

/* Ended sales' keys live this long once reconciled (a line no handler
 * could read stays for an operator to see, then goes). */
#define REBUILD_ENDED_KEEP_MS (24LL * 3600 * 1000)

/* One activity item as reconcile lists it from MySQL. */
struct rebuild_item {
	int64_t aid, iid;
	int64_t end_ms;  /* sale end; its Redis keys live to end + SALE_KEY_GRACE_MS */
	int warmed;      /* the activity was put into Redis once */
};

/* What one rebuild found and did. */
struct rebuild_report {
	int64_t alloc;         /* units given to the sale */
	int64_t mysql_stock;   /* MySQL's unsold units */
	int64_t mysql_live;    /* units of unpaid and paid orders in MySQL */
	int64_t pending_units; /* units of journal entries MySQL lacks */
	int64_t pending;       /* such entries */
	int64_t junk;          /* journal lines that are no order line */
	int64_t confirmed;     /* entries dropped: MySQL had their orders */
	int have_stock;        /* Redis holds a stock counter (after the rebuild) */
	int had_stock;         /* ... and held one before */
	int64_t stock_before;  /* Redis stock before (when had_stock) */
	int64_t stock;         /* Redis stock after (when have_stock) */
	int live;              /* the sale's Redis keys are still alive */
	long buyers;           /* buyers refilled from MySQL, -1 when not needed */
};

/* --- rebuild.c --- */

/* Rebuilds the item's Redis state as above. The buyers hash is refilled from
 * MySQL only when the Redis server holding the item is not the one that
 * last did it (its run_id changed: a restart or a failover), as that is
 * the only way buyers get lost. FS_OK and *rep, or FS_ERR when a store
 * failed (nothing half-done is wrong: every step is idempotent). */
int rebuild_item(struct kv *kv, struct db *d, const struct rebuild_item *it,
		 struct rebuild_report *rep);

/* --- kv_journal.c --- */

/* The journal's entries that are order lines, decoded into *out (caller
 * frees; NULL when none); *junk counts the other fields. Returns the count,
 * or FS_ERR when Redis is down. */
int kv_journal_read(struct kv *kv, int64_t aid, int64_t iid, struct order **out, long *junk);

/* Marks n orders released (MySQL gave their units back already) without
 * giving units to the stock counter, and frees the buyer slots that still
 * name them. keep_at: the released set lives at least until then (ms). */
int kv_journal_mark_returned(struct kv *kv, int64_t aid, int64_t iid, int64_t keep_at,
			     const struct order *o, int n);

/* Drops n journal entries (and their pending index) by order id. */
int kv_journal_drop(struct kv *kv, int64_t aid, int64_t iid, const struct order *o, int n);

/* The atomic core: indexes every journal entry in pending (and forgets
 * index entries without a line), counts the units the journal holds, and
 * while the sale is alive (Redis clock before expire_at) sets the stock
 * counter to mysql_stock minus them (creating it with TTL expire_at only
 * when create) and records each entry's buyer if the slot is free. *same
 * is 1 when this Redis server did the last full rebuild of the item;
 * runid (41 bytes) gets its run_id. Fills the counts and stock fields of
 * rep. FS_OK or FS_ERR. */
int kv_journal_rebuild(struct kv *kv, int64_t aid, int64_t iid, int64_t mysql_stock,
		       int64_t expire_at, int create, struct rebuild_report *rep, int *same,
		       char runid[41]);

/* Records n live MySQL orders as buyers (uids[i] -> ids[i]) unless the
 * order was released meanwhile; the hash lives until expire_at. */
int kv_journal_buyers_put(struct kv *kv, int64_t aid, int64_t iid, int64_t expire_at,
			  const int64_t *uids, const int64_t *ids, int n);

/* Notes that Redis server runid rebuilt the item fully (only if it still
 * runs: a restart meanwhile leaves the item due again). */
int kv_journal_rebuilt(struct kv *kv, int64_t aid, int64_t iid, const char *runid,
		       int64_t expire_at);

/* Gives every key of an ended item that has no TTL one of keep_ms. */
int kv_journal_expire(struct kv *kv, int64_t aid, int64_t iid, int64_t keep_ms);

/* Reconcile's watermark: every sale that ended before it has been drained
 * by a complete pass (journal empty), so passes look only at later ones.
 * 1 and *ms, 0 none (a fresh or a crashed Redis: look at every sale),
 * FS_ERR down. _set only moves it forward. */
int kv_journal_watermark_get(struct kv *kv, int64_t *ms);
int kv_journal_watermark_set(struct kv *kv, int64_t ms);

#endif
