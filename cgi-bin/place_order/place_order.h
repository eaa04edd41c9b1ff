/*
 * place_order.h: what the files of the place_order program share.
 */
#ifndef FS_PLACE_ORDER_H
#define FS_PLACE_ORDER_H

#include <stdint.h>

#include "req.h"

/* cancel.c: answers the cancel of order_id for r->user_id. */
void cancel_or_reply(struct req *r, int64_t order_id);

#endif
