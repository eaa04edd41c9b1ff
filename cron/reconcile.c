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
#include "daemon.h"
#include "conf_keys.h"
#include "db.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "log.h"
#include "metrics.h"
#include "order.h"
#include "persist.h"
#include "rain_credit.h"
#include "rebuild.h"
#include "sale.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_BATCH 500

/* clocks of the hosts may differ by this much */
#define SKEW_MS 60000

/* Replays the item's unconfirmed journal entries. Returns how many were
 * handed to MySQL, or FS_ERR when a store failed. */
static long
replay_item(struct kv *kv, struct db *d, int64_t aid, int64_t iid, int64_t age_ms,
	    int64_t window, struct persist_stats *st)
{
	static struct order batch[REPLAY_BATCH];
	long total = 0;

	for (;;) {
		int n, seen;

		seen = kv_journal_due(kv, aid, iid, fs_now_ms() - age_ms, REPLAY_BATCH, batch, &n);
		if (seen == FS_ERR)
			return FS_ERR;
		if (seen == 0)
			return total;
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

/* One item: replay, rebuild, report and, once drained, let its keys go.
 * Adds 1 to *drift (a count) and sets *failed when so, and lowers *undrained to the end of a
 * sale that is not drained yet. */
static void
item_pass(struct kv *kv, struct db *d, const struct rebuild_item *it, int64_t age, int64_t window,
	  struct persist_stats *st, int *drift, int *failed, int64_t *undrained)
{
	struct rebuild_report r;
	long replayed;

	replayed = replay_item(kv, d, it->aid, it->iid, age, window, st);
	if (replayed == FS_ERR || rebuild_item(kv, d, it, &r) != FS_OK) {
		printf("item %" PRId64 ":%" PRId64 " skipped: a store is down\n", it->aid, it->iid);
		*failed = 1;
		if (it->end_ms < *undrained)
			*undrained = it->end_ms;
		return;
	}
	*drift += report(it, &r, replayed);
	if (r.live)
		return;
	/* over, its keys' grace past: drained, its keys may go */
	if (r.pending > 0 || kv_journal_expire(kv, it->aid, it->iid, REBUILD_ENDED_KEEP_MS) != FS_OK) {
		if (r.pending > 0)
			log_err("item %" PRId64 ":%" PRId64 ": sale over, %" PRId64
				" journal entries not in MySQL yet", it->aid, it->iid, r.pending);
		if (it->end_ms < *undrained)
			*undrained = it->end_ms;
	}
}

int
main(int argc, char **argv)
{
	struct persist_stats st = {0, 0, 0};
	struct rebuild_item *items = NULL;
	struct daemon dm;
	struct kv *kv;
	struct db *d;
	int64_t age, window, t0 = fs_now_ms(), mark = 0, next_mark, undrained = INT64_MAX;
	int drift = 0, failed = 0, wm, nitems = FS_ERR;
	long grabs;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: reconcile (config from $FLASH_CONF)\n");
		return 2;
	}
	daemon_start(&dm, "reconcile", DAEMON_KV | DAEMON_DB);
	kv = dm.kv;
	d = dm.db;
	age = conf_keys_int(CONF_RECONCILE_AGE_MS);
	window = conf_keys_int(CONF_PAY_WINDOW_MS);

	wm = kv_journal_watermark_get(kv, &mark);
	if (wm != FS_ERR)
		nitems = db_sale_rebuild_items(d, wm == 1 ? mark : 0, &items);
	if (nitems == FS_ERR) {
		printf("reconcile: %s is down\n", wm == FS_ERR ? "Redis" : "MySQL");
		log_err("reconcile: cannot list sale items: %s",
			wm == FS_ERR ? kv->errstr : db_errstr(d));
		daemon_end(&dm);
		return 1;
	}
	for (int i = 0; i < nitems; i++)
		item_pass(kv, d, &items[i], age, window, &st, &drift, &failed, &undrained);
	/* the red-packet rains' journaled grabs (rain_credit.h) */
	if ((grabs = rain_credit_replay(kv, d, age)) == FS_ERR)
		failed = 1;
	/* every sale ending before next_mark is drained now, unless one that
	 * could not be is older */
	next_mark = t0 - SALE_KEY_GRACE_MS - age - SKEW_MS;
	if (undrained != INT64_MAX && undrained - 1 < next_mark)
		next_mark = undrained - 1;
	if (next_mark > mark && kv_journal_watermark_set(kv, next_mark) != FS_OK)
		failed = 1;
	/* the drift count of this run, a gauge of /api/metrics (alert on > 0) */
	if (metrics_set(kv, "reconcile_drift", drift) != FS_OK)
		log_warn("reconcile: cannot store the drift count");
	printf("reconcile: %d items, orders written %ld, failed %ld, replayed %ld, grabs replayed %ld%s\n",
	       nitems, st.written, st.failed, st.replayed, grabs, drift ? ", DRIFT found" : "");
	free(items);
	daemon_end(&dm);
	return drift || failed ? 1 : 0;
}
