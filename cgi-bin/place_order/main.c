/*
 * place-order: POST /api/order, the hot path. A chain of checks, cheapest
 * first (DESIGN.md "Place order"): token, body, sale window, order secret,
 * then one Redis script that decides and reserves atomically. The order is
 * pushed to the order handler over ZeroMQ and answered 202 at once; MySQL
 * gets it asynchronously, and the Redis journal keeps it until then.
 */
#include "place_order.h"
#include "app.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "idgen.h"
#include "jx.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "order.h"
#include "orderbatch.h"
#include "pub.h"
#include "ratelimit.h"
#include "reply.h"
#include "shed.h"
#include "sale.h"
#include "kv_sale.h"
#include "db_sale.h"
#include "order_secret.h"
#include "guard.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_SLOTS 256
/* the window and limits of a published sale never change, but an activity
 * can be ended early: re-read them this often */
#define META_TTL_MS 2000
/* how long a sold-out answer from Redis is trusted without asking again;
 * stock given back (cancel, expiry) is sellable again after at most this */
#define SOLD_OUT_MARK_MS 200
#define QUANTITY_MAX 1000

struct meta_slot {
	int64_t aid, iid;
	int64_t fetched_ms;
	int64_t sold_out_until_ms;
	struct sale_meta m;
};

static struct meta_slot meta_cache[META_SLOTS];
static const char *order_key;
static int rate_limit;
/* the in-process tier of the per-user limit (ratelimit.h) */
static struct ratelimit_local order_rl;
/* a Cluster: the status record is in the user's slot, not the script's */
static int redis_cluster;
/* WAIT for this many replicas, at most this long, after a reservation */
static int wait_replicas, wait_ms;
/* load shedding: backlog, Redis's pace, the breaker (lib/shed.h) */
static struct shed shed;

static struct meta_slot *
meta_slot(int64_t aid, int64_t iid)
{
	uint64_t h = (uint64_t)aid * 0x9E3779B97F4A7C15ULL ^ (uint64_t)iid * 0xC2B2AE3D27D4EB4FULL;

	return &meta_cache[(h >> 32) % META_SLOTS];
}

/* Loads an item's sale from MySQL into m, and puts it back into Redis: the
 * meta hash always, the stock counter when with_stock (SET NX: a live
 * counter is never reset). Returns 1 loaded, 0 no such published or ended
 * item, FS_ERR a store is down. */
static int
sale_load(struct req *r, int64_t aid, int64_t iid, int with_stock, struct sale_meta *m)
{
	struct sale_item si;
	int rc;

	memset(&si, 0, sizeof(si));
	rc = db_sale_item_load(r->db, aid, iid, &si);
	if (rc == 1 && strcmp(si.status, "published") != 0 && strcmp(si.status, "ended") != 0)
		rc = 0;
	if (rc == 1) {
		m->start_ms = si.start_ms;
		m->end_ms = si.end_ms;
		m->per_user_limit = si.per_user_limit;
		m->flash_price_cents = si.flash_price_cents;
		m->alloc_stock = si.alloc_stock;
		m->published = strcmp(si.status, "published") == 0;
		m->ended = !m->published;
		/* a sale long over has no Redis keys to write (they would
		 * expire at once): its meta from MySQL is enough to refuse */
		if (kv_sale_put(r->kv, &si, with_stock) != FS_OK ||
		    guard_warm_done(r->kv, r->db, &si, 1) != FS_OK)
			rc = FS_ERR;
	}
	db_sale_item_cleanup(&si);
	return rc;
}

/* The sale's meta for (aid, iid): in-process, else Redis, else MySQL (and
 * put back into Redis). Answers 404/503 itself and returns NULL. */
static struct meta_slot *
meta_or_reply(struct req *r, int64_t aid, int64_t iid, int64_t now)
{
	struct meta_slot *s = meta_slot(aid, iid);
	int rc;

	if (s->aid == aid && s->iid == iid && now - s->fetched_ms < META_TTL_MS)
		return s;
	rc = kv_sale_meta(r->kv, aid, iid, &s->m);
	if (rc == 0)
		rc = sale_load(r, aid, iid, 0, &s->m);
	if (rc == FS_ERR) {
		s->aid = 0;
		reply_error(r, FS_E_UNAVAILABLE);
		return NULL;
	}
	if (rc == 0 || (!s->m.published && !s->m.ended)) {
		s->aid = 0;
		reply_error(r, FS_E_NOT_FOUND);
		return NULL;
	}
	if (s->aid != aid || s->iid != iid)
		s->sold_out_until_ms = 0;
	s->aid = aid;
	s->iid = iid;
	s->fetched_ms = now;
	return s;
}

/* Accepted orders go to the handler in batches (orderbatch.h): when a batch
 * is full, when its first order is PUSH_WAIT_MS old (a timer sees to that,
 * whatever the process is busy with), or as soon as no request is waiting
 * (app.c's idle flush). */
#define PUSH_WAIT_MS 2

static struct orderbatch *batch;

static int
push_pending(void)
{
	return orderbatch_pending(batch) || pub_pending(); /* push events: lib/pub.h */
}

static void
push_flush(struct req *proto)
{
	(void)proto;
	pub_flush(); /* push events: lib/pub.h */
	orderbatch_flush(batch);
}

static void
push_close(void)
{
	orderbatch_close(batch);
	batch = NULL;
	shed_stop(&shed);
}

static void
reply_queued(struct req *r, const struct order *o)
{
	json_object *j = json_object_new_object();
	char id[24];

	snprintf(id, sizeof(id), "%" PRId64, o->id);
	json_object_object_add(j, "order_id", json_object_new_string(id));
	json_object_object_add(j, "status", json_object_new_string("queued"));
	reply_json(r, 202, j);
	json_object_put(j);
}

/* 409 duplicate with the order the user holds (API.md), when known. */
static void
reply_duplicate(struct req *r, int64_t held)
{
	const struct fs_errdef *e = fs_err_get(FS_E_DUPLICATE);
	json_object *j = json_object_new_object();
	char id[24];

	json_object_object_add(j, "error", json_object_new_string(e->code));
	json_object_object_add(j, "message", json_object_new_string(e->message));
	if (held > 0) {
		snprintf(id, sizeof(id), "%" PRId64, held);
		json_object_object_add(j, "order_id", json_object_new_string(id));
	}
	reply_json(r, e->status, j);
	json_object_put(j);
}

/* 503 when Redis took the order but its answer was lost and Redis could not
 * be asked again: the order may exist (API.md: "outcome":"unknown"); a retry
 * answers 409 duplicate with its id if it does. */
static void
reply_outcome_unknown(struct req *r)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "error", json_object_new_string("unavailable"));
	json_object_object_add(j, "message",
			       json_object_new_string("the store failed while deciding; the order may "
						      "have been taken: retry to learn which"));
	json_object_object_add(j, "outcome", json_object_new_string("unknown"));
	reply_json(r, 503, j);
	json_object_put(j);
}

/* The reservation's WAIT (kv_sale_reserve ran it in the script's trip)
 * fell short: the order still stands (journaled, on its way to MySQL: a
 * 503 would falsely say "no effect"); flashsale_redis_wait_timeouts_total
 * counts it. */
static void
reserve_check_wait(struct req *r, const struct order *o, const struct kv_sale_wait *w)
{
	if (w->replicas <= 0 || w->acked >= w->replicas)
		return;
	log_warn("order %" PRId64 ": WAIT %d %d: %d replicas acknowledged", o->id, w->replicas,
		 w->ms, w->acked);
	(void)metrics_incr(r->kv, "redis_wait_timeouts");
}

/* The checks of an order before it asks Redis: quantity, window, secret,
 * the per-user rate and the sold-out mark. FS_OK, or FS_ERR after the
 * answer. */
static int
gate_or_reply(struct req *r, struct meta_slot *s, int64_t aid, int64_t iid, int64_t qty,
	      const char *secret, int64_t now)
{
	if (qty > s->m.per_user_limit) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "quantity is more than the per-user limit");
		return FS_ERR;
	}
	if (now < s->m.start_ms) {
		reply_error(r, FS_E_NOT_STARTED);
		return FS_ERR;
	}
	if (now >= s->m.end_ms || s->m.ended) {
		reply_error(r, FS_E_ENDED);
		return FS_ERR;
	}
	if (!order_secret_check(order_key, r->user_id, aid, iid, secret,
				secret ? strlen(secret) : 0)) {
		reply_error(r, FS_E_BAD_SECRET);
		return FS_ERR;
	}
	/* The per-user limit, before anything that asks the store (API.md: a
	 * 429 may stand in for the refusal that would follow). First in
	 * memory: a user's flood, on a sold-out item too, costs no Redis call.
	 * Then the exact count across processes, in the reservation script
	 * (same round trip): on one Redis the user's count across items, on a
	 * Cluster the user's count on this item (the script runs in the
	 * item's slot; a call to the user's slot would cost every order one
	 * more round trip). */
	if (ratelimit_local_or_reply(r, &order_rl, rate_limit) != FS_OK)
		return FS_ERR;
	if (now < s->sold_out_until_ms) {
		reply_error(r, FS_E_SOLD_OUT);
		return FS_ERR;
	}
	return FS_OK;
}

/* Shedding comes first, before the token and the body: under overload the
 * cheapest answer wins. 503 with Retry-After, no store asked; the request
 * had no effect, and its retry gets whatever the checks then say. */
static int
shed_or_reply(struct req *r)
{
	int64_t now = fs_now_ms();
	enum shed_reason why = shed_check(&shed, r->kv, now);

	if (why == SHED_NONE)
		return FS_OK;
	metrics_count(shed_field(why));
	reply_shed(r, shed_retry_after_s(&shed, r->kv, why, now));
	return FS_ERR;
}

/* Reserves o's units (warming the item first when Redis lacks it). FS_OK
 * with *left the units left, or FS_ERR after the refusal's answer. */
static int
reserve_or_reply(struct req *r, struct meta_slot *s, struct order *o, int64_t now, int64_t *left)
{
	enum reserve_result res;
	int64_t held = 0, t0 = fs_mono_us();
	struct kv_sale_wait w = {wait_replicas, wait_ms, FS_ERR, 0};

	/* guard.c; on a Cluster no status record (it is in the user's slot, a
	 * second master): the poll finds a queued order in its journal */
	res = guard_reserve(r, o, rate_limit, !redis_cluster, &w, left, &held);
	/* Redis's pace, the moving average: up to the script's reply, not the
	 * WAIT's, which the replicas set (a WAIT timeout is counted apart) */
	shed_sample(&shed, (w.ran_us > 0 ? w.ran_us : fs_mono_us()) - t0);
	if (res == RESERVE_NOT_WARM) {
		/* live but not (or no longer) in Redis: load it, then decide */
		struct sale_meta fresh;
		int rc = sale_load(r, o->activity_id, o->item_id, 1, &fresh);

		if (rc != 1) {
			reply_error(r, rc == 0 ? FS_E_NOT_FOUND : FS_E_UNAVAILABLE);
			return FS_ERR;
		}
		res = guard_reserve(r, o, rate_limit, !redis_cluster, &w, left, &held);
	}
	switch (res) {
	case RESERVE_OK:
		reserve_check_wait(r, o, &w);
		return FS_OK;
	case RESERVE_SOLD_OUT:
		s->sold_out_until_ms = now + SOLD_OUT_MARK_MS;
		reply_error(r, FS_E_SOLD_OUT);
		return FS_ERR;
	case RESERVE_NOT_STARTED: reply_error(r, FS_E_NOT_STARTED); return FS_ERR;
	case RESERVE_ENDED: reply_error(r, FS_E_ENDED); return FS_ERR;
	case RESERVE_BANNED: reply_error(r, FS_E_BANNED); return FS_ERR;
	case RESERVE_FORBIDDEN: reply_error(r, FS_E_FORBIDDEN); return FS_ERR; /* sale rules */
	case RESERVE_DUPLICATE: reply_duplicate(r, held); return FS_ERR;
	case RESERVE_RATE_LIMITED: reply_rate_limited(r, 1); return FS_ERR;
	case RESERVE_UNKNOWN: reply_outcome_unknown(r); return FS_ERR;
	case RESERVE_NOT_WARM:
	case RESERVE_DOWN:
	default:
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
}

/* POST /api/order: the gate, then one Redis round trip that reserves and
 * journals; the order goes to the handler in this process's next batch. */
static void
post_order(struct req *r)
{
	json_object *body = NULL;
	struct meta_slot *s;
	struct order o;
	const char *secret = NULL;
	int64_t aid, iid, qty = 1, now, left = -1;

	if (shed_or_reply(r) != FS_OK)
		return;
	if (req_order_secret_or_reply(r, order_key) != FS_OK)
		return;
	if (req_user_or_reply(r) != FS_OK)
		return;
	if (req_json_or_reply(r, 0, &body) != FS_OK)
		return;
	if (jx_id(body, "activity_id", &aid) != FS_OK || jx_id(body, "item_id", &iid) != FS_OK ||
	    (jx_has(body, "quantity") && jx_int(body, "quantity", 1, QUANTITY_MAX, &qty) != FS_OK) ||
	    (jx_has(body, "secret") && jx_str(body, "secret", 128, &secret) != FS_OK)) {
		reply_error_msg(r, FS_E_BAD_REQUEST,
				"activity_id and item_id must be positive integers, quantity an "
				"integer from 1 to the per-user limit, secret a string");
		goto out;
	}
	now = fs_now_ms();
	if ((s = meta_or_reply(r, aid, iid, now)) == NULL)
		goto out;
	if (gate_or_reply(r, s, aid, iid, qty, secret, now) != FS_OK)
		goto out;
	memset(&o, 0, sizeof(o));
	if (idgen_next(r->kv, &o.id) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		goto out;
	}
	o.user_id = r->user_id;
	o.activity_id = aid;
	o.item_id = iid;
	o.quantity = qty;
	o.amount_cents = qty * s->m.flash_price_cents;
	o.created_ms = now;
	o.status = ORDER_QUEUED;

	if (reserve_or_reply(r, s, &o, now, &left) != FS_OK)
		goto out;

	/* Reserved and journaled: from here the order exists, whatever fails.
	 * The push is best effort (reconcile replays the journal if the queue
	 * cannot take it now). */
	orderbatch_add(batch, &o);
	shed_accepted(&shed, aid, iid, now);
	if (left == 0)
		s->sold_out_until_ms = now + SOLD_OUT_MARK_MS;
	reply_queued(r, &o);
	pub_order_later(&o); /* push event "queued": lib/pub.h */
out:
	json_object_put(body);
}

/* POST /api/order/{id}/cancel: cancel.c */
static void
post_cancel(struct req *r)
{
	/* a cancel may wait for the handler to write the order: that order
	 * may be the one still waiting in this process's push batch */
	orderbatch_flush(batch);
	if (req_user_or_reply(r) != FS_OK)
		return;
	cancel_or_reply(r, r->ids[0]);
}

static int
place_order_init(struct req *proto)
{
	order_key = conf_keys_str(CONF_ORDER_SECRET);
	rate_limit = (int)conf_keys_int(CONF_RATE_ORDER_PER_USER);
	redis_cluster = conf_keys_int(CONF_REDIS_CLUSTER) != 0;
	if (!order_secret_usable(order_key))
		log_err("order_secret is not set (or shorter than %d characters): every order will "
			"be refused with 503 until it is", ORDER_SECRET_KEY_MIN);
	batch = orderbatch_open(proto->q, PUSH_WAIT_MS);
	/* after app_main's last flush: stops the timer, which sends nothing */
	atexit(push_close);
	wait_replicas = (int)conf_keys_int(CONF_REDIS_WAIT_REPLICAS);
	wait_ms = (int)conf_keys_int(CONF_REDIS_WAIT_MS);
	/* the backlog watcher reads on a connection of its own (lib/shed.h) */
	shed_start(&shed, kv_open_conf());
	return FS_OK;
}

static const struct route routes[] = {
	{"POST", "/api/order", post_order, 0},
	{"POST", "/api/order/$/cancel", post_cancel, 0},
};

int
main(void)
{
	static const struct app app = {"place-order", routes, FS_ARRAY_LEN(routes),
				       APP_KV | APP_DB | APP_ORDERQ, place_order_init,
				       push_pending, push_flush};

	return app_main(&app);
}
