/*
 * persist.c: reserved orders into MySQL (see persist.h).
 */
#include "persist.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "pub.h"
#include "kv_sale.h"
#include "kv_order.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER_COLS "(id, user_id, activity_id, item_id, quantity, amount_cents, status, " \
		   "created_ms, pay_deadline_ms, updated_ms, live)"
#define INSERT_ROW_PARAMS 10

static const char sql_take_stock[] =
	"UPDATE activity_items SET stock = stock - ? "
	"WHERE activity_id = ? AND item_id = ? AND stock >= ?";
static const char sql_give_stock[] =
	"UPDATE activity_items SET stock = stock + ? WHERE activity_id = ? AND item_id = ?";
static const char sql_order_state[] = "SELECT status, pay_deadline_ms FROM orders WHERE id = ?";
static const char sql_insert_failed[] =
	"INSERT INTO orders " ORDER_COLS " VALUES (?, ?, ?, ?, ?, ?, 'failed', ?, 0, ?, NULL)";

/* Builds "INSERT ... VALUES (...), (...)" for rows rows into buf. */
static void
insert_sql(char *buf, size_t size, int rows)
{
	size_t n = (size_t)snprintf(buf, size, "INSERT INTO orders " ORDER_COLS " VALUES ");

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
	a[9] = DBNULL; /* unused slot keeps rows the same width */
}

/* Inserts orders[0..n) as unpaid in chunks of fixed sizes, so only a few
 * statement shapes are ever prepared (and cached). */
static int
insert_unpaid(struct db *d, struct order *orders, int n, int64_t now)
{
	static const int shapes[] = {256, 64, 16, 4, 1};
	static char sql[5][256 * 48 + 256];
	static struct dbv args[256 * (INSERT_ROW_PARAMS - 1)];
	int done = 0;

	while (done < n) {
		int s = 0, rows;

		while (shapes[s] > n - done)
			s++;
		rows = shapes[s];
		if (sql[s][0] == '\0')
			insert_sql(sql[s], sizeof(sql[s]), rows);
		for (int i = 0; i < rows; i++) {
			struct dbv row[INSERT_ROW_PARAMS];

			bind_order(row, &orders[done + i], now);
			memcpy(&args[i * (INSERT_ROW_PARAMS - 1)], row,
			       sizeof(struct dbv) * (INSERT_ROW_PARAMS - 1));
		}
		if (db_exec(d, sql[s], args, rows * (INSERT_ROW_PARAMS - 1), NULL, NULL) != FS_OK)
			return FS_ERR;
		done += rows;
	}
	return FS_OK;
}

static int
cmp_item(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->activity_id != y->activity_id)
		return x->activity_id < y->activity_id ? -1 : 1;
	if (x->item_id != y->item_id)
		return x->item_id < y->item_id ? -1 : 1;
	return 0;
}

/* The whole batch in one transaction. FS_OK committed; FS_ERR rolled back
 * (*surprise set when MySQL refused a row rather than failed). */
static int
persist_fast(struct db *d, struct order *orders, int n, int64_t now, int *surprise)
{
	*surprise = 0;
	if (db_begin(d) != FS_OK)
		return FS_ERR;
	/* sorted by item, so every handler locks activity_items rows in the
	 * same order and two handlers can never deadlock each other */
	qsort(orders, (size_t)n, sizeof(*orders), cmp_item);
	for (int i = 0; i < n;) {
		int j = i;
		int64_t qty = 0;
		long long affected = 0;

		while (j < n && cmp_item(&orders[i], &orders[j]) == 0)
			qty += orders[j++].quantity;
		struct dbv a[] = {DBI(qty), DBI(orders[i].activity_id), DBI(orders[i].item_id), DBI(qty)};
		if (db_exec(d, sql_take_stock, a, 4, &affected, NULL) != FS_OK)
			goto fail;
		if (affected != 1) {
			*surprise = 1;
			goto fail;
		}
		i = j;
	}
	if (insert_unpaid(d, orders, n, now) != FS_OK) {
		if (!db_down(d))
			*surprise = 1;
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return FS_ERR;
	return FS_OK;
fail:
	db_rollback(d);
	return FS_ERR;
}

/* One order in its own transaction, telling what MySQL made of it:
 * its final status in o->status. FS_ERR only when MySQL failed. */
static int
persist_one(struct db *d, struct order *o, int64_t now, int *replayed)
{
	struct db_rows rows;
	struct dbv id[] = {DBI(o->id)};
	long long affected = 0;

	*replayed = 0;
	if (db_query(d, sql_order_state, id, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows == 1) {
		/* already in MySQL: keep its state, it may have moved on */
		if (order_status_parse(db_cell(&rows, 0, 0), &o->status) != FS_OK)
			o->status = ORDER_UNPAID;
		o->pay_deadline_ms = db_cell_int(&rows, 0, 1);
		db_rows_free(&rows);
		*replayed = 1;
		return FS_OK;
	}
	db_rows_free(&rows);

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	struct dbv take[] = {DBI(o->quantity), DBI(o->activity_id), DBI(o->item_id), DBI(o->quantity)};
	if (db_exec(d, sql_take_stock, take, 4, &affected, NULL) != FS_OK)
		goto fail;
	if (affected == 1) {
		if (insert_unpaid(d, o, 1, now) == FS_OK) {
			if (db_commit(d) != FS_OK)
				return FS_ERR;
			o->status = ORDER_UNPAID;
			return FS_OK;
		}
		if (db_down(d) || db_errno(d) != DB_ER_DUP_ENTRY)
			goto fail;
		/* a live order of this user for this item exists: give the
		 * stock back and record this one as failed */
		struct dbv give[] = {DBI(o->quantity), DBI(o->activity_id), DBI(o->item_id)};
		if (db_exec(d, sql_give_stock, give, 3, NULL, NULL) != FS_OK)
			goto fail;
	}
	struct dbv f[] = {DBI(o->id), DBI(o->user_id), DBI(o->activity_id), DBI(o->item_id),
			  DBI(o->quantity), DBI(o->amount_cents), DBI(o->created_ms), DBI(now)};
	if (db_exec(d, sql_insert_failed, f, 8, NULL, NULL) != FS_OK) {
		if (!db_down(d) && db_errno(d) == DB_ER_DUP_ENTRY) {
			/* another handler wrote it meanwhile: a replay after all */
			db_rollback(d);
			return persist_one(d, o, now, replayed);
		}
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return FS_ERR;
	o->status = ORDER_FAILED;
	o->pay_deadline_ms = 0;
	return FS_OK;
fail:
	db_rollback(d);
	return FS_ERR;
}

/* Tells Redis what MySQL now holds for o. Failures are left to reconcile:
 * the journal entry stays, so the order is replayed and announced again. */
static int
announce_once(struct kv *kv, const struct order *o)
{
	if (o->status == ORDER_FAILED || o->status == ORDER_CLOSED || o->status == ORDER_CANCELLED) {
		if (kv_sale_release(kv, o) != FS_OK)
			return FS_ERR;
	}
	if (kv_order_put(kv, o) != FS_OK)
		return FS_ERR;
	return kv_sale_journal_done(kv, o);
}

static void
announce(struct kv *kv, const struct order *o)
{
	/* every step is idempotent: a second try after a dropped connection
	 * (Redis restarted) is safe and saves a wait for reconcile */
	if (announce_once(kv, o) != FS_OK)
		announce_once(kv, o);
}

/* The whole batch in one Redis pipeline; if any of it failed, order by
 * order again (all of it is idempotent). */
static void
announce_all(struct kv *kv, const struct order *orders, int n)
{
	pub_orders(orders, n); /* push events "unpaid"/"failed": lib/pub.h */
	if (kv_sale_announce(kv, orders, n) == FS_OK)
		return;
	for (int i = 0; i < n; i++)
		announce(kv, &orders[i]);
}

int
persist_orders(struct db *d, struct kv *kv, struct order *orders, int n, int64_t pay_window_ms,
	       struct persist_stats *st)
{
	int64_t now = fs_now_ms();
	int surprise = 0;

	if (n <= 0)
		return FS_OK;
	/* the window opens when the order becomes payable, that is now, when
	 * MySQL gets it: an order written late (the handler or MySQL was down)
	 * must not be born overdue, closed at once and counted as a lapse */
	for (int i = 0; i < n; i++)
		orders[i].pay_deadline_ms = now + pay_window_ms;

	if (persist_fast(d, orders, n, now, &surprise) == FS_OK) {
		for (int i = 0; i < n; i++)
			orders[i].status = ORDER_UNPAID;
		announce_all(kv, orders, n);
		lifecycle_cancels_apply(d, kv, orders, n);
		st->written += n;
		return FS_OK;
	}
	if (!surprise)
		return FS_ERR;

	/* replays, sold-out items or duplicates in the batch: one by one */
	for (int i = 0; i < n; i++) {
		int replayed;

		if (persist_one(d, &orders[i], now, &replayed) != FS_OK)
			return FS_ERR;
		if (replayed)
			st->replayed++;
		else if (orders[i].status == ORDER_FAILED)
			st->failed++;
		else
			st->written++;
	}
	announce_all(kv, orders, n);
	/* after the journal entries went: a cancel recorded until then is
	 * in the set now (lifecycle.h) */
	lifecycle_cancels_apply(d, kv, orders, n);
	return FS_OK;
}
