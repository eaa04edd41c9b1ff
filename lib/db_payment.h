/*
 * db_payment.h: payment rows in MySQL.
 */
#ifndef FS_DB_PAYMENT_H
#define FS_DB_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

#include "order.h"

struct db;

/* Adds payment id (state created) for order o. FS_OK or FS_ERR. */
int db_payment_create(struct db *d, int64_t id, const struct order *o, int64_t now_ms);

/* Reads payment id: 1 and its order, amount and user, 0 none, FS_ERR. */
int db_payment_get(struct db *d, int64_t id, int64_t *order_id, int64_t *amount_cents, int64_t *user_id);

/* room for a payment state name: created, success, fail, late */
#define DB_PAYMENT_STATUS_MAX 16

/* Reads payment id's state name into status: 1, 0 none, FS_ERR. */
int db_payment_status(struct db *d, int64_t id, char status[DB_PAYMENT_STATUS_MAX]);

/* --- inside the notify's transaction (lifecycle.c) --- */

/* Locks payment id's row (FOR UPDATE) and reads it: 1 with its order,
 * amount and state (created, success, fail, late) into state (size
 * bytes), 0 none, FS_ERR. */
int db_payment_lock(struct db *d, int64_t id, int64_t *order_id, int64_t *amount_cents,
		    char *state, size_t size);
/* Payment id, while created or fail, becomes status (success, fail, late),
 * notified at notify_ts_ms. FS_OK or FS_ERR; *affected the rows changed. */
int db_payment_settle(struct db *d, int64_t id, const char *status, int64_t notify_ts_ms,
		      int64_t now_ms, long long *affected);

#endif
