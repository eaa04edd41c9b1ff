/*
 * queued.h: a queued order (reserved in Redis, not yet in MySQL) as the
 * status poll, the order list, a cancel and a pay see it. On one Redis the
 * reservation script writes its status record in the same trip. On a Redis
 * Cluster the record's slot (the user's) is another master than the item's,
 * and writing it would cost every order a second master and its replica:
 * place-order writes none, and the order is found in its item's journal,
 * where it stays until the handler has written it to MySQL (the handler
 * then writes the record).
 */
#ifndef FS_QUEUED_H
#define FS_QUEUED_H

#include <stdint.h>

#include "order.h"

struct db;
struct kv;

/* User uid's order id as Redis knows it: its status record, else (on a
 * Cluster) its journal line while it is queued. 1 found (*o; another
 * user's record is not found), 0 not, FS_ERR Redis failed or (on a Cluster)
 * the items to look in are unknown. Ask before MySQL: an order leaves the
 * journal only after MySQL has it. */
int queued_get(struct kv *kv, struct db *d, int64_t uid, int64_t id, struct order *o);

/* On a Cluster, user uid's queued orders in the journals (up to max into
 * out): their count, or FS_ERR. On one Redis 0: the status records list
 * them (kv_order_ids). */
int queued_list(struct kv *kv, struct db *d, int64_t uid, struct order *out, int max);

#endif
