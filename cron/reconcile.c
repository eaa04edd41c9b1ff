/*
 * reconcile: run by cron every minute, or by hand. For every item of a sale
 * that is live, upcoming or not yet known to be drained (see the watermark
 * below) it
 *   1. replays journal entries older than reconcile_age_ms that no handler
 *      confirmed, writing them to MySQL itself (lib/persist.c: a replay of
 *      an order MySQL already has is a no-op), so an order survives a lost
 *      ZeroMQ message, a crashed handler or none running at all, however
 *      old it is;
 *   2. rebuilds the item's Redis state from MySQL and the journal, MySQL's
 *      row of the item locked meanwhile (lib/rebuild.h): journal entries
 *      MySQL already has are dropped whatever their age (their status
 *      records written from MySQL), Redis stock = MySQL stock - the units
 *      the journal still holds, returned orders marked released (MySQL
 *      counted them back already), and after a Redis restart or failover
 *      the buyers hash refilled. After a crash that lost Redis's last
 *      writes, one pass puts everything back; with no crash it changes
 *      nothing;
 *   3. checks the stock invariants and reports drift it cannot repair:
 *        MySQL:  stock + live orders (unpaid, paid)             = allocated
 *        Redis:  remaining >= 0 (else it took more than MySQL had)
 *   4. gives every key of a sale that ended and is drained a TTL.
 * The watermark (Redis) is the end time before which every sale has been
 * drained by a complete pass: a reservation is only ever made before its
 * sale's end, so such a sale can never get a new journal entry. A pass
 * moves it up to its own start (less the keys' grace and the replay age),
 * but never past a sale it could not drain: no order is left behind by
 * age, and old sales are not read again and again. Lost with a Redis
 * crash, it starts from zero: one pass over every sale.
 * Prints one line per item checked; exit status 1 when it found drift or a
 * store failed.
 */
#include "conf.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "log.h"
#include "order.h"
#include "persist.h"
#include "rebuild.h"
#include "sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_BATCH 500

static const char sql_items[] =
	"SELECT ai.activity_id, ai.item_id, a.end_ms, a.warmed_ms IS NOT NULL "
	"FROM activity_items ai JOIN activities a ON a.id = ai.activity_id "
	"WHERE a.status IN ('published', 'ended') AND a.end_ms > ? "
	"ORDER BY ai.activity_id, ai.item_id";
/* clocks of the hosts may differ by this much */
#define SKEW_MS 60000

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

/* One line about the item: what the stores hold and what was repaired.
 * Returns 1 when it found drift no rebuild can repair. */
static int
report(const struct rebuild_item *it, const struct rebuild_report *r, long replayed)
{
	int db_ok = r->mysql_stock + r->mysql_live == r->alloc;
	/* a counter below zero: Redis took more than MySQL had (those orders
	 * end failed); never after a rebuild unless MySQL itself is short */
	int kv_ok = !r->have_stock || !r->live || r->stock >= 0;

	printf("item %" PRId64 ":%" PRId64 " alloc=%" PRId64 " mysql_stock=%" PRId64 " live=%" PRId64
	       " redis_remaining=%s%" PRId64 " queued=%" PRId64 " replayed=%ld",
	       it->aid, it->iid, r->alloc, r->mysql_stock, r->mysql_live,
	       r->have_stock ? "" : "(cold)", r->have_stock ? r->stock : 0, r->pending_units,
	       replayed);
	if (r->confirmed > 0)
		printf(" dropped_confirmed=%" PRId64, r->confirmed);
	if (r->had_stock && r->have_stock && r->stock_before != r->stock)
		printf(" repaired_remaining=%" PRId64 "->%" PRId64, r->stock_before, r->stock);
	if (r->buyers >= 0)
		printf(" buyers_refilled=%ld", r->buyers);
	if (r->junk > 0)
		printf(" junk_lines=%" PRId64, r->junk);
	printf(" %s\n", db_ok && kv_ok ? "ok" : "DRIFT");
	if (r->had_stock && r->have_stock && r->stock_before != r->stock)
		log_warn("item %" PRId64 ":%" PRId64 ": Redis stock %" PRId64 " rebuilt to %" PRId64
			 " (MySQL %" PRId64 ", journal %" PRId64 ")", it->aid, it->iid, r->stock_before,
			 r->stock, r->mysql_stock, r->pending_units);
	if (!(db_ok && kv_ok))
		log_warn("stock drift on item %" PRId64 ":%" PRId64, it->aid, it->iid);
	return !(db_ok && kv_ok);
}

int
main(int argc, char **argv)
{
	struct persist_stats st = {0, 0, 0};
	struct db_rows items;
	struct kv *kv;
	struct db *d;
	int64_t age, window, t0 = fs_now_ms(), mark = 0, next_mark, undrained = INT64_MAX;
	int drift = 0, failed = 0, wm;

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

	wm = kv_journal_watermark_get(kv, &mark);
	if (wm == FS_ERR || db_query(d, sql_items, (struct dbv[]){DBI(wm == 1 ? mark : 0)}, 1,
				     &items) != FS_OK) {
		printf("reconcile: %s is down\n", wm == FS_ERR ? "Redis" : "MySQL");
		log_err("reconcile: cannot list sale items: %s",
			wm == FS_ERR ? kv->errstr : db_errstr(d));
		db_close(d);
		kv_close(kv);
		conf_free();
		return 1;
	}
	for (int i = 0; i < items.nrows; i++) {
		struct rebuild_item it = {db_cell_int(&items, i, 0), db_cell_int(&items, i, 1),
					  db_cell_int(&items, i, 2), (int)db_cell_int(&items, i, 3)};
		struct rebuild_report r;
		long replayed;

		replayed = replay_item(kv, d, it.aid, it.iid, age, window, &st);
		if (replayed == FS_ERR || rebuild_item(kv, d, &it, &r) != FS_OK) {
			printf("item %" PRId64 ":%" PRId64 " skipped: a store is down\n", it.aid, it.iid);
			failed = 1;
			if (it.end_ms < undrained)
				undrained = it.end_ms;
			continue;
		}
		drift |= report(&it, &r, replayed);
		if (r.live)
			continue;
		/* over, its keys' grace past: drained, its keys may go */
		if (r.pending > 0 || kv_journal_expire(kv, it.aid, it.iid, REBUILD_ENDED_KEEP_MS) != FS_OK) {
			if (r.pending > 0)
				log_err("item %" PRId64 ":%" PRId64 ": sale over, %" PRId64
					" journal entries not in MySQL yet", it.aid, it.iid, r.pending);
			if (it.end_ms < undrained)
				undrained = it.end_ms;
		}
	}
	/* every sale ending before next_mark is drained now, unless one that
	 * could not be is older */
	next_mark = t0 - SALE_KEY_GRACE_MS - age - SKEW_MS;
	if (undrained != INT64_MAX && undrained - 1 < next_mark)
		next_mark = undrained - 1;
	if (next_mark > mark && kv_journal_watermark_set(kv, next_mark) != FS_OK)
		failed = 1;
	printf("reconcile: %d items, orders written %ld, failed %ld, replayed %ld%s\n",
	       items.nrows, st.written, st.failed, st.replayed, drift ? ", DRIFT found" : "");
	db_rows_free(&items);
	db_close(d);
	kv_close(kv);
	conf_free();
	return drift || failed ? 1 : 0;
}
