/*
 * warm.c: putting activity items into Redis: the meta hash and the stock
 * counter (layout in sale.h and kv.h). Rendering for the CDN is render.c's.
 */
#include "sale.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sale_item_cleanup(struct sale_item *si)
{
	if (si == NULL)
		return;
	free(si->detail_json);
	si->detail_json = NULL;
}

/* Reads the n replies of a MULTI pipeline, the last being its EXEC. FS_OK
 * when every one arrived and neither a queued command nor EXEC failed. */
static int
multi_replies(struct kv *kv, int n, const char *what)
{
	redisReply *exec;
	int rc = kv_replies(kv, n - 1, what);

	if (rc != FS_OK && kv_down(kv))
		return FS_ERR;
	exec = kv_reply(kv);
	if (exec == NULL)
		return FS_ERR;
	if (exec->type == REDIS_REPLY_ARRAY) {
		/* errors of the queued commands show up in here */
		for (size_t k = 0; k < exec->elements; k++)
			if (exec->element[k]->type == REDIS_REPLY_ERROR) {
				log_err("%s: %s", what, exec->element[k]->str);
				rc = FS_ERR;
			}
	} else {
		log_err("%s: transaction aborted%s%s", what,
			exec->type == REDIS_REPLY_ERROR ? ": " : "",
			exec->type == REDIS_REPLY_ERROR ? exec->str : "");
		rc = FS_ERR;
	}
	freeReplyObject(exec);
	return rc;
}

int
kv_sale_put(struct kv *kv, const struct sale_item *si, int with_stock)
{
	char meta[KV_KEY_MAX], stock[KV_KEY_MAX], what[64];
	long long expire = (long long)(si->end_ms + SALE_KEY_GRACE_MS);
	const char *detail = si->detail_json ? si->detail_json : "{}";
	int n = 4;

	/* keys of a sale long over would expire at once: writing them is moot */
	if (expire <= fs_now_ms())
		return FS_OK;
	kv_item_key(meta, si->aid, si->iid, "meta");
	kv_item_key(stock, si->aid, si->iid, "stock");
	snprintf(what, sizeof(what), "warm %lld:%lld", (long long)si->aid, (long long)si->iid);
	/* one transaction so the hash never lives without its TTL */
	if (kv_append(kv, "MULTI") != FS_OK ||
	    kv_append(kv, "HSET %s start %lld end %lld limit %lld price %lld alloc %lld "
			  "status %s detail %b",
		      meta, (long long)si->start_ms, (long long)si->end_ms,
		      (long long)si->per_user_limit, (long long)si->flash_price_cents,
		      (long long)si->alloc_stock, si->status, detail, strlen(detail)) != FS_OK ||
	    kv_append(kv, "PEXPIREAT %s %lld", meta, expire) != FS_OK)
		return FS_ERR;
	if (with_stock) {
		/* NX: a warmup during the sale must not hand out sold units again */
		if (kv_append(kv, "SET %s %lld NX PXAT %lld", stock, (long long)si->db_stock,
			      expire) != FS_OK)
			return FS_ERR;
		n++;
	}
	if (kv_append(kv, "EXEC") != FS_OK)
		return FS_ERR;
	return multi_replies(kv, n, what);
}

int
warm_activity(struct kv *kv, struct db *d, int64_t aid)
{
	static const char sql[] = "UPDATE activities SET warmed_ms = ? WHERE id = ?";
	struct sale_item *items;
	int n = db_sale_items_load(d, aid, &items), rc;

	if (n <= 0)
		return n;
	rc = n;
	for (int i = 0; i < n && rc > 0; i++)
		if (kv_sale_put(kv, &items[i], 1) != FS_OK)
			rc = FS_ERR;
	if (rc > 0) {
		struct dbv args[] = {DBI(fs_now_ms()), DBI(aid)};

		if (db_exec(d, sql, args, 2, NULL, NULL) != FS_OK)
			rc = FS_ERR;
	}
	sale_items_free(items, n);
	return rc;
}
