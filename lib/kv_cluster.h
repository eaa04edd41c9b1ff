/*
 * kv_cluster.h: Redis Cluster routing under lib/kv (redis_cluster = 1).
 * Debian has no cluster-aware C client for hiredis 0.14, so this file routes
 * by slot itself: the CLUSTER SLOTS map asked of any seed in redis_nodes, one
 * connection per node, MOVED (update the map, retry), ASK (ASKING then retry
 * on the target, map unchanged), TRYAGAIN/CLUSTERDOWN (bounded back-off), a
 * dead node (refresh the map from the others), NOSCRIPT after a promotion
 * (load the script on that node, retry), pipelines sent per node. Every retry
 * loop is bounded in tries and time, so a caller answers 503 well inside its
 * timeout instead of hanging.
 *
 * kv.c calls the kv_cluster_* functions when kv->cl is set; nothing else should.
 */
#ifndef FS_KV_CLUSTER_H
#define FS_KV_CLUSTER_H

#include "kv.h"

#include <stdarg.h>

struct kv_cluster;

/* seeds: comma-separated "host:port" list (at least one reachable node of
 * the cluster is enough). Never NULL; connects on first use. */
struct kv_cluster *kv_cluster_open(const char *seeds, int timeout_ms);
void kv_cluster_close(struct kv_cluster *cl);

/* Like kv_cmd / kv_cmdargv / kv_append / kv_appendargv / kv_reply. */
redisReply *kv_cluster_vcmd(struct kv *kv, const char *fmt, va_list ap);
redisReply *kv_cluster_cmdargv(struct kv *kv, int argc, const char **argv, const size_t *lens);
int kv_cluster_vappend(struct kv *kv, const char *fmt, va_list ap);
int kv_cluster_appendargv(struct kv *kv, int argc, const char **argv, const size_t *lens);
redisReply *kv_cluster_reply(struct kv *kv);

/* Remembers script (its sha already computed) so that a NOSCRIPT from any
 * node is answered by loading it there. Cheap enough for every EVALSHA. */
void kv_cluster_script(struct kv *kv, struct kv_script *script);
/* kv_script_load on a cluster: remembers the script and loads it on every
 * master the map knows the first time; later NOSCRIPTs load it lazily. */
int kv_cluster_script_load(struct kv *kv, struct kv_script *script);

/* WAIT replicas ms on the connection that last wrote key (on one Redis the
 * only connection; on a cluster the one to key's master), so that the
 * replicas acknowledge that write. Returns how many replicas acknowledged,
 * or FS_ERR on a transport failure or error reply. ms must stay below
 * redis_timeout_ms (the socket timeout). */
int kv_cluster_wait(struct kv *kv, const char *key, int replicas, int ms);
/* The same in two steps, so that the WAIT rides in a pipeline with other
 * nodes' commands (each node's in parallel): kv_cluster_append_wait queues
 * it (kv_append's rules), kv_cluster_wait_reply reads its reply in its turn
 * among the queued commands' replies. */
int kv_cluster_append_wait(struct kv *kv, const char *key, int replicas, int ms);
int kv_cluster_wait_reply(struct kv *kv, int replicas, int ms);
/* 1 when the last pipeline (read through) ran a command again on its own:
 * a WAIT queued behind it may have run before it, or on another node */
int kv_cluster_rerun(const struct kv *kv);
/* When reply i of the last pipeline was read (fs_mono_us), 0 unknown: how
 * long its command took, apart from the slower ones after it (a WAIT). */
int64_t kv_cluster_read_us(const struct kv *kv, int i);

#endif
