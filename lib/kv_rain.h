/*
 * kv_rain.h: a red-packet rain in Redis. Every key of rain R carries the
 * hash tag {rR}, so each script runs on one Redis Cluster slot:
 *   fs:{rR}:meta      hash   start end total packets grabbed grabbed_cents  TTL end+5 min
 *   fs:{rR}:packets   list   "grab_id amount" of the packets not taken     TTL end+5 min
 *   fs:{rR}:grabbers  hash   user id -> "grab_id amount created_ms"        TTL end+5 min
 *   fs:{rR}:banned    set    user ids refused (403 banned)                 TTL end+5 min
 *   fs:{rR}:journal   hash   grab id -> grab line (rain.h) until MySQL has it
 *   fs:{rR}:pending   zset   grab id by grab time, same life as the journal
 *   fs:{rR}:load:HEX  list/hash  a warmup's packets and grabbers on their way
 *                     in (renamed into place at once)                     TTL 10 min
 * Journal and pending get a TTL only once the rain is over and drained.
 */
#ifndef FS_KV_RAIN_H
#define FS_KV_RAIN_H

#include <stdint.h>

#include "rain.h"

struct kv;

enum rain_grab_result {
	RAIN_GRAB_OK,
	RAIN_GRAB_NOT_STARTED,
	RAIN_GRAB_ENDED,
	RAIN_GRAB_BANNED,
	RAIN_GRAB_DUPLICATE,
	RAIN_GRAB_EMPTY,
	RAIN_GRAB_NOT_WARM, /* no meta hash: warm it, then ask again */
	RAIN_GRAB_DOWN,     /* Redis unreachable (or the reply lost and the
			     * grab not found): nothing granted */
};

/* The grab, one script: window (Redis clock), ban, one per user, pop a
 * packet, journal it. RAIN_GRAB_OK fills *g (the user's packet);
 * RAIN_GRAB_DUPLICATE fills it with the packet the user holds. When the
 * reply is lost, the grabbers hash tells whether the user holds a packet. */
enum rain_grab_result kv_rain_grab(struct kv *kv, int64_t rid, int64_t uid, struct rain_grab *g);

/* What a warmup loads: the window and counts, the packets not granted yet
 * (ids[i], amounts[i]) and the users who hold one (held[]). */
struct kv_rain_load {
	int64_t rid, start_ms, end_ms, total_cents, packets, grabbed, grabbed_cents;
	const int64_t *ids, *amounts;
	int n;
	const struct rain_grab *held;
	int nheld;
};

/* WAITs for replicas replicas (at most ms) to hold the last write to rid's
 * keys on this connection (kv_cluster_wait). Returns how many did, or
 * FS_ERR. */
int kv_rain_wait(struct kv *kv, int64_t rid, int replicas, int ms);

/* Loads the rain unless its meta hash exists: 1 loaded, 0 was warm
 * already (nothing changed), FS_ERR. Two warmups at once load it once. */
int kv_rain_put(struct kv *kv, const struct kv_rain_load *l);

/* 1 when the meta hash of rid exists, 0 not, FS_ERR. */
int kv_rain_warm(struct kv *kv, int64_t rid);

struct kv_rain_view {
	int64_t start_ms, end_ms, grabbed, grabbed_cents, left;
};
/* Reads the meta hash and the packets left: 1, 0 not warm, FS_ERR. */
int kv_rain_view(struct kv *kv, int64_t rid, struct kv_rain_view *v);

/* The journal's grabs (caller frees *out), to learn what a warmup must
 * not hand out again. Count or FS_ERR. */
int kv_rain_journal(struct kv *kv, int64_t rid, struct rain_grab **out);

/* The rain's grabs not confirmed by MySQL and older than before_ms (at most
 * max) into out[0..*n). Returns how many ids were seen (0: none), FS_ERR. */
int kv_rain_due(struct kv *kv, int64_t rid, int64_t before_ms, int max, struct rain_grab *out,
		int *n);

/* Drops the journal entries of the n grabs (MySQL has them). FS_OK/FS_ERR. */
int kv_rain_journal_done(struct kv *kv, const struct rain_grab *g, int n);

/* The users holding a packet and the banned users of rid (caller frees
 * both; sorted). FS_OK or FS_ERR. */
int kv_rain_members(struct kv *kv, int64_t rid, int64_t **held, int *nheld, int64_t **banned,
		    int *nbanned);

/* Bans uid from rid (a set that lives as long as the rain's keys). */
int kv_rain_ban(struct kv *kv, int64_t rid, int64_t uid);

/* Gives the journal, pending and banned keys of an ended, drained rain a
 * TTL of keep_ms where they have none. FS_OK or FS_ERR. */
int kv_rain_expire(struct kv *kv, int64_t rid, int64_t keep_ms);

#endif
