/*
 * kv_journal.h: the Redis scripts on an item's journal, pending index, released set,
 * buyers and stock that rebuild.c and reconcile drive (layout in kv.h).
 */
#ifndef FS_KV_JOURNAL_H
#define FS_KV_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "order.h"
#include "rebuild.h"

struct kv;

/* The journal's entries that are order lines, decoded into *out (caller
 * frees; NULL when none); *junk counts the other fields. Returns the count,
 * or FS_ERR when Redis is down. */
int kv_journal_read(struct kv *kv, int64_t aid, int64_t iid, int shard, struct order **out, long *junk);

/* Marks n orders released (MySQL gave their units back already) without
 * giving units to the stock counter, and frees the buyer slots that still
 * name them. keep_at: the released set lives at least until then (ms). */
int kv_journal_mark_returned(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t keep_at,
			     const struct order *o, int n);

/* Drops n journal entries (and their pending index) by order id. */
int kv_journal_drop(struct kv *kv, int64_t aid, int64_t iid, int shard, const struct order *o, int n);

/* The atomic core: indexes every journal entry in pending (and forgets
 * index entries without a line), counts the units the journal holds, and
 * while the sale is alive (Redis clock before expire_at) sets the stock
 * counter to mysql_stock minus them (creating it with TTL expire_at only
 * when create) and records each entry's buyer if the slot is free. *same
 * is 1 when this Redis server did the last full rebuild of the item;
 * runid (41 bytes) gets its run_id. Fills the counts and stock fields of
 * rep. FS_OK or FS_ERR. */
int kv_journal_rebuild(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t mysql_stock,
		       int64_t expire_at, int create, struct rebuild_report *rep, int *same,
		       char runid[41]);

/* Records n live MySQL orders as buyers (uids[i] -> ids[i]) unless the
 * order was released meanwhile; the hash lives until expire_at. */
int kv_journal_buyers_put(struct kv *kv, int64_t aid, int64_t iid, int shard, int64_t expire_at,
			  const int64_t *uids, const int64_t *ids, int n);

/* Notes that Redis server runid rebuilt the item fully (only if it still
 * runs: a restart meanwhile leaves the item due again). */
int kv_journal_rebuilt(struct kv *kv, int64_t aid, int64_t iid, int shard, const char *runid,
		       int64_t expire_at);

/* Gives every key of an ended item that has no TTL one of keep_ms. */
int kv_journal_expire(struct kv *kv, int64_t aid, int64_t iid, int64_t keep_ms);

/* Reconcile's watermark: every sale that ended before it has been drained
 * by a complete pass (journal empty), so passes look only at later ones.
 * 1 and *ms, 0 none (a fresh or a crashed Redis: look at every sale),
 * FS_ERR down. _set only moves it forward. */
int kv_journal_watermark_get(struct kv *kv, int64_t *ms);
int kv_journal_watermark_set(struct kv *kv, int64_t ms);

/* The number of the item's reservations not yet confirmed by MySQL (its
 * pending index). FS_OK and *n, or FS_ERR. */
int kv_journal_pending_count(struct kv *kv, int64_t aid, int64_t iid, long long *n);

/* The item's pending reservations older than before_ms (at most max):
 * their journal lines decoded into out[0..*n). A pending id without a
 * line is dropped (logged). Returns how many ids were seen (0: none
 * left), or FS_ERR. */
int kv_journal_due(struct kv *kv, int64_t aid, int64_t iid, int64_t before_ms, int max,
		   struct order *out, int *n);

/* The journal lines of up to max ids of sorted set pending older than
 * before_ms, read from hash journal: each goes to take(line, len, ctx); an
 * id whose line is missing or that take refuses (not FS_OK) is dropped from
 * pending, so it is not retried forever. Returns the ids seen, or FS_ERR.
 * Shared by the orders' replay and the rain's (kv_rain_due). */
int kv_journal_scan(struct kv *kv, const char *pending, const char *journal, int64_t before_ms,
		    int max, int (*take)(const char *line, size_t len, void *ctx), void *ctx);

/* An item whose journal kv_journal_find reads: its ids and the home shard
 * of the user asked about (kv_shard_home; 0 unsharded). */
struct kv_journal_item {
	int64_t aid, iid;
	int home;
};
/* User uid's queued orders in the journals of n items, one pipeline (a
 * trip per node): with oid > 0 only order oid, else the order each item's
 * buyers hash names for uid. Found ones (up to max) are decoded into out
 * with status queued. Their count, or FS_ERR when Redis failed. */
int kv_journal_find(struct kv *kv, const struct kv_journal_item *items, int n, int64_t uid,
		    int64_t oid, struct order *out, int max);

#endif
