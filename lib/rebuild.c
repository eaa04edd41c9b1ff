/*
 * rebuild.c: one activity item's Redis state rebuilt from MySQL and the
 * journal (rebuild.h): the MySQL reads, under a lock on the item's
 * activity_items row, and the order of the steps. The Redis scripts are in
 * kv_journal.c.
 */
#include "rebuild.h"
#include "db.h"
#include "db_order.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "kv_shard.h"
#include "log.h"
#include "mem.h"
#include "sale.h"
#include "kv_sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* released marks outlive the sale by this much (kv_sale_release's too) */
#define RELEASED_KEEP_MS (24LL * 3600 * 1000)
/* live orders read per query when buyers are refilled */
#define BUYERS_PAGE 2000
#define BUYERS_PAGE_S "2000"

/* The lock: handlers, cancels and the expiry job all change the item's
 * MySQL stock through this row, so holding it freezes stock and orders. */
static const char sql_lock[] =
	"SELECT alloc_stock, stock FROM activity_items WHERE activity_id = ? AND item_id = ? "
	"FOR UPDATE";
static const char sql_live_units[] =
	"SELECT COALESCE(SUM(quantity), 0) FROM orders "
	"WHERE activity_id = ? AND item_id = ? AND status IN ('unpaid', 'paid')";
static const char sql_returned[] =
	"SELECT " DB_ORDER_COLS " FROM orders "
	"WHERE activity_id = ? AND item_id = ? AND status IN ('closed', 'cancelled', 'failed')";
/* one live order per user (UNIQUE one_live): paged by user on that key */
static const char sql_live_page[] =
	"SELECT user_id, id FROM orders WHERE activity_id = ? AND item_id = ? AND user_id > ? "
	"AND live = 1 ORDER BY user_id LIMIT " BUYERS_PAGE_S;

/* "SELECT ... WHERE id IN (?, ..., ?)" with n marks, for the few shapes
 * in_shapes[] (prepared once each, cached by db.c). */
static const int in_shapes[] = {256, 64, 16, 4, 1};

static const char *
sql_in(int shape)
{
	static char sql[FS_ARRAY_LEN(in_shapes)][256 * 3 + 128];
	char *s = sql[shape];

	if (s[0] == '\0') {
		size_t n = (size_t)snprintf(s, sizeof(sql[0]),
					    "SELECT " DB_ORDER_COLS " FROM orders WHERE id IN (");

		for (int i = 0; i < in_shapes[shape]; i++)
			n += (size_t)snprintf(s + n, sizeof(sql[0]) - n, "%s?", i ? "," : "");
		snprintf(s + n, sizeof(sql[0]) - n, ")");
	}
	return s;
}

/* Which of the n journal orders MySQL has: their MySQL rows, appended to
 * *found (grown with realloc; *nfound counts). FS_OK or FS_ERR. */
static int
confirmed_load(struct db *d, const struct order *j, int n, struct order **found, int *nfound)
{
	int done = 0;

	while (done < n) {
		struct dbv args[256];
		struct db_rows rows;
		int s = 0, m;

		while (in_shapes[s] > n - done)
			s++;
		m = in_shapes[s];
		for (int i = 0; i < m; i++)
			args[i] = DBI(j[done + i].id);
		if (db_query(d, sql_in(s), args, m, &rows) != FS_OK)
			return FS_ERR;
		if (rows.nrows > 0) {
			*found = mem_realloc(*found, sizeof(**found) * (size_t)(*nfound + rows.nrows));
			for (int i = 0; i < rows.nrows; i++)
				db_order_row(&rows, i, &(*found)[(*nfound)++]);
		}
		db_rows_free(&rows);
		done += m;
	}
	return FS_OK;
}

/* The orders of a query whose columns start with DB_ORDER_COLS. Caller
 * frees *out. Returns the count or FS_ERR. */
static int
orders_load(struct db *d, const char *sql, const struct dbv *args, int nargs, struct order **out)
{
	struct db_rows rows;
	int n;

	*out = NULL;
	if (db_query(d, sql, args, nargs, &rows) != FS_OK)
		return FS_ERR;
	n = rows.nrows;
	if (n > 0) {
		*out = mem_calloc((size_t)n, sizeof(**out));
		for (int i = 0; i < n; i++)
			db_order_row(&rows, i, &(*out)[i]);
	}
	db_rows_free(&rows);
	return n;
}

/* Refills the buyers hash from every live MySQL order of the item, a page
 * at a time (no lock needed: a release between the read and the write is
 * caught by its released mark). Returns the count or FS_ERR. */
/* Records a page of n live MySQL orders as buyers, each on its user's home
 * shard, for the shards in mask (their Redis server changed). */
static int
buyers_page_put(struct kv *kv, const struct rebuild_item *it, int64_t expire_at, unsigned mask,
		const int64_t *uids, const int64_t *ids, int n)
{
	static int64_t su[BUYERS_PAGE], si[BUYERS_PAGE];
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
	static int64_t uids[BUYERS_PAGE], ids[BUYERS_PAGE];
	int64_t after = 0;
	long total = 0;

	for (;;) {
		struct dbv a[] = {DBI(it->aid), DBI(it->iid), DBI(after)};
		struct db_rows rows;
		int n;

		if (db_query(d, sql_live_page, a, 3, &rows) != FS_OK)
			return FS_ERR;
		n = rows.nrows;
		for (int i = 0; i < n; i++) {
			uids[i] = db_cell_int(&rows, i, 0);
			ids[i] = db_cell_int(&rows, i, 1);
		}
		db_rows_free(&rows);
		if (n > 0 && buyers_page_put(kv, it, expire_at, mask, uids, ids, n) != FS_OK)
			return FS_ERR;
		total += n;
		if (n < BUYERS_PAGE)
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
	if (confirmed_load(d, journal, nj, confirmed, nconfirmed) == FS_OK &&
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
	struct dbv a[] = {DBI(it->aid), DBI(it->iid)};
	struct order *returned = NULL;
	struct db_rows rows;
	int nr = 0, rc = FS_ERR, same = 1;

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	if (db_query(d, sql_lock, a, 2, &rows) != FS_OK)
		goto out;
	if (rows.nrows != 1) {
		db_rows_free(&rows);
		log_err("rebuild: activity item %" PRId64 ":%" PRId64 " is gone", it->aid, it->iid);
		goto out;
	}
	rep->alloc = db_cell_int(&rows, 0, 0);
	rep->mysql_stock = db_cell_int(&rows, 0, 1);
	db_rows_free(&rows);
	/* read after the lock: every order that touched this stock is committed */
	if (db_query(d, sql_live_units, a, 2, &rows) != FS_OK)
		goto out;
	rep->mysql_live = db_cell_int(&rows, 0, 0);
	db_rows_free(&rows);
	/* MySQL counts these already: out of the journal, whatever their age */
	for (int k = 0; k < it->shards; k++)
		if (journal_confirm(kv, d, it, k, confirmed, nconfirmed) != FS_OK)
			goto out;
	if (alive) {
		nr = orders_load(d, sql_returned, a, 2, &returned);
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

int
rebuild_items(struct db *d, int64_t ended_after_ms, struct rebuild_item **out)
{
	static const char sql[] =
		"SELECT ai.activity_id, ai.item_id, a.end_ms, a.warmed_ms IS NOT NULL, ai.shards "
		"FROM activity_items ai JOIN activities a ON a.id = ai.activity_id "
		"WHERE a.status IN ('published', 'ended') AND a.end_ms > ? "
		"ORDER BY ai.activity_id, ai.item_id";
	struct dbv args[] = {DBI(ended_after_ms)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 1, &rows, sizeof(struct rebuild_item), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[i].aid = db_cell_int(&rows, i, 0);
		(*out)[i].iid = db_cell_int(&rows, i, 1);
		(*out)[i].end_ms = db_cell_int(&rows, i, 2);
		(*out)[i].warmed = (int)db_cell_int(&rows, i, 3);
		(*out)[i].shards = (int)db_cell_int(&rows, i, 4);
		/* reconcile's later calls find the item's shards without asking */
		kv_shard_note((*out)[i].aid, (*out)[i].iid, (*out)[i].shards);
	}
	db_rows_free(&rows);
	return n;
}
