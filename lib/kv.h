/*
 * kv.h: the Redis layer. One persistent connection per process, reconnected
 * after a transport failure; Lua scripts run by SHA with a NOSCRIPT fallback.
 * Every Redis call of the project goes through a kv_* function.
 *
 * Key layout: every key of one activity item carries the hash tag {A:I}, so a
 * decision touches one Redis Cluster slot:
 *   fs:{A:I}:meta     hash   start end limit price alloc detail(JSON)   TTL end+5 min
 *   fs:{A:I}:stock    string units Redis can still sell                 TTL end+5 min
 *   fs:{A:I}:buyers   hash   user id -> order id of the live order
 *   fs:{A:I}:banned   set    user ids banned from the activity
 *   fs:{A:I}:journal  hash   order id -> order line (order.h), until MySQL has it
 *   fs:{A:I}:pending  zset   order id by reservation time, same life as journal
 *   fs:{A:I}:released set    order ids whose unit went back (exactly once)
 *   fs:{A:I}:void     set    order ids whose reservation was given up after a
 *                            lost reply: never reserved              TTL end+5 min
 *   fs:{A:I}:rl:UID   string unused (a Cluster's placeholder for the rate key)
 *   fs:rl:order:UID   string the user's orders this second, across items (a
 *                            single Redis counts it in the reservation script)
 *   fs:{A:I}:rebuilt  string run_id of the Redis server that last rebuilt the
 *                     item from MySQL (rebuild.h)                  TTL end+5 min
 * reconcile's fs:reconcile:watermark (rebuild.h) has no tag.
 * and the keys of one user share the hash tag {UID}:
 *   fs:o:{UID}:OID    string order status JSON for the status poll      TTL 2 days
 *   fs:u:{UID}:orders zset   the user's order ids by creation time       TTL 2 days
 *   fs:ch:{UID}:A:I   string the user's challenge for an item (kv_challenge.h)
 *                                                        TTL challenge_ttl_ms
 */
#ifndef FS_KV_H
#define FS_KV_H

#include <hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"

struct kv {
	redisContext *c;
	char host[64];
	int port;
	int timeout_ms;
	int err;          /* nonzero after a transport failure until reconnected */
	char errstr[256];
	struct breaker br; /* transport failures in a row open it (breaker.h) */
	long served;      /* replies read on this connection */
	int maybe_ran;    /* the last kv_cmd/kv_cmdargv/kv_eval failed after its
			   * command was written: it may have run */
	struct kv_cluster *cl; /* redis_cluster = 1: kv_cluster.c routes every call */
	long conns;       /* connections made, and NOSCRIPTs seen: a script loaded
			   * before the last one may be gone */
};

struct kv_script {
	const char *name;
	const char *source;
	char sha[41]; /* filled on first use */
};

/* Never NULL; the connection is made on first use. */
struct kv *kv_open(const char *host, int port, int timeout_ms);
/* Opens with redis_host/redis_port/redis_timeout_ms from the config. */
struct kv *kv_open_conf(void);
void kv_close(struct kv *kv);

/* Runs one command. Returns the reply (caller frees with freeReplyObject),
 * or NULL on a transport failure: kv->errstr says why, kv->maybe_ran whether
 * the command may have run all the same, and the next call reconnects. A
 * REDIS_REPLY_ERROR reply is returned as is. A connection Redis closed while
 * idle is replaced before the command is written; one that breaks under the
 * command gets it once more on a fresh connection, so give these two only
 * commands that may run twice (reads, SET, HSET, DEL...). */
redisReply *kv_cmd(struct kv *kv, const char *fmt, ...);
redisReply *kv_cmdargv(struct kv *kv, int argc, const char **argv, const size_t *lens);

/* Pipelining: queue commands, then read their replies in order. kv_append
 * returns FS_OK or FS_ERR (not connected); kv_reply is like kv_cmd. */
int kv_append(struct kv *kv, const char *fmt, ...);
redisReply *kv_reply(struct kv *kv);

/* EVALSHA of script with nkeys keys followed by the other arguments in argv;
 * on NOSCRIPT loads the script and runs it again. Like kv_cmd otherwise, but
 * a script whose reply was lost is never sent again (it may have run):
 * NULL, with kv->maybe_ran set. */
redisReply *kv_eval(struct kv *kv, struct kv_script *script, int nkeys, int argc,
		    const char **argv, const size_t *lens);
/* kv_eval for a script marked idempotent by its caller: running it twice
 * with the same arguments has the effect of running it once (the
 * reservation by its order id, a rotation by its new token), so after a
 * connection broke under it, it is sent once more on a fresh one. */
redisReply *kv_eval_idempotent(struct kv *kv, struct kv_script *script, int nkeys, int argc,
			       const char **argv, const size_t *lens);

/* kv_eval_idempotent, then WAIT replicas ms on the node that ran it (the
 * connection that made its writes), both in one round trip: *acked gets
 * how many replicas acknowledged the script's writes, FS_ERR when not
 * known; *ran_us when the script's own reply had come (fs_mono_us; 0 not
 * known), which the replicas' acknowledgement does not delay. argv[0] must be the script's first key (its slot on a Cluster).
 * As kv_eval_idempotent, NULL with kv->maybe_ran set when the script may
 * have run and its reply was lost. */
redisReply *kv_eval_wait(struct kv *kv, struct kv_script *script, int nkeys, int argc,
			 const char **argv, const size_t *lens, int replicas, int ms, int *acked,
			 int64_t *ran_us);

/* Reads the n replies of a pipeline. FS_OK when all came and none was an
 * error (errors are logged under what). */
int kv_replies(struct kv *kv, int n, const char *what);

/* Pipelining argv commands and scripts: kv_appendargv queues one command,
 * kv_eval_append queues an EVALSHA of script (its SHA computed locally; call
 * kv_script_load first, a NOSCRIPT reply comes back as an error otherwise).
 * FS_OK or FS_ERR (not connected). */
int kv_appendargv(struct kv *kv, int argc, const char **argv, const size_t *lens);
int kv_eval_append(struct kv *kv, struct kv_script *script, int nkeys, int argc,
		   const char **argv);
/* Loads script into Redis (SCRIPT LOAD; cheap and idempotent). */
int kv_script_load(struct kv *kv, struct kv_script *script);

/* 1 when the last call failed in transport (the caller answers 503). */
int kv_down(const struct kv *kv);
/* 1 while kv's breaker is open and a call would fail at once, without
 * asking Redis (single Redis; kv_cluster keeps its own connections). */
int kv_refusing(const struct kv *kv, int64_t now);

/* Formats "fs:{aid:iid}:suffix" into buf (KV_KEY_MAX bytes). */
#define KV_KEY_MAX 96
void kv_item_key(char buf[KV_KEY_MAX], int64_t aid, int64_t iid, const char *suffix);

/* PING: FS_OK when Redis answers, else FS_ERR. */
/* 1 while the Redis Cluster serves every slot (CLUSTER INFO says
 * cluster_state:ok), else 0: a master down and not yet replaced. */
int kv_slots_served(struct kv *kv);
int kv_ping(struct kv *kv);
/* Takes an integer reply (freeing rep, which may be NULL): FS_OK and *out,
 * or FS_ERR when Redis failed or answered something else. */
int kv_take_int(redisReply *rep, long long *out);
/* Takes any reply (freeing rep, which may be NULL): FS_ERR when Redis failed
 * or answered an error (logged with what), else FS_OK. */
int kv_take_ok(redisReply *rep, const char *what);

#endif
