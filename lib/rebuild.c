/*
 * rebuild.c: one activity item's Redis state rebuilt from MySQL and the
 * journal (rebuild.h): the MySQL reads, under a lock on the item's
 * activity_items row, and the order of the steps. The Redis scripts are in
 * kv_journal.c.
 */
#include "rebuild.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "kv_shard.h"
#include "log.h"
#include "sale.h"
#include "kv_sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* released marks outlive the sale by this much (kv_sale_release's too) */
#define RELEASED_KEEP_MS (24LL * 3600 * 1000)
/* Records a page of n live MySQL orders as buyers, each on its user's home
 * shard, for the shards in mask (their Redis server changed). */
static int
buyers_page_put(struct kv *kv, const struct rebuild_item *it, int64_t expire_at, unsigned mask,
		const int64_t *uids, const int64_t *ids, int n)
{
	static int64_t su[DB_ORDER_LIVE_PAGE], si[DB_ORDER_LIVE_PAGE];
	int shards = it->shards > 1 ? it->shards : 1;

	for (int k = 0; k < shards; k++) {
		int m = 0;

		if (!(mask & (1u << k)))
			continue;
		for (int i = 0; i < n; i++)
			if (kv_shard_home(uids[i], shards) == k) {
				su[m] = uids[i];
				si[m++] = ids[i];
			}
		if (m > 0 && kv_journal_buyers_put(kv, it->aid, it->iid, k, expire_at, su, si, m) != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

/* Refills the buyers hash of the shards in mask from every live MySQL order
 * of the item, a page at a time (no lock needed: a release between the
 * read and the write is caught by its released mark). Returns the count
 * or FS_ERR. */
static long
buyers_refill(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t expire_at,
	      unsigned mask)
{
	static int64_t uids[DB_ORDER_LIVE_PAGE], ids[DB_ORDER_LIVE_PAGE];
	int64_t after = 0;
	long total = 0;

	for (;;) {
		int n = db_order_live_page(d, it->aid, it->iid, after, uids, ids);

		if (n == FS_ERR)
			return FS_ERR;
		if (n > 0 && buyers_page_put(kv, it, expire_at, mask, uids, ids, n) != FS_OK)
			return FS_ERR;
		total += n;
		if (n < DB_ORDER_LIVE_PAGE)
			return total;
		after = uids[n - 1];
	}
}

/* Per shard: which of its journal entries MySQL has (appended to
 * *confirmed) go out of its journal, whatever their age. */
static int
journal_confirm(struct kv *kv, struct db *d, const struct rebuild_item *it, int k,
		struct order **confirmed, int *nconfirmed)
{
	struct order *journal = NULL;
	long junk;
	int nj, before = *nconfirmed, rc = FS_ERR;

	nj = kv_journal_read(kv, it->aid, it->iid, k, &journal, &junk);
	if (nj == FS_ERR)
		return FS_ERR;
	if (db_order_reload(d, journal, nj, confirmed, nconfirmed) == FS_OK &&
	    (*nconfirmed == before ||
	     kv_journal_drop(kv, it->aid, it->iid, k, *confirmed + before, *nconfirmed - before) ==
		     FS_OK))
		rc = FS_OK;
	free(journal);
	return rc;
}

/* Marks the returned orders released, each on its user's home shard. */
static int
returned_mark(struct kv *kv, const struct rebuild_item *it, int64_t keep, struct order *ret,
	      int nr)
{
	int shards = it->shards > 1 ? it->shards : 1;

	for (int k = 0; k < shards; k++) {
		int m = 0;

		/* the shard's orders first, in place (their order is free) */
		for (int i = 0; i < nr; i++)
			if (kv_shard_home(ret[i].user_id, shards) == k) {
				struct order t = ret[m];

				ret[m++] = ret[i];
				ret[i] = t;
			}
		if (m > 0 && kv_journal_mark_returned(kv, it->aid, it->iid, k, keep, ret, m) != FS_OK)
			return FS_ERR;
		ret += m;
		nr -= m;
	}
	return FS_OK;
}

/* What each shard's counter must change by so that their sum moves by
 * diff: a gain spread evenly, a loss taken from the fullest shards first
 * (what none has left stays on shard 0, below zero as one counter would). */
static void
shards_spread(int64_t diff, const int64_t *stock, int shards, int64_t *adj)
{
	int64_t need = -diff;

	for (int k = 0; k < shards; k++)
		adj[k] = diff >= 0 ? diff / shards + (k < diff % shards ? 1 : 0) : 0;
	while (need > 0) {
		int best = 0;

		for (int k = 1; k < shards; k++)
			if (stock[k] + adj[k] > stock[best] + adj[best])
				best = k;
		if (stock[best] + adj[best] <= 0) {
			adj[0] -= need;
			break;
		}
		adj[best]--;
		need--;
	}
}

/* Adds shard k's rebuild to the item's report; bit k of *changed when the
 * shard's Redis server is not the one that last rebuilt it. */
static void
report_add(struct rebuild_report *rep, const struct rebuild_report *r, int k, int same,
	   const char *runid, unsigned *changed)
{
	rep->had_stock |= r->had_stock;
	rep->stock_before += r->stock_before;
	rep->have_stock |= r->have_stock;
	rep->stock += r->stock;
	rep->pending_units += r->pending_units;
	rep->pending += r->pending;
	rep->junk += r->junk;
	if (!same && runid[0])
		*changed |= 1u << k;
}

/* The stock of a sharded item (rebuild.h): transfers settled, each shard's
 * counter and journal read at one instant, the difference to MySQL spread
 * over them, then each shard's rebuild script run with its new total. */
static int
shards_rebuild(struct kv *kv, const struct rebuild_item *it, int64_t expire_at,
	       struct rebuild_report *rep, unsigned *changed, char runids[][41])
{
	int64_t stock[KV_SHARD_MAX], own[KV_SHARD_MAX], adj[KV_SHARD_MAX], diff = rep->mysql_stock;
	int shards = it->shards;

	if (kv_shard_loans_settle(kv, it->aid, it->iid, shards) != FS_OK)
		return FS_ERR;
	for (int k = 0; k < shards; k++) {
		int64_t units, lent;
		int has;

		if (kv_shard_own(kv, it->aid, it->iid, k, &has, &stock[k], &units, &lent) != FS_OK)
			return FS_ERR;
		stock[k] = has ? stock[k] : 0;
		/* a reservation moves a unit from stock to journal: own stays */
		own[k] = stock[k] + units;
		diff -= own[k] + lent;
	}
	shards_spread(diff, stock, shards, adj);
	for (int k = 0; k < shards; k++) {
		struct rebuild_report r;
		int same = 1;

		memset(&r, 0, sizeof(r));
		if (kv_journal_rebuild(kv, it->aid, it->iid, k, own[k] + adj[k], expire_at, it->warmed,
				       &r, &same, runids[k]) != FS_OK)
			return FS_ERR;
		report_add(rep, &r, k, same, runids[k], changed);
	}
	return FS_OK;
}

/* The locked part: MySQL read at one instant, Redis made to match. The
 * confirmed journal orders (with their MySQL state) go to *confirmed for
 * the caller to announce. */
static int
locked_rebuild(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t expire_at,
	       int alive, struct rebuild_report *rep, struct order **confirmed, int *nconfirmed,
	       unsigned *changed, char runids[][41])
{
	struct order *returned = NULL;
	int nr = 0, found, rc = FS_ERR, same = 1;

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	/* the lock: handlers, cancels and the expiry job all change the item's
	 * MySQL stock through this row, so holding it freezes stock and orders */
	found = db_sale_item_lock(d, it->aid, it->iid, &rep->alloc, &rep->mysql_stock);
	if (found == FS_ERR)
		goto out;
	if (!found) {
		log_err("rebuild: activity item %" PRId64 ":%" PRId64 " is gone", it->aid, it->iid);
		goto out;
	}
	/* read after the lock: every order that touched this stock is committed */
	rep->mysql_live = db_order_live_units(d, it->aid, it->iid);
	if (rep->mysql_live == FS_ERR)
		goto out;
	/* MySQL counts these already: out of the journal, whatever their age */
	for (int k = 0; k < it->shards; k++)
		if (journal_confirm(kv, d, it, k, confirmed, nconfirmed) != FS_OK)
			goto out;
	if (alive) {
		nr = db_order_returned(d, it->aid, it->iid, &returned);
		if (nr == FS_ERR)
			goto out;
	}
	if (nr > 0) {
		int64_t keep = (it->end_ms > fs_now_ms() ? it->end_ms : fs_now_ms()) + RELEASED_KEEP_MS;

		if (returned_mark(kv, it, keep, returned, nr) != FS_OK)
			goto out;
	}
	if (it->shards > 1) {
		if (shards_rebuild(kv, it, expire_at, rep, changed, runids) != FS_OK)
			goto out;
	} else {
		if (kv_journal_rebuild(kv, it->aid, it->iid, 0, rep->mysql_stock, expire_at, it->warmed,
				       rep, &same, runids[0]) != FS_OK)
			goto out;
		*changed = !same && runids[0][0];
	}
	rep->confirmed = *nconfirmed;
	rc = FS_OK;
out:
	/* nothing written to MySQL: the rollback only lets go of the lock */
	db_rollback(d);
	free(returned);
	return rc;
}

int
rebuild_item(struct kv *kv, struct db *d, const struct rebuild_item *item,
	     struct rebuild_report *rep)
{
	struct rebuild_item it = *item;
	int64_t expire_at = it.end_ms + SALE_KEY_GRACE_MS;
	struct order *confirmed = NULL;
	char runids[KV_SHARD_MAX][41];
	unsigned changed = 0;
	int nconfirmed = 0, rc;

	memset(rep, 0, sizeof(*rep));
	memset(runids, 0, sizeof(runids));
	if (it.shards < 1 || it.shards > KV_SHARD_MAX)
		it.shards = 1;
	kv_shard_note(it.aid, it.iid, it.shards);
	rep->buyers = -1;
	rep->live = fs_now_ms() < expire_at;
	rc = locked_rebuild(kv, d, &it, expire_at, rep->live, rep, &confirmed, &nconfirmed,
			    &changed, runids);
	/* their status records: what MySQL made of them, never queued again
	 * (kv_sale_announce is idempotent; releases are marked already) */
	if (rc == FS_OK && nconfirmed > 0) {
		for (int i = 0; i < nconfirmed && rc == FS_OK; i += 256) {
			int m = nconfirmed - i < 256 ? nconfirmed - i : 256;

			rc = kv_sale_announce(kv, confirmed + i, m);
		}
	}
	free(confirmed);
	if (rc != FS_OK)
		return FS_ERR;
	/* a new Redis server (restart, failover) may have lost buyers */
	if (rep->live && changed) {
		rep->buyers = buyers_refill(kv, d, &it, expire_at, changed);
		if (rep->buyers == FS_ERR)
			return FS_ERR;
		for (int k = 0; k < it.shards; k++)
			if ((changed & (1u << k)) &&
			    kv_journal_rebuilt(kv, it.aid, it.iid, k, runids[k], expire_at) != FS_OK)
				return FS_ERR;
	}
	return FS_OK;
}

