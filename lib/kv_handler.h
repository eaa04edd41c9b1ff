/*
 * kv_handler.h: the order handler's heartbeat in Redis.
 */
#ifndef FS_KV_HANDLER_H
#define FS_KV_HANDLER_H

struct kv;

/* Says that handler pid is up for the next 3 s. FS_OK or FS_ERR. */
int kv_handler_beat(struct kv *kv, int pid);
/* 1 when a handler beat in the last 3 s, 0 not, FS_ERR Redis down. */
int kv_handler_alive(struct kv *kv);

#endif
