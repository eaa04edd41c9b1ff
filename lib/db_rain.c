/*
 * db_rain.c: the SQL of rains, rain_packets and wallet_entries (db_rain.h).
 */
#include "db_rain.h"
#include "db.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAIN_COLS "id, name, total_cents, packets, start_ms, end_ms, status"
#define PACKET_COLS 3
#define CREDIT_COLS 6

/* Multi-row INSERTs of fixed shapes, so that only a few statement texts are
 * ever prepared (and cached): rows of ncols parameters each. */
static const int shapes[] = {256, 64, 16, 4, 1};
#define NSHAPES ((int)FS_ARRAY_LEN(shapes))
#define SQL_MAX (256 * 40 + 256)

struct insert_stmt {
	const char *head, *row, *tail;
	int ncols;
	char sql[NSHAPES][SQL_MAX];
};

static const char *
insert_text(struct insert_stmt *st, int s)
{
	char *buf = st->sql[s];
	size_t n;

	if (buf[0] != '\0')
		return buf;
	n = (size_t)snprintf(buf, SQL_MAX, "%s", st->head);
	for (int i = 0; i < shapes[s] && n < SQL_MAX; i++)
		n += (size_t)snprintf(buf + n, SQL_MAX - n, "%s%s", i ? ", " : "", st->row);
	if (n < SQL_MAX)
		snprintf(buf + n, SQL_MAX - n, "%s", st->tail);
	return buf;
}

/* Inserts nrows rows whose parameters are args[0 .. nrows * ncols). */
static int
insert_rows(struct db *d, struct insert_stmt *st, const struct dbv *args, int nrows)
{
	int done = 0;

	while (done < nrows) {
		int s = 0;

		while (shapes[s] > nrows - done)
			s++;
		if (db_exec(d, insert_text(st, s), args + (size_t)done * st->ncols,
			    shapes[s] * st->ncols, NULL, NULL) != FS_OK)
			return FS_ERR;
		done += shapes[s];
	}
	return FS_OK;
}

int
db_rain_create(struct db *d, const struct db_rain *r, int64_t now_ms, int64_t *id)
{
	static const char sql[] =
		"INSERT INTO rains (name, total_cents, packets, start_ms, end_ms, status, created_ms)"
		" VALUES (?, ?, ?, ?, ?, 'draft', ?)";
	struct dbv a[] = {DBS(r->name), DBI(r->total_cents), DBI(r->packets), DBI(r->start_ms),
			  DBI(r->end_ms), DBI(now_ms)};
	long long ins = 0;

	if (db_exec(d, sql, a, 6, NULL, &ins) != FS_OK)
		return FS_ERR;
	*id = ins;
	return FS_OK;
}

static void
rain_of_row(const struct db_rows *rows, int i, struct db_rain *r)
{
	r->id = db_cell_int(rows, i, 0);
	snprintf(r->name, sizeof(r->name), "%s", db_cell(rows, i, 1) ? db_cell(rows, i, 1) : "");
	r->total_cents = db_cell_int(rows, i, 2);
	r->packets = db_cell_int(rows, i, 3);
	r->start_ms = db_cell_int(rows, i, 4);
	r->end_ms = db_cell_int(rows, i, 5);
	r->published = db_cell(rows, i, 6) && strcmp(db_cell(rows, i, 6), "published") == 0;
}

int
db_rain_get(struct db *d, int64_t rid, struct db_rain *r)
{
	static const char sql[] = "SELECT " RAIN_COLS " FROM rains WHERE id = ?";
	struct dbv a[] = {DBI(rid)};
	struct db_rows rows;
	int found;

	if (db_query(d, sql, a, 1, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows == 1;
	if (found)
		rain_of_row(&rows, 0, r);
	db_rows_free(&rows);
	return found;
}

/* The rains sql selects (RAIN_COLS) into *out: how many, or FS_ERR. */
static int
rains_query(struct db *d, const char *sql, const struct dbv *a, int na, struct db_rain **out)
{
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, a, na, &rows, sizeof(**out), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++)
		rain_of_row(&rows, i, &(*out)[i]);
	db_rows_free(&rows);
	return n;
}

int
db_rain_list(struct db *d, int64_t after_ms, int64_t before_ms, struct db_rain **out)
{
	static const char sql[] = "SELECT " RAIN_COLS " FROM rains WHERE status = 'published'"
				  " AND end_ms > ? AND start_ms < ? ORDER BY start_ms, id LIMIT 1000";
	struct dbv a[] = {DBI(after_ms), DBI(before_ms)};

	return rains_query(d, sql, a, 2, out);
}

int
db_rain_all(struct db *d, int max, struct db_rain **out)
{
	static const char sql[] = "SELECT " RAIN_COLS " FROM rains ORDER BY id DESC LIMIT ?";
	struct dbv a[] = {DBI(max)};

	return rains_query(d, sql, a, 1, out);
}

int
db_rain_publish(struct db *d, int64_t rid, const int64_t *amounts, int n)
{
	static const char sql[] =
		"UPDATE rains SET status = 'published' WHERE id = ? AND status = 'draft'";
	static struct insert_stmt ins = {"INSERT INTO rain_packets (rain_id, seq, amount_cents) VALUES ",
					 "(?, ?, ?)", "", PACKET_COLS, {{0}}};
	struct dbv a[] = {DBI(rid)}, *rows;
	long long affected = 0;
	int rc = FS_ERR;

	if (db_begin(d) != FS_OK)
		return FS_ERR;
	if (db_exec(d, sql, a, 1, &affected, NULL) != FS_OK)
		goto fail;
	if (affected != 1) {
		db_rollback(d);
		return 0;
	}
	rows = mem_calloc((size_t)n * PACKET_COLS, sizeof(*rows));
	for (int i = 0; i < n; i++) {
		rows[i * PACKET_COLS] = DBI(rid);
		rows[i * PACKET_COLS + 1] = DBI(i);
		rows[i * PACKET_COLS + 2] = DBI(amounts[i]);
	}
	rc = insert_rows(d, &ins, rows, n);
	free(rows);
	if (rc == FS_OK && db_commit(d) == FS_OK)
		return 1;
fail:
	db_rollback(d);
	return FS_ERR;
}

int
db_rain_unclaimed(struct db *d, int64_t rid, int64_t **ids, int64_t **amounts)
{
	static const char sql[] =
		"SELECT p.id, p.amount_cents FROM rain_packets p LEFT JOIN wallet_entries w"
		" ON w.grab_id = p.id WHERE p.rain_id = ? AND w.grab_id IS NULL ORDER BY p.seq";
	struct dbv a[] = {DBI(rid)};
	struct db_rows rows;
	int n;

	*ids = db_query_array(d, sql, a, 1, &rows, sizeof(int64_t), &n);
	*amounts = NULL;
	if (n < 0)
		return FS_ERR;
	*amounts = mem_calloc((size_t)n + 1, sizeof(int64_t));
	for (int i = 0; i < n; i++) {
		(*ids)[i] = db_cell_int(&rows, i, 0);
		(*amounts)[i] = db_cell_int(&rows, i, 1);
	}
	db_rows_free(&rows);
	return n;
}

static int
grabs_query(struct db *d, const char *sql, const struct dbv *a, int na, struct rain_grab **out)
{
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, a, na, &rows, sizeof(**out), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[i].grab_id = db_cell_int(&rows, i, 0);
		(*out)[i].user_id = db_cell_int(&rows, i, 1);
		(*out)[i].rain_id = db_cell_int(&rows, i, 2);
		(*out)[i].amount_cents = db_cell_int(&rows, i, 3);
		(*out)[i].created_ms = db_cell_int(&rows, i, 4);
	}
	db_rows_free(&rows);
	return n;
}

int
db_rain_claimed(struct db *d, int64_t rid, struct rain_grab **out)
{
	static const char sql[] = "SELECT grab_id, user_id, rain_id, amount_cents, created_ms"
				  " FROM wallet_entries WHERE rain_id = ?";
	struct dbv a[] = {DBI(rid)};

	return grabs_query(d, sql, a, 1, out);
}

int
db_rain_credit(struct db *d, const struct rain_grab *g, int n, int64_t now_ms)
{
	/* a replay (same grab id) or a second grab of one user in one rain
	 * (unique key) leaves the row that is there: credited once */
	static struct insert_stmt ins = {
		"INSERT INTO wallet_entries (grab_id, user_id, rain_id, amount_cents, created_ms,"
		" credited_ms) VALUES ", "(?, ?, ?, ?, ?, ?)",
		" ON DUPLICATE KEY UPDATE grab_id = grab_id", CREDIT_COLS, {{0}}};
	struct dbv *rows;
	int rc;

	if (n <= 0)
		return FS_OK;
	rows = mem_calloc((size_t)n * CREDIT_COLS, sizeof(*rows));
	for (int i = 0; i < n; i++) {
		struct dbv *r = rows + (size_t)i * CREDIT_COLS;

		r[0] = DBI(g[i].grab_id);
		r[1] = DBI(g[i].user_id);
		r[2] = DBI(g[i].rain_id);
		r[3] = DBI(g[i].amount_cents);
		r[4] = DBI(g[i].created_ms);
		r[5] = DBI(now_ms);
	}
	rc = db_begin(d);
	if (rc == FS_OK)
		rc = insert_rows(d, &ins, rows, n);
	if (rc == FS_OK)
		rc = db_commit(d);
	if (rc != FS_OK)
		db_rollback(d);
	free(rows);
	return rc;
}

int
db_rain_wallet(struct db *d, int64_t uid, int max, int64_t *balance, struct rain_grab **out)
{
	static const char sql_sum[] =
		"SELECT COALESCE(SUM(amount_cents), 0) FROM wallet_entries WHERE user_id = ?";
	static const char sql[] = "SELECT grab_id, user_id, rain_id, amount_cents, created_ms"
				  " FROM wallet_entries WHERE user_id = ?"
				  " ORDER BY created_ms DESC, grab_id DESC LIMIT ?";
	struct dbv a[] = {DBI(uid), DBI(max)};
	struct db_rows rows;

	*out = NULL;
	if (db_query(d, sql_sum, a, 1, &rows) != FS_OK)
		return FS_ERR;
	*balance = rows.nrows == 1 ? db_cell_int(&rows, 0, 0) : 0;
	db_rows_free(&rows);
	return grabs_query(d, sql, a, 2, out);
}

int
db_rain_credited(struct db *d, int64_t rid, int64_t *n, int64_t *cents)
{
	static const char sql[] = "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0)"
				  " FROM wallet_entries WHERE rain_id = ?";
	struct dbv a[] = {DBI(rid)};
	struct db_rows rows;

	if (db_query(d, sql, a, 1, &rows) != FS_OK)
		return FS_ERR;
	*n = rows.nrows == 1 ? db_cell_int(&rows, 0, 0) : 0;
	*cents = rows.nrows == 1 ? db_cell_int(&rows, 0, 1) : 0;
	db_rows_free(&rows);
	return FS_OK;
}
