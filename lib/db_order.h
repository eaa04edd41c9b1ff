/*
 * db_order.h: reading orders from MySQL into struct order. Queries that
 * select DB_ORDER_COLS first can turn any of their rows into an order.
 */
#ifndef FS_DB_ORDER_H
#define FS_DB_ORDER_H

#include <stdint.h>

#include "order.h"

struct db;
struct db_rows;
struct dbv;

#define DB_ORDER_COLS "id, user_id, activity_id, item_id, quantity, amount_cents, status, " \
		      "created_ms, pay_deadline_ms"

/* Fills o from row i of rows, whose first columns are DB_ORDER_COLS. */
void db_order_row(const struct db_rows *rows, int i, struct order *o);

/* Runs sql (selecting DB_ORDER_COLS) and fills o from its first row.
 * 1 found, 0 none, FS_ERR MySQL failed. */
int db_order_query(struct db *d, const char *sql, const struct dbv *args, int nargs,
		   struct order *o);

/* Order id: 1 found, 0 none, FS_ERR MySQL failed. */
int db_order_load(struct db *d, int64_t id, struct order *o);

/* Orders by status: rows of (status, count). FS_OK (caller frees out) or FS_ERR. */
int db_order_counts(struct db *d, struct db_rows *out);
/* Activity aid's orders by item and status: rows of (item_id, status,
 * units, count). FS_OK (caller frees out) or FS_ERR. */
int db_order_item_tally(struct db *d, int64_t aid, struct db_rows *out);

/* User uid's newest order of item (aid, iid): 1 found, 0 none, FS_ERR. */
int db_order_last_of_item(struct db *d, int64_t uid, int64_t aid, int64_t iid, struct order *o);

/* User uid's newest orders (at most max, and at most 100) into out: the
 * count, or FS_ERR. */
int db_order_list(struct db *d, int64_t uid, struct order *out, int max);

/* Unpaid orders past their pay deadline, oldest deadline first, at most
 * max, into *out (caller frees; NULL when none): the count, or FS_ERR. */
int db_order_overdue(struct db *d, int64_t now_ms, int max, struct order **out);

#endif
