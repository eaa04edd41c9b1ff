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

/* --- inside a transaction the caller opened (lifecycle, persist, rebuild):
 * each is one statement on d; FS_OK or FS_ERR (db_errno/db_down say why),
 * *affected (may be NULL) the rows it changed. */

/* Unpaid order id becomes status to (closed, cancelled), no longer live. */
int db_order_release(struct db *d, int64_t id, const char *to, int64_t now_ms, long long *affected);
/* Unpaid order id becomes paid. */
int db_order_pay(struct db *d, int64_t id, int64_t now_ms, long long *affected);
/* Inserts orders[0..n) as unpaid and live (chunks of a few fixed sizes, so
 * only a few statement shapes are prepared). */
int db_order_insert_unpaid(struct db *d, const struct order *orders, int n, int64_t now_ms);
/* Inserts o as failed (not live, no pay deadline). */
int db_order_insert_failed(struct db *d, const struct order *o, int64_t now_ms);
/* Order id's state: 1 and its status and pay deadline, 0 none, FS_ERR. */
int db_order_state(struct db *d, int64_t id, enum order_status *status, int64_t *pay_deadline_ms);

/* User uid's closed and cancelled orders in activity aid: the count, or FS_ERR. */
long long db_order_lapses(struct db *d, int64_t uid, int64_t aid);
/* (user_id, activity_id) rows of users with at least min_lapses closed or
 * cancelled orders in a published activity not ended at now_ms. FS_OK
 * (caller frees out) or FS_ERR. */
int db_order_banned(struct db *d, int64_t now_ms, int min_lapses, struct db_rows *out);
/* Closed and cancelled orders updated since since_ms, oldest first, at most
 * max, rows of DB_ORDER_COLS. FS_OK (caller frees out) or FS_ERR. */
int db_order_released_since(struct db *d, int64_t since_ms, int max, struct db_rows *out);

/* Units of item (aid, iid)'s unpaid and paid orders: the sum, or FS_ERR. */
long long db_order_live_units(struct db *d, int64_t aid, int64_t iid);
/* Item (aid, iid)'s closed, cancelled and failed orders into *out (caller
 * frees; NULL when none): the count, or FS_ERR. */
int db_order_returned(struct db *d, int64_t aid, int64_t iid, struct order **out);
/* Live orders of item (aid, iid) read per page by db_order_live_page */
#define DB_ORDER_LIVE_PAGE 2000
/* Up to DB_ORDER_LIVE_PAGE live orders of item (aid, iid) of users above
 * after_uid, by user: their users and ids into uids and ids; the count, or
 * FS_ERR. */
int db_order_live_page(struct db *d, int64_t aid, int64_t iid, int64_t after_uid, int64_t *uids,
		       int64_t *ids);
/* Which of orders[0..n) MySQL has (by id): its rows of them appended to
 * *found (grown with realloc; *nfound counts). FS_OK or FS_ERR. */
int db_order_reload(struct db *d, const struct order *orders, int n, struct order **found,
		    int *nfound);

#endif
