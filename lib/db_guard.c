/*
 * db_guard.c: the owner of tables activity_rules, blocklist and
 * blocklist_version (db_guard.h).
 */
#include "db_guard.h"
#include "db.h"
#include "fs.h"

#include <string.h>

int
db_guard_rules_put(struct db *d, int64_t aid, const struct sale_rules *r)
{
	static const char sql[] =
		"INSERT INTO activity_rules (activity_id, min_account_age_s, max_orders_per_ip)"
		" VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE min_account_age_s = VALUES(min_account_age_s),"
		" max_orders_per_ip = VALUES(max_orders_per_ip)";
	struct dbv args[] = {DBI(aid), DBI(r->min_account_age_s), DBI(r->max_orders_per_ip)};

	return db_exec(d, sql, args, 3, NULL, NULL);
}

int
db_guard_rules_get(struct db *d, int64_t aid, struct sale_rules *r)
{
	static const char sql[] =
		"SELECT min_account_age_s, max_orders_per_ip FROM activity_rules WHERE activity_id = ?";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows;
	int found;

	memset(r, 0, sizeof(*r));
	if (db_query(d, sql, args, 1, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows == 1;
	if (found) {
		r->min_account_age_s = db_cell_int(&rows, 0, 0);
		r->max_orders_per_ip = db_cell_int(&rows, 0, 1);
	}
	db_rows_free(&rows);
	return found;
}

int
db_guard_rules_fill(struct db *d, struct sale_item *items, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0 && items[i].aid == items[i - 1].aid)
			items[i].rules = items[i - 1].rules;
		else if (db_guard_rules_get(d, items[i].aid, &items[i].rules) == FS_ERR)
			return FS_ERR;
	}
	return FS_OK;
}

int
db_guard_version(struct db *d, int64_t *ver)
{
	static const char sql[] = "SELECT version FROM blocklist_version WHERE id = 1";
	struct db_rows rows;

	if (db_query(d, sql, NULL, 0, &rows) != FS_OK)
		return FS_ERR;
	*ver = rows.nrows == 1 ? db_cell_int(&rows, 0, 0) : 0;
	db_rows_free(&rows);
	return FS_OK;
}

/* The change and its version bump; the caller holds the transaction. */
static int
block_change(struct db *d, const char *kind, const char *value, int add, int64_t now_ms,
	     long long *changed)
{
	static const char ins[] =
		"INSERT IGNORE INTO blocklist (kind, value, created_ms) VALUES (?, ?, ?)";
	static const char del[] = "DELETE FROM blocklist WHERE kind = ? AND value = ?";
	static const char bump[] =
		"INSERT INTO blocklist_version (id, version) VALUES (1, 1)"
		" ON DUPLICATE KEY UPDATE version = version + 1";
	struct dbv args[] = {DBS(kind), DBS(value), DBI(now_ms)};

	if (db_exec(d, add ? ins : del, args, add ? 3 : 2, changed, NULL) != FS_OK)
		return FS_ERR;
	return *changed > 0 ? db_exec(d, bump, NULL, 0, NULL, NULL) : FS_OK;
}

int
db_guard_block(struct db *d, const char *kind, const char *value, int add, int64_t now_ms,
	       int64_t *ver)
{
	long long changed = 0;

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	if (block_change(d, kind, value, add, now_ms, &changed) != FS_OK ||
	    db_guard_version(d, ver) != FS_OK || db_commit(d) != FS_OK) {
		db_rollback(d);
		return FS_ERR;
	}
	return changed > 0 ? 1 : 0;
}

int
db_guard_list(struct db *d, struct db_rows *out)
{
	static const char sql[] = "SELECT kind, value FROM blocklist ORDER BY created_ms, kind, value";

	return db_query(d, sql, NULL, 0, out);
}
