/*
 * detail.h: what the files of the detail program share: the per-process
 * caches of items and activities (cache.c), the answer buffer, and the
 * limits. main.c has the routes.
 */
#ifndef FS_DETAIL_H
#define FS_DETAIL_H

#include <stddef.h>
#include <stdint.h>

#include "fs.h"
#include "req.h"

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
	int64_t good_ms;    /* last read that did not find Redis down */
	int stale;          /* served while Redis is down: the last copy, or MySQL's lagging count */
	int challenge, pow_bits; /* asked before the secret (challenge.h) */
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

/* The answer being built; reused by every request of the process. */
struct detail_out {
	char *s;
	size_t len, cap;
};
extern struct detail_out out;
/* set by item_tail when an item of the answer is stale (Redis down) */
extern int out_stale;

void out_put(const char *s, size_t n);
void out_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The state of API.md of a sale window with remaining units at now. */
const char *state_of(int ended, int64_t start, int64_t end, int64_t remaining, int64_t now);
/* The cache entry of (aid, iid), refreshed when stale. NULL when Redis and
 * MySQL both failed (answer 503); else check ->found. */
struct item_entry *item_get(struct req *r, int64_t aid, int64_t iid, int64_t now);
/* Appends what changes by the second and closes the item object. */
void item_tail(const struct item_entry *e, int64_t now);
/* Appends the item object (without now_ms) to the answer. */
void item_render(const struct item_entry *e, int64_t now);
/* The cache entry of activity aid, refreshed when stale; NULL when MySQL
 * failed. */
struct act_entry *act_get(struct req *r, int64_t aid, int64_t now);
/* Appends activity e with its items and their states. FS_ERR: a dependency
 * failed. */
int act_render(struct req *r, const struct act_entry *e, int64_t now);
/* Sends the answer built in out, or the error err unless it is NO_ERROR. */
void reply_out_or_error(struct req *r, enum fs_err err);

/* main.c: the checks every secret answer passes after the token (and the
 * body): the item, public, and its sale live. NO_ERROR and *ep, or the
 * error to answer. */
enum fs_err secret_window(struct req *r, struct item_entry **ep);
/* Puts {"secret"} of the user and item of r into out. */
void secret_out(struct req *r);

/* challenge.c: GET's challenge in place of the secret (fills out), and
 * POST /api/detail/{aid}/{iid}/secret with its answer. */
enum fs_err challenge_issue(struct req *r, const struct item_entry *e);
void post_secret(struct req *r);
/* guard.c: the sale rules at the order secret (blocklist, account age,
 * per-address cap). FS_OK, or FS_ERR after the 403/503. */
int guard_secret_or_reply(struct req *r, int64_t aid, int64_t iid);

#endif
