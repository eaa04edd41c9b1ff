/*
 * snowflake.c: order id generator (see snowflake.h for the layout).
 */
#include "snowflake.h"
#include "fs.h"

#include <time.h>

void
snowflake_init(struct snowflake *sf, int worker)
{
	sf->worker = worker & SNOWFLAKE_MAX_WORKER;
	sf->last_ms = 0;
	sf->seq = 0;
}

int
snowflake_next_at(struct snowflake *sf, int64_t now_ms, int64_t *id)
{
	int64_t t;

	if (now_ms < sf->last_ms)
		return FS_ERR;
	if (now_ms == sf->last_ms) {
		if (sf->seq >= (1 << SNOWFLAKE_SEQ_BITS) - 1)
			return FS_ERR;
		sf->seq++;
	} else {
		sf->last_ms = now_ms;
		sf->seq = 0;
	}
	t = now_ms - SNOWFLAKE_EPOCH_MS;
	*id = (t << (SNOWFLAKE_WORKER_BITS + SNOWFLAKE_SEQ_BITS)) |
	      ((int64_t)sf->worker << SNOWFLAKE_SEQ_BITS) | sf->seq;
	return FS_OK;
}

int64_t
snowflake_next(struct snowflake *sf)
{
	int64_t id;

	while (snowflake_next_at(sf, fs_now_ms(), &id) != FS_OK) {
		struct timespec pause = {0, 200000};

		nanosleep(&pause, NULL);
	}
	return id;
}

int64_t
snowflake_time_ms(int64_t id)
{
	return (id >> (SNOWFLAKE_WORKER_BITS + SNOWFLAKE_SEQ_BITS)) + SNOWFLAKE_EPOCH_MS;
}

int
snowflake_worker(int64_t id)
{
	return (int)((id >> SNOWFLAKE_SEQ_BITS) & SNOWFLAKE_MAX_WORKER);
}
