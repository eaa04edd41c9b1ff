/*
 * queued.c: see queued.h. The journals looked in are those of the items of
 * sales that ended less than a day ago (an order queued longer than that
 * means a handler down for a day: reconcile's business), from MySQL at most
 * once a second; while MySQL is away the last list serves.
 */
#include "queued.h"
#include "db.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "kv_order.h"
#include "kv_shard.h"
#include "log.h"
#include "snowflake.h"

#include <pthread.h>
#include <string.h>

#define ITEMS_MAX 256
#define ITEMS_FRESH_MS 1000
#define ITEMS_ENDED_MS (24 * 3600 * 1000LL)
/* a list read before an order's id was made (plus this, for the clocks of
 * other machines) may lack its item, a sale created just before: read
 * again, at most every ITEMS_AGAIN_MS (a made-up id from the future) */
#define ITEMS_SKEW_MS 1000
#define ITEMS_AGAIN_MS 20

static struct {
	pthread_mutex_t lock;
	int64_t aid[ITEMS_MAX], iid[ITEMS_MAX];
	int n, known;
	int64_t read_ms;
} items = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0, 0, 0};

/* Reads the list again when it is older than a second, or was read before
 * read_after (and not in the last ITEMS_AGAIN_MS). */
static void
items_refresh(struct db *d, int64_t now, int64_t read_after)
{
	struct db_rows rows;

	if (now - items.read_ms < ITEMS_FRESH_MS &&
	    (items.read_ms >= read_after || now - items.read_ms < ITEMS_AGAIN_MS))
		return;
	items.read_ms = now;
	if (db_sale_recent_items(d, now - ITEMS_ENDED_MS, &rows) != FS_OK)
		return;
	if (rows.nrows > ITEMS_MAX)
		log_warn("queued orders: %d recent items, looking in the first %d only", rows.nrows,
			 ITEMS_MAX);
	items.n = 0;
	for (int i = 0; i < rows.nrows && items.n < ITEMS_MAX; i++, items.n++) {
		items.aid[items.n] = db_cell_int(&rows, i, 0);
		items.iid[items.n] = db_cell_int(&rows, i, 1);
	}
	items.known = 1;
	db_rows_free(&rows);
}

/* The recent items (read_after: items_refresh) with uid's home shard of
 * each into it: their count, or FS_ERR (never read, or Redis failed on a
 * shard count). *read_ms gets when the list was read. */
static int
items_of(struct kv *kv, struct db *d, int64_t uid, int64_t read_after, struct kv_journal_item *it,
	 int64_t *read_ms)
{
	int n;

	pthread_mutex_lock(&items.lock);
	items_refresh(d, fs_now_ms(), read_after);
	*read_ms = items.read_ms;
	n = items.known ? items.n : FS_ERR;
	for (int i = 0; i < n; i++) {
		it[i].aid = items.aid[i];
		it[i].iid = items.iid[i];
	}
	pthread_mutex_unlock(&items.lock);
	for (int i = 0; i < n; i++) {
		int shards = kv_shard_count(kv, it[i].aid, it[i].iid);

		if (shards == FS_ERR)
			return FS_ERR;
		it[i].home = kv_shard_home(uid, shards);
	}
	return n;
}

int
queued_get(struct kv *kv, struct db *d, int64_t uid, int64_t id, struct order *o)
{
	struct kv_journal_item it[ITEMS_MAX];
	int rc = kv_order_get(kv, uid, id, o), n;
	int64_t made_ms = snowflake_time_ms(id) + ITEMS_SKEW_MS, read_ms;

	if (rc != 0 || kv->cl == NULL)
		return rc == 1 && o->user_id != uid ? 0 : rc;
	for (int pass = 0; pass < 2; pass++) {
		if ((n = items_of(kv, d, uid, pass ? made_ms : 0, it, &read_ms)) == FS_ERR)
			return FS_ERR;
		if ((rc = kv_journal_find(kv, it, n, uid, id, o, 1)) != 0)
			return rc == FS_ERR ? FS_ERR : 1;
		if (read_ms >= made_ms)
			break;
	}
	return 0;
}

int
queued_list(struct kv *kv, struct db *d, int64_t uid, struct order *out, int max)
{
	struct kv_journal_item it[ITEMS_MAX];
	int64_t read_ms;
	int n;

	/* the list is no older than ITEMS_AGAIN_MS: a sale created just
	 * before shows its order */
	if (kv->cl == NULL)
		return 0;
	if ((n = items_of(kv, d, uid, fs_now_ms(), it, &read_ms)) == FS_ERR)
		return FS_ERR;
	return kv_journal_find(kv, it, n, uid, 0, out, max);
}
