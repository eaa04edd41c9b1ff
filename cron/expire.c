/*
 * expire: run once a minute by cron, run-once otherwise. In this order:
 *  1. closes the unpaid orders past their pay deadline, in batches, each by
 *     the conditional update of lifecycle_release, so a payment racing the
 *     job wins or loses cleanly (a lost one is no error);
 *  2. gives back to Redis the units of orders released in the last
 *     SWEEP_WINDOW_MS, for any release whose Redis step failed (no-op for the
 *     rest: kv_sale_release is exactly once);
 *  3. marks published activities past end_ms `ended` in MySQL and in the
 *     status field of their Redis meta hashes (the keys expire by TTL);
 *  4. bans again in Redis the users MySQL says are banned (lifecycle.h);
 *  5. applies the cancels recorded for queued orders that their writer did
 *     not apply (lifecycle_cancels_sweep: a Redis failure after its commit).
 * Prints one summary line. Exit status 0, or 1 when a step failed (the next
 * run retries: every step is idempotent).
 */
#include "daemon.h"
#include "conf_keys.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "fs.h"
#include "kv.h"
#include "kv_lifecycle.h"
#include "lifecycle.h"
#include "log.h"
#include "order.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define BATCH 500
/* a run never loops forever, even if MySQL kept returning the same rows */
#define BATCHES_MAX 2000
#define SWEEP_WINDOW_MS (30 * 60 * 1000)
#define SWEEP_MAX 5000

struct tally {
	int closed, lost, ended, bans, swept, cancels, errors;
};

/* Closes overdue unpaid orders, a batch at a time. */
static void
close_overdue(struct db *d, struct kv *kv, int64_t now, struct tally *t)
{
	for (int b = 0; b < BATCHES_MAX; b++) {
		struct order *batch;
		int n, progress = 0;

		n = db_order_overdue(d, now, BATCH, &batch);
		if (n == FS_ERR) {
			log_err("expire: list overdue orders: %s", db_errstr(d));
			t->errors++;
			return;
		}
		for (int i = 0; i < n; i++) {
			switch (lifecycle_release(d, kv, &batch[i], ORDER_CLOSED)) {
			case LC_OK: t->closed++; progress++; break;
			/* paid (or cancelled) meanwhile: it won the race */
			case LC_CONFLICT: t->lost++; progress++; break;
			default: t->errors++; break;
			}
		}
		free(batch);
		/* stop at the last batch, or when a whole batch failed (MySQL
		 * trouble: the next run retries) */
		if (n < BATCH || progress == 0)
			return;
	}
}

/* Ends the published activities past their end, in MySQL then Redis. */
static void
end_activities(struct db *d, struct kv *kv, int64_t now, struct tally *t)
{
	int64_t *items, last = 0;
	int n = db_sale_ending(d, now, &items);

	if (n == FS_ERR) {
		log_err("expire: list ending activities: %s", db_errstr(d));
		t->errors++;
		return;
	}
	for (int i = 0; i < n; i++) {
		int64_t aid = items[2 * i], iid = items[2 * i + 1];

		if (aid != last) {
			last = aid;
			if (db_sale_end(d, aid, now) != FS_OK) {
				log_err("expire: end activity %" PRId64 ": %s", aid, db_errstr(d));
				t->errors++;
				continue;
			}
			t->ended++;
		}
		/* MySQL first: a Redis failure leaves the sale closed by its
		 * end_ms anyway (the reserve script checks the clock) */
		if (iid != 0 && kv_lifecycle_mark_ended(kv, aid, iid) == FS_ERR) {
			log_warn("expire: activity %" PRId64 ": Redis meta not marked ended (%s)", aid,
				 kv->errstr);
			t->errors++;
		}
	}
	free(items);
}

int main(void);

int
main(void)
{
	struct daemon dm;
	struct tally t;
	struct kv *kv;
	struct db *d;
	int64_t now;
	int n;

	daemon_start(&dm, "expire", DAEMON_KV | DAEMON_DB);
	kv = dm.kv;
	d = dm.db;
	memset(&t, 0, sizeof(t));
	now = fs_now_ms();

	close_overdue(d, kv, now, &t);
	n = lifecycle_release_sweep(d, kv, now - SWEEP_WINDOW_MS, SWEEP_MAX);
	if (n == FS_ERR)
		t.errors++;
	else
		t.swept = n;
	end_activities(d, kv, now, &t);
	n = lifecycle_bans_reapply(d, kv, now);
	if (n == FS_ERR)
		t.errors++;
	else
		t.bans = n;

	n = lifecycle_cancels_sweep(d, kv, now);
	if (n == FS_ERR)
		t.errors++;
	else
		t.cancels = n;

	printf("expire: closed %d, lost to payment %d, activities ended %d, released swept %d, "
	       "bans %d, cancels applied %d, errors %d\n", t.closed, t.lost, t.ended, t.swept,
	       t.bans, t.cancels, t.errors);
	fflush(stdout);
	daemon_end(&dm);
	return t.errors ? 1 : 0;
}
