/*
 * db_user.h: accounts in MySQL (table users).
 */
#ifndef FS_DB_USER_H
#define FS_DB_USER_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* db_user_insert's answer when the username is taken (the unique key
 * decides, so of two racing registers one gets it). */
#define DB_USER_TAKEN 1

/* Adds an account: FS_OK and *id, DB_USER_TAKEN, or FS_ERR (MySQL failed;
 * db_errstr tells). */
int db_user_insert(struct db *d, const char *name, const char *pw_hash, int64_t now_ms, int64_t *id);

/* Finds the account named name (as MySQL compares): 1 and *id and its
 * password hash (size bytes at most), 0 none, FS_ERR. */
int db_user_find(struct db *d, const char *name, int64_t *id, char *pw_hash, size_t size);

/* When account id was registered here: 1 and *created_ms, 0 no such
 * account (a token from an outside provider), FS_ERR. */
int db_user_created(struct db *d, int64_t id, int64_t *created_ms);

#endif
