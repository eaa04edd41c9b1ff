/*
 * admin/rains.c: the operator's red-packet rains (API.md "Red-packet
 * rain"): create, list (drafts too), publish (cuts the pot into packets,
 * rain_split.h), warm up, stats, and a ban of one user from one rain.
 */
#include "admin.h"
#include "db.h"
#include "db_rain.h"
#include "fs.h"
#include "kv.h"
#include "kv_rain.h"
#include "log.h"
#include "mem.h"
#include "rain.h"
#include "rain_split.h"
#include "rain_warm.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The checks of a new rain beyond each field's own range. FS_OK, or
 * FS_ERR after the 400. */
static int
window_or_reply(struct req *r, const struct db_rain *d, int64_t now)
{
	const char *why = NULL;

	if (d->packets > d->total_cents)
		why = "packets must not exceed total_cents: every packet holds at least 1 cent";
	else if (d->end_ms <= d->start_ms)
		why = "end_ms must be after start_ms";
	else if (d->end_ms <= now)
		why = "end_ms is already past";
	else if (d->end_ms - d->start_ms > RAIN_WINDOW_MAX_MS)
		why = "a rain lasts 7 days at most";
	else if (d->start_ms > now + RAIN_AHEAD_MAX_MS)
		why = "a rain starts within a year";
	if (why)
		admin_bad(r, why);
	return why ? FS_ERR : FS_OK;
}

/* POST /api/admin/rains {"name","total_cents","packets","start_ms","end_ms"} */
void
post_rain(struct req *r)
{
	json_object *o = NULL, *res;
	struct db_rain d;
	const char *name = NULL;
	int64_t id;

	memset(&d, 0, sizeof(d));
	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (jx_text_or_reply(r, o, "name", JX_TEXT_REQUIRED | JX_TEXT_ONE_LINE, NAME_MAX_CHARS, &name) != FS_OK ||
	    jx_int_or_reply(r, o, "total_cents", 1, RAIN_TOTAL_MAX, &d.total_cents) != FS_OK ||
	    jx_int_or_reply(r, o, "packets", 1, RAIN_PACKETS_MAX, &d.packets) != FS_OK ||
	    jx_int_or_reply(r, o, "start_ms", 1, FS_ID_MAX, &d.start_ms) != FS_OK ||
	    jx_int_or_reply(r, o, "end_ms", 1, FS_ID_MAX, &d.end_ms) != FS_OK ||
	    window_or_reply(r, &d, fs_now_ms()) != FS_OK)
		goto out;
	snprintf(d.name, sizeof(d.name), "%s", name);
	if (db_rain_create(r->db, &d, fs_now_ms(), &id) != FS_OK) {
		admin_db_fail(r, "insert rain");
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "rain_id", json_object_new_int64(id));
	json_object_object_add(res, "status", json_object_new_string("draft"));
	reply_json_put(r, 201, res);
out:
	json_object_put(o);
}

#define RAINS_LIST_MAX 500

/* The listing's word for rain d at now: draft, upcoming, live or ended
 * (live includes an empty pot: the stats tell that). */
static const char *
list_state(const struct db_rain *d, int64_t now)
{
	if (!d->published)
		return "draft";
	if (now < d->start_ms)
		return "upcoming";
	return now < d->end_ms ? "live" : "ended";
}

/* GET /api/admin/rains: every rain, drafts included, newest first (the
 * newest RAINS_LIST_MAX), from MySQL alone. */
void
get_rains(struct req *r)
{
	struct db_rain *all = NULL;
	json_object *res, *arr;
	int64_t now = fs_now_ms();
	int n;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	if ((n = db_rain_all(r->db, RAINS_LIST_MAX, &all)) < 0) {
		admin_db_fail(r, "list rains");
		return;
	}
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "rain_id", json_object_new_int64(all[i].id));
		json_object_object_add(o, "name", json_object_new_string(all[i].name));
		json_object_object_add(o, "status", json_object_new_string(all[i].published ? "published" : "draft"));
		json_object_object_add(o, "state", json_object_new_string(list_state(&all[i], now)));
		json_object_object_add(o, "total_cents", json_object_new_int64(all[i].total_cents));
		json_object_object_add(o, "packets", json_object_new_int64(all[i].packets));
		json_object_object_add(o, "start_ms", json_object_new_int64(all[i].start_ms));
		json_object_object_add(o, "end_ms", json_object_new_int64(all[i].end_ms));
		json_object_array_add(arr, o);
	}
	free(all);
	res = json_object_new_object();
	json_object_object_add(res, "now_ms", json_object_new_int64(now));
	json_object_object_add(res, "rains", arr);
	reply_json_put(r, 200, res);
}

/* Rain rid (drafts included) into *d: 1, or FS_ERR after the 404/503. */
static int
rain_or_reply(struct req *r, int64_t rid, struct db_rain *d)
{
	int rc = db_rain_get(r->db, rid, d);

	if (rc == FS_ERR)
		admin_db_fail(r, "read rain");
	else if (rc == 0)
		reply_error_msg(r, FS_E_NOT_FOUND, "no such rain");
	return rc == 1 ? 1 : FS_ERR;
}

/* Cuts d's pot and publishes it. FS_OK, or FS_ERR after the answer. */
static int
publish_or_reply(struct req *r, const struct db_rain *d)
{
	struct rain_split_rng rng;
	int64_t *amounts = mem_calloc((size_t)d->packets, sizeof(int64_t));
	int rc = FS_ERR;

	if (rain_split_seed(&rng) != FS_OK ||
	    rain_split_cut(d->total_cents, d->packets, &rng, amounts) != FS_OK) {
		log_err("rain %lld: cannot cut the pot", (long long)d->id);
		reply_error(r, FS_E_INTERNAL);
	} else if (db_rain_publish(r->db, d->id, amounts, (int)d->packets) == FS_ERR) {
		admin_db_fail(r, "publish rain");
	} else {
		rc = FS_OK; /* published now, or by a click a moment earlier */
	}
	free(amounts);
	return rc;
}

/* POST /api/admin/rains/{rid}/publish: draft -> published, the pot cut
 * into packets; again is a no-op 200; an ended draft is 409. */
void
post_rain_publish(struct req *r)
{
	struct db_rain d;
	json_object *res;

	if (req_admin_or_reply(r) != FS_OK || rain_or_reply(r, r->ids[0], &d) != 1)
		return;
	if (!d.published) {
		if (d.end_ms <= fs_now_ms()) {
			reply_error_msg(r, FS_E_CONFLICT, "the rain has ended");
			return;
		}
		if (publish_or_reply(r, &d) != FS_OK)
			return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "rain_id", json_object_new_int64(d.id));
	json_object_object_add(res, "status", json_object_new_string("published"));
	reply_json_put(r, 200, res);
}

/* POST /api/admin/rains/{rid}/warmup: what the cron does an hour before
 * the start, now. A draft is 409. */
void
post_rain_warmup(struct req *r)
{
	struct db_rain d;
	json_object *res;

	if (req_admin_or_reply(r) != FS_OK || rain_or_reply(r, r->ids[0], &d) != 1)
		return;
	if (!d.published) {
		reply_error_msg(r, FS_E_CONFLICT, "publish the rain before warming it up");
		return;
	}
	if (rain_warm_one(r->kv, r->db, &d) == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "rain_id", json_object_new_int64(d.id));
	json_object_object_add(res, "warmed", json_object_new_boolean(1));
	reply_json_put(r, 200, res);
}

/* GET /api/admin/rains/{rid}/stats: grabbed (Redis, while warm) and
 * credited (MySQL); once quiet, grabbed_cents = credited_cents. */
void
get_rain_stats(struct req *r)
{
	struct db_rain d;
	struct kv_rain_view v;
	int64_t n = 0, cents = 0;
	json_object *res;
	int warm;

	if (req_admin_or_reply(r) != FS_OK || rain_or_reply(r, r->ids[0], &d) != 1)
		return;
	if (db_rain_credited(r->db, d.id, &n, &cents) != FS_OK) {
		admin_db_fail(r, "rain stats");
		return;
	}
	if ((warm = kv_rain_view(r->kv, d.id, &v)) == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "rain_id", json_object_new_int64(d.id));
	json_object_object_add(res, "status", json_object_new_string(d.published ? "published" : "draft"));
	json_object_object_add(res, "packets", json_object_new_int64(d.packets));
	json_object_object_add(res, "total_cents", json_object_new_int64(d.total_cents));
	json_object_object_add(res, "grabbed", json_object_new_int64(warm ? v.grabbed : n));
	json_object_object_add(res, "grabbed_cents", json_object_new_int64(warm ? v.grabbed_cents : cents));
	json_object_object_add(res, "credited", json_object_new_int64(n));
	json_object_object_add(res, "credited_cents", json_object_new_int64(cents));
	reply_json_put(r, 200, res);
}

/* POST /api/admin/rains/{rid}/bans {"user_id"}: that user's grabs of this
 * rain answer 403 banned from the next request on. */
void
post_rain_ban(struct req *r)
{
	json_object *o = NULL, *res;
	struct db_rain d;
	int64_t uid;

	if (admin_json_or_reply(r, &o) != FS_OK || rain_or_reply(r, r->ids[0], &d) != 1)
		goto out;
	if (jx_int_or_reply(r, o, "user_id", 1, INT64_MAX, &uid) != FS_OK)
		goto out;
	if (kv_rain_ban(r->kv, d.id, uid) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		goto out;
	}
	res = json_object_new_object();
	json_object_object_add(res, "rain_id", json_object_new_int64(d.id));
	json_object_object_add(res, "user_id", json_object_new_int64(uid));
	reply_json_put(r, 201, res);
out:
	json_object_put(o);
}
