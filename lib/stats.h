/*
 * stats.h: the numbers of one sale, per item (API.md's stats object), read
 * from MySQL (orders by state) and Redis (units left, reservations not yet
 * in MySQL). Shared by GET /api/admin/activities/{aid}/stats and the push
 * hub's once-a-second stream for the operator.
 */
#ifndef FS_STATS_H
#define FS_STATS_H

#include <json-c/json.h>
#include <stdint.h>

struct db;
struct kv;

enum { STATS_OK = 0, STATS_DB_FAILED = -1, STATS_KV_FAILED = -2 };

/* Appends one object per item of activity aid to the array items:
 * {"item_id","stock","remaining","warm","queued","unpaid","paid","closed",
 * "cancelled","failed","db_stock"} (units, so remaining + queued + unpaid +
 * paid = stock). *backlog (may be NULL) gets the sum of queued: accepted
 * orders the handler has not written yet. STATS_OK, or which store failed
 * (items may then hold a part). */
int stats_items(struct db *d, struct kv *kv, int64_t aid, json_object *items, int64_t *backlog);

#endif
