/*
 * rebuild.c: one activity item's Redis state rebuilt from MySQL and the
 * journal (rebuild.h): the transaction that holds the lock on the item's
 * activity_items row while MySQL is read, and the order of the steps. The
 * statements are db_sale.c's and db_order.c's, the Redis scripts
 * kv_journal.c's.
 */
#include "rebuild.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "log.h"
#include "sale.h"
#include "kv_sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* released marks outlive the sale by this much (kv_sale_release's too) */
#define RELEASED_KEEP_MS (24LL * 3600 * 1000)
/* Refills the buyers hash from every live MySQL order of the item, a page
 * at a time (no lock needed: a release between the read and the write is
 * caught by its released mark). Returns the count or FS_ERR. */
static long
buyers_refill(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t expire_at)
{
	static int64_t uids[DB_ORDER_LIVE_PAGE], ids[DB_ORDER_LIVE_PAGE];
	int64_t after = 0;
	long total = 0;

	for (;;) {
		int n = db_order_live_page(d, it->aid, it->iid, after, uids, ids);

		if (n == FS_ERR)
			return FS_ERR;
		if (n > 0 && kv_journal_buyers_put(kv, it->aid, it->iid, expire_at, uids, ids, n) != FS_OK)
			return FS_ERR;
		total += n;
		if (n < DB_ORDER_LIVE_PAGE)
			return total;
		after = uids[n - 1];
	}
}

/* The locked part: MySQL read at one instant, Redis made to match. The
 * confirmed journal orders (with their MySQL state) go to *confirmed for
 * the caller to announce. */
static int
locked_rebuild(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t expire_at,
	       int alive, struct rebuild_report *rep, struct order **confirmed, int *nconfirmed,
	       int *same, char runid[41])
{
	struct order *journal = NULL, *returned = NULL;
	long junk;
	int nj, nr = 0, found, rc = FS_ERR;

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

	nj = kv_journal_read(kv, it->aid, it->iid, &journal, &junk);
	if (nj == FS_ERR)
		goto out;
	if (db_order_reload(d, journal, nj, confirmed, nconfirmed) != FS_OK)
		goto out;
	if (alive) {
		nr = db_order_returned(d, it->aid, it->iid, &returned);
		if (nr == FS_ERR)
			goto out;
	}
	/* MySQL counts these already: out of the journal, whatever their age */
	if (*nconfirmed > 0 &&
	    kv_journal_drop(kv, it->aid, it->iid, *confirmed, *nconfirmed) != FS_OK)
		goto out;
	if (nr > 0) {
		int64_t keep = (it->end_ms > fs_now_ms() ? it->end_ms : fs_now_ms()) + RELEASED_KEEP_MS;

		if (kv_journal_mark_returned(kv, it->aid, it->iid, keep, returned, nr) != FS_OK)
			goto out;
	}
	if (kv_journal_rebuild(kv, it->aid, it->iid, rep->mysql_stock, expire_at, it->warmed, rep,
			       same, runid) != FS_OK)
		goto out;
	rep->confirmed = *nconfirmed;
	rc = FS_OK;
out:
	/* nothing written to MySQL: the rollback only lets go of the lock */
	db_rollback(d);
	free(journal);
	free(returned);
	return rc;
}

int
rebuild_item(struct kv *kv, struct db *d, const struct rebuild_item *it, struct rebuild_report *rep)
{
	int64_t expire_at = it->end_ms + SALE_KEY_GRACE_MS;
	struct order *confirmed = NULL;
	char runid[41] = "";
	int nconfirmed = 0, same = 1, rc;

	memset(rep, 0, sizeof(*rep));
	rep->buyers = -1;
	rep->live = fs_now_ms() < expire_at;
	rc = locked_rebuild(kv, d, it, expire_at, rep->live, rep, &confirmed, &nconfirmed, &same,
			    runid);
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
	if (rep->live && !same && runid[0]) {
		rep->buyers = buyers_refill(kv, d, it, expire_at);
		if (rep->buyers == FS_ERR ||
		    kv_journal_rebuilt(kv, it->aid, it->iid, runid, expire_at) != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}
