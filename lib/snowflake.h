/*
 * snowflake.h: 64-bit order ids: 41 bits of milliseconds since 2024-01-01,
 * 10 bits of worker id, 12 bits of sequence. Ids of one worker grow strictly;
 * two workers never collide while their worker ids differ.
 */
#ifndef FS_SNOWFLAKE_H
#define FS_SNOWFLAKE_H

#include <stdint.h>

#define SNOWFLAKE_EPOCH_MS 1704067200000LL
#define SNOWFLAKE_WORKER_BITS 10
#define SNOWFLAKE_SEQ_BITS 12
#define SNOWFLAKE_MAX_WORKER ((1 << SNOWFLAKE_WORKER_BITS) - 1)

struct snowflake {
	int worker;
	int64_t last_ms;
	int seq;
};

/* worker must be in 0..SNOWFLAKE_MAX_WORKER. */
void snowflake_init(struct snowflake *sf, int worker);

/* The id for the clock reading now_ms, or FS_ERR when none can be made at
 * that reading (4096 already made in this millisecond, or the clock went back
 * behind the last id): the caller reads the clock again. */
int snowflake_next_at(struct snowflake *sf, int64_t now_ms, int64_t *id);

/* The next id, waiting out a full millisecond or a clock step back. */
int64_t snowflake_next(struct snowflake *sf);

/* The millisecond timestamp and worker encoded in id. */
int64_t snowflake_time_ms(int64_t id);
int snowflake_worker(int64_t id);

#endif
