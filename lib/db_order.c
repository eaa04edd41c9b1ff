/*
 * db_order.c: orders from MySQL rows (see db_order.h).
 */
#include "db_order.h"
#include "db.h"
#include "fs.h"

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
