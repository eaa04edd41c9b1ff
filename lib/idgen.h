/*
 * idgen.h: the process's snowflake ids (order and payment ids). The worker
 * id comes from a Redis counter, so processes started at the same instant,
 * on one machine or many, still get different worker ids.
 */
#ifndef FS_IDGEN_H
#define FS_IDGEN_H

#include <stdint.h>

struct kv;

/* Sets *id to a new id. The first call takes a worker id from Redis; until
 * that succeeds it returns FS_ERR (Redis down: answer 503). */
int idgen_next(struct kv *kv, int64_t *id);

/* This process's lease owner, "host:pid:nonce" (the nonce random per
 * process), as the lease keys hold it. */
const char *idgen_owner(void);

#endif
