/*
 * db_user.c: the owner of the users table (username unique, case-blind as
 * MySQL compares, and the libsodium password hash).
 */
#include "db_user.h"
#include "db.h"
#include "fs.h"

#include <stdio.h>
#include <string.h>

int
db_user_insert(struct db *d, const char *name, const char *pw_hash, int64_t now_ms, int64_t *id)
{
	static const char sql[] = "INSERT INTO users (username, pw_hash, created_ms) VALUES (?, ?, ?)";
	struct dbv args[] = {DBS(name), DBS(pw_hash), DBI(now_ms)};
	long long newid = 0;

	if (db_exec(d, sql, args, 3, NULL, &newid) != FS_OK)
		return db_errno(d) == DB_ER_DUP_ENTRY ? DB_USER_TAKEN : FS_ERR;
	*id = newid;
	return FS_OK;
}

int
db_user_find(struct db *d, const char *name, int64_t *id, char *pw_hash, size_t size)
{
	static const char sql[] = "SELECT id, pw_hash FROM users WHERE username = ?";
	struct dbv args[] = {DBS(name)};
	struct db_rows rows;
	int rc = 0;

	if (db_query(d, sql, args, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows == 1) {
		*id = db_cell_int(&rows, 0, 0);
		snprintf(pw_hash, size, "%s", db_cell(&rows, 0, 1) ? db_cell(&rows, 0, 1) : "");
		rc = 1;
	}
	db_rows_free(&rows);
	return rc;
}

int
db_user_created(struct db *d, int64_t id, int64_t *created_ms)
{
	static const char sql[] = "SELECT created_ms FROM users WHERE id = ?";
	struct dbv args[] = {DBI(id)};
	struct db_rows rows;
	int rc = 0;

	if (db_query(d, sql, args, 1, &rows) != FS_OK)
		return FS_ERR;
	if (rows.nrows == 1) {
		*created_ms = db_cell_int(&rows, 0, 0);
		rc = 1;
	}
	db_rows_free(&rows);
	return rc;
}
