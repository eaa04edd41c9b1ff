/*
 * admin/stats.c: GET /api/admin/activities/{aid}/stats.
 */
#include "admin.h"
#include "reply.h"
#include "stats.h"

#include <json-c/json.h>

/* GET /api/admin/activities/{aid}/stats: per item, the units allocated,
 * left in Redis, queued there, and in MySQL orders by state (stats.c, which
 * the push hub's operator stream shares). */
void
get_stats(struct req *r)
{
	json_object *res = NULL, *arr;
	char status[16];
	int rc;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	if (admin_status_or_reply(r, r->ids[0], status, sizeof(status), NULL) != 1)
		goto out;
	res = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "status", json_object_new_string(status));
	json_object_object_add(res, "items", arr);
	rc = stats_items(r->db, r->kv, r->ids[0], arr, NULL);
	if (rc == STATS_DB_FAILED)
		admin_db_fail(r, "stats");
	else if (rc == STATS_KV_FAILED)
		reply_error(r, FS_E_UNAVAILABLE);
	else
		reply_json(r, 200, res);
out:
	json_object_put(res);
}
