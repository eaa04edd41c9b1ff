/*
 * rain_warm.h: putting a published rain into Redis (MySQL to kv_rain): the
 * window, the packets nobody holds and the users who hold one. Run by the
 * admin's warmup, the cron warmup an hour before the start, and the grab
 * endpoint when it finds a live rain cold.
 */
#ifndef FS_RAIN_WARM_H
#define FS_RAIN_WARM_H

#include <stdint.h>

struct db;
struct kv;
struct db_rain;

/* Loads r unless Redis has it already: 1 loaded, 0 warm already (or over),
 * FS_ERR a store failed. Packets held in MySQL's wallets or in the Redis
 * journal are never loaded again. */
int rain_warm_one(struct kv *kv, struct db *d, const struct db_rain *r);

/* Warms every published rain that starts before now + ahead_ms and has not
 * ended, if cold. *nwarmed: how many were loaded. FS_OK or FS_ERR. */
int rain_warm_due(struct kv *kv, struct db *d, int64_t now_ms, int64_t ahead_ms, int *nwarmed);

#endif
