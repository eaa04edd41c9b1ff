/*
 * db_sale.h: activity items as MySQL holds them (tables activity, activity_item,
 * item).
 */
#ifndef FS_DB_SALE_H
#define FS_DB_SALE_H

#include <stdint.h>

#include "sale.h"

struct db;

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

#endif
