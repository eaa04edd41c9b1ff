/*
 * db_order.c: orders from MySQL rows (see db_order.h).
 */
#include "db_order.h"
#include "db.h"
#include "fs.h"
#include "mem.h"

void
db_order_row(const struct db_rows *rows, int i, struct order *o)
{
	const char *status = db_cell(rows, i, 6);

	memset(o, 0, sizeof(*o));
	o->id = db_cell_int(rows, i, 0);
	o->user_id = db_cell_int(rows, i, 1);
	o->activity_id = db_cell_int(rows, i, 2);
	o->item_id = db_cell_int(rows, i, 3);
	o->quantity = db_cell_int(rows, i, 4);
	o->amount_cents = db_cell_int(rows, i, 5);
	if (status == NULL || order_status_parse(status, &o->status) != FS_OK)
		o->status = ORDER_FAILED;
	o->created_ms = db_cell_int(rows, i, 7);
	o->pay_deadline_ms = db_cell_int(rows, i, 8);
}

int
db_order_query(struct db *d, const char *sql, const struct dbv *args, int nargs, struct order *o)
{
	struct db_rows rows;
	int rc;

	if (db_query(d, sql, args, nargs, &rows) != FS_OK)
		return FS_ERR;
	rc = rows.nrows > 0;
	if (rc)
		db_order_row(&rows, 0, o);
	db_rows_free(&rows);
	return rc;
}

int
db_order_load(struct db *d, int64_t id, struct order *o)
{
	static const char sql[] = "SELECT " DB_ORDER_COLS " FROM orders WHERE id = ?";
	struct dbv arg[] = {DBI(id)};

	return db_order_query(d, sql, arg, 1, o);
}

int
db_order_counts(struct db *d, struct db_rows *out)
{
	static const char sql[] = "SELECT status, COUNT(*) FROM orders GROUP BY status";

	return db_query(d, sql, NULL, 0, out);
}

int
db_order_item_tally(struct db *d, int64_t aid, struct db_rows *out)
{
	static const char sql[] =
		"SELECT item_id, status, SUM(quantity), COUNT(*) FROM orders WHERE activity_id = ?"
		" GROUP BY item_id, status";
	struct dbv args[] = {DBI(aid)};

	return db_query(d, sql, args, 1, out);
}

int
db_order_last_of_item(struct db *d, int64_t uid, int64_t aid, int64_t iid, struct order *o)
{
	static const char sql[] =
		"SELECT " DB_ORDER_COLS " FROM orders WHERE user_id = ? AND activity_id = ? AND item_id = ? "
		"ORDER BY created_ms DESC LIMIT 1";
	struct dbv a[] = {DBI(uid), DBI(aid), DBI(iid)};

	return db_order_query(d, sql, a, 3, o);
}

int
db_order_list(struct db *d, int64_t uid, struct order *out, int max)
{
	static const char sql[] =
		"SELECT " DB_ORDER_COLS " FROM orders WHERE user_id = ? ORDER BY created_ms DESC LIMIT 100";
	struct db_rows rows;
	struct dbv a[] = {DBI(uid)};
	int n = 0;

	/* a list may come from a caught-up replica (db_query_read); an
	 * order's own status (db_order_load) reads the primary */
	if (db_query_read(d, sql, a, 1, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows && n < max; i++)
		db_order_row(&rows, i, &out[n++]);
	db_rows_free(&rows);
	return n;
}

int
db_order_overdue(struct db *d, int64_t now_ms, int max, struct order **out)
{
	static const char sql[] =
		"SELECT id, user_id, activity_id, item_id, quantity, amount_cents, created_ms, "
		"pay_deadline_ms FROM orders WHERE status = 'unpaid' AND pay_deadline_ms <= ? "
		"ORDER BY pay_deadline_ms LIMIT ?";
	struct dbv args[] = {DBI(now_ms), DBI(max)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 2, &rows, sizeof(struct order), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		struct order *o = &(*out)[i];

		o->id = db_cell_int(&rows, i, 0);
		o->user_id = db_cell_int(&rows, i, 1);
		o->activity_id = db_cell_int(&rows, i, 2);
		o->item_id = db_cell_int(&rows, i, 3);
		o->quantity = db_cell_int(&rows, i, 4);
		o->amount_cents = db_cell_int(&rows, i, 5);
		o->created_ms = db_cell_int(&rows, i, 6);
		o->pay_deadline_ms = db_cell_int(&rows, i, 7);
		o->status = ORDER_UNPAID;
	}
	db_rows_free(&rows);
	return n;
}
