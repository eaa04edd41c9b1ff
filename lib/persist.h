/*
 * persist.h: writing reserved orders into MySQL, the truth. Shared by the
 * order handler (orders from ZeroMQ) and reconcile (orders replayed from the
 * Redis journal). Idempotent: the order id is the primary key, so an order
 * that is already in MySQL is only re-announced, never written twice.
 */
#ifndef FS_PERSIST_H
#define FS_PERSIST_H

#include "order.h"

struct db;
struct kv;

struct persist_stats {
	long written;  /* new unpaid orders */
	long failed;   /* refused by MySQL (no stock, a live order already): failed */
	long replayed; /* already in MySQL */
};

/* Writes the n orders (status queued) in as few transactions as it can: one
 * optimistic stock decrement per item and multi-row inserts; any surprise
 * (not enough stock, a duplicate) falls back to one order at a time. After
 * the commit, each order's status record goes to Redis, refused orders give
 * their stock back, and the journal entries are dropped; cancels recorded
 * while an order was queued are applied (lifecycle_cancels_apply). The pay
 * deadline is the time of the write plus pay_window_ms. FS_OK when MySQL has every order (Redis bookkeeping that
 * failed is redone by reconcile), FS_ERR when MySQL failed: nothing was
 * acknowledged and the caller tries again later. */
int persist_orders(struct db *d, struct kv *kv, struct order *orders, int n,
		   int64_t pay_window_ms, struct persist_stats *st);

#endif
