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
#include "app.h"
#include "conf.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "ratelimit.h"
#include "reply.h"
#include "sale.h"
#include "kv_sale.h"
#include "db_sale.h"
#include "order_secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_FRESH_MS 1000
/* an unknown or draft item is remembered briefly only, so a publish shows
 * up at once while a scan of unknown ids still costs one lookup a second */
#define CACHE_NEG_FRESH_MS 250
#define ITEM_SLOTS 4096 /* power of two */
#define ACT_SLOTS 256   /* power of two */
/* GET /api/detail pages: limit (1..LIST_MAX, default LIST_MAX) activities
 * a page; "next" is the cursor of the next page, null on the last */
#define LIST_MAX 100
#define NO_ERROR FS_E_COUNT

/* One activity item as the answers need it. */
struct item_entry {
	int64_t aid, iid;
	int64_t fetched_ms; /* 0: empty slot */
	int found;          /* 0: no public item (unknown, or its activity is a draft) */
	int ended;          /* the activity's status is ended */
	int64_t start_ms, end_ms, remaining;
	char *inner;        /* the static detail JSON without its braces; owned */
	size_t inner_len;
};

/* One activity: its static fields and the ids of its items. */
struct act_entry {
	int64_t aid;
	int64_t fetched_ms;
	int found;
	int ended;
	int64_t start_ms, end_ms;
	char *inner; /* "activity_id":..,"name":..,"description":..,"start_ms":..,"end_ms":.. */
	int64_t *iids;
	int nitems;
};

static struct item_entry item_cache[ITEM_SLOTS];
static struct act_entry act_cache[ACT_SLOTS];

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

/* The answer being built; reused by every request of the process. */
static struct {
	char *s;
	size_t len, cap;
} out;

static void
out_put(const char *s, size_t n)
{
	if (out.len + n + 1 > out.cap) {
		out.cap = (out.len + n + 1) * 2 + 4096;
		out.s = mem_realloc(out.s, out.cap);
	}
	memcpy(out.s + out.len, s, n);
	out.len += n;
	out.s[out.len] = '\0';
}

static void __attribute__((format(printf, 1, 2)))
out_add(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		die("out_add: %d bytes is more than a fragment may hold", n);
	out_put(buf, (size_t)n);
}

static size_t
slot_of(int64_t aid, int64_t iid, size_t nslots)
{
	uint64_t h = (uint64_t)aid * 0x9E3779B97F4A7C15ULL ^ (uint64_t)iid * 0xC2B2AE3D27D4EB4FULL;

	return (size_t)(h ^ (h >> 29)) & (nslots - 1);
}

static int
fresh(int64_t fetched_ms, int found, int64_t now)
{
	return fetched_ms && now - fetched_ms < (found ? CACHE_FRESH_MS : CACHE_NEG_FRESH_MS) &&
	       now >= fetched_ms;
}

static const char *
state_of(int ended, int64_t start, int64_t end, int64_t remaining, int64_t now)
{
	if (ended || now >= end)
		return "ended";
	if (now < start)
		return "upcoming";
	return remaining > 0 ? "live" : "sold_out";
}

/* Stores detail JSON d (len bytes) in e without its outer braces; 0 when d
 * is not an object with fields (then e is left without it). */
static int
entry_set_detail(struct item_entry *e, const char *d, size_t len)
{
	if (len <= 2 || d[0] != '{' || d[len - 1] != '}')
		return 0;
	free(e->inner);
	e->inner_len = len - 2;
	e->inner = mem_alloc(e->inner_len + 1);
	memcpy(e->inner, d + 1, e->inner_len);
	e->inner[e->inner_len] = '\0';
	return 1;
}

static int64_t
reply_int(const redisReply *rep, int *ok)
{
	if (rep->type != REDIS_REPLY_STRING) {
		*ok = 0;
		return 0;
	}
	return strtoll(rep->str, NULL, 10);
}

enum { FILL_OK, FILL_NO_META, FILL_NO_STOCK, FILL_DOWN };

/* Fills e from the Redis meta hash and stock counter, one round trip.
 * FILL_OK; FILL_NO_META (no usable meta hash) or FILL_NO_STOCK (meta but
 * not warm), where *stock_known and *stock still tell the counter; or
 * FILL_DOWN. */
static int
fill_from_kv(struct kv *kv, struct item_entry *e, int *stock_known, int64_t *stock)
{
	char meta[KV_KEY_MAX], skey[KV_KEY_MAX];
	redisReply *m = NULL, *s = NULL;
	int rc = FILL_DOWN, ok = 1;

	*stock_known = 0;
	kv_item_key(meta, e->aid, e->iid, "meta");
	kv_item_key(skey, e->aid, e->iid, "stock");
	if (kv_append(kv, "HMGET %s start end status detail", meta) != FS_OK ||
	    kv_append(kv, "GET %s", skey) != FS_OK)
		return FILL_DOWN;
	m = kv_reply(kv);
	s = m ? kv_reply(kv) : NULL;
	if (m == NULL || s == NULL)
		goto out;
	if (s->type == REDIS_REPLY_STRING) {
		*stock_known = 1;
		*stock = strtoll(s->str, NULL, 10);
	}
	rc = FILL_NO_META;
	if (m->type != REDIS_REPLY_ARRAY || m->elements != 4 ||
	    m->element[2]->type != REDIS_REPLY_STRING || m->element[3]->type != REDIS_REPLY_STRING)
		goto out;
	e->start_ms = reply_int(m->element[0], &ok);
	e->end_ms = reply_int(m->element[1], &ok);
	/* a draft is not ours to serve and a broken hash not to trust:
	 * MySQL decides */
	if (!ok || strcmp(m->element[2]->str, "draft") == 0 ||
	    !entry_set_detail(e, m->element[3]->str, m->element[3]->len))
		goto out;
	rc = FILL_NO_STOCK;
	if (!*stock_known)
		goto out;
	e->ended = strcmp(m->element[2]->str, "ended") == 0;
	e->remaining = *stock;
	e->found = 1;
	rc = FILL_OK;
out:
	if (m)
		freeReplyObject(m);
	if (s)
		freeReplyObject(s);
	return rc;
}

/* The cache entry of (aid, iid), refreshed when stale. NULL when Redis and
 * MySQL both failed (answer 503); else check ->found. */
static struct item_entry *
item_get(struct req *r, int64_t aid, int64_t iid, int64_t now)
{
	struct item_entry *e = &item_cache[slot_of(aid, iid, ITEM_SLOTS)];
	struct sale_item si;
	int stock_known = 0, kvrc, found;
	int64_t stock = 0;

	if (e->aid == aid && e->iid == iid && fresh(e->fetched_ms, e->found, now))
		return e;
	if (e->aid != aid || e->iid != iid) {
		free(e->inner);
		memset(e, 0, sizeof(*e));
		e->aid = aid;
		e->iid = iid;
	}
	e->found = 0;
	kvrc = fill_from_kv(r->kv, e, &stock_known, &stock);
	if (kvrc == FILL_OK) {
		e->fetched_ms = now;
		return e;
	}
	/* cache aside: MySQL is the truth, put it back for the next reader */
	found = db_sale_item_load(r->db, aid, iid, &si);
	if (found < 0) {
		e->fetched_ms = 0;
		return NULL;
	}
	if (found && strcmp(si.status, "draft") != 0 &&
	    entry_set_detail(e, si.detail_json, strlen(si.detail_json))) {
		e->found = 1;
		e->ended = strcmp(si.status, "ended") == 0;
		e->start_ms = si.start_ms;
		e->end_ms = si.end_ms;
		/* MySQL's count lags the reservations Redis holds: prefer Redis */
		e->remaining = stock_known ? stock : si.db_stock;
		if (kvrc == FILL_NO_META && kv_sale_put(r->kv, &si, 0) != FS_OK)
			log_warn("detail: put back %lld:%lld: %s", (long long)aid, (long long)iid,
				 r->kv->errstr);
	}
	db_sale_item_cleanup(&si);
	e->fetched_ms = now;
	return e;
}

/* Appends what changes by the second and closes the item object. */
static void
item_tail(const struct item_entry *e, int64_t now)
{
	out_add(",\"state\":\"%s\",\"remaining\":%lld}",
		state_of(e->ended, e->start_ms, e->end_ms, e->remaining, now),
		(long long)(e->remaining > 0 ? e->remaining : 0));
}

/* Appends the item object (without now_ms) to the answer. */
static void
item_render(const struct item_entry *e, int64_t now)
{
	out_put("{", 1);
	out_put(e->inner, e->inner_len);
	item_tail(e, now);
}

/* Reads activity aid from MySQL into e. FS_OK or FS_ERR (MySQL failed). */
static int
act_fill(struct db *d, struct act_entry *e)
{
	static const char sql[] =
		"SELECT name, description, start_ms, end_ms, status FROM activities WHERE id = ?";
	static const char sql_items[] =
		"SELECT item_id FROM activity_items WHERE activity_id = ? ORDER BY item_id";
	struct dbv args[] = {DBI(e->aid)};
	struct db_rows rows = {0}, items = {0};
	json_object *o;
	const char *s;
	size_t len;
	int rc = FS_ERR;

	if (db_query(d, sql, args, 1, &rows) != FS_OK || db_query(d, sql_items, args, 1, &items) != FS_OK)
		goto out;
	rc = FS_OK;
	free(e->inner);
	free(e->iids);
	e->inner = NULL;
	e->iids = NULL;
	e->nitems = 0;
	e->found = rows.nrows > 0 && strcmp(db_cell(&rows, 0, 4), "draft") != 0;
	if (!e->found)
		goto out;
	e->start_ms = db_cell_int(&rows, 0, 2);
	e->end_ms = db_cell_int(&rows, 0, 3);
	e->ended = strcmp(db_cell(&rows, 0, 4), "ended") == 0;
	o = json_object_new_object();
	json_object_object_add(o, "activity_id", json_object_new_int64(e->aid));
	json_object_object_add(o, "name", json_object_new_string(db_cell(&rows, 0, 0)));
	json_object_object_add(o, "description", json_object_new_string(db_cell(&rows, 0, 1)));
	json_object_object_add(o, "start_ms", json_object_new_int64(e->start_ms));
	json_object_object_add(o, "end_ms", json_object_new_int64(e->end_ms));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
					      &len);
	e->inner = mem_alloc(len);
	memcpy(e->inner, s + 1, len - 2);
	e->inner[len - 2] = '\0';
	json_object_put(o);
	e->nitems = items.nrows;
	e->iids = mem_calloc((unsigned long)items.nrows + 1, sizeof(int64_t));
	for (int i = 0; i < items.nrows; i++)
		e->iids[i] = db_cell_int(&items, i, 0);
out:
	db_rows_free(&rows);
	db_rows_free(&items);
	return rc;
}

/* The cache entry of activity aid, refreshed when stale; NULL when MySQL
 * failed. */
static struct act_entry *
act_get(struct req *r, int64_t aid, int64_t now)
{
	struct act_entry *e = &act_cache[slot_of(aid, 0, ACT_SLOTS)];

	if (e->aid == aid && fresh(e->fetched_ms, e->found, now))
		return e;
	if (e->aid != aid) {
		free(e->inner);
		free(e->iids);
		memset(e, 0, sizeof(*e));
		e->aid = aid;
	}
	if (act_fill(r->db, e) != FS_OK) {
		e->fetched_ms = 0;
		return NULL;
	}
	e->fetched_ms = now;
	return e;
}

/* Appends activity e with its items and their states. FS_ERR: a dependency
 * is down. */
static int
act_render(struct req *r, const struct act_entry *e, int64_t now)
{
	int64_t total = 0;
	int nshown = 0;

	/* first the items' stock, which the activity's own state depends on */
	for (int i = 0; i < e->nitems; i++) {
		struct item_entry *it = item_get(r, e->aid, e->iids[i], now);

		if (it == NULL)
			return FS_ERR;
		if (it->found) {
			nshown++;
			total += it->remaining > 0 ? it->remaining : 0;
		}
	}
	out_put("{", 1);
	out_put(e->inner, strlen(e->inner));
	out_add(",\"state\":\"%s\",\"items\":[",
		state_of(e->ended, e->start_ms, e->end_ms, nshown ? total : 0, now));
	nshown = 0;
	for (int i = 0; i < e->nitems; i++) {
		/* fresh from the pass above unless two items share a slot */
		struct item_entry *it = item_get(r, e->aid, e->iids[i], now);

		if (it == NULL)
			return FS_ERR;
		if (!it->found)
			continue;
		if (nshown++)
			out_put(",", 1);
		item_render(it, now);
	}
	out_put("]}", 2);
	return FS_OK;
}

/* Sends the answer built in out, or the error err unless it is NO_ERROR. */
static void
reply_out_or_error(struct req *r, enum fs_err err)
{
	if (err != NO_ERROR)
		reply_error(r, err);
	else
		reply_raw(r, 200, "application/json", out.s, out.len, NULL);
}

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
	out_add("{\"now_ms\":%lld,\"activity\":", (long long)now);
	if (act_render(r, e, now) != FS_OK)
		goto out;
	out_put("}", 1);
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
	static const char sql_first[] =
		"SELECT id, start_ms FROM activities WHERE status = 'published' AND end_ms > ?"
		" ORDER BY start_ms, id LIMIT 101";
	static const char sql_after[] =
		"SELECT id, start_ms FROM activities WHERE status = 'published' AND end_ms > ?"
		" AND (start_ms > ? OR (start_ms = ? AND id > ?)) ORDER BY start_ms, id LIMIT 101";
	struct dbv args[] = {DBI(now), DBI(after_start), DBI(after_start), DBI(after_id)};
	struct db_rows rows;

	if (db_query(r->db, after_id > 0 ? sql_after : sql_first, args, after_id > 0 ? 4 : 1,
		     &rows) != FS_OK)
		return FS_ERR;
	p->n = rows.nrows < LIST_MAX + 1 ? rows.nrows : LIST_MAX + 1;
	for (int i = 0; i < p->n; i++) {
		p->aids[i] = db_cell_int(&rows, i, 0);
		p->starts[i] = db_cell_int(&rows, i, 1);
	}
	p->fetched_ms = now;
	db_rows_free(&rows);
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
		out_add("],\"next\":\"%lld.%lld\"}", (long long)p->starts[n - 1],
			(long long)p->aids[n - 1]);
	else
		out_add("],\"next\":null}");
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
}

/* 503 while no usable order_secret is configured: no secret is handed out
 * under a key anyone can compute. Said in the log at most once a minute. */
static int
secret_ready_or_reply(struct req *r)
{
	static int64_t logged_ms;
	int64_t now;

	if (order_secret_usable(conf_str("order_secret", "")))
		return FS_OK;
	now = fs_now_ms();
	if (now - logged_ms >= 60000) {
		logged_ms = now;
		log_err("order_secret is not set (or shorter than %d characters): every order "
			"secret is refused with 503", ORDER_SECRET_KEY_MIN);
	}
	reply_error_msg(r, FS_E_UNAVAILABLE, "ordering is not configured on this server");
	return FS_ERR;
}

/* GET /api/detail/{aid}/{iid}/secret: the user's order secret, only while
 * the sale is live (DESIGN.md "Order secret"). */
static void
get_secret(struct req *r)
{
	char secret[SECRET_LEN + 1];
	struct item_entry *e;
	enum fs_err err = FS_E_UNAVAILABLE;
	int64_t now;

	if (secret_ready_or_reply(r) != FS_OK)
		return;
	if (req_user_or_reply(r) != FS_OK)
		return;
	/* per-user limits go here, after the identity and before any lookup */
	if (ratelimit_secret_or_reply(r) != FS_OK)
		return;
	now = fs_now_ms();
	e = item_get(r, r->ids[0], r->ids[1], now);
	if (e == NULL)
		goto out;
	err = FS_E_NOT_FOUND;
	if (!e->found)
		goto out;
	err = FS_E_NOT_STARTED;
	if (now < e->start_ms)
		goto out;
	err = FS_E_ENDED;
	if (e->ended || now >= e->end_ms)
		goto out;
	order_secret_make(conf_str("order_secret", ""), r->user_id, r->ids[0], r->ids[1], secret);
	out.len = 0;
	out_add("{\"secret\":\"%s\"}", secret);
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
}

/* The item view first: it is the one a sale hammers. */
static const struct route routes[] = {
	{"GET", "/api/detail/#/#", get_item, 0},
	{"GET", "/api/detail/#", get_activity, 0},
	{"GET", "/api/detail", get_list, 0},
	{"GET", "/api/detail/#/#/secret", get_secret, 0},
};

int
main(void)
{
	static const struct app app = {"detail", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB, NULL,
				       NULL, NULL};

	return app_main(&app);
}
