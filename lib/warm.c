/*
 * warm.c: putting activity items into Redis: the meta hash and the stock
 * counter (layout in sale.h and kv.h). Rendering for the CDN is render.c's.
 */
#include "warm.h"
#include "guard.h"
#include "db_sale.h"
#include "kv_sale.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
warm_activity(struct kv *kv, struct db *d, int64_t aid)
{
	struct sale_item *items;
	int n = db_sale_items_load(d, aid, &items), rc;

	if (n <= 0)
		return n;
	rc = n;
	for (int i = 0; i < n && rc > 0; i++)
		if (kv_sale_put(kv, &items[i], 1) != FS_OK)
			rc = FS_ERR;
	/* the blocklist version, read after the meta hashes were written */
	if (rc > 0 && guard_warm_done(kv, d, items, n) != FS_OK)
		rc = FS_ERR;
	if (rc > 0 && db_sale_mark_warmed(d, aid, fs_now_ms()) != FS_OK)
		rc = FS_ERR;
	db_sale_items_free(items, n);
	return rc;
}
