/*
 * db_sale.h: activity items as MySQL holds them (tables activity, activity_item,
 * item).
 */
#ifndef FS_DB_SALE_H
#define FS_DB_SALE_H

#include <json-c/json.h>
#include <stdint.h>

#include "sale.h"

struct db;
struct db_rows;

/* Frees what si owns (not si). */
void db_sale_item_cleanup(struct sale_item *si);

/* Loads activity item (aid, iid) from MySQL. Returns 1 found, 0 no such
 * activity item, FS_ERR when MySQL failed (db_down tells if it is down). */
int db_sale_item_load(struct db *d, int64_t aid, int64_t iid, struct sale_item *si);
/* Loads every item of activity aid, by item id. Returns the count and sets
 * *out (caller frees with db_sale_items_free; NULL when 0), or FS_ERR. */
int db_sale_items_load(struct db *d, int64_t aid, struct sale_item **out);
/* Frees n items loaded by db_sale_items_load; v may be NULL. */
void db_sale_items_free(struct sale_item *v, int n);

/* The items of published activities as (aid, iid) pairs in *out (caller
 * frees; NULL when none): their count, or FS_ERR. */
int db_sale_published_items(struct db *d, int64_t **out);

/* Published activities whose end has passed, one (aid, iid) pair per item
 * (iid 0 for an activity without items), by aid, into *out (caller frees;
 * NULL when none): the count of pairs, or FS_ERR. */
int db_sale_ending(struct db *d, int64_t now_ms, int64_t **out);

/* Marks published activity aid ended. FS_OK or FS_ERR. */
int db_sale_end(struct db *d, int64_t aid, int64_t now_ms);

/* One item (iid 0: the activity has none) of an activity due for a warmup. */
struct db_sale_due {
	int64_t aid, iid;
	int warmed; /* the activity was warmed once */
};

/* The items of published activities that start before start_before_ms
 * and end after now_ms, by (aid, iid), into *out (caller frees; NULL when
 * none): their count, or FS_ERR. */
int db_sale_due(struct db *d, int64_t start_before_ms, int64_t now_ms, struct db_sale_due **out);

/* An activity's public fields and the ids of its items (owned). */
struct db_sale_activity {
	char *name, *description;
	int64_t start_ms, end_ms;
	char status[16]; /* draft, published or ended */
	int64_t *iids;
	int nitems;
};

/* Reads activity aid: 1 found (free with db_sale_activity_cleanup), 0 no
 * such activity, FS_ERR. */
int db_sale_activity(struct db *d, int64_t aid, struct db_sale_activity *a);
void db_sale_activity_cleanup(struct db_sale_activity *a);

/* Up to max published activities not ended at now_ms, in (start_ms, id)
 * order, after (after_start, after_id) when after_id > 0: their ids and
 * starts; the count, or FS_ERR. */
int db_sale_page(struct db *d, int64_t now_ms, int64_t after_start, int64_t after_id, int max,
		 int64_t *aids, int64_t *starts);

/* The images column (a JSON array of URLs) as JSON; anything else (a row
 * written by hand, NULL) becomes an empty array rather than broken JSON.
 * Caller puts the result. */
json_object *db_sale_images_json(const char *text);

/* Activity aid's items by id: rows of (item_id, alloc_stock, stock).
 * FS_OK (caller frees out) or FS_ERR. */
int db_sale_item_stock(struct db *d, int64_t aid, struct db_rows *out);

/* The CDN origin's rows (render.c): one per item of every published
 * activity not ended at now_ms (an activity without items: one row of
 * NULLs for the item's columns), by start time, activity, item; the
 * columns are DB_SALE_O_*. FS_OK (caller frees out) or FS_ERR. */
enum {
	DB_SALE_O_AID, DB_SALE_O_ANAME, DB_SALE_O_ADESC, DB_SALE_O_START, DB_SALE_O_END,
	DB_SALE_O_STATUS, DB_SALE_O_WARMED, DB_SALE_O_IID, DB_SALE_O_INAME, DB_SALE_O_TITLE,
	DB_SALE_O_IDESC, DB_SALE_O_IMAGES, DB_SALE_O_PRICE, DB_SALE_O_FLASH, DB_SALE_O_LIMIT,
	DB_SALE_O_ALLOC
};
int db_sale_origin_rows(struct db *d, int64_t now_ms, struct db_rows *out);

/* Marks activity aid warmed up at now_ms (activities.warmed_ms): FS_OK or
 * FS_ERR. */
int db_sale_mark_warmed(struct db *d, int64_t aid, int64_t now_ms);

/* The items of published or ended activities that end after
 * ended_after_ms, by (aid, iid), into *out (caller frees; NULL when none):
 * their count, or FS_ERR. */
int db_sale_rebuild_items(struct db *d, int64_t ended_after_ms, struct rebuild_item **out);

/* The ids of activity aid's items, ascending, in *out (caller frees; NULL
 * when none): their count, or FS_ERR. */
int db_sale_item_ids(struct db *d, int64_t aid, int64_t **out);

/* Items of activities not in draft that end after end_after_ms: rows of
 * (activity_id, item_id). FS_OK (caller frees out) or FS_ERR. */
int db_sale_recent_items(struct db *d, int64_t end_after_ms, struct db_rows *out);

/* --- inside a transaction the caller opened (lifecycle, persist, rebuild) --- */

/* Takes qty units of item (aid, iid)'s MySQL stock if it has them; gives
 * them back. FS_OK or FS_ERR; *affected (may be NULL): 1 done, 0 not (too
 * few units, or no such item). */
int db_sale_stock_take(struct db *d, int64_t aid, int64_t iid, int64_t qty, long long *affected);
int db_sale_stock_give(struct db *d, int64_t aid, int64_t iid, int64_t qty, long long *affected);

/* Locks item (aid, iid)'s activity_items row (FOR UPDATE: handlers,
 * cancels and the expiry change its stock through it) and reads it: 1 with
 * its alloc and stock, 0 no such item, FS_ERR. */
int db_sale_item_lock(struct db *d, int64_t aid, int64_t iid, int64_t *alloc, int64_t *stock);

#endif
