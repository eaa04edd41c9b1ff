/*
 * place_order.h: what the files of the place_order program share.
 */
#ifndef FS_PLACE_ORDER_H
#define FS_PLACE_ORDER_H

#include <stdint.h>

#include "kv_sale.h"
#include "req.h"

/* cancel.c: answers the cancel of order_id for r->user_id. */
void cancel_or_reply(struct req *r, int64_t order_id);

/* guard.c: kv_sale_reserve with the sale rules (blocklist, per-address
 * cap); never RESERVE_GUARD_STALE. */
struct kv_sale_wait;
enum reserve_result guard_reserve(struct req *r, const struct order *o, int rate_limit,
				  int with_record, struct kv_sale_wait *w, int64_t *left,
				  int64_t *held);

#endif
