/*
 * rain_credit.c: grabs into wallets, from the queue or the journal (see
 * rain_credit.h).
 */
#include "rain_credit.h"
#include "db.h"
#include "db_rain.h"
#include "fs.h"
#include "kv.h"
#include "kv_rain.h"
#include "log.h"
#include "sale.h"

#include <inttypes.h>
#include <stdlib.h>

#define REPLAY_BATCH 500
/* rains this long over are not looked at again */
#define REPLAY_HORIZON_MS (7LL * 86400 * 1000)
/* the keys of a drained, ended rain live this much longer */
#define ENDED_KEEP_MS (24LL * 3600 * 1000)

int
rain_credit_take(struct rain_credit_batch *b, const char *line, size_t len)
{
	if (!rain_line_is_grab(line, len))
		return 0;
	if (b->n >= RAIN_CREDIT_MAX)
		log_err("grab batch full: line dropped (the journal keeps it)");
	else if (rain_line_decode(line, len, &b->g[b->n]) == FS_OK)
		b->n++;
	else
		log_err("undecodable grab line dropped (the journal keeps it): %.80s", line);
	return 1;
}

int
rain_credit_full(const struct rain_credit_batch *b, int lines)
{
	return b->n > RAIN_CREDIT_MAX - lines;
}

static int
cmp_rain(const void *a, const void *b)
{
	const struct rain_grab *x = a, *y = b;

	if (x->rain_id != y->rain_id)
		return x->rain_id < y->rain_id ? -1 : 1;
	return x->grab_id < y->grab_id ? -1 : x->grab_id > y->grab_id;
}

/* MySQL first, then the journal; a journal step that fails is redone by
 * reconcile (the credit is idempotent). */
static int
credit(struct db *d, struct kv *kv, struct rain_grab *g, int n)
{
	if (n <= 0)
		return FS_OK;
	/* sorted: rows are locked in one order by every handler */
	qsort(g, (size_t)n, sizeof(*g), cmp_rain);
	if (db_rain_credit(d, g, n, fs_now_ms()) != FS_OK)
		return FS_ERR;
	if (kv_rain_journal_done(kv, g, n) != FS_OK)
		log_warn("%d grabs credited, their journal entries stay for reconcile", n);
	return FS_OK;
}

int
rain_credit_flush(struct rain_credit_batch *b, struct db *d, struct kv *kv)
{
	if (credit(d, kv, b->g, b->n) != FS_OK)
		return FS_ERR;
	b->credited += b->n;
	b->n = 0;
	return FS_OK;
}

/* Replays one rain's due grabs. The count, or FS_ERR. */
static long
replay_rain(struct kv *kv, struct db *d, int64_t rid, int64_t age_ms)
{
	static struct rain_grab batch[REPLAY_BATCH];
	long total = 0;

	for (;;) {
		int n, seen = kv_rain_due(kv, rid, fs_now_ms() - age_ms, REPLAY_BATCH, batch, &n);

		if (seen == FS_ERR)
			return FS_ERR;
		if (seen == 0)
			return total;
		if (credit(d, kv, batch, n) != FS_OK)
			return FS_ERR;
		total += n;
		if (seen < REPLAY_BATCH)
			return total;
	}
}

long
rain_credit_replay(struct kv *kv, struct db *d, int64_t age_ms)
{
	struct db_rain *rains;
	int64_t now = fs_now_ms();
	long total = 0;
	int n = db_rain_list(d, now - REPLAY_HORIZON_MS, INT64_MAX, &rains);

	if (n == FS_ERR)
		return FS_ERR;
	for (int i = 0; i < n && total != FS_ERR; i++) {
		long k = replay_rain(kv, d, rains[i].id, age_ms);

		if (k == FS_ERR) {
			total = FS_ERR;
			break;
		}
		total += k;
		if (k > 0)
			log_info("rain %" PRId64 ": %ld grabs replayed", rains[i].id, k);
		/* over and its keys' grace past: nothing can be grabbed any
		 * more; once drained, its keys may go */
		if (rains[i].end_ms + SALE_KEY_GRACE_MS < now &&
		    replay_rain(kv, d, rains[i].id, -SALE_KEY_GRACE_MS) == 0 &&
		    kv_rain_expire(kv, rains[i].id, ENDED_KEEP_MS) != FS_OK)
			total = FS_ERR;
	}
	free(rains);
	return total;
}
