/*
 * rain/view.c: the reads of the rain program: GET /api/rain (published
 * rains not ended), GET /api/rain/{rid} (its state and packets left) and
 * GET /api/wallet (the user's credited grabs).
 */
#include "rainapi.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "kv_rain.h"
#include "log.h"
#include "rain.h"
#include "rain_warm.h"
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define WALLET_MAX 200
/* a rain is warmed when it starts within the hour, as the cron does */
#define WARM_AHEAD_MS (60 * 60 * 1000)

int
rain_load_or_reply(struct req *r, int64_t rid, struct db_rain *out)
{
	int rc = db_rain_get(r->db, rid, out);
	int64_t now = fs_now_ms();

	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
	if (rc == 0 || !out->published) {
		/* a draft is invisible to the public */
		reply_error_msg(r, FS_E_NOT_FOUND, "no such rain");
		return FS_ERR;
	}
	if (now < out->end_ms && out->start_ms - WARM_AHEAD_MS <= now &&
	    rain_warm_one(r->kv, r->db, out) == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
	return 1;
}

static json_object *
rain_json(const struct db_rain *d, int64_t left, int64_t now)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "rain_id", json_object_new_int64(d->id));
	json_object_object_add(j, "name", json_object_new_string(d->name));
	json_object_object_add(j, "start_ms", json_object_new_int64(d->start_ms));
	json_object_object_add(j, "end_ms", json_object_new_int64(d->end_ms));
	json_object_object_add(j, "packets", json_object_new_int64(d->packets));
	json_object_object_add(j, "total_cents", json_object_new_int64(d->total_cents));
	json_object_object_add(j, "state",
			       json_object_new_string(rain_state(now, d->start_ms, d->end_ms, left)));
	json_object_object_add(j, "packets_left", json_object_new_int64(left));
	return j;
}

/* The packets left of d: Redis when warm, else what MySQL did not credit. */
static int
packets_left(struct req *r, const struct db_rain *d, int64_t *left)
{
	struct kv_rain_view v;
	int64_t n, cents;
	int rc = kv_rain_view(r->kv, d->id, &v);

	if (rc == 1) {
		*left = v.left;
		return FS_OK;
	}
	if (rc == FS_ERR || db_rain_credited(r->db, d->id, &n, &cents) != FS_OK)
		return FS_ERR;
	*left = d->packets - n;
	return FS_OK;
}

/* GET /api/rain */
void
get_rains(struct req *r)
{
	struct db_rain *rains;
	int64_t now = fs_now_ms();
	int n = db_rain_list(r->db, now, INT64_MAX, &rains);
	json_object *res, *arr;

	if (n == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		int64_t left = rains[i].packets;

		if (packets_left(r, &rains[i], &left) != FS_OK) {
			json_object_put(arr);
			free(rains);
			reply_error(r, FS_E_UNAVAILABLE);
			return;
		}
		json_object_array_add(arr, rain_json(&rains[i], left, now));
	}
	free(rains);
	res = json_object_new_object();
	json_object_object_add(res, "now_ms", json_object_new_int64(fs_now_ms()));
	json_object_object_add(res, "rains", arr);
	reply_json_put(r, 200, res);
}

/* GET /api/rain/{rid} */
void
get_rain(struct req *r)
{
	struct db_rain d;
	int64_t left = 0;
	json_object *res;

	if (rain_load_or_reply(r, r->ids[0], &d) != 1)
		return;
	if (packets_left(r, &d, &left) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	res = rain_json(&d, left, fs_now_ms());
	json_object_object_add(res, "now_ms", json_object_new_int64(fs_now_ms()));
	reply_json_put(r, 200, res);
}

/* GET /api/wallet: the credited grabs, newest first (WALLET_MAX at most),
 * and the balance of all of them. */
void
get_wallet(struct req *r)
{
	struct rain_grab *g;
	int64_t balance = 0;
	json_object *res, *arr;
	int n;

	if (req_user_or_reply(r) != FS_OK)
		return;
	n = db_rain_wallet(r->db, r->user_id, WALLET_MAX, &balance, &g);
	if (n == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *j = json_object_new_object();
		char id[24];

		snprintf(id, sizeof(id), "%" PRId64, g[i].grab_id);
		json_object_object_add(j, "rain_id", json_object_new_int64(g[i].rain_id));
		json_object_object_add(j, "grab_id", json_object_new_string(id));
		json_object_object_add(j, "amount_cents", json_object_new_int64(g[i].amount_cents));
		json_object_object_add(j, "created_ms", json_object_new_int64(g[i].created_ms));
		json_object_array_add(arr, j);
	}
	free(g);
	res = json_object_new_object();
	json_object_object_add(res, "balance_cents", json_object_new_int64(balance));
	json_object_object_add(res, "grabs", arr);
	reply_json_put(r, 200, res);
}
