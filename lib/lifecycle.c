/*
 * lifecycle.c: the order's moves after MySQL has it, each a conditional
 * update in one transaction (see lifecycle.h).
 */
#include "lifecycle.h"
#include "db_order.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "pub.h"
#include "req.h"
#include "sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* InnoDB picked this transaction as a deadlock victim, or its lock wait
 * timed out: nothing was changed, so the transaction may simply run again */
#define DB_ER_LOCK_DEADLOCK 1213
#define DB_ER_LOCK_WAIT_TIMEOUT 1205
#define TX_TRIES 3
#define CANCEL_POLL_MS 50

static const char sql_release[] =
	"UPDATE orders SET status = ?, live = NULL, updated_ms = ? WHERE id = ? AND status = 'unpaid'";
static const char sql_give_stock[] =
	"UPDATE activity_items SET stock = stock + ? WHERE activity_id = ? AND item_id = ?";
static const char sql_lapses[] =
	"SELECT COUNT(*) FROM orders WHERE user_id = ? AND activity_id = ? "
	"AND status IN ('closed', 'cancelled')";
static const char sql_items[] = "SELECT item_id FROM activity_items WHERE activity_id = ?";
static const char sql_banned[] =
	"SELECT o.user_id, o.activity_id FROM orders o JOIN activities a ON a.id = o.activity_id "
	"WHERE a.status = 'published' AND a.end_ms > ? AND o.status IN ('closed', 'cancelled') "
	"GROUP BY o.user_id, o.activity_id HAVING COUNT(*) >= ?";
static const char sql_released_since[] =
	"SELECT id, user_id, activity_id, item_id, quantity, amount_cents, status, created_ms, "
	"pay_deadline_ms FROM orders WHERE status IN ('closed', 'cancelled') AND updated_ms >= ? "
	"ORDER BY updated_ms LIMIT ?";
static const char sql_payment_lock[] =
	"SELECT order_id, amount_cents, status FROM payments WHERE id = ? FOR UPDATE";
static const char sql_payment_settle[] =
	"UPDATE payments SET status = ?, notify_ts_ms = ?, updated_ms = ? WHERE id = ? "
	"AND status = 'created'";
static const char sql_pay_order[] =
	"UPDATE orders SET status = 'paid', updated_ms = ? WHERE id = ? AND status = 'unpaid'";

/* 1 when the last MySQL error was one a rerun of the transaction cures. */
static int
tx_retryable(const struct db *d)
{
	return !db_down(d) &&
	       (db_errno(d) == DB_ER_LOCK_DEADLOCK || db_errno(d) == DB_ER_LOCK_WAIT_TIMEOUT);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One try of the release transaction. */
static enum lifecycle_result
release_tx(struct db *d, const struct order *o, enum order_status to, int64_t now)
{
	struct dbv upd[] = {DBS(order_status_name(to)), DBI(now), DBI(o->id)};
	struct dbv give[] = {DBI(o->quantity), DBI(o->activity_id), DBI(o->item_id)};
	long long affected = 0;

	if (db_begin(d) != FS_OK)
		return LC_DOWN;
	if (db_exec(d, sql_release, upd, 3, &affected, NULL) != FS_OK)
		goto fail;
	if (affected != 1) {
		/* paid, closed or cancelled already: whoever came first won */
		db_rollback(d);
		return LC_CONFLICT;
	}
	if (db_exec(d, sql_give_stock, give, 3, &affected, NULL) != FS_OK)
		goto fail;
	if (affected != 1) {
		/* the activity item is gone: a broken invariant, change nothing */
		log_err("order %" PRId64 ": activity item %" PRId64 ":%" PRId64 " missing", o->id,
			o->activity_id, o->item_id);
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return LC_DOWN;
	return LC_OK;
fail:
	db_rollback(d);
	return LC_DOWN;
}

enum lifecycle_result
lifecycle_release(struct db *d, struct kv *kv, struct order *o, enum order_status to)
{
	enum lifecycle_result res = LC_DOWN;

	if (to != ORDER_CLOSED && to != ORDER_CANCELLED)
		die("lifecycle_release: %s is not a release", order_status_name(to));
	for (int t = 0; t < TX_TRIES; t++) {
		res = release_tx(d, o, to, fs_now_ms());
		if (res != LC_DOWN || !tx_retryable(d))
			break;
		log_info("order %" PRId64 " -> %s: %s; again", o->id, order_status_name(to),
			 db_errstr(d));
	}
	if (res != LC_OK) {
		if (res == LC_DOWN)
			log_warn("order %" PRId64 " -> %s: %s", o->id, order_status_name(to),
				 db_errstr(d));
		return res;
	}
	o->status = to;
	/* MySQL has it: Redis follows; a failure here is repaired by the
	 * expire job's sweep (kv_sale_release is exactly once) */
	if (kv_sale_release(kv, o) != FS_OK)
		log_warn("order %" PRId64 ": stock not yet back in Redis (%s)", o->id, kv->errstr);
	if (kv_order_put(kv, o) != FS_OK)
		log_warn("order %" PRId64 ": status record not written (%s)", o->id, kv->errstr);
	pub_order(o); /* push event "closed"/"cancelled": lib/pub.h */
	if (lifecycle_ban_check(d, kv, o->user_id, o->activity_id) == FS_ERR)
		log_warn("user %" PRId64 " activity %" PRId64 ": ban check failed", o->user_id,
			 o->activity_id);
	return LC_OK;
}

/* Bans uid from every item of aid in Redis. FS_OK or FS_ERR. */
static int
ban_activity(struct db *d, struct kv *kv, int64_t uid, int64_t aid)
{
	struct dbv arg[] = {DBI(aid)};
	struct db_rows rows;
	int64_t *iids;
	int rc;

	if (db_query(d, sql_items, arg, 1, &rows) != FS_OK)
		return FS_ERR;
	iids = xcalloc((unsigned long)rows.nrows + 1, sizeof(*iids));
	for (int i = 0; i < rows.nrows; i++)
		iids[i] = db_cell_int(&rows, i, 0);
	rc = kv_sale_ban(kv, aid, iids, rows.nrows, uid);
	free(iids);
	db_rows_free(&rows);
	return rc;
}

int
lifecycle_ban_check(struct db *d, struct kv *kv, int64_t uid, int64_t aid)
{
	struct dbv args[] = {DBI(uid), DBI(aid)};
	struct db_rows rows;
	long long lapses;

	if (db_query(d, sql_lapses, args, 2, &rows) != FS_OK)
		return FS_ERR;
	lapses = db_cell_int(&rows, 0, 0);
	db_rows_free(&rows);
	if (lapses < LIFECYCLE_BAN_LAPSES)
		return 0;
	if (ban_activity(d, kv, uid, aid) != FS_OK)
		return FS_ERR;
	log_info("user %" PRId64 " banned from activity %" PRId64 " (%lld lapses)", uid, aid, lapses);
	return 1;
}

int
lifecycle_bans_reapply(struct db *d, struct kv *kv, int64_t now_ms)
{
	struct dbv args[] = {DBI(now_ms), DBI(LIFECYCLE_BAN_LAPSES)};
	struct db_rows rows;
	int n = 0;

	if (db_query(d, sql_banned, args, 2, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows; i++) {
		if (ban_activity(d, kv, db_cell_int(&rows, i, 0), db_cell_int(&rows, i, 1)) != FS_OK) {
			n = FS_ERR;
			break;
		}
		n++;
	}
	db_rows_free(&rows);
	return n;
}

int
lifecycle_release_sweep(struct db *d, struct kv *kv, int64_t since_ms, int max)
{
	struct dbv args[] = {DBI(since_ms), DBI(max)};
	struct db_rows rows;
	int n = 0;

	if (db_query(d, sql_released_since, args, 2, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows; i++) {
		struct order o;

		db_order_row(&rows, i, &o);
		if (kv_sale_release(kv, &o) != FS_OK) {
			n = FS_ERR;
			break;
		}
		n++;
	}
	db_rows_free(&rows);
	return n;
}

/* Waits, until deadline_ms, for the order handler to write order id to
 * MySQL. 1 found (o filled), 0 not in time, FS_ERR MySQL failed. */
static int
await_written(struct db *d, int64_t id, int64_t deadline_ms, struct order *o)
{
	int rc;

	for (;;) {
		rc = db_order_load(d, id, o);
		if (rc != 0 || fs_now_ms() >= deadline_ms)
			return rc;
		sleep_ms(CANCEL_POLL_MS);
	}
}

/* The order handler announces an order it wrote (kv_order_put "unpaid")
 * just after its commit; a cancel landing in between would see its status
 * record overwritten. So let a record still saying queued settle first
 * (bounded by deadline_ms; MySQL stays the truth either way). */
static void
await_announced(struct kv *kv, int64_t uid, int64_t id, int64_t deadline_ms)
{
	struct order k;

	while (kv_order_get(kv, uid, id, &k) == 1 && k.status == ORDER_QUEUED &&
	       fs_now_ms() < deadline_ms)
		sleep_ms(CANCEL_POLL_MS);
}

static void
reply_order(struct req *r, const struct order *o)
{
	json_object *j = order_to_json(o);

	reply_json(r, 200, j);
	json_object_put(j);
}

void
lifecycle_cancel_or_reply(struct req *r, int64_t order_id)
{
	int64_t deadline = fs_now_ms() + LIFECYCLE_CANCEL_WAIT_MS;
	struct order o;
	int rc;

	rc = db_order_load(r->db, order_id, &o);
	if (rc == 0) {
		/* not in MySQL: a queued order lives in Redis only */
		int k = kv_order_get(r->kv, r->user_id, order_id, &o);

		if (k == FS_ERR) {
			reply_error(r, FS_E_UNAVAILABLE);
			return;
		}
		if (k == 0 || o.user_id != r->user_id) {
			reply_error(r, FS_E_NOT_FOUND);
			return;
		}
		if (o.status != ORDER_QUEUED) {
			reply_error_msg(r, FS_E_CONFLICT, "only an unpaid or queued order can be cancelled");
			return;
		}
		rc = await_written(r->db, order_id, deadline, &o);
		if (rc == 0) {
			reply_error_msg(r, FS_E_CONFLICT,
					"the order is still being written; try again in a moment");
			return;
		}
	}
	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	if (o.user_id != r->user_id) {
		reply_error(r, FS_E_NOT_FOUND);
		return;
	}
	if (o.status != ORDER_UNPAID) {
		reply_error_msg(r, FS_E_CONFLICT, "only an unpaid or queued order can be cancelled");
		return;
	}
	await_announced(r->kv, r->user_id, order_id, deadline);
	switch (lifecycle_release(r->db, r->kv, &o, ORDER_CANCELLED)) {
	case LC_OK:
		reply_order(r, &o);
		break;
	case LC_CONFLICT:
		reply_error_msg(r, FS_E_CONFLICT, "the order has just been paid, closed or cancelled");
		break;
	case LC_NOT_FOUND:
		reply_error(r, FS_E_NOT_FOUND);
		break;
	case LC_DOWN:
	default:
		reply_error(r, FS_E_UNAVAILABLE);
		break;
	}
}

/* One try of the notify transaction. */
static enum pay_outcome
pay_tx(struct db *d, const struct paynotify *n, int64_t now)
{
	struct dbv pid[] = {DBI(n->payment_id)};
	struct db_rows rows;
	enum pay_outcome res;
	const char *settled;
	long long affected = 0;

	if (db_begin(d) != FS_OK)
		return PAY_DOWN;
	/* the lock makes duplicate notifies of one payment queue up here, and
	 * each one after the first sees the payment settled */
	if (db_query(d, sql_payment_lock, pid, 1, &rows) != FS_OK)
		goto fail;
	if (rows.nrows == 0)
		res = PAY_NOT_FOUND;
	else if (db_cell_int(&rows, 0, 0) != n->order_id)
		res = PAY_ORDER_MISMATCH;
	else if (db_cell_int(&rows, 0, 1) != n->amount_cents)
		res = PAY_AMOUNT_MISMATCH;
	else if (strcmp(db_cell(&rows, 0, 2), "created") != 0)
		res = PAY_REPLAY;
	else
		res = n->success ? PAY_PAID : PAY_FAILED;
	db_rows_free(&rows);
	if (res != PAY_PAID && res != PAY_FAILED) {
		db_rollback(d);
		return res;
	}

	settled = "fail";
	if (n->success) {
		struct dbv upd[] = {DBI(now), DBI(n->order_id)};

		if (db_exec(d, sql_pay_order, upd, 2, &affected, NULL) != FS_OK)
			goto fail;
		/* the order closed or was cancelled (or paid by another payment)
		 * before this notify: the money is kept as late, to be refunded */
		res = affected == 1 ? PAY_PAID : PAY_LATE;
		settled = res == PAY_PAID ? "success" : "late";
	}
	struct dbv set[] = {DBS(settled), DBI(n->ts_ms), DBI(now), DBI(n->payment_id)};
	if (db_exec(d, sql_payment_settle, set, 4, &affected, NULL) != FS_OK)
		goto fail;
	if (affected != 1) {
		/* cannot happen under the row lock; refuse rather than guess */
		log_err("payment %" PRId64 ": settle matched %lld rows", n->payment_id, affected);
		goto fail;
	}
	if (db_commit(d) != FS_OK)
		return PAY_DOWN;
	return res;
fail:
	db_rollback(d);
	return PAY_DOWN;
}

enum pay_outcome
lifecycle_pay_apply(struct db *d, struct kv *kv, const struct paynotify *n)
{
	enum pay_outcome res = PAY_DOWN;
	struct order o;

	for (int t = 0; t < TX_TRIES; t++) {
		res = pay_tx(d, n, fs_now_ms());
		if (res != PAY_DOWN || !tx_retryable(d))
			break;
	}
	if (res == PAY_DOWN) {
		log_warn("payment %" PRId64 ": %s", n->payment_id, db_errstr(d));
		return res;
	}
	if (res == PAY_LATE)
		log_warn("payment %" PRId64 " for order %" PRId64 " came late: refund %" PRId64
			 " cents", n->payment_id, n->order_id, n->amount_cents);
	if (res == PAY_PAID && db_order_load(d, n->order_id, &o) == 1) {
		if (kv_order_put(kv, &o) != FS_OK)
			log_warn("order %" PRId64 ": status record not written (%s)", o.id, kv->errstr);
		pub_order(&o); /* push event "paid": lib/pub.h */
	}
	return res;
}
