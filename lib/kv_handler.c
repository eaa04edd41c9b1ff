/*
 * kv_handler.c: the owner of fs:handler:alive, the order handler's heartbeat
 * (its pid, 3 s to live, refreshed every second) that /api/health reads.
 */
#include "kv_handler.h"
#include "fs.h"
#include "kv.h"

int
kv_handler_beat(struct kv *kv, int pid)
{
	redisReply *rep = kv_cmd(kv, "SET fs:handler:alive %d PX 3000", pid);

	if (rep == NULL)
		return FS_ERR;
	freeReplyObject(rep);
	return FS_OK;
}

int
kv_handler_alive(struct kv *kv)
{
	long long n;

	if (kv_take_int(kv_cmd(kv, "EXISTS fs:handler:alive"), &n) != FS_OK)
		return FS_ERR;
	return n > 0;
}
