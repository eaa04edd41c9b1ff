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
#include "conf.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "kv_lifecycle.h"
#include "lifecycle.h"
#include "log.h"
#include "order.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define BATCH 500
/* a run never loops forever, even if MySQL kept returning the same rows */
#define BATCHES_MAX 2000
#define SWEEP_WINDOW_MS (30 * 60 * 1000)
#define SWEEP_MAX 5000

static const char sql_overdue[] =
	"SELECT id, user_id, activity_id, item_id, quantity, amount_cents, created_ms, "
	"pay_deadline_ms FROM orders WHERE status = 'unpaid' AND pay_deadline_ms <= ? "
	"ORDER BY pay_deadline_ms LIMIT ?";
static const char sql_ending[] =
	"SELECT a.id, ai.item_id FROM activities a LEFT JOIN activity_items ai "
	"ON ai.activity_id = a.id WHERE a.status = 'published' AND a.end_ms <= ? ORDER BY a.id";
static const char sql_end[] =
	"UPDATE activities SET status = 'ended', updated_ms = ? WHERE id = ? AND status = 'published'";

struct tally {
	int closed, lost, ended, bans, swept, cancels, errors;
};

/* Closes overdue unpaid orders, a batch at a time. */
static void
close_overdue(struct db *d, struct kv *kv, int64_t now, struct tally *t)
{
	for (int b = 0; b < BATCHES_MAX; b++) {
		struct dbv args[] = {DBI(now), DBI(BATCH)};
		struct db_rows rows;
		int n, progress = 0;

		if (db_query(d, sql_overdue, args, 2, &rows) != FS_OK) {
			log_err("expire: list overdue orders: %s", db_errstr(d));
			t->errors++;
			return;
		}
		n = rows.nrows;
		for (int i = 0; i < n; i++) {
			struct order o;

			memset(&o, 0, sizeof(o));
			o.id = db_cell_int(&rows, i, 0);
			o.user_id = db_cell_int(&rows, i, 1);
			o.activity_id = db_cell_int(&rows, i, 2);
			o.item_id = db_cell_int(&rows, i, 3);
			o.quantity = db_cell_int(&rows, i, 4);
			o.amount_cents = db_cell_int(&rows, i, 5);
			o.created_ms = db_cell_int(&rows, i, 6);
			o.pay_deadline_ms = db_cell_int(&rows, i, 7);
			o.status = ORDER_UNPAID;
			switch (lifecycle_release(d, kv, &o, ORDER_CLOSED)) {
			case LC_OK: t->closed++; progress++; break;
			/* paid (or cancelled) meanwhile: it won the race */
			case LC_CONFLICT: t->lost++; progress++; break;
			default: t->errors++; break;
			}
		}
		db_rows_free(&rows);
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
	struct dbv args[] = {DBI(now)};
	struct db_rows rows;
	int64_t last = 0;

	if (db_query(d, sql_ending, args, 1, &rows) != FS_OK) {
		log_err("expire: list ending activities: %s", db_errstr(d));
		t->errors++;
		return;
	}
	for (int i = 0; i < rows.nrows; i++) {
		int64_t aid = db_cell_int(&rows, i, 0);

		if (aid != last) {
			struct dbv upd[] = {DBI(now), DBI(aid)};

			last = aid;
			if (db_exec(d, sql_end, upd, 2, NULL, NULL) != FS_OK) {
				log_err("expire: end activity %" PRId64 ": %s", aid, db_errstr(d));
				t->errors++;
				continue;
			}
			t->ended++;
		}
		/* MySQL first: a Redis failure leaves the sale closed by its
		 * end_ms anyway (the reserve script checks the clock) */
		if (db_cell(&rows, i, 1) != NULL &&
		    kv_lifecycle_mark_ended(kv, aid, db_cell_int(&rows, i, 1)) == FS_ERR) {
			log_warn("expire: activity %" PRId64 ": Redis meta not marked ended (%s)", aid,
				 kv->errstr);
			t->errors++;
		}
	}
	db_rows_free(&rows);
}

int main(void);

int
main(void)
{
	struct tally t;
	struct kv *kv;
	struct db *d;
	const char *lvl;
	int64_t now;
	int n;

	log_set_name("expire");
	if (conf_load(NULL) != FS_OK)
		log_warn("no configuration file; using the environment and defaults");
	lvl = conf_str("log_level", "info");
	log_threshold = strcmp(lvl, "debug") == 0 ? LOG_LVL_DEBUG :
			strcmp(lvl, "warn") == 0 ? LOG_LVL_WARN : LOG_LVL_INFO;
	memset(&t, 0, sizeof(t));
	kv = kv_open_conf();
	d = db_open_conf();
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
	db_close(d);
	kv_close(kv);
	conf_free();
	return t.errors ? 1 : 0;
}
