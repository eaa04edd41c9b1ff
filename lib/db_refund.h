/*
 * db_refund.h: refunds of late payments in MySQL (tables refunds and
 * sandbox_refunds; docs/GUARD-REFUND.md).
 *
 * A payment `late` (a success notify after its order left unpaid) owes a
 * refund: the notify's transaction (lifecycle.c) is the only record of
 * that, so the order shows "refund":"pending" from the notify on. The
 * refunds row is the refund job's progress on one payment: enlisted,
 * claimed for a lease by one job at a time (a conditional UPDATE: of two
 * jobs exactly one claims), done with the provider's refund_id, recorded
 * once. A job that dies after the provider answered leaves the row
 * pending: its lease runs out, the next run asks the provider again, and
 * the provider, idempotent by payment_id, answers the same refund_id.
 *
 * sandbox_refunds is the sandbox provider's own book (cgi-bin/pay.c): one
 * row per refunded payment, however often it is asked.
 */
#ifndef FS_DB_REFUND_H
#define FS_DB_REFUND_H

#include <stdint.h>

#include "refund.h"

struct db;

/* Adds a pending refunds row for each late payment that has none (at most
 * max). Returns how many it added, or FS_ERR. */
int db_refund_enlist(struct db *d, int64_t now_ms, int max);

/* Pending refunds whose claim has lapsed at now_ms, oldest payment first:
 * fills out[0..n) with payment_id, order_id and amount_cents (the rest
 * zero) and returns n (<= max), or FS_ERR. */
int db_refund_due(struct db *d, int64_t now_ms, struct refund_call *out, int max);

/* Claims pending refund pid until now_ms + lease_ms if its claim has
 * lapsed: 1 this caller holds it, 0 another job does (or it is done),
 * FS_ERR. */
int db_refund_claim(struct db *d, int64_t pid, int64_t now_ms, int64_t lease_ms);

/* Records the provider's refund_id of payment pid, once: 1 recorded now, 0
 * recorded before (a racing job got the same answer), FS_ERR. */
int db_refund_done(struct db *d, int64_t pid, const char *refund_id, int64_t now_ms);

/* The refund status of order oid (every late payment of it) into *st.
 * FS_OK or FS_ERR. Reads the primary: an order's own status. */
int db_refund_of_order(struct db *d, int64_t oid, struct refund_status *st);

/* One order of a user's list with a late payment. */
struct db_refund_order {
	int64_t order_id;
	struct refund_status st;
};

/* The refund status of each of user uid's orders that has a late payment:
 * *out (caller frees; NULL when none) and how many, or FS_ERR. A list: may
 * read a caught-up replica (db_query_read). */
int db_refund_of_user(struct db *d, int64_t uid, struct db_refund_order **out);

/* What the sandbox provider made of a refund call. */
enum db_refund_sandbox {
	DBR_REFUNDED,     /* refunded now or before: id holds the refund_id */
	DBR_NOT_FOUND,    /* no such payment */
	DBR_MISMATCH,     /* order_id or amount_cents are not the payment's */
	DBR_NOT_CAPTURED, /* no money came for it (created or fail) */
	DBR_DOWN,         /* MySQL failed */
};

/* The sandbox provider's refund of call q (signature already checked):
 * checks the payment, then books the refund once under new_id (used only
 * the first time) and copies the booked refund_id into id. */
enum db_refund_sandbox db_refund_sandbox(struct db *d, const struct refund_call *q,
					 const char *new_id, int64_t now_ms,
					 char id[REFUND_ID_MAX + 1]);

#endif
