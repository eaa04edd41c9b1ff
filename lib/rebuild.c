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
static long
buyers_refill(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t expire_at)
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
		if (n > 0 && kv_journal_buyers_put(kv, it->aid, it->iid, expire_at, uids, ids, n) != FS_OK)
			return FS_ERR;
		total += n;
		if (n < BUYERS_PAGE)
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
	struct dbv a[] = {DBI(it->aid), DBI(it->iid)};
	struct order *journal = NULL, *returned = NULL;
	struct db_rows rows;
	long junk;
	int nj, nr = 0, rc = FS_ERR;

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

	nj = kv_journal_read(kv, it->aid, it->iid, &journal, &junk);
	if (nj == FS_ERR)
		goto out;
	if (confirmed_load(d, journal, nj, confirmed, nconfirmed) != FS_OK)
		goto out;
	if (alive) {
		nr = orders_load(d, sql_returned, a, 2, &returned);
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

int
rebuild_items(struct db *d, int64_t ended_after_ms, struct rebuild_item **out)
{
	static const char sql[] =
		"SELECT ai.activity_id, ai.item_id, a.end_ms, a.warmed_ms IS NOT NULL "
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
	}
	db_rows_free(&rows);
	return n;
}
