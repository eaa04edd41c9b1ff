/*
 * warm.h: putting a whole activity from MySQL into Redis.
 */
#ifndef FS_WARM_H
#define FS_WARM_H

#include <stdint.h>

struct db;
struct kv;

/* Loads every item of activity aid into Redis (meta and stock) and marks the
 * activity warmed in MySQL. Returns the number of items, 0 when the activity
 * has none or does not exist, FS_ERR on a Redis or MySQL failure. */
int warm_activity(struct kv *kv, struct db *d, int64_t aid);

#endif
