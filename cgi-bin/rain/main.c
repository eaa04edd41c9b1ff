/*
 * rain: the public red-packet rain routes of API.md: GET /api/rain,
 * GET /api/rain/{rid}, POST /api/rain/{rid}/grab and GET /api/wallet.
 * The grab is the hot path, built like the order's: token, the window from
 * an in-process copy of the rain, then ONE Redis script (window on the
 * Redis clock, ban, one per user, pop a packet, journal it); the 200 goes
 * out at once and the grab line joins this process's batch to the order
 * handler, which credits the wallet in MySQL. Once the pot is empty the
 * answers come from memory: the holders and the banned users are read
 * once, so 403/409/410 keep their order without a Redis call.
 */
#include "rainapi.h"
#include "app.h"
#include "conf_keys.h"
#include "fs.h"
#include "guard.h"
#include "kv.h"
#include "kv_rain.h"
#include "log.h"
#include "metrics.h"
#include "mem.h"
#include "orderbatch.h"
#include "rain.h"
#include "ratelimit.h"
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64
/* the window of a published rain never changes; re-read it this often */
#define META_TTL_MS 2000
/* an empty pot stays empty; its ban list is read again this often */
#define EMPTY_TTL_MS 5000
/* the process's copy of the admin blocklist is read again this often */
#define RAIN_BLOCKLIST_READ_MS 1000
/* a grab line waits at most this long for more to share its message */
#define PUSH_WAIT_MS 2
#define MSG_DUPLICATE "you hold a packet of this rain already"
#define MSG_EMPTY "the pot is empty"

struct slot {
	int64_t rid, fetched_ms, start_ms, end_ms;
	int64_t empty_until_ms;     /* answers from memory until then */
	int64_t *held, *banned;     /* sorted user ids (owned) */
	int nheld, nbanned;
};

static struct slot slots[SLOTS];
static struct orderbatch *batch;
/* WAIT for this many replicas, at most this long, after a grab (as after
 * an order's reservation: a failover must not lose a granted packet) */
static int wait_replicas, wait_ms;

static void
slot_forget(struct slot *s)
{
	free(s->held);
	free(s->banned);
	memset(s, 0, sizeof(*s));
}

/* The rain's window: in-process, else Redis, else MySQL (warming it).
 * NULL after the answer (404, 503). */
static struct slot *
slot_or_reply(struct req *r, int64_t rid, int64_t now)
{
	struct slot *s = &slots[(uint64_t)rid % SLOTS];
	struct kv_rain_view v;
	struct db_rain d;
	int rc;

	if (s->rid == rid && now - s->fetched_ms < META_TTL_MS)
		return s;
	if (s->rid != rid)
		slot_forget(s);
	rc = kv_rain_view(r->kv, rid, &v);
	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return NULL;
	}
	if (rc == 0) {
		if (rain_load_or_reply(r, rid, &d) != 1)
			return NULL;
		v.start_ms = d.start_ms;
		v.end_ms = d.end_ms;
	}
	s->rid = rid;
	s->fetched_ms = now;
	s->start_ms = v.start_ms;
	s->end_ms = v.end_ms;
	return s;
}

static int
has(const int64_t *set, int n, int64_t id)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (set[mid] == id)
			return 1;
		if (set[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* The pot is empty: reads who holds a packet and who is banned, once. */
static void
mark_empty(struct req *r, struct slot *s, int64_t now)
{
	free(s->held);
	free(s->banned);
	s->held = s->banned = NULL;
	s->nheld = s->nbanned = 0;
	if (kv_rain_members(r->kv, s->rid, &s->held, &s->nheld, &s->banned, &s->nbanned) == FS_OK)
		s->empty_until_ms = now + EMPTY_TTL_MS;
}

static void
reply_grab(struct req *r, int status, const struct rain_grab *g, enum fs_err err)
{
	json_object *j = json_object_new_object();
	char id[24];

	snprintf(id, sizeof(id), "%" PRId64, g->grab_id);
	if (status != 200) {
		const struct fs_errdef *e = fs_err_get(err);

		json_object_object_add(j, "error", json_object_new_string(e->code));
		json_object_object_add(j, "message", json_object_new_string(MSG_DUPLICATE));
	}
	json_object_object_add(j, "grab_id", json_object_new_string(id));
	json_object_object_add(j, "amount_cents", json_object_new_int64(g->amount_cents));
	reply_json_put(r, status, j);
}

/* The answer of the empty pot from memory. FS_OK when it answered. */
static int
empty_answer(struct req *r, struct slot *s, int64_t now)
{
	if (now >= s->empty_until_ms)
		return FS_ERR;
	if (has(s->banned, s->nbanned, r->user_id))
		reply_error(r, FS_E_BANNED);
	else if (has(s->held, s->nheld, r->user_id))
		reply_error_msg(r, FS_E_DUPLICATE, MSG_DUPLICATE);
	else
		reply_error_msg(r, FS_E_SOLD_OUT, MSG_EMPTY);
	return FS_OK;
}

/* The admin blocklist (API.md "Guard rails") reaches grabs through this
 * process's copy (guard.h), read again from MySQL at most once a second:
 * a block holds for grabs within a second, with no store call per grab.
 * FS_OK when it answered 403 banned. */
static int
blocked_or_reply(struct req *r, int64_t now)
{
	static int64_t read_ms;
	char bucket[48];
	int has_ip;

	if (now - read_ms >= RAIN_BLOCKLIST_READ_MS) {
		read_ms = now; /* a failed read keeps the old copy until the next second */
		if (guard_refresh(r->db) != FS_OK)
			log_warn("rain: blocklist not read again; deciding with version %lld",
				 (long long)guard_version());
	}
	has_ip = ratelimit_client(r, bucket);
	if (!guard_blocked(r->user_id, has_ip ? r->client_ip : NULL))
		return FS_ERR;
	reply_error(r, FS_E_BANNED);
	return FS_OK;
}

/* Runs the grab script, warming a cold rain once. */
static enum rain_grab_result
grab(struct req *r, int64_t rid, struct rain_grab *g)
{
	enum rain_grab_result res = kv_rain_grab(r->kv, rid, r->user_id, g);
	struct db_rain d;

	if (res != RAIN_GRAB_NOT_WARM)
		return res;
	/* answers itself when the rain is gone */
	if (rain_load_or_reply(r, rid, &d) != 1)
		return RAIN_GRAB_NOT_WARM;
	return kv_rain_grab(r->kv, rid, r->user_id, g);
}

/* POST /api/rain/{rid}/grab */
static void
post_grab(struct req *r)
{
	int64_t rid = r->ids[0], now;
	struct rain_grab g = {0};
	struct slot *s;
	char line[RAIN_LINE_MAX];

	if (req_user_or_reply(r) != FS_OK)
		return;
	now = fs_now_ms();
	if ((s = slot_or_reply(r, rid, now)) == NULL)
		return;
	if (now < s->start_ms) {
		reply_error(r, FS_E_NOT_STARTED);
		return;
	}
	if (now >= s->end_ms) {
		reply_error(r, FS_E_ENDED);
		return;
	}
	if (blocked_or_reply(r, now) == FS_OK || empty_answer(r, s, now) == FS_OK)
		return;
	switch (grab(r, rid, &g)) {
	case RAIN_GRAB_OK:
		/* journaled: from here the grab exists; the push is best
		 * effort (reconcile replays the journal). A WAIT that times
		 * out does not undo it: counted, like the order's */
		if (wait_replicas > 0 && kv_rain_wait(r->kv, rid, wait_replicas, wait_ms) < wait_replicas)
			(void)metrics_incr(r->kv, "redis_wait_timeouts");
		orderbatch_add_line(batch, line, rain_line_encode(&g, line));
		reply_grab(r, 200, &g, FS_E_COUNT);
		return;
	case RAIN_GRAB_DUPLICATE: reply_grab(r, 409, &g, FS_E_DUPLICATE); return;
	case RAIN_GRAB_EMPTY:
		mark_empty(r, s, now);
		reply_error_msg(r, FS_E_SOLD_OUT, MSG_EMPTY);
		return;
	case RAIN_GRAB_NOT_STARTED: reply_error(r, FS_E_NOT_STARTED); return;
	case RAIN_GRAB_ENDED: reply_error(r, FS_E_ENDED); return;
	case RAIN_GRAB_BANNED: reply_error(r, FS_E_BANNED); return;
	case RAIN_GRAB_NOT_WARM:
		if (r->status == 0)
			reply_error(r, FS_E_UNAVAILABLE);
		return;
	case RAIN_GRAB_DOWN:
	default:
		reply_error(r, FS_E_UNAVAILABLE);
	}
}

static int
push_pending(void)
{
	return orderbatch_pending(batch);
}

static void
push_flush(struct req *proto)
{
	(void)proto;
	orderbatch_flush(batch);
}

static void
push_close(void)
{
	orderbatch_close(batch);
	batch = NULL;
	for (int i = 0; i < SLOTS; i++)
		slot_forget(&slots[i]);
}

static int
rain_init(struct req *proto)
{
	wait_replicas = (int)conf_keys_int(CONF_REDIS_WAIT_REPLICAS);
	wait_ms = (int)conf_keys_int(CONF_REDIS_WAIT_MS);
	batch = orderbatch_open(proto->q, PUSH_WAIT_MS);
	/* after app_main's last flush: stops the timer, which sends nothing */
	atexit(push_close);
	return FS_OK;
}

static const struct route routes[] = {
	{"GET", "/api/rain", get_rains, 0},
	{"GET", "/api/rain/#", get_rain, 0},
	{"POST", "/api/rain/#/grab", post_grab, 0},
	{"GET", "/api/wallet", get_wallet, 0},
};

int
main(void)
{
	static const struct app app = {"rain", routes, FS_ARRAY_LEN(routes),
				       APP_KV | APP_DB | APP_ORDERQ, rain_init, push_pending,
				       push_flush};

	return app_main(&app);
}
