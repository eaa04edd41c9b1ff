/*
 * reconcile: run by cron every minute, or by hand. For every item of a
 * recent sale it
 *   1. replays journal entries older than reconcile_age_ms that no handler
 *      confirmed, writing them to MySQL itself (lib/persist.c: a replay of
 *      an order MySQL already has is a no-op), so an order survives a lost
 *      ZeroMQ message, a crashed handler or none running at all;
 *   2. gives back to Redis, exactly once, the units of closed, cancelled and
 *      failed orders whose release a crash may have cut short;
 *   3. checks the stock invariants and reports drift:
 *        Redis:  remaining + queued + live orders (unpaid, paid) = allocated
 *        MySQL:  stock + live orders                             = allocated
 * Prints one line per item checked; exit status 1 when it found drift.
 */
#include "conf.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "order.h"
#include "persist.h"
#include "sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_BATCH 500

static const char sql_items[] =
	"SELECT ai.activity_id, ai.item_id, ai.alloc_stock, ai.stock FROM activity_items ai "
	"JOIN activities a ON a.id = ai.activity_id "
	"WHERE a.status IN ('published', 'ended') AND a.end_ms > ? ORDER BY ai.activity_id, ai.item_id";
static const char sql_live[] =
	"SELECT COALESCE(SUM(quantity), 0) FROM orders "
	"WHERE activity_id = ? AND item_id = ? AND status IN ('unpaid', 'paid')";
static const char sql_returned[] =
	"SELECT id, user_id, quantity FROM orders "
	"WHERE activity_id = ? AND item_id = ? AND status IN ('closed', 'cancelled', 'failed')";

/* Replays the item's unconfirmed journal entries. Returns how many were
 * handed to MySQL, or FS_ERR when a store failed. */
static long
replay_item(struct kv *kv, struct db *d, int64_t aid, int64_t iid, int64_t age_ms,
	    int64_t window, struct persist_stats *st)
{
	char pending[KV_KEY_MAX], journal[KV_KEY_MAX];
	static struct order batch[REPLAY_BATCH];
	long total = 0;

	kv_item_key(pending, aid, iid, "pending");
	kv_item_key(journal, aid, iid, "journal");
	for (;;) {
		redisReply *ids, *lines;
		int n = 0;

		ids = kv_cmd(kv, "ZRANGEBYSCORE %s -inf %" PRId64 " LIMIT 0 %d", pending,
			     fs_now_ms() - age_ms, REPLAY_BATCH);
		if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
			if (ids)
				freeReplyObject(ids);
			return FS_ERR;
		}
		if (ids->elements == 0) {
			freeReplyObject(ids);
			return total;
		}
		for (size_t i = 0; i < ids->elements; i++) {
			lines = kv_cmd(kv, "HGET %s %s", journal, ids->element[i]->str);
			if (lines == NULL) {
				freeReplyObject(ids);
				return FS_ERR;
			}
			if (lines->type == REDIS_REPLY_STRING &&
			    order_decode(lines->str, lines->len, &batch[n]) == FS_OK) {
				n++;
			} else {
				/* a pending id without a journal line cannot be
				 * replayed; drop it so it is not retried forever */
				redisReply *z = kv_cmd(kv, "ZREM %s %s", pending, ids->element[i]->str);

				log_err("order %s of item %" PRId64 ":%" PRId64 " has no journal line",
					ids->element[i]->str, aid, iid);
				if (z)
					freeReplyObject(z);
			}
			freeReplyObject(lines);
		}
		freeReplyObject(ids);
		if (n == 0)
			continue;
		if (persist_orders(d, kv, batch, n, window, st) != FS_OK)
			return FS_ERR;
		total += n;
		if (n < REPLAY_BATCH)
			return total;
	}
}

/* Releases the units of orders that no longer hold stock (idempotent). */
static int
release_item(struct kv *kv, struct db *d, int64_t aid, int64_t iid)
{
	struct dbv a[] = {DBI(aid), DBI(iid)};
	struct db_rows rows;
	int rc = FS_OK;

	if (db_query(d, sql_returned, a, 2, &rows) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < rows.nrows && rc == FS_OK; i++) {
		struct order o;

		memset(&o, 0, sizeof(o));
		o.id = db_cell_int(&rows, i, 0);
		o.user_id = db_cell_int(&rows, i, 1);
		o.quantity = db_cell_int(&rows, i, 2);
		o.activity_id = aid;
		o.item_id = iid;
		rc = kv_sale_release(kv, &o);
	}
	db_rows_free(&rows);
	return rc;
}

/* Counts the units reserved in the journal that MySQL does not hold yet. */
static int
queued_units(struct kv *kv, int64_t aid, int64_t iid, int64_t *units)
{
	char journal[KV_KEY_MAX];
	redisReply *rep;

	kv_item_key(journal, aid, iid, "journal");
	rep = kv_cmd(kv, "HVALS %s", journal);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return FS_ERR;
	}
	*units = 0;
	for (size_t i = 0; i < rep->elements; i++) {
		struct order o;

		if (order_decode(rep->element[i]->str, rep->element[i]->len, &o) == FS_OK)
			*units += o.quantity;
	}
	freeReplyObject(rep);
	return FS_OK;
}

int
main(int argc, char **argv)
{
	struct persist_stats st = {0, 0, 0};
	struct db_rows items;
	struct kv *kv;
	struct db *d;
	int64_t age, window;
	int drift = 0, failed = 0;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: reconcile (config from $FLASH_CONF)\n");
		return 2;
	}
	log_set_name("reconcile");
	conf_load(NULL);
	age = conf_int("reconcile_age_ms", 5000);
	window = conf_int("pay_window_ms", 15 * 60 * 1000);
	kv = kv_open_conf();
	d = db_open_conf();

	struct dbv since[] = {DBI(fs_now_ms() - 24LL * 3600 * 1000)};
	if (db_query(d, sql_items, since, 1, &items) != FS_OK) {
		log_err("reconcile: cannot list sale items: %s", db_errstr(d));
		db_close(d);
		kv_close(kv);
		conf_free();
		return 1;
	}
	for (int i = 0; i < items.nrows; i++) {
		int64_t aid = db_cell_int(&items, i, 0), iid = db_cell_int(&items, i, 1);
		int64_t alloc = db_cell_int(&items, i, 2), db_stock, live, left = 0, queued = 0;
		struct dbv a[] = {DBI(aid), DBI(iid)};
		struct db_rows rows;
		long replayed;
		int warm;

		replayed = replay_item(kv, d, aid, iid, age, window, &st);
		if (replayed == FS_ERR || release_item(kv, d, aid, iid) != FS_OK) {
			printf("item %" PRId64 ":%" PRId64 " skipped: a store is down\n", aid, iid);
			failed = 1;
			continue;
		}
		/* re-read after the replay wrote to MySQL */
		if (db_query(d, "SELECT stock FROM activity_items WHERE activity_id = ? AND item_id = ?",
			     a, 2, &rows) != FS_OK)
			continue;
		db_stock = db_cell_int(&rows, 0, 0);
		db_rows_free(&rows);
		if (db_query(d, sql_live, a, 2, &rows) != FS_OK)
			continue;
		live = db_cell_int(&rows, 0, 0);
		db_rows_free(&rows);
		warm = kv_sale_stock(kv, aid, iid, &left);
		if (warm == FS_ERR || queued_units(kv, aid, iid, &queued) != FS_OK) {
			failed = 1;
			continue;
		}
		int db_ok = db_stock + live == alloc;
		/* an order both in the journal and in MySQL (confirmed a moment
		 * ago) counts twice; such drift clears on the next run */
		int kv_ok = warm != 1 || left + queued + live == alloc;
		printf("item %" PRId64 ":%" PRId64 " alloc=%" PRId64 " mysql_stock=%" PRId64
		       " live=%" PRId64 " redis_remaining=%s%" PRId64 " queued=%" PRId64
		       " replayed=%ld %s\n",
		       aid, iid, alloc, db_stock, live, warm == 1 ? "" : "(cold)", left, queued,
		       replayed, db_ok && kv_ok ? "ok" : "DRIFT");
		if (!(db_ok && kv_ok)) {
			drift = 1;
			log_warn("stock drift on item %" PRId64 ":%" PRId64, aid, iid);
		}
	}
	printf("reconcile: %d items, orders written %ld, failed %ld, replayed %ld%s\n",
	       items.nrows, st.written, st.failed, st.replayed, drift ? ", DRIFT found" : "");
	db_rows_free(&items);
	db_close(d);
	kv_close(kv);
	conf_free();
	return drift || failed ? 1 : 0;
}
