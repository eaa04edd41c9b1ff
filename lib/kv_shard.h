/*
 * kv_shard.h: an item's stock split over K shards (docs/SHARDS.md). Shard 0
 * is the item's own tag {A:I} (so K = 1 is the unsharded layout, same keys);
 * shard k >= 1 has the tag {A:I:k:j}, j the first salt whose slot falls in
 * the k-th master's third of a 3-master cluster (a different sixth of that
 * third for each lap over the masters). Every shard holds the item keys of
 * kv.h (meta copy, stock, buyers, banned, journal, pending, released, void,
 * cancels, rebuilt) for the users whose home it is (uid mod K), plus:
 *   fs:{shard}:lent      hash  transfer id -> "qty home ms": units taken out
 *                              of this shard and not yet settled
 *   fs:{shard}:borrowed  set   transfer ids credited to (or voided at) this
 *                              shard, so a credit happens at most once
 * both with the sale's TTL. A transfer id is "ORDERID:DONOR".
 */
#ifndef FS_KV_SHARD_H
#define FS_KV_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "order.h"

#define KV_SHARD_MAX 16

/* The shard count of item (aid, iid): from this process's cache, else the
 * meta hash's "shards" field (1 when absent). K >= 1, or FS_ERR when Redis
 * is down. Never call it between kv_append and kv_reply. */
int kv_shard_count(struct kv *kv, int64_t aid, int64_t iid);

/* Tells the cache what MySQL or the meta hash says (shards < 1 means 1). */
void kv_shard_note(int64_t aid, int64_t iid, int shards);

/* The home shard of user uid among shards. */
int kv_shard_home(int64_t uid, int shards);

/* "fs:{TAG}:suffix" for shard k of (aid, iid): kv_item_key for k = 0. */
void kv_shard_key(char buf[KV_KEY_MAX], int64_t aid, int64_t iid, int k, const char *suffix);

/* The hash tag of shard k (no braces) into buf: "A:I" for k = 0. */
void kv_shard_tag(char *buf, size_t cap, int64_t aid, int64_t iid, int k);

/* The home shard of o's user (*shards gets K when not NULL), or FS_ERR. */
int kv_shard_of(struct kv *kv, const struct order *o, int *shards);

/* The units of shard k's stock that go to the sale at warmup: db_stock
 * split as evenly as it goes, the first shards one more. */
int64_t kv_shard_split(int64_t db_stock, int shards, int k);

/* Moves o->quantity units from shard donor to shard home (o's): takes them
 * if donor has them, then credits home, each step once by its transfer id.
 * 1 moved, 0 donor had too few (or the credit was voided: nothing moved),
 * FS_ERR Redis failed (a take whose credit never ran is given back; one in
 * doubt is left to reconcile, see kv_shard_loans_settle). */
int kv_shard_borrow(struct kv *kv, const struct order *o, int donor, int home);

/* The Redis side of an item's stats over every shard: *warm when shard 0
 * has a stock counter, *left the sum of the counters, *queued the pending
 * reservations, each[k] (when not NULL) shard k's counter. One round trip
 * (a pipeline). FS_OK or FS_ERR. */
int kv_shard_totals(struct kv *kv, int64_t aid, int64_t iid, int shards, int *warm,
		    int64_t *left, int64_t *queued, int64_t *each);

/* Reconcile: settles every transfer recorded on the item's shards: one the
 * home never credited is voided there (a late credit then does nothing) and
 * its units go back to the donor; credited ones are forgotten. FS_OK or
 * FS_ERR (then the next pass settles the rest). */
int kv_shard_loans_settle(struct kv *kv, int64_t aid, int64_t iid, int shards);

/* What shard k holds, read at one instant: its stock counter (*has 0 when
 * missing), the units of its journal lines and of its unsettled transfers.
 * FS_OK or FS_ERR. */
int kv_shard_own(struct kv *kv, int64_t aid, int64_t iid, int k, int *has, int64_t *stock,
		 int64_t *units, int64_t *lent);

#endif
