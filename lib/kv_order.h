/*
 * kv_order.h: the order status records in Redis: fs:o:{UID}:ID and
 * fs:u:{UID}:orders (kv_order.c owns both patterns).
 */
#ifndef FS_KV_ORDER_H
#define FS_KV_ORDER_H

#include <json-c/json.h>
#include <stdint.h>

#include "order.h"

struct kv;

/* A record lives two days after its last write. */
#define KV_ORDER_TTL_S (2 * 24 * 3600)

/* Writes o's status record (fs:o:{UID}:ID) for the status poll and lists it among
 * the user's orders. A record only moves forward: queued < unpaid < the final
 * states, so a late writer (a queued record after the handler's, an unpaid
 * one after a cancel) never undoes a newer state. FS_OK or FS_ERR. */
int kv_order_put(struct kv *kv, const struct order *o);
/* Reads the status record of user uid's order id: 1 found, 0 absent (or
 * not uid's), FS_ERR down. */
int kv_order_get(struct kv *kv, int64_t uid, int64_t id, struct order *o);


/* The keys and arguments of one record write for o (order_put's KEYS then
 * ARGV: key ukey json rank ttl oid created), kept alive in the struct until
 * kv_order_args_free; kv_sale.c folds them into its own scripts. */
struct kv_order_args {
	char key[64], ukey[64], rank[8], ttl[16], oid[24], created[24];
	json_object *json;
	const char *argv[7];
};
void kv_order_args_init(struct kv_order_args *a, const struct order *o);
void kv_order_args_free(struct kv_order_args *a);
/* Loads the record-write script (before kv_order_put_append in a pipeline). */
int kv_order_put_load(struct kv *kv);
/* Appends the record write of a to kv's pipeline; FS_OK or FS_ERR. */
int kv_order_put_append(struct kv *kv, struct kv_order_args *a);

/* User uid's newest order ids (at most max) into ids: the count, or FS_ERR
 * when Redis is down. */
int kv_order_ids(struct kv *kv, int64_t uid, int64_t *ids, int max);

#endif
