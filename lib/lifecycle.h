/*
 * lifecycle.h: the moves of an order after MySQL has it (API.md "Order
 * states", "Payment"): unpaid -> closed (expire), unpaid -> cancelled (the
 * user), unpaid -> paid (a signed notify). Each move is one MySQL
 * transaction with a conditional update from the expected state, so of two
 * racing moves exactly one wins and the other sees a conflict. A move that
 * gives stock back does it in the same transaction (MySQL), then after the
 * commit in Redis through kv_sale_release, which is exactly once however
 * often it runs.
 *
 * Bans: once a user has 3 closed or cancelled orders in one activity, the
 * user's id goes into the Redis ban set of every item of it (kv_sale_ban),
 * which the reserve script checks. MySQL is the record: the expire job
 * re-applies the bans of running activities from the orders table each run
 * (lifecycle_bans_reapply), so a Redis that lost its data bans them again
 * within a minute.
 *
 * After a commit, Redis may be down: the unit then goes back to Redis when
 * the expire job sweeps the recently released orders (lifecycle_release_sweep).
 */
#ifndef FS_LIFECYCLE_H
#define FS_LIFECYCLE_H

#include <stdint.h>

#include "order.h"
#include "paynotify.h"

struct db;
struct kv;

/* closed + cancelled orders in one activity that ban the user from it */
#define LIFECYCLE_BAN_LAPSES 3

enum lifecycle_result {
	LC_OK,        /* this call made the move */
	LC_CONFLICT,  /* the order was not in the expected state: another move won */
	LC_NOT_FOUND, /* MySQL has no such order */
	LC_DOWN,      /* MySQL failed: nothing changed */
};


/* Moves o (as loaded from MySQL) from unpaid to `to` (ORDER_CLOSED or
 * ORDER_CANCELLED) and gives its units back, MySQL then Redis; writes the
 * status record and bans the user at LIFECYCLE_BAN_LAPSES. On LC_OK
 * o->status is `to`. */
enum lifecycle_result lifecycle_release(struct db *d, struct kv *kv, struct order *o,
					enum order_status to);

/* Cancels of queued orders. A cancel is recorded in the item's set
 * fs:{A:I}:cancels only while the order's journal entry exists, so either
 * the writer of the order (which drops the entry after its commit, then
 * reads the set) sees it, or the cancel finds the order in MySQL and
 * cancels it itself. */

/* For the n orders just written (their status as MySQL holds it): cancels
 * those with a recorded cancel (unpaid -> cancelled, as a user's cancel
 * would) and drops the marks. A failure leaves the mark for the expire
 * job's sweep. */
void lifecycle_cancels_apply(struct db *d, struct kv *kv, const struct order *orders, int n);

/* The expire job's sweep of recorded cancels of every item whose sale ended
 * less than 2 days before now_ms (or not yet): applies those whose order
 * MySQL has, keeps those still queued. Returns how many it cancelled, or
 * FS_ERR. */
int lifecycle_cancels_sweep(struct db *d, struct kv *kv, int64_t now_ms);

/* 1 and bans uid from every item of activity aid when the user has
 * LIFECYCLE_BAN_LAPSES closed or cancelled orders there; 0 not (yet);
 * FS_ERR when MySQL or Redis failed. */
int lifecycle_ban_check(struct db *d, struct kv *kv, int64_t uid, int64_t aid);

/* Bans again, in Redis, every user MySQL says is banned from an activity
 * that has not ended. Returns how many (user, activity) pairs, or FS_ERR. */
int lifecycle_bans_reapply(struct db *d, struct kv *kv, int64_t now_ms);

/* Gives back to Redis (kv_sale_release: no-op for those already back) the
 * units of the orders closed or cancelled since since_ms, at most max of
 * them. Returns how many were looked at, or FS_ERR. */
int lifecycle_release_sweep(struct db *d, struct kv *kv, int64_t since_ms, int max);

/* What a verified notify did. */
enum pay_outcome {
	PAY_PAID,           /* success: the order moved unpaid -> paid */
	PAY_LATE,           /* success, but the order had left unpaid: refund it */
	PAY_FAILED,         /* fail recorded; the order stays unpaid */
	PAY_REPLAY,         /* settled already (a fail after a fail, anything after
	                     * success or late): no effect */
	PAY_NOT_FOUND,      /* no such payment */
	PAY_ORDER_MISMATCH, /* the payment belongs to another order */
	PAY_AMOUNT_MISMATCH,
	PAY_DOWN,           /* MySQL failed: nothing changed */
};

/* Applies a notify whose signature was verified: in one transaction, the
 * payment row from created to success/late/fail (or from fail to
 * success/late: a success after a failed attempt is applied, never taken
 * for a duplicate), and on success the order unpaid -> paid (conditional).
 * Then the order's status record in Redis. */
enum pay_outcome lifecycle_pay_apply(struct db *d, struct kv *kv, const struct paynotify *n);

#endif
