/*
 * db_order.c: orders from MySQL rows (see db_order.h).
 */
#include "db_order.h"
#include "db.h"
#include "fs.h"
#include "mem.h"

#include <stdio.h>

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

/* --- statements inside the callers' transactions (db_order.h) --- */

#define INSERT_COLS "(id, user_id, activity_id, item_id, quantity, amount_cents, status, " \
		    "created_ms, pay_deadline_ms, updated_ms, live)"
#define INSERT_ROW_PARAMS 9

/* the row shapes that the batch insert and the by-id lookup prepare (each
 * statement text cached by db.c) */
static const int shapes[] = {256, 64, 16, 4, 1};

int
db_order_release(struct db *d, int64_t id, const char *to, int64_t now_ms, long long *affected)
{
	static const char sql[] = "UPDATE orders SET status = ?, live = NULL, updated_ms = ? "
				  "WHERE id = ? AND status = 'unpaid'";
	struct dbv args[] = {DBS(to), DBI(now_ms), DBI(id)};

	return db_exec(d, sql, args, 3, affected, NULL);
}

int
db_order_pay(struct db *d, int64_t id, int64_t now_ms, long long *affected)
{
	static const char sql[] =
		"UPDATE orders SET status = 'paid', updated_ms = ? WHERE id = ? AND status = 'unpaid'";
	struct dbv args[] = {DBI(now_ms), DBI(id)};

	return db_exec(d, sql, args, 2, affected, NULL);
}

/* Builds "INSERT ... VALUES (...), (...)" for rows rows into buf. */
static void
insert_sql(char *buf, size_t size, int rows)
{
	size_t n = (size_t)snprintf(buf, size, "INSERT INTO orders " INSERT_COLS " VALUES ");

	for (int i = 0; i < rows && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s(?, ?, ?, ?, ?, ?, 'unpaid', ?, ?, ?, 1)",
				      i ? ", " : "");
}

static void
bind_order(struct dbv *a, const struct order *o, int64_t now)
{
	a[0] = DBI(o->id);
	a[1] = DBI(o->user_id);
	a[2] = DBI(o->activity_id);
	a[3] = DBI(o->item_id);
	a[4] = DBI(o->quantity);
	a[5] = DBI(o->amount_cents);
	a[6] = DBI(o->created_ms);
	a[7] = DBI(o->pay_deadline_ms);
	a[8] = DBI(now);
}

int
db_order_insert_unpaid(struct db *d, const struct order *orders, int n, int64_t now_ms)
{
	static char sql[FS_ARRAY_LEN(shapes)][256 * 48 + 256];
	static struct dbv args[256 * INSERT_ROW_PARAMS];
	int done = 0;

	while (done < n) {
		int s = 0, rows;

		while (shapes[s] > n - done)
			s++;
		rows = shapes[s];
		if (sql[s][0] == '\0')
			insert_sql(sql[s], sizeof(sql[s]), rows);
		for (int i = 0; i < rows; i++)
			bind_order(&args[i * INSERT_ROW_PARAMS], &orders[done + i], now_ms);
		if (db_exec(d, sql[s], args, rows * INSERT_ROW_PARAMS, NULL, NULL) != FS_OK)
			return FS_ERR;
		done += rows;
	}
	return FS_OK;
}

int
db_order_insert_failed(struct db *d, const struct order *o, int64_t now_ms)
{
	static const char sql[] =
		"INSERT INTO orders " INSERT_COLS " VALUES (?, ?, ?, ?, ?, ?, 'failed', ?, 0, ?, NULL)";
	struct dbv f[] = {DBI(o->id), DBI(o->user_id), DBI(o->activity_id), DBI(o->item_id),
			  DBI(o->quantity), DBI(o->amount_cents), DBI(o->created_ms), DBI(now_ms)};

	return db_exec(d, sql, f, 8, NULL, NULL);
}

int
db_order_state(struct db *d, int64_t id, enum order_status *status, int64_t *pay_deadline_ms)
{
	static const char sql[] = "SELECT status, pay_deadline_ms FROM orders WHERE id = ?";
	struct dbv arg[] = {DBI(id)};
	struct db_rows rows;
	int found;

	if (db_query(d, sql, arg, 1, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows == 1;
	if (found) {
		if (order_status_parse(db_cell(&rows, 0, 0), status) != FS_OK)
			*status = ORDER_UNPAID;
		*pay_deadline_ms = db_cell_int(&rows, 0, 1);
	}
	db_rows_free(&rows);
	return found;
}

/* The single integer a one-row query answers, or FS_ERR. */
static long long
query_int(struct db *d, const char *sql, const struct dbv *args, int nargs)
{
	struct db_rows rows;
	long long v;

	if (db_query(d, sql, args, nargs, &rows) != FS_OK)
		return FS_ERR;
	v = db_cell_int(&rows, 0, 0);
	db_rows_free(&rows);
	return v;
}

long long
db_order_lapses(struct db *d, int64_t uid, int64_t aid)
{
	static const char sql[] = "SELECT COUNT(*) FROM orders WHERE user_id = ? AND activity_id = ? "
				  "AND status IN ('closed', 'cancelled')";
	struct dbv args[] = {DBI(uid), DBI(aid)};

	return query_int(d, sql, args, 2);
}

int
db_order_banned(struct db *d, int64_t now_ms, int min_lapses, struct db_rows *out)
{
	static const char sql[] =
		"SELECT o.user_id, o.activity_id FROM orders o JOIN activities a ON a.id = o.activity_id "
		"WHERE a.status = 'published' AND a.end_ms > ? AND o.status IN ('closed', 'cancelled') "
		"GROUP BY o.user_id, o.activity_id HAVING COUNT(*) >= ?";
	struct dbv args[] = {DBI(now_ms), DBI(min_lapses)};

	return db_query(d, sql, args, 2, out);
}

int
db_order_released_since(struct db *d, int64_t since_ms, int max, struct db_rows *out)
{
	static const char sql[] =
		"SELECT " DB_ORDER_COLS " FROM orders WHERE status IN ('closed', 'cancelled') "
		"AND updated_ms >= ? ORDER BY updated_ms LIMIT ?";
	struct dbv args[] = {DBI(since_ms), DBI(max)};

	return db_query(d, sql, args, 2, out);
}

long long
db_order_live_units(struct db *d, int64_t aid, int64_t iid)
{
	static const char sql[] = "SELECT COALESCE(SUM(quantity), 0) FROM orders "
				  "WHERE activity_id = ? AND item_id = ? AND status IN ('unpaid', 'paid')";
	struct dbv args[] = {DBI(aid), DBI(iid)};

	return query_int(d, sql, args, 2);
}

int
db_order_returned(struct db *d, int64_t aid, int64_t iid, struct order **out)
{
	static const char sql[] =
		"SELECT " DB_ORDER_COLS " FROM orders "
		"WHERE activity_id = ? AND item_id = ? AND status IN ('closed', 'cancelled', 'failed')";
	struct dbv args[] = {DBI(aid), DBI(iid)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 2, &rows, sizeof(**out), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++)
		db_order_row(&rows, i, &(*out)[i]);
	db_rows_free(&rows);
	return n;
}

#define STR_(x) #x
#define STR(x) STR_(x)

int
db_order_live_page(struct db *d, int64_t aid, int64_t iid, int64_t after_uid, int64_t *uids,
		   int64_t *ids)
{
	/* one live order per user (UNIQUE one_live): paged by user on that key */
	static const char sql[] =
		"SELECT user_id, id FROM orders WHERE activity_id = ? AND item_id = ? AND user_id > ? "
		"AND live = 1 ORDER BY user_id LIMIT " STR(DB_ORDER_LIVE_PAGE);
	struct dbv a[] = {DBI(aid), DBI(iid), DBI(after_uid)};
	struct db_rows rows;
	int n;

	if (db_query(d, sql, a, 3, &rows) != FS_OK)
		return FS_ERR;
	n = rows.nrows;
	for (int i = 0; i < n; i++) {
		uids[i] = db_cell_int(&rows, i, 0);
		ids[i] = db_cell_int(&rows, i, 1);
	}
	db_rows_free(&rows);
	return n;
}

/* "SELECT ... WHERE id IN (?, ..., ?)" with shapes[shape] marks. */
static const char *
sql_in(int shape)
{
	static char sql[FS_ARRAY_LEN(shapes)][256 * 3 + 128];
	char *s = sql[shape];

	if (s[0] == '\0') {
		size_t n = (size_t)snprintf(s, sizeof(sql[0]),
					    "SELECT " DB_ORDER_COLS " FROM orders WHERE id IN (");

		for (int i = 0; i < shapes[shape]; i++)
			n += (size_t)snprintf(s + n, sizeof(sql[0]) - n, "%s?", i ? "," : "");
		snprintf(s + n, sizeof(sql[0]) - n, ")");
	}
	return s;
}

int
db_order_reload(struct db *d, const struct order *orders, int n, struct order **found, int *nfound)
{
	int done = 0;

	while (done < n) {
		struct dbv args[256];
		struct db_rows rows;
		int s = 0, m;

		while (shapes[s] > n - done)
			s++;
		m = shapes[s];
		for (int i = 0; i < m; i++)
			args[i] = DBI(orders[done + i].id);
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
