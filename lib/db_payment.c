/*
 * db_payment.c: payment rows in MySQL (table payments) as the pay endpoint
 * creates and reads them, and the notify's two statements (lock, settle),
 * which run inside lifecycle.c's transaction with its order's change.
 */
#include "db_payment.h"
#include "db.h"
#include "fs.h"

#include <stdio.h>
#include <string.h>

int
db_payment_create(struct db *d, int64_t id, const struct order *o, int64_t now_ms)
{
	static const char sql[] =
		"INSERT INTO payments (id, order_id, user_id, amount_cents, status, created_ms, updated_ms) "
		"VALUES (?, ?, ?, ?, 'created', ?, ?)";
	struct dbv args[] = {DBI(id), DBI(o->id), DBI(o->user_id), DBI(o->amount_cents),
			     DBI(now_ms), DBI(now_ms)};

	return db_exec(d, sql, args, 6, NULL, NULL);
}

int
db_payment_get(struct db *d, int64_t id, int64_t *order_id, int64_t *amount_cents, int64_t *user_id)
{
	static const char sql[] = "SELECT order_id, amount_cents, user_id FROM payments WHERE id = ?";
	struct dbv arg[] = {DBI(id)};
	struct db_rows rows;
	int rc = 0;

	if (db_query(d, sql, arg, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows == 1) {
		*order_id = db_cell_int(&rows, 0, 0);
		*amount_cents = db_cell_int(&rows, 0, 1);
		*user_id = db_cell_int(&rows, 0, 2);
		rc = 1;
	}
	db_rows_free(&rows);
	return rc;
}

int
db_payment_status(struct db *d, int64_t id, char status[DB_PAYMENT_STATUS_MAX])
{
	static const char sql[] = "SELECT status FROM payments WHERE id = ?";
	struct dbv arg[] = {DBI(id)};
	struct db_rows rows;
	int rc = 0;

	if (db_query(d, sql, arg, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows == 1 && db_cell(&rows, 0, 0) != NULL) {
		snprintf(status, DB_PAYMENT_STATUS_MAX, "%s", db_cell(&rows, 0, 0));
		rc = 1;
	}
	db_rows_free(&rows);
	return rc;
}

int
db_payment_lock(struct db *d, int64_t id, int64_t *order_id, int64_t *amount_cents, char *state,
		size_t size)
{
	static const char sql[] =
		"SELECT order_id, amount_cents, status FROM payments WHERE id = ? FOR UPDATE";
	struct dbv arg[] = {DBI(id)};
	struct db_rows rows;
	int found;

	if (db_query(d, sql, arg, 1, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows > 0;
	if (found) {
		*order_id = db_cell_int(&rows, 0, 0);
		*amount_cents = db_cell_int(&rows, 0, 1);
		snprintf(state, size, "%s", db_cell(&rows, 0, 2) ? db_cell(&rows, 0, 2) : "");
	}
	db_rows_free(&rows);
	return found;
}

int
db_payment_settle(struct db *d, int64_t id, const char *status, int64_t notify_ts_ms,
		  int64_t now_ms, long long *affected)
{
	static const char sql[] =
		"UPDATE payments SET status = ?, notify_ts_ms = ?, updated_ms = ? WHERE id = ? "
		"AND status IN ('created', 'fail')";
	struct dbv set[] = {DBS(status), DBI(notify_ts_ms), DBI(now_ms), DBI(id)};

	return db_exec(d, sql, set, 4, affected, NULL);
}
