/*
 * lifecycle.c: the order's moves after MySQL has it, each a conditional
 * update in one transaction (see lifecycle.h); the statements are the
 * tables' owners' (db_order.c, db_sale.c, db_payment.c).
 */
#include "lifecycle.h"
#include "db_order.h"
#include "db_payment.h"
#include "db_sale.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "kv_lifecycle.h"
#include "log.h"
#include "pub.h"
#include "kv_sale.h"
#include "kv_order.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* InnoDB picked this transaction as a deadlock victim, or its lock wait
 * timed out: nothing was changed, so the transaction may simply run again */
#define DB_ER_LOCK_DEADLOCK 1213
#define DB_ER_LOCK_WAIT_TIMEOUT 1205
#define TX_TRIES 3

/* 1 when the last MySQL error was one a rerun of the transaction cures. */
static int
tx_retryable(const struct db *d)
{
	return !db_down(d) &&
	       (db_errno(d) == DB_ER_LOCK_DEADLOCK || db_errno(d) == DB_ER_LOCK_WAIT_TIMEOUT);
}

/* One try of the release transaction. */
static enum lifecycle_result
release_tx(struct db *d, const struct order *o, enum order_status to, int64_t now)
{
	long long affected = 0;

	if (db_begin(d) != FS_OK)
		return LC_DOWN;
	if (db_order_release(d, o->id, order_status_name(to), now, &affected) != FS_OK)
		goto fail;
	if (affected != 1) {
		/* paid, closed or cancelled already: whoever came first won */
		db_rollback(d);
		return LC_CONFLICT;
	}
	if (db_sale_stock_give(d, o->activity_id, o->item_id, o->quantity, &affected) != FS_OK)
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
	int64_t *iids;
	int n, rc;

	n = db_sale_item_ids(d, aid, &iids);
	if (n == FS_ERR)
		return FS_ERR;
	rc = kv_sale_ban(kv, aid, iids, n, uid);
	free(iids);
	return rc;
}

int
lifecycle_ban_check(struct db *d, struct kv *kv, int64_t uid, int64_t aid)
{
	long long lapses = db_order_lapses(d, uid, aid);

	if (lapses == FS_ERR)
		return FS_ERR;
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
	struct db_rows rows;
	int n = 0;

	if (db_order_banned(d, now_ms, LIFECYCLE_BAN_LAPSES, &rows) != FS_OK)
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
	struct db_rows rows;
	int n = 0;

	if (db_order_released_since(d, since_ms, max, &rows) != FS_OK)
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

/* Applies the recorded cancel of o, as MySQL holds it, and drops the mark;
 * counts it in *applied (may be NULL) when this call cancelled the order.
 * FS_OK, or FS_ERR with the mark left for the next sweep. */
static int
cancel_recorded(struct db *d, struct kv *kv, const struct order *o, int *applied)
{
	struct order c = *o;
	enum lifecycle_result res = LC_CONFLICT;

	/* paid, closed or failed meanwhile: nothing left to cancel; a
	 * conflict means another move got there first, which is as good */
	if (c.status == ORDER_UNPAID)
		res = lifecycle_release(d, kv, &c, ORDER_CANCELLED);
	if (res == LC_DOWN || res == LC_NOT_FOUND)
		return FS_ERR;
	if (res == LC_OK) {
		log_info("order %" PRId64 ": recorded cancel applied", c.id);
		if (applied)
			(*applied)++;
	}
	if (kv_lifecycle_cancel_done(kv, o->activity_id, o->item_id, o->id) != FS_OK) {
		log_warn("order %" PRId64 ": cancel mark not dropped (%s)", o->id, kv->errstr);
		return FS_ERR;
	}
	return FS_OK;
}

void
lifecycle_cancels_apply(struct db *d, struct kv *kv, const struct order *orders, int n)
{
	for (int i = 0; i < n; i++) {
		int64_t *ids;
		int nids;

		/* once per item (the batch comes sorted by item) */
		if (i > 0 && orders[i].activity_id == orders[i - 1].activity_id &&
		    orders[i].item_id == orders[i - 1].item_id)
			continue;
		if (kv_lifecycle_cancels(kv, orders[i].activity_id, orders[i].item_id, &ids, &nids) !=
		    FS_OK) {
			log_warn("item %" PRId64 ":%" PRId64 ": recorded cancels not read (%s); "
				 "the expire job applies them", orders[i].activity_id,
				 orders[i].item_id, kv->errstr);
			continue;
		}
		for (int k = 0; k < nids; k++)
			for (int j = i; j < n; j++)
				if (orders[j].id == ids[k] &&
				    orders[j].activity_id == orders[i].activity_id &&
				    orders[j].item_id == orders[i].item_id) {
					cancel_recorded(d, kv, &orders[j], NULL);
					break;
				}
		free(ids);
	}
}

/* The sweep of one item's recorded cancels. Adds the orders it cancelled
 * to *applied. FS_OK or FS_ERR. */
static int
cancels_sweep_item(struct db *d, struct kv *kv, int64_t aid, int64_t iid, int *applied)
{
	int64_t *ids;
	int nids, rc = FS_OK;

	if (kv_lifecycle_cancels(kv, aid, iid, &ids, &nids) != FS_OK)
		return FS_ERR;
	for (int k = 0; k < nids && rc == FS_OK; k++) {
		struct order o;
		int q, found;

		/* journal first: its entry goes only after MySQL has the order,
		 * so once it is gone MySQL answers for good */
		q = kv_lifecycle_journaled(kv, aid, iid, ids[k]);
		if (q == 1)
			continue; /* still queued: its writer applies the cancel */
		if (q == FS_ERR) {
			rc = FS_ERR;
			break;
		}
		found = db_order_load(d, ids[k], &o);
		if (found == FS_ERR) {
			rc = FS_ERR;
		} else if (found == 0) {
			log_warn("order %" PRId64 ": cancel recorded, but the order is neither queued "
				 "nor written; mark dropped", ids[k]);
			rc = kv_lifecycle_cancel_done(kv, aid, iid, ids[k]);
		} else {
			rc = cancel_recorded(d, kv, &o, applied);
		}
	}
	free(ids);
	return rc;
}

int
lifecycle_cancels_sweep(struct db *d, struct kv *kv, int64_t now_ms)
{
	struct db_rows rows;
	int applied = 0, rc = FS_OK;

	if (db_sale_recent_items(d, now_ms - 2 * 24 * 3600 * 1000LL, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows; i++)
		if (cancels_sweep_item(d, kv, db_cell_int(&rows, i, 0), db_cell_int(&rows, i, 1),
				       &applied) != FS_OK)
			rc = FS_ERR;
	db_rows_free(&rows);
	return rc == FS_OK ? applied : FS_ERR;
}

/* One try of the notify transaction. */
static enum pay_outcome
pay_tx(struct db *d, const struct paynotify *n, int64_t now)
{
	int64_t order_id = 0, amount = 0;
	char state[16] = "";
	enum pay_outcome res;
	const char *settled;
	long long affected = 0;
	int found;

	if (db_begin(d) != FS_OK)
		return PAY_DOWN;
	/* the lock makes duplicate notifies of one payment queue up here, and
	 * each one after the first sees the payment settled */
	found = db_payment_lock(d, n->payment_id, &order_id, &amount, state, sizeof(state));
	if (found == FS_ERR)
		goto fail;
	if (!found)
		res = PAY_NOT_FOUND;
	else if (order_id != n->order_id)
		res = PAY_ORDER_MISMATCH;
	else if (amount != n->amount_cents)
		res = PAY_AMOUNT_MISMATCH;
	else if (strcmp(state, "created") == 0)
		res = n->success ? PAY_PAID : PAY_FAILED;
	/* a failed attempt is not final: the shopper may pay after all, and
	 * money that came must be applied (paid, or late for a refund) */
	else if (strcmp(state, "fail") == 0 && n->success)
		res = PAY_PAID;
	else
		res = PAY_REPLAY;
	if (res != PAY_PAID && res != PAY_FAILED) {
		db_rollback(d);
		return res;
	}

	settled = "fail";
	if (n->success) {
		if (db_order_pay(d, n->order_id, now, &affected) != FS_OK)
			goto fail;
		/* the order closed or was cancelled (or paid by another payment)
		 * before this notify: the money is kept as late, to be refunded */
		res = affected == 1 ? PAY_PAID : PAY_LATE;
		settled = res == PAY_PAID ? "success" : "late";
	}
	if (db_payment_settle(d, n->payment_id, settled, n->ts_ms, now, &affected) != FS_OK)
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
