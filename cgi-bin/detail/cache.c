/*
 * detail/cache.c: the per-process caches of the detail program and the
 * answer buffer. Item data comes from the Redis meta hash; a miss reads
 * MySQL and writes the meta back (cache aside, never the stock counter).
 * Entries are kept CACHE_FRESH_MS (API.md lets remaining lag by a second).
 */
#include "detail.h"
#include "conf_keys.h"
#include "guard.h"
#include "db.h"
#include "db_sale.h"
#include "kv.h"
#include "kv_sale.h"
#include "log.h"
#include "mem.h"
#include "render.h"
#include "reply.h"
#include "sale.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct item_entry item_cache[ITEM_SLOTS];
static struct act_entry act_cache[ACT_SLOTS];

struct detail_out out = {NULL, 0, 0};
int out_stale;

void
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

void
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

const char *
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

enum { FILL_OK, FILL_NO_META, FILL_NO_STOCK, FILL_DOWN };

/* Fills e from the Redis meta hash and stock counter, one round trip.
 * FILL_OK; FILL_NO_META (no usable meta hash) or FILL_NO_STOCK (meta but
 * not warm), where *stock_known and *stock still tell the counter; or
 * FILL_DOWN. */
static int
fill_from_kv(struct kv *kv, struct item_entry *e, int *stock_known, int64_t *stock)
{
	struct kv_sale_view v;
	int rc = FILL_NO_META;

	if (kv_sale_view(kv, e->aid, e->iid, &v) != FS_OK)
		return FILL_DOWN;
	*stock_known = v.stock_known;
	*stock = v.stock;
	/* a draft is not ours to serve and a broken hash not to trust:
	 * MySQL decides */
	if (!v.meta || strcmp(v.status, "draft") == 0 ||
	    !entry_set_detail(e, v.detail, v.detail_len))
		goto out;
	e->start_ms = v.start_ms;
	e->end_ms = v.end_ms;
	e->challenge = v.challenge;
	e->pow_bits = v.pow_bits;
	rc = FILL_NO_STOCK;
	if (!*stock_known)
		goto out;
	e->ended = strcmp(v.status, "ended") == 0;
	e->remaining = *stock;
	e->found = 1;
	rc = FILL_OK;
out:
	free(v.detail);
	return rc;
}

/* The cache entry of (aid, iid), refreshed when stale. NULL when Redis and
 * MySQL both failed (answer 503); else check ->found. */
struct item_entry *
item_get(struct req *r, int64_t aid, int64_t iid, int64_t now)
{
	struct item_entry *e = &item_cache[slot_of(aid, iid, ITEM_SLOTS)];
	struct sale_item si;
	int stock_known = 0, kvrc, found, had;
	int64_t stock = 0;

	if (e->aid == aid && e->iid == iid && fresh(e->fetched_ms, e->found, now))
		return e;
	if (e->aid != aid || e->iid != iid) {
		free(e->inner);
		memset(e, 0, sizeof(*e));
		e->aid = aid;
		e->iid = iid;
	}
	had = e->found;
	e->found = 0;
	kvrc = fill_from_kv(r->kv, e, &stock_known, &stock);
	if (kvrc == FILL_OK) {
		e->fetched_ms = e->good_ms = now;
		e->stale = 0;
		return e;
	}
	/* Redis down (API.md "Guard rails"): the last copy, not too old, marked
	 * stale; MySQL is spared the sale's read storm */
	if (kvrc == FILL_DOWN && had && e->good_ms &&
	    now - e->good_ms <= conf_keys_int(CONF_DETAIL_STALE_MAX_MS)) {
		e->found = 1;
		e->stale = 1;
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
		e->challenge = si.challenge;
		e->pow_bits = si.pow_bits;
		/* MySQL's count lags the reservations Redis holds: prefer Redis */
		e->remaining = stock_known ? stock : si.db_stock;
		/* without Redis MySQL's count lags the reservations: say so */
		e->stale = kvrc == FILL_DOWN;
		if (!e->stale)
			e->good_ms = now;
		if (kvrc == FILL_NO_META && (kv_sale_put(r->kv, &si, 0) != FS_OK ||
					     guard_warm_done(r->kv, r->db, &si, 1) != FS_OK))
			log_warn("detail: put back %lld:%lld: %s", (long long)aid, (long long)iid,
				 r->kv->errstr);
	}
	db_sale_item_cleanup(&si);
	e->fetched_ms = now;
	return e;
}

/* Appends what changes by the second and closes the item object. */
void
item_tail(const struct item_entry *e, int64_t now)
{
	out_add(",\"state\":\"%s\",\"remaining\":%lld%s}",
		state_of(e->ended, e->start_ms, e->end_ms, e->remaining, now),
		(long long)(e->remaining > 0 ? e->remaining : 0), e->stale ? ",\"stale\":true" : "");
	out_stale |= e->stale;
}

/* Appends the item object (without now_ms) to the answer. */
void
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
	struct db_sale_activity a;
	json_object *o;
	const char *s;
	size_t len;
	int rc = db_sale_activity(d, e->aid, &a);

	if (rc == FS_ERR)
		return FS_ERR;
	free(e->inner);
	free(e->iids);
	e->inner = NULL;
	e->iids = NULL;
	e->nitems = 0;
	e->found = rc == 1 && strcmp(a.status, "draft") != 0;
	if (!e->found)
		goto out;
	e->start_ms = a.start_ms;
	e->end_ms = a.end_ms;
	e->ended = strcmp(a.status, "ended") == 0;
	o = render_activity_json(e->aid, a.name, a.description, e->start_ms, e->end_ms);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
					      &len);
	e->inner = mem_alloc(len);
	memcpy(e->inner, s + 1, len - 2);
	e->inner[len - 2] = '\0';
	json_object_put(o);
	/* the entry takes the ids */
	e->nitems = a.nitems;
	e->iids = a.iids;
	a.iids = NULL;
out:
	db_sale_activity_cleanup(&a);
	return FS_OK;
}

/* The cache entry of activity aid, refreshed when stale; NULL when MySQL
 * failed. */
struct act_entry *
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
int
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
void
reply_out_or_error(struct req *r, enum fs_err err)
{
	if (err != NO_ERROR)
		reply_error(r, err);
	else
		reply_raw(r, 200, "application/json", out.s, out.len, NULL);
}
