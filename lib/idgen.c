/*
 * idgen.c: snowflake ids with a worker id leased from Redis (see idgen.h).
 */
#include "idgen.h"
#include "fs.h"
#include "kv.h"
#include "snowflake.h"

static struct snowflake gen;
static int have_worker;

int
idgen_next(struct kv *kv, int64_t *id)
{
	if (!have_worker) {
		redisReply *rep = kv_cmd(kv, "INCR fs:snowflake:worker");
		int ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;

		if (ok)
			snowflake_init(&gen, (int)(rep->integer % (SNOWFLAKE_MAX_WORKER + 1)));
		if (rep)
			freeReplyObject(rep);
		if (!ok)
			return FS_ERR;
		have_worker = 1;
	}
	*id = snowflake_next(&gen);
	return FS_OK;
}
