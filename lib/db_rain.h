/*
 * db_rain.h: the owner of the tables rains, rain_packets and wallet_entries
 * (sql/schema.sql): the operator's rains, the packets cut at publish, and
 * the wallet credits the order handler writes, one row a grab.
 */
#ifndef FS_DB_RAIN_H
#define FS_DB_RAIN_H

#include <stdint.h>

#include "rain.h"

struct db;

struct db_rain {
	int64_t id, total_cents, packets, start_ms, end_ms;
	char name[520]; /* 128 characters of UTF-8 */
	int published;
};

/* A new draft rain; *id gets its id. FS_OK or FS_ERR. */
int db_rain_create(struct db *d, const struct db_rain *r, int64_t now_ms, int64_t *id);

/* Rain rid into *r: 1 found, 0 not, FS_ERR. */
int db_rain_get(struct db *d, int64_t rid, struct db_rain *r);

/* Published rains that end after after_ms and start before before_ms, by
 * start: *out (caller frees). Returns the count or FS_ERR. */
int db_rain_list(struct db *d, int64_t after_ms, int64_t before_ms, struct db_rain **out);

/* Every rain, drafts included, newest first (max at most): *out (caller
 * frees). Returns the count or FS_ERR. */
int db_rain_all(struct db *d, int max, struct db_rain **out);

/* Publishes draft rain rid with its n packets (amounts[i] for seq i) in one
 * transaction. 1 published now, 0 it was not a draft (nothing written),
 * FS_ERR (rolled back). */
int db_rain_publish(struct db *d, int64_t rid, const int64_t *amounts, int n);

/* The packets of rid nobody was credited with, by seq: ids[i], amounts[i]
 * (caller frees both). Returns the count or FS_ERR. */
int db_rain_unclaimed(struct db *d, int64_t rid, int64_t **ids, int64_t **amounts);

/* The credited grabs of rid (caller frees). Count or FS_ERR. */
int db_rain_claimed(struct db *d, int64_t rid, struct rain_grab **out);

/* Credits the n grabs to their users' wallets in one transaction;
 * idempotent by grab id (a replay changes nothing). FS_OK or FS_ERR. */
int db_rain_credit(struct db *d, const struct rain_grab *g, int n, int64_t now_ms);

/* User uid's wallet: *balance and the newest max grabs into *out (caller
 * frees). Count or FS_ERR. */
int db_rain_wallet(struct db *d, int64_t uid, int max, int64_t *balance, struct rain_grab **out);

/* Credited grabs of rid: *n and *cents. FS_OK or FS_ERR. */
int db_rain_credited(struct db *d, int64_t rid, int64_t *n, int64_t *cents);

#endif
