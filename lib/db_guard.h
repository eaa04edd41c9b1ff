/*
 * db_guard.h: the MySQL side of the rules against scalpers
 * (docs/GUARD-RULES.md): tables activity_rules, blocklist and
 * blocklist_version. MySQL is the truth; Redis and each program hold copies
 * (kv_guard.h, guard.h).
 */
#ifndef FS_DB_GUARD_H
#define FS_DB_GUARD_H

#include <stdint.h>

#include "sale.h"

struct db;
struct db_rows;

/* Stores activity aid's rules (run it in the transaction that creates the
 * activity). FS_OK or FS_ERR. */
int db_guard_rules_put(struct db *d, int64_t aid, const struct sale_rules *r);

/* Reads activity aid's rules into r (zeros when it has none): 1 found,
 * 0 none, FS_ERR. */
int db_guard_rules_get(struct db *d, int64_t aid, struct sale_rules *r);

/* Fills the rules of n items loaded by db_sale (by activity: one read an
 * activity). FS_OK or FS_ERR. */
int db_guard_rules_fill(struct db *d, struct sale_item *items, int n);

/* The blocklist's version (0 before its first change). FS_OK or FS_ERR. */
int db_guard_version(struct db *d, int64_t *ver);

/* Adds (add = 1) or removes entry (kind "user" or "ip", value the decimal
 * id or normalized address) in one transaction that also bumps the version.
 * Returns 1 changed, 0 nothing to do (already listed, or not listed), FS_ERR;
 * *ver gets the version after it either way. */
int db_guard_block(struct db *d, const char *kind, const char *value, int add, int64_t now_ms,
		   int64_t *ver);

/* The whole list as rows (kind, value), oldest first. FS_OK (caller frees
 * out with db_rows_free) or FS_ERR. */
int db_guard_list(struct db *d, struct db_rows *out);

#endif
