/*
 * rain_warm.c: a published rain into Redis (see rain_warm.h).
 */
#include "rain_warm.h"
#include "db.h"
#include "db_rain.h"
#include "fs.h"
#include "kv.h"
#include "kv_rain.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_gid(const void *a, const void *b)
{
	int64_t x = ((const struct rain_grab *)a)->grab_id, y = ((const struct rain_grab *)b)->grab_id;

	return x < y ? -1 : x > y;
}

/* Drops from ids/amounts[0..n) the packets the journal holds (sorted by
 * grab id). Returns the new count. */
static int
without_journal(int64_t *ids, int64_t *amounts, int n, const struct rain_grab *j, int nj)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		struct rain_grab key = {.grab_id = ids[i]};

		if (nj > 0 && bsearch(&key, j, (size_t)nj, sizeof(*j), cmp_gid))
			continue;
		ids[k] = ids[i];
		amounts[k++] = amounts[i];
	}
	return k;
}

int
rain_warm_one(struct kv *kv, struct db *d, const struct db_rain *r)
{
	int64_t *ids = NULL, *amounts = NULL, left = 0;
	struct rain_grab *claimed = NULL, *journal = NULL, *held;
	int n, nc, nj, rc = FS_ERR;
	struct kv_rain_load l;

	if (!r->published)
		return 0;
	if ((rc = kv_rain_warm(kv, r->id)) != 0)
		return rc == 1 ? 0 : FS_ERR;
	rc = FS_ERR;
	/* while the meta hash is missing no grab runs, so the journal read
	 * now is what the packets must leave out */
	if ((nj = kv_rain_journal(kv, r->id, &journal)) < 0 ||
	    (n = db_rain_unclaimed(d, r->id, &ids, &amounts)) < 0 ||
	    (nc = db_rain_claimed(d, r->id, &claimed)) < 0)
		goto out;
	qsort(journal, (size_t)nj, sizeof(*journal), cmp_gid);
	n = without_journal(ids, amounts, n, journal, nj);
	held = mem_calloc((size_t)(nc + nj) + 1, sizeof(*held));
	if (nc > 0)
		memcpy(held, claimed, (size_t)nc * sizeof(*held));
	if (nj > 0)
		memcpy(held + nc, journal, (size_t)nj * sizeof(*held));
	for (int i = 0; i < n; i++)
		left += amounts[i];
	memset(&l, 0, sizeof(l));
	l.rid = r->id;
	l.start_ms = r->start_ms;
	l.end_ms = r->end_ms;
	l.total_cents = r->total_cents;
	l.packets = r->packets;
	l.grabbed = r->packets - n;
	l.grabbed_cents = r->total_cents - left;
	l.ids = ids;
	l.amounts = amounts;
	l.n = n;
	l.held = held;
	l.nheld = nc + nj;
	rc = kv_rain_put(kv, &l);
	free(held);
out:
	free(ids);
	free(amounts);
	free(claimed);
	free(journal);
	return rc;
}

int
rain_warm_due(struct kv *kv, struct db *d, int64_t now_ms, int64_t ahead_ms, int *nwarmed)
{
	struct db_rain *rains;
	int n = db_rain_list(d, now_ms, now_ms + ahead_ms, &rains), rc = FS_OK;

	*nwarmed = 0;
	if (n == FS_ERR)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		int w = rain_warm_one(kv, d, &rains[i]);

		if (w == FS_ERR) {
			log_err("warmup: rain %" PRId64 " failed", rains[i].id);
			rc = FS_ERR;
		} else if (w == 1) {
			log_info("warmup: rain %" PRId64 ": loaded", rains[i].id);
			(*nwarmed)++;
		}
	}
	free(rains);
	return rc;
}
