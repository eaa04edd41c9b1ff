/*
 * admin/blocklist.c: the admin blocklist of users and addresses (API.md
 * "Sale rules"; docs/GUARD-RULES.md): its three routes on
 * /api/admin/blocklist. MySQL holds the list; after each change every item
 * on sale gets the new list version in Redis before the answer, so every
 * program's next request reads the list again (lib/guard.c).
 */
#include "admin.h"
#include "db.h"
#include "db_guard.h"
#include "fs.h"
#include "guard.h"
#include "kv.h"
#include "log.h"
#include "reply.h"

#include <string.h>

/* The entry as the answers show it: {"user_id":"<decimal>"} or {"ip":".."}.
 * Caller puts it. */
static json_object *
entry_json(const char *kind, const char *value)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, strcmp(kind, "user") == 0 ? "user_id" : "ip",
			       json_object_new_string(value));
	return e;
}

/* Adds or removes (kind, value), then raises the version on every item.
 * Returns 1 changed, 0 nothing to change, FS_ERR after the 5xx. */
static int
change_or_reply(struct req *r, enum guard_kind kind, const char *value, int add)
{
	int64_t ver = 0;
	int rc = db_guard_block(r->db, guard_kind_name(kind), value, add, fs_now_ms(), &ver);

	if (rc == FS_ERR) {
		admin_db_fail(r, "blocklist change");
		return FS_ERR;
	}
	/* also when nothing changed: a retry after a failed fan-out repairs it */
	if (guard_fanout(r->kv, r->db, ver) != FS_OK) {
		log_err("blocklist version %lld: not raised on every item", (long long)ver);
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
	return rc;
}

/* POST /api/admin/blocklist {"user_id"} or {"ip"}: 201 with the entry,
 * also when it was listed already (the same state either way). */
void
post_blocklist(struct req *r)
{
	json_object *o = NULL, *res;
	enum guard_kind kind;
	char value[GUARD_VALUE_LEN];
	const char *msg;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (guard_entry_parse(o, &kind, value, &msg) != FS_OK) {
		admin_bad(r, msg);
		goto out;
	}
	if (change_or_reply(r, kind, value, 1) == FS_ERR)
		goto out;
	res = entry_json(guard_kind_name(kind), value);
	reply_json(r, 201, res);
	json_object_put(res);
out:
	json_object_put(o);
}

/* Removal, /api/admin/blocklist/{user_id|ip}: 204, 404 when not listed. */
void
delete_blocklist(struct req *r)
{
	enum guard_kind kind;
	char value[GUARD_VALUE_LEN];
	int rc;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	if (r->nseg != 4 || guard_entry_from_text(r->segs[3], &kind, value) != FS_OK) {
		admin_bad(r, "the entry must be a positive user id or an IPv4 or IPv6 address");
		return;
	}
	rc = change_or_reply(r, kind, value, 0);
	if (rc == 1)
		reply_empty(r);
	else if (rc == 0)
		reply_error_msg(r, FS_E_NOT_FOUND, "not on the blocklist");
}

/* GET /api/admin/blocklist: {"entries":[...]}, oldest first. */
void
get_blocklist(struct req *r)
{
	struct db_rows rows;
	json_object *res, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	if (db_guard_list(r->db, &rows) != FS_OK) {
		admin_db_fail(r, "blocklist");
		return;
	}
	arr = json_object_new_array();
	for (int i = 0; i < rows.nrows; i++)
		if (db_cell(&rows, i, 0) != NULL && db_cell(&rows, i, 1) != NULL)
			json_object_array_add(arr, entry_json(db_cell(&rows, i, 0), db_cell(&rows, i, 1)));
	db_rows_free(&rows);
	res = json_object_new_object();
	json_object_object_add(res, "entries", arr);
	reply_json(r, 200, res);
	json_object_put(res);
}
