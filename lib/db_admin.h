/*
 * db_admin.h: the operator's side of the catalogue in MySQL (items,
 * activities, activity_items). The JSON built here is API.md's admin shapes.
 */
#ifndef FS_DB_ADMIN_H
#define FS_DB_ADMIN_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

struct db;

/* A new catalogue item (validated by the caller). */
struct db_admin_item {
	const char *name, *title, *description;
	int64_t price_cents, stock;
	const char *images_json; /* a JSON array of URLs */
};

/* An item given to a sale. */
struct db_admin_sale_item {
	int64_t aid, iid, flash_price_cents, stock, per_user_limit;
	int64_t shards; /* stock shards in Redis (kv_shard.h), 1 to 16 */
};

/* Adds item it: FS_OK and *id, or FS_ERR. */
int db_admin_item_add(struct db *d, const struct db_admin_item *it, int64_t now_ms, int64_t *id);

/* The catalogue, newest first (500 at most), as a JSON array in *out
 * (caller puts). FS_OK or FS_ERR. */
int db_admin_items(struct db *d, json_object **out);

/* Adds a draft activity with its challenge ("none", "pow", "quiz") and
 * pow_bits: FS_OK and *id, or FS_ERR. */
int db_admin_activity_add(struct db *d, const char *name, const char *desc, int64_t start_ms,
			  int64_t end_ms, int64_t now_ms, const char *challenge, int64_t pow_bits,
			  int64_t *id);

/* Every activity, newest first (500 at most), as a JSON array. FS_OK or FS_ERR. */
int db_admin_activities(struct db *d, json_object **out);

/* Activity aid with its items ("items") as JSON: 1 found, 0 not, FS_ERR. */
int db_admin_activity(struct db *d, int64_t aid, json_object **out);

/* Locks si->stock units out of the item's own stock and gives them to the
 * draft activity's sale, in one transaction. FS_OK; or FS_ERR with the
 * error to answer in *err and its message in *msg, or *err FS_E_COUNT when
 * MySQL failed (*msg then names the step, for the log). */
int db_admin_activity_item_add(struct db *d, const struct db_admin_sale_item *si, int64_t now_ms,
			       enum fs_err *err, const char **msg);

/* The status of activity aid into buf (and its item count): 1 found, 0
 * not, FS_ERR. */
int db_admin_activity_status(struct db *d, int64_t aid, char *buf, size_t size, int64_t *nitems);

/* Draft -> published (no-op in any other status). FS_OK or FS_ERR. */
int db_admin_publish(struct db *d, int64_t aid, int64_t now_ms);

#endif
