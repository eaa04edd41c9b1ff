/*
 * admin/activities.c: activities and their sales: create, list, read, add
 * an item, publish, warm up (/api/admin/activities...).
 */
#include "admin.h"
#include "challenge.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "db_admin.h"
#include "db_guard.h"
#include "guard.h"
#include "fs.h"
#include "kv.h"
#include "kv_shard.h"
#include "log.h"
#include "render.h"
#include "reply.h"
#include "warm.h"

#include <stdio.h>
#include <string.h>

/* The optional "challenge" (none, pow, quiz) and "pow_bits" of a new
 * activity into *kind and *bits. FS_OK, or FS_ERR after a 400. */
static int
challenge_or_reply(struct req *r, json_object *o, int *kind, int64_t *bits)
{
	const char *name = "none";

	*bits = CHALLENGE_BITS_DEFAULT;
	if (jx_has(o, "challenge") && jx_str(o, "challenge", 8, &name) != FS_OK)
		name = "";
	*kind = challenge_kind_parse(name);
	if (*kind < 0) {
		admin_bad(r, "challenge must be \"none\", \"pow\" or \"quiz\"");
		return FS_ERR;
	}
	if (jx_has(o, "pow_bits"))
		return jx_int_or_reply(r, o, "pow_bits", CHALLENGE_BITS_MIN, CHALLENGE_BITS_MAX, bits);
	return FS_OK;
}

/* The optional "rules" of a new activity (API.md "Sale rules"): *v NULL
 * when absent. FS_OK, or FS_ERR after the 400. */
static int
rules_or_reply(struct req *r, json_object *o, json_object **v, struct sale_rules *rules)
{
	const char *msg;

	memset(rules, 0, sizeof(*rules));
	if (!json_object_object_get_ex(o, "rules", v))
		return FS_OK;
	if (guard_rules_parse(*v, rules, &msg) != FS_OK) {
		admin_bad(r, msg);
		return FS_ERR;
	}
	return FS_OK;
}

/* POST /api/admin/activities */
void
post_activity(struct req *r)
{
	json_object *o = NULL, *res, *rules_v = NULL;
	const char *name = NULL, *desc = "";
	int64_t start, end, now = fs_now_ms(), id, bits;
	int challenge;
	struct sale_rules rules;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (jx_text_or_reply(r, o, "name", JX_TEXT_REQUIRED | JX_TEXT_ONE_LINE, NAME_MAX_CHARS, &name) != FS_OK ||
	    jx_text_or_reply(r, o, "description", JX_TEXT_OPTIONAL, DESC_MAX_CHARS, &desc) != FS_OK ||
	    jx_int_or_reply(r, o, "start_ms", 1, FS_ID_MAX, &start) != FS_OK ||
	    jx_int_or_reply(r, o, "end_ms", 1, FS_ID_MAX, &end) != FS_OK ||
	    challenge_or_reply(r, o, &challenge, &bits) != FS_OK)
		goto out;
	if (rules_or_reply(r, o, &rules_v, &rules) != FS_OK)
		goto out;
	if (end <= start) {
		admin_bad(r, "end_ms must be after start_ms");
		goto out;
	}
	if (end <= now) {
		admin_bad(r, "end_ms is already past");
		goto out;
	}
	/* with its rules row, in one transaction (rolled back at out) */
	if (rules_v != NULL && db_begin(r->db) != FS_OK) {
		admin_db_fail(r, "begin");
		goto out;
	}
	if (db_admin_activity_add(r->db, name, desc, start, end, now, challenge_kind_name(challenge),
				  bits, &id) != FS_OK) {
		admin_db_fail(r, "insert activity");
		goto out;
	}
	if (rules_v != NULL &&
	    (db_guard_rules_put(r->db, id, &rules) != FS_OK || db_commit(r->db) != FS_OK)) {
		admin_db_fail(r, "insert activity rules");
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(id));
	json_object_object_add(res, "status", json_object_new_string("draft"));
	reply_json(r, 201, res);
	json_object_put(res);
out:
	db_rollback(r->db);
	json_object_put(o);
}

/* GET /api/admin/activities: newest first, every status. */
void
get_activities(struct req *r)
{
	json_object *res, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	if (db_admin_activities(r->db, &arr) != FS_OK) {
		admin_db_fail(r, "list activities");
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "activities", arr);
	reply_json(r, 200, res);
	json_object_put(res);
}

/* GET /api/admin/activities/{aid}: the activity and its items. */
void
get_activity(struct req *r)
{
	json_object *res = NULL;
	int rc;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	rc = db_admin_activity(r->db, r->ids[0], &res);
	if (rc == FS_ERR)
		admin_db_fail(r, "read activity");
	else if (rc == 0)
		reply_error(r, FS_E_NOT_FOUND);
	else /* with its challenge and rules (db_admin.c's columns) */
		reply_json(r, 200, res);
	json_object_put(res);
}

/* POST /api/admin/activities/{aid}/items: locks the units out of the item's
 * own stock and gives them to the sale, all in one transaction. */
void
post_activity_item(struct req *r)
{
	json_object *o = NULL, *res;
	struct db_admin_sale_item si = {.aid = r->ids[0]};
	enum fs_err err;
	const char *msg = NULL;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (jx_int_or_reply(r, o, "item_id", 1, FS_ID_MAX, &si.iid) != FS_OK ||
	    jx_int_or_reply(r, o, "flash_price_cents", 1, PRICE_MAX, &si.flash_price_cents) != FS_OK ||
	    jx_int_or_reply(r, o, "stock", 1, STOCK_MAX, &si.stock) != FS_OK ||
	    jx_int_or_reply(r, o, "per_user_limit", 1, LIMIT_MAX, &si.per_user_limit) != FS_OK)
		goto out;
	/* optional: the stock split over that many Redis keys (docs/SHARDS.md),
	 * each shard starting with a unit at least */
	si.shards = 1;
	if (jx_has(o, "shards") &&
	    jx_int_or_reply(r, o, "shards", 1, KV_SHARD_MAX, &si.shards) != FS_OK)
		goto out;
	if (si.shards > si.stock) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "shards must not exceed the stock");
		goto out;
	}
	if (db_admin_activity_item_add(r->db, &si, fs_now_ms(), &err, &msg) != FS_OK) {
		if (err == FS_E_COUNT)
			admin_db_fail(r, msg);
		else
			reply_error_msg(r, err, msg);
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(si.aid));
	json_object_object_add(res, "item_id", json_object_new_int64(si.iid));
	reply_json(r, 201, res);
	json_object_put(res);
out:
	json_object_put(o);
}

/* The status of activity aid into buf: 1 found, 0 not, FS_ERR (answered). */
int
admin_status_or_reply(struct req *r, int64_t aid, char *buf, size_t size, int64_t *nitems)
{
	int found = db_admin_activity_status(r->db, aid, buf, size, nitems);

	if (found == FS_ERR) {
		admin_db_fail(r, "read activity status");
		return FS_ERR;
	}
	if (!found)
		reply_error_msg(r, FS_E_NOT_FOUND, "no such activity");
	return found ? 1 : FS_ERR;
}

/* Re-renders the CDN origin's activity JSON; a failure only costs the
 * pages a stale file until the next cron warmup, so it is only logged. */
static void
origin_refresh(struct req *r)
{
	const char *origin = conf_keys_str(CONF_ORIGIN_DIR) ? conf_keys_str(CONF_ORIGIN_DIR) : "";

	if (*origin && render_origin(r->db, origin, fs_now_ms(), NULL) != FS_OK)
		log_warn("render_origin %s failed", origin);
}

/* POST /api/admin/activities/{aid}/publish: draft -> published; again is a
 * no-op 200 (a retried click), an ended one is 409. */
void
post_publish(struct req *r)
{
	char status[16];
	int64_t nitems = 0;
	json_object *res = NULL;

	if (req_admin_or_reply(r) != FS_OK ||
	    admin_status_or_reply(r, r->ids[0], status, sizeof(status), &nitems) != 1)
		goto out;
	if (strcmp(status, "ended") == 0) {
		reply_error_msg(r, FS_E_CONFLICT, "the activity has ended");
		goto out;
	}
	if (strcmp(status, "draft") == 0) {
		if (nitems == 0) {
			reply_error_msg(r, FS_E_CONFLICT, "an activity needs an item to be published");
			goto out;
		}
		if (db_admin_publish(r->db, r->ids[0], fs_now_ms()) != FS_OK) {
			admin_db_fail(r, "publish");
			goto out;
		}
		origin_refresh(r);
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "status", json_object_new_string("published"));
	reply_json(r, 200, res);
out:
	json_object_put(res);
}

/* POST /api/admin/activities/{aid}/warmup: what the cron warmup does an
 * hour before the start, now. A draft is not for sale: 409. */
void
post_warmup(struct req *r)
{
	char status[16];
	json_object *res = NULL;
	int n;

	if (req_admin_or_reply(r) != FS_OK ||
	    admin_status_or_reply(r, r->ids[0], status, sizeof(status), NULL) != 1)
		goto out;
	if (strcmp(status, "draft") == 0) {
		reply_error_msg(r, FS_E_CONFLICT, "publish the activity before warming it up");
		goto out;
	}
	n = warm_activity(r->kv, r->db, r->ids[0]);
	if (n < 0) {
		if (kv_down(r->kv) || db_down(r->db)) {
			reply_error(r, FS_E_UNAVAILABLE);
		} else {
			log_err("warm_activity %lld failed", (long long)r->ids[0]);
			reply_error(r, FS_E_INTERNAL);
		}
		goto out;
	}
	origin_refresh(r);
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "warmed", json_object_new_boolean(1));
	json_object_object_add(res, "items", json_object_new_int(n));
	reply_json(r, 200, res);
out:
	json_object_put(res);
}
