/*
 * stats.c: a sale's numbers per item (stats.h). MySQL counts the orders it
 * holds by state; Redis the units left and the reservations in flight.
 */
#include "stats.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_shard.h"

#include <stdlib.h>
#include <string.h>

static const char *const stat_states[] = {"unpaid", "paid", "closed", "cancelled", "failed"};

/* Reads the Redis side of one item's stats: the stock counter and the
 * reservations not yet in MySQL, summed over its shards (kv_shard.h), in
 * one round trip; a sharded item's shards go into it as "shards":
 * [{"tag","remaining"}...]. FS_ERR: Redis down. */
static int
item_kv(struct kv *kv, int64_t aid, int64_t iid, int *warm, int64_t *left, int64_t *queued,
	json_object *it)
{
	int64_t each[KV_SHARD_MAX];
	int shards = kv_shard_count(kv, aid, iid);
	json_object *arr;

	if (shards == FS_ERR ||
	    kv_shard_totals(kv, aid, iid, shards, warm, left, queued, each) != FS_OK)
		return FS_ERR;
	if (shards == 1)
		return FS_OK;
	arr = json_object_new_array();
	for (int k = 0; k < shards; k++) {
		json_object *sh = json_object_new_object();
		char tag[80];

		kv_shard_tag(tag, sizeof(tag), aid, iid, k);
		json_object_object_add(sh, "tag", json_object_new_string(tag));
		json_object_object_add(sh, "remaining", json_object_new_int64(each[k]));
		json_object_array_add(arr, sh);
	}
	json_object_object_add(it, "shards", arr);
	return FS_OK;
}

int
stats_items(struct db *d, struct kv *kv, int64_t aid, json_object *arr, int64_t *backlog)
{
	struct db_rows items = {0}, orders = {0};
	int rc = STATS_DB_FAILED;
	int64_t sum = 0;

	if (db_sale_item_stock(d, aid, &items) != FS_OK)
		goto out;
	if (db_order_item_tally(d, aid, &orders) != FS_OK)
		goto out;
	rc = STATS_OK;
	for (int i = 0; i < items.nrows; i++) {
		int64_t iid = db_cell_int(&items, i, 0), left, queued;
		int64_t units[FS_ARRAY_LEN(stat_states)] = {0};
		json_object *it;
		int warm;

		for (int k = 0; k < orders.nrows; k++) {
			if (db_cell_int(&orders, k, 0) != iid)
				continue;
			for (size_t s = 0; s < FS_ARRAY_LEN(stat_states); s++)
				if (strcmp(db_cell(&orders, k, 1), stat_states[s]) == 0)
					units[s] += db_cell_int(&orders, k, 2);
		}
		it = json_object_new_object();
		json_object_array_add(arr, it);
		if (item_kv(kv, aid, iid, &warm, &left, &queued, it) != FS_OK) {
			rc = STATS_KV_FAILED;
			goto out;
		}
		json_object_object_add(it, "item_id", json_object_new_int64(iid));
		json_object_object_add(it, "stock", json_object_new_int64(db_cell_int(&items, i, 1)));
		/* not warm yet: Redis will start from what MySQL has left */
		json_object_object_add(it, "remaining",
				       json_object_new_int64(warm ? left : db_cell_int(&items, i, 2)));
		json_object_object_add(it, "warm", json_object_new_boolean(warm));
		json_object_object_add(it, "queued", json_object_new_int64(queued));
		for (size_t s = 0; s < FS_ARRAY_LEN(stat_states); s++)
			json_object_object_add(it, stat_states[s], json_object_new_int64(units[s]));
		json_object_object_add(it, "db_stock", json_object_new_int64(db_cell_int(&items, i, 2)));
		sum += queued;
	}
	if (backlog)
		*backlog = sum;
out:
	db_rows_free(&items);
	db_rows_free(&orders);
	return rc;
}
