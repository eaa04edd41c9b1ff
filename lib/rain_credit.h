/*
 * rain_credit.h: grabs into the wallets in MySQL, the truth. The order
 * handler batches the grab lines it pulls beside the order lines; reconcile
 * replays the journaled grabs no handler confirmed. Idempotent by grab id:
 * a replay credits nothing twice. The journal entry goes only after the
 * commit.
 */
#ifndef FS_RAIN_CREDIT_H
#define FS_RAIN_CREDIT_H

#include <stddef.h>
#include <stdint.h>

#include "rain.h"

struct db;
struct kv;

#define RAIN_CREDIT_MAX 2048

/* The grabs a handler collects between two writes. */
struct rain_credit_batch {
	int n;
	long credited; /* grabs written so far (replays included) */
	struct rain_grab g[RAIN_CREDIT_MAX];
};

/* 1 when line (len bytes) is a grab line: it joins b (an undecodable one is
 * logged and dropped: the journal keeps it). 0: not a grab line. */
int rain_credit_take(struct rain_credit_batch *b, const char *line, size_t len);

/* 1 when b has less room than lines more lines. */
int rain_credit_full(const struct rain_credit_batch *b, int lines);

/* Writes b's grabs to MySQL in one transaction, then drops their journal
 * entries; empties b. FS_OK, or FS_ERR when MySQL failed (b kept: try
 * again later). */
int rain_credit_flush(struct rain_credit_batch *b, struct db *d, struct kv *kv);

/* Reconcile's pass over the rains live or ended within the last week:
 * replays journaled grabs older than age_ms, and gives the keys of a
 * drained, ended rain a TTL. Returns the grabs replayed, or FS_ERR when a
 * store failed. */
long rain_credit_replay(struct kv *kv, struct db *d, int64_t age_ms);

#endif
