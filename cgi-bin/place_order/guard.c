/*
 * place_order/guard.c: the reservation with the sale rules' part
 * (docs/GUARD-RULES.md): the client's address (the one rate limits use),
 * whether the process's blocklist copy names the user or the address, and
 * the copy's version, all decided inside the one reservation script. When
 * the script finds the copy older than its item's (a change was made), the
 * copy is read again from MySQL and the script asked once more.
 */
#include "place_order.h"
#include "fs.h"
#include "guard.h"
#include "kv_guard.h"
#include "kv_sale.h"
#include "log.h"
#include "ratelimit.h"

#include <stdint.h>

/* at most this many reads of the list for one order: a change a second
 * cannot make an order wait for ever */
#define GUARD_TRIES 3

enum reserve_result
guard_reserve(struct req *r, const struct order *o, int rate_limit, int with_record,
	      struct kv_sale_wait *w, int64_t *left, int64_t *held)
{
	static int64_t warned_ms;
	struct kv_guard_args g;
	char bucket[48];
	int has_ip = ratelimit_client(r, bucket);
	int64_t ver = guard_version(), now;
	enum reserve_result res = RESERVE_GUARD_STALE;

	for (int i = 0; i < GUARD_TRIES && res == RESERVE_GUARD_STALE; i++) {
		if (i > 0 && guard_refresh(r->db) != FS_OK) {
			/* MySQL is away: decide with the copy at hand (fail open,
			 * like the rate limits) rather than refuse every order */
			now = fs_now_ms();
			if (now - warned_ms > 10000) {
				log_warn("blocklist: cannot read it again; deciding with version %lld",
					 (long long)guard_version());
				warned_ms = now;
			}
			ver = KV_GUARD_VER_ANY;
		} else if (i > 0) {
			ver = guard_version();
		}
		kv_guard_args_init(&g, o->activity_id, o->item_id, has_ip ? bucket : "",
				   guard_blocked(o->user_id, has_ip ? r->client_ip : NULL), ver);
		res = kv_sale_reserve(r->kv, o, rate_limit, with_record, &g, w, left, held);
	}
	return res == RESERVE_GUARD_STALE ? RESERVE_DOWN : res;
}
