/*
 * kv_lifecycle.h: the Redis side of cancels and of ending a sale early: the recorded
 * cancels of queued orders and the meta hash's status.
 */
#ifndef FS_KV_LIFECYCLE_H
#define FS_KV_LIFECYCLE_H

#include <stdint.h>

#include "order.h"

struct kv;

/* Records a cancel of queued order o (its id, activity and item) if the
 * order is still in its item's journal. 1 recorded, 0 not in the journal
 * (MySQL has it by now, or it is unknown), FS_ERR Redis down. */
int kv_lifecycle_cancel_request(struct kv *kv, const struct order *o);

/* The order ids with a recorded cancel in item (aid, iid): *ids (caller
 * frees; NULL when none) and *n. FS_OK or FS_ERR. */
int kv_lifecycle_cancels(struct kv *kv, int64_t aid, int64_t iid, int64_t **ids, int *n);

/* Drops the recorded cancel of order oid. FS_OK or FS_ERR. */
int kv_lifecycle_cancel_done(struct kv *kv, int64_t aid, int64_t iid, int64_t oid);

/* 1 when order oid is in its item's journal (not yet confirmed by MySQL),
 * 0 not, FS_ERR Redis down. */
int kv_lifecycle_journaled(struct kv *kv, int64_t aid, int64_t iid, int64_t oid);

/* Sets the status field of (aid, iid)'s meta hash to "ended", only if the
 * hash exists (a key without its TTL must never be made). 1 set, 0 absent,
 * FS_ERR Redis down. */
int kv_lifecycle_mark_ended(struct kv *kv, int64_t aid, int64_t iid);

#endif
