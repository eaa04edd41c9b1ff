/*
 * db_refund.c: refunds of late payments, and the sandbox provider's book
 * of the refunds it made (see db_refund.h). Owns the tables refunds and
 * sandbox_refunds; reads payments (db_payment.c's) in the joins that find
 * the late ones.
 */
#include "db_refund.h"
#include "db.h"
#include "db_payment.h"
#include "fs.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
db_refund_enlist(struct db *d, int64_t now_ms, int max)
{
	/* a plain (non-locking) read, then one insert a row: an INSERT ...
	 * SELECT would lock payment rows a notify's transaction may want */
	static const char sql_late[] =
		"SELECT p.id, p.order_id, p.amount_cents FROM payments p "
		"LEFT JOIN refunds r ON r.payment_id = p.id "
		"WHERE p.status = 'late' AND r.payment_id IS NULL ORDER BY p.id LIMIT ?";
	static const char sql_add[] =
		"INSERT INTO refunds (payment_id, order_id, amount_cents, created_ms) "
		"VALUES (?, ?, ?, ?)";
	struct dbv a[] = {DBI(max)};
	struct db_rows rows;
	int added = 0;

	if (db_query(d, sql_late, a, 1, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows; i++) {
		struct dbv v[] = {DBI(db_cell_int(&rows, i, 0)), DBI(db_cell_int(&rows, i, 1)),
				  DBI(db_cell_int(&rows, i, 2)), DBI(now_ms)};

		/* two jobs may enlist the same payment: the second one's
		 * duplicate key is no error */
		if (db_exec(d, sql_add, v, 4, NULL, NULL) == FS_OK) {
			added++;
		} else if (db_errno(d) != DB_ER_DUP_ENTRY) {
			added = FS_ERR;
			break;
		}
	}
	db_rows_free(&rows);
	return added;
}

int
db_refund_due(struct db *d, int64_t now_ms, struct refund_call *out, int max)
{
	static const char sql[] =
		"SELECT payment_id, order_id, amount_cents FROM refunds "
		"WHERE state = 'pending' AND claim_until_ms < ? ORDER BY payment_id LIMIT ?";
	struct dbv a[] = {DBI(now_ms), DBI(max)};
	struct db_rows rows;
	int n = 0;

	if (db_query(d, sql, a, 2, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows && n < max; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].payment_id = db_cell_int(&rows, i, 0);
		out[n].order_id = db_cell_int(&rows, i, 1);
		out[n].amount_cents = db_cell_int(&rows, i, 2);
	}
	db_rows_free(&rows);
	return n;
}

int
db_refund_claim(struct db *d, int64_t pid, int64_t now_ms, int64_t lease_ms)
{
	/* of two jobs racing for the row, InnoDB lets one update it; the
	 * other re-reads it after that commit and no longer matches */
	static const char sql[] =
		"UPDATE refunds SET claim_until_ms = ?, attempts = attempts + 1 "
		"WHERE payment_id = ? AND state = 'pending' AND claim_until_ms < ?";
	struct dbv a[] = {DBI(now_ms + lease_ms), DBI(pid), DBI(now_ms)};
	long long affected = 0;

	if (db_exec(d, sql, a, 3, &affected, NULL) != FS_OK)
		return FS_ERR;
	return affected == 1;
}

int
db_refund_done(struct db *d, int64_t pid, const char *refund_id, int64_t now_ms)
{
	static const char sql[] =
		"UPDATE refunds SET state = 'done', refund_id = ?, done_ms = ? "
		"WHERE payment_id = ? AND state = 'pending'";
	struct dbv a[] = {DBS(refund_id), DBI(now_ms), DBI(pid)};
	long long affected = 0;

	if (db_exec(d, sql, a, 3, &affected, NULL) != FS_OK)
		return FS_ERR;
	return affected == 1;
}

int
db_refund_of_order(struct db *d, int64_t oid, struct refund_status *st)
{
	/* one row a late payment; refund_id NULL while it is not done */
	static const char sql[] =
		"SELECT r.refund_id FROM payments p "
		"LEFT JOIN refunds r ON r.payment_id = p.id AND r.state = 'done' "
		"WHERE p.order_id = ? AND p.status = 'late' ORDER BY p.id";
	struct dbv a[] = {DBI(oid)};
	struct db_rows rows;

	memset(st, 0, sizeof(*st));
	if (db_query(d, sql, a, 1, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows; i++)
		refund_status_add(st, db_cell(&rows, i, 0));
	db_rows_free(&rows);
	return FS_OK;
}

int
db_refund_of_user(struct db *d, int64_t uid, struct db_refund_order **out)
{
	static const char sql[] =
		"SELECT p.order_id, r.refund_id FROM payments p "
		"LEFT JOIN refunds r ON r.payment_id = p.id AND r.state = 'done' "
		"WHERE p.status = 'late' AND p.user_id = ? ORDER BY p.order_id, p.id LIMIT 1000";
	struct dbv a[] = {DBI(uid)};
	struct db_rows rows;
	int n = 0;

	*out = NULL;
	if (db_query_read(d, sql, a, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows > 0)
		*out = mem_calloc((size_t)rows.nrows, sizeof(**out));
	/* rows come grouped by order: fold each order's payments into one */
	for (int i = 0; i < rows.nrows; i++) {
		int64_t oid = db_cell_int(&rows, i, 0);

		if (n == 0 || (*out)[n - 1].order_id != oid)
			(*out)[n++].order_id = oid;
		refund_status_add(&(*out)[n - 1].st, db_cell(&rows, i, 1));
	}
	db_rows_free(&rows);
	return n;
}

/* Checks that the call names a payment whose money came, as it is. */
static enum db_refund_sandbox
sandbox_check(struct db *d, const struct refund_call *q)
{
	char status[DB_PAYMENT_STATUS_MAX];
	int64_t oid, amount, uid;
	int rc;

	rc = db_payment_get(d, q->payment_id, &oid, &amount, &uid);
	if (rc == FS_ERR)
		return DBR_DOWN;
	if (rc == 0)
		return DBR_NOT_FOUND;
	if (oid != q->order_id || amount != q->amount_cents)
		return DBR_MISMATCH;
	rc = db_payment_status(d, q->payment_id, status);
	if (rc == FS_ERR)
		return DBR_DOWN;
	if (rc == 0)
		return DBR_NOT_FOUND;
	if (strcmp(status, "success") != 0 && strcmp(status, "late") != 0)
		return DBR_NOT_CAPTURED;
	return DBR_REFUNDED;
}

enum db_refund_sandbox
db_refund_sandbox(struct db *d, const struct refund_call *q, const char *new_id, int64_t now_ms,
		  char id[REFUND_ID_MAX + 1])
{
	/* the primary key makes a second call (or two at once) count, not
	 * refund again */
	static const char sql_book[] =
		"INSERT INTO sandbox_refunds (payment_id, refund_id, amount_cents, calls, created_ms, "
		"updated_ms) VALUES (?, ?, ?, 1, ?, ?) "
		"ON DUPLICATE KEY UPDATE calls = calls + 1, updated_ms = VALUES(updated_ms)";
	static const char sql_id[] = "SELECT refund_id FROM sandbox_refunds WHERE payment_id = ?";
	struct dbv book[] = {DBI(q->payment_id), DBS(new_id), DBI(q->amount_cents), DBI(now_ms),
			     DBI(now_ms)};
	struct dbv pid[] = {DBI(q->payment_id)};
	struct db_rows rows;
	enum db_refund_sandbox res = sandbox_check(d, q);

	if (res != DBR_REFUNDED)
		return res;
	if (db_exec(d, sql_book, book, 5, NULL, NULL) != FS_OK)
		return DBR_DOWN;
	if (db_query(d, sql_id, pid, 1, &rows) != FS_OK)
		return DBR_DOWN;
	res = DBR_DOWN;
	if (rows.nrows == 1 && db_cell(&rows, 0, 0) != NULL) {
		snprintf(id, REFUND_ID_MAX + 1, "%s", db_cell(&rows, 0, 0));
		res = DBR_REFUNDED;
	}
	db_rows_free(&rows);
	return res;
}
