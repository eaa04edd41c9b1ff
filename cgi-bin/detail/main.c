/*
 * detail: the public read path (API.md "Shopping"): GET /api/detail, its
 * activity and item views, and the order secret. Item data comes from the
 * Redis meta hash; a miss reads MySQL and writes the meta back (cache aside,
 * never the stock counter).
 *
 * This is the hottest read of a sale, so each process keeps the parts of
 * every answer that do not depend on the clock for up to CACHE_FRESH_MS
 * (API.md lets remaining lag by a second): most requests touch neither Redis
 * nor MySQL. now_ms and state are still computed for every request.
 */
#include "detail.h"
#include "app.h"
#include "challenge.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "db_sale.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "order_secret.h"
#include "ratelimit.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page of the public activities not ended, in (start_ms, id) order. The
 * first page is cached (the one every visitor reads); more pages are read
 * when asked. */
struct act_page {
	int64_t fetched_ms;
	int64_t aids[LIST_MAX + 1];
	int64_t starts[LIST_MAX + 1];
	int n;    /* ids read: up to LIST_MAX + 1, the last telling there is more */
};

static struct act_page act_first;

/* GET /api/detail/{aid}/{iid} */
static void
get_item(struct req *r)
{
	int64_t now = fs_now_ms();
	struct item_entry *e = item_get(r, r->ids[0], r->ids[1], now);
	enum fs_err err = FS_E_UNAVAILABLE;

	if (e == NULL)
		goto out;
	err = FS_E_NOT_FOUND;
	if (!e->found)
		goto out;
	out.len = 0;
	out_add("{\"now_ms\":%lld,", (long long)now);
	out_put(e->inner, e->inner_len);
	item_tail(e, now);
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
}

/* GET /api/detail/{aid} */
static void
get_activity(struct req *r)
{
	int64_t now = fs_now_ms();
	struct act_entry *e = act_get(r, r->ids[0], now);
	enum fs_err err = FS_E_UNAVAILABLE;

	if (e == NULL)
		goto out;
	err = FS_E_NOT_FOUND;
	if (!e->found)
		goto out;
	err = FS_E_UNAVAILABLE;
	out.len = 0;
	out_stale = 0;
	out_add("{\"now_ms\":%lld,\"activity\":", (long long)now);
	if (act_render(r, e, now) != FS_OK)
		goto out;
	out_add(out_stale ? ",\"stale\":true}" : "}");
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
}

/* Reads into p up to LIST_MAX + 1 public activities not ended, in (start_ms,
 * id) order, after the cursor (after_start, after_id) when after_id > 0.
 * FS_OK or FS_ERR. */
static int
page_read(struct req *r, int64_t now, int64_t after_start, int64_t after_id, struct act_page *p)
{
	int n = db_sale_page(r->db, now, after_start, after_id, LIST_MAX + 1, p->aids, p->starts);

	if (n == FS_ERR)
		return FS_ERR;
	p->n = n;
	p->fetched_ms = now;
	return FS_OK;
}

/* Reads ?limit= and ?cursor= ("<start_ms>.<id>" of the last activity of
 * the page before). FS_OK, or FS_ERR after a 400. */
static int
paging_or_reply(struct req *r, int64_t *limit, int64_t *after_start, int64_t *after_id)
{
	char buf[64], *dot;
	int rc;

	*limit = LIST_MAX;
	*after_start = *after_id = 0;
	rc = req_query(r, "limit", buf, sizeof(buf));
	if (rc < 0 || (rc == 1 && (fs_parse_id(buf, limit) != FS_OK || *limit > LIST_MAX))) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "limit must be an integer from 1 to 100");
		return FS_ERR;
	}
	rc = req_query(r, "cursor", buf, sizeof(buf));
	if (rc == 0)
		return FS_OK;
	dot = rc == 1 ? strchr(buf, '.') : NULL;
	if (dot != NULL)
		*dot = '\0';
	if (dot == NULL || fs_parse_id(buf, after_start) != FS_OK ||
	    fs_parse_id(dot + 1, after_id) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "cursor must be the \"next\" of a page");
		return FS_ERR;
	}
	return FS_OK;
}

/* GET /api/detail[?limit=N&cursor=C]: the published activities that have
 * not ended, a page at a time (API.md's shape, plus "next"). */
static void
get_list(struct req *r)
{
	int64_t now = fs_now_ms(), limit, after_start, after_id;
	struct act_page page, *p = &act_first;
	enum fs_err err = FS_E_UNAVAILABLE;
	int shown = 0, n;

	if (paging_or_reply(r, &limit, &after_start, &after_id) != FS_OK)
		return;
	if (after_id > 0) {
		p = &page;
		if (page_read(r, now, after_start, after_id, p) != FS_OK)
			goto out;
	} else if (!(act_first.fetched_ms && now >= act_first.fetched_ms &&
		     now - act_first.fetched_ms < CACHE_FRESH_MS) &&
		   page_read(r, now, 0, 0, &act_first) != FS_OK) {
		goto out;
	}
	n = p->n < limit ? p->n : (int)limit;
	out.len = 0;
	out_stale = 0;
	out_add("{\"now_ms\":%lld,\"activities\":[", (long long)now);
	for (int i = 0; i < n; i++) {
		struct act_entry *e = act_get(r, p->aids[i], now);

		if (e == NULL)
			goto out;
		if (!e->found || e->ended || now >= e->end_ms)
			continue;
		if (shown++)
			out_put(",", 1);
		if (act_render(r, e, now) != FS_OK)
			goto out;
	}
	if (p->n > n)
		out_add("],\"next\":\"%lld.%lld\"", (long long)p->starts[n - 1],
			(long long)p->aids[n - 1]);
	else
		out_add("],\"next\":null");
	out_add(out_stale ? ",\"stale\":true}" : "}");
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
}

enum fs_err
secret_window(struct req *r, struct item_entry **ep)
{
	int64_t now = fs_now_ms();
	struct item_entry *e = item_get(r, r->ids[0], r->ids[1], now);

	*ep = e;
	if (e == NULL)
		return FS_E_UNAVAILABLE;
	if (!e->found)
		return FS_E_NOT_FOUND;
	if (now < e->start_ms)
		return FS_E_NOT_STARTED;
	if (e->ended || now >= e->end_ms)
		return FS_E_ENDED;
	return NO_ERROR;
}

void
secret_out(struct req *r)
{
	char secret[SECRET_LEN + 1];

	order_secret_make(conf_keys_str(CONF_ORDER_SECRET), r->user_id, r->ids[0], r->ids[1], secret);
	out.len = 0;
	out_add("{\"secret\":\"%s\"}", secret);
}

/* GET /api/detail/{aid}/{iid}/secret: the user's order secret, only while
 * the sale is live (DESIGN.md "Order secret"); for a sale with a challenge,
 * the challenge whose answer POST turns into the secret. */
static void
get_secret(struct req *r)
{
	struct item_entry *e;
	enum fs_err err;

	if (req_order_secret_or_reply(r, conf_keys_str(CONF_ORDER_SECRET)) != FS_OK)
		return;
	if (req_user_or_reply(r) != FS_OK)
		return;
	/* per-user limits go here, after the identity and before any lookup */
	if (ratelimit_secret_or_reply(r) != FS_OK)
		return;
	err = secret_window(r, &e);
	if (err != NO_ERROR)
		goto out;
	/* the sale rules before any challenge: a young or blocked account gets
	 * no secret, by answer or otherwise */
	if (guard_secret_or_reply(r, r->ids[0], r->ids[1]) != FS_OK)
		return; /* the sale rules answered: guard.c */
	if (e->challenge != CHALLENGE_NONE) {
		err = challenge_issue(r, e);
		goto out;
	}
	secret_out(r);
out:
	reply_out_or_error(r, err);
}

/* The item view first: it is the one a sale hammers. */
static const struct route routes[] = {
	{"GET", "/api/detail/#/#", get_item, 0},
	{"GET", "/api/detail/#", get_activity, 0},
	{"GET", "/api/detail", get_list, 0},
	{"GET", "/api/detail/#/#/secret", get_secret, 0},
	{"POST", "/api/detail/#/#/secret", post_secret, 0},
};

int
main(void)
{
	static const struct app app = {"detail", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB, NULL,
				       NULL, NULL};

	return app_main(&app);
}
