/*
 * db_sale.c: reading activity items from MySQL into struct sale_item, with
 * the static detail JSON (sale.h) that Redis and the detail program serve.
 */
#include "db_sale.h"
#include "challenge.h"
#include "db_guard.h"
#include "db.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per activity item; the column order is what row_fill reads. */
#define SALE_COLS \
	"SELECT ai.activity_id, ai.item_id, a.start_ms, a.end_ms, a.status, " \
	"ai.flash_price_cents, ai.alloc_stock, ai.stock, ai.per_user_limit, " \
	"i.price_cents, i.name, i.title, i.description, i.images, a.challenge, a.pow_bits, " \
	"ai.shards " \
	"FROM activity_items ai JOIN activities a ON a.id = ai.activity_id " \
	"JOIN items i ON i.id = ai.item_id "

json_object *
db_sale_images_json(const char *s)
{
	json_object *a = s ? json_tokener_parse(s) : NULL;

	if (a == NULL || !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		a = json_object_new_array();
	}
	return a;
}

static void
row_fill(const struct db_rows *rows, int i, struct sale_item *si)
{
	json_object *d = json_object_new_object();
	const char *st = db_cell(rows, i, 4);

	memset(si, 0, sizeof(*si));
	si->aid = db_cell_int(rows, i, 0);
	si->iid = db_cell_int(rows, i, 1);
	si->start_ms = db_cell_int(rows, i, 2);
	si->end_ms = db_cell_int(rows, i, 3);
	snprintf(si->status, sizeof(si->status), "%s", st ? st : "");
	si->flash_price_cents = db_cell_int(rows, i, 5);
	si->alloc_stock = db_cell_int(rows, i, 6);
	si->db_stock = db_cell_int(rows, i, 7);
	si->per_user_limit = db_cell_int(rows, i, 8);
	si->price_cents = db_cell_int(rows, i, 9);
	si->challenge = challenge_kind_parse(db_cell(rows, i, 14));
	si->challenge = si->challenge < 0 ? CHALLENGE_NONE : si->challenge;
	si->pow_bits = (int)db_cell_int(rows, i, 15);
	si->shards = (int)db_cell_int(rows, i, 16);

	/* the field order of API.md's item answer */
	json_object_object_add(d, "activity_id", json_object_new_int64(si->aid));
	json_object_object_add(d, "item_id", json_object_new_int64(si->iid));
	json_object_object_add(d, "name", json_object_new_string(db_cell(rows, i, 10) ? db_cell(rows, i, 10) : ""));
	json_object_object_add(d, "title", json_object_new_string(db_cell(rows, i, 11) ? db_cell(rows, i, 11) : ""));
	json_object_object_add(d, "description",
			       json_object_new_string(db_cell(rows, i, 12) ? db_cell(rows, i, 12) : ""));
	json_object_object_add(d, "images", db_sale_images_json(db_cell(rows, i, 13)));
	json_object_object_add(d, "price_cents", json_object_new_int64(si->price_cents));
	json_object_object_add(d, "flash_price_cents", json_object_new_int64(si->flash_price_cents));
	json_object_object_add(d, "per_user_limit", json_object_new_int64(si->per_user_limit));
	json_object_object_add(d, "start_ms", json_object_new_int64(si->start_ms));
	json_object_object_add(d, "end_ms", json_object_new_int64(si->end_ms));
	si->detail_json = mem_strdup(json_object_to_json_string_ext(
		d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(d);
}

int
db_sale_item_load(struct db *d, int64_t aid, int64_t iid, struct sale_item *si)
{
	static const char sql[] = SALE_COLS "WHERE ai.activity_id = ? AND ai.item_id = ?";
	struct dbv args[] = {DBI(aid), DBI(iid)};
	struct db_rows rows;
	int found;

	memset(si, 0, sizeof(*si));
	/* a cache miss: a caught-up replica may answer (db_query_read) */
	if (db_query_read(d, sql, args, 2, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows > 0;
	if (found)
		row_fill(&rows, 0, si);
	db_rows_free(&rows);
	/* the sale rules travel with the sale (db_guard.h) */
	if (found && db_guard_rules_fill(d, si, 1) != FS_OK) {
		db_sale_item_cleanup(si);
		return FS_ERR;
	}
	return found;
}

int
db_sale_items_load(struct db *d, int64_t aid, struct sale_item **out)
{
	static const char sql[] = SALE_COLS "WHERE ai.activity_id = ? ORDER BY ai.item_id";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 1, &rows, sizeof(**out), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++)
		row_fill(&rows, i, &(*out)[i]);
	db_rows_free(&rows);
	if (n > 0 && db_guard_rules_fill(d, *out, n) != FS_OK) {
		db_sale_items_free(*out, n);
		*out = NULL;
		return FS_ERR;
	}
	return n;
}

void
db_sale_items_free(struct sale_item *v, int n)
{
	if (v == NULL)
		return;
	for (int i = 0; i < n; i++)
		db_sale_item_cleanup(&v[i]);
	free(v);
}

void
db_sale_item_cleanup(struct sale_item *si)
{
	if (si == NULL)
		return;
	free(si->detail_json);
	si->detail_json = NULL;
}

int
db_sale_published_items(struct db *d, int64_t **out)
{
	static const char sql[] =
		"SELECT ai.activity_id, ai.item_id FROM activity_items ai "
		"JOIN activities a ON a.id = ai.activity_id WHERE a.status = 'published'";
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, NULL, 0, &rows, 2 * sizeof(int64_t), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[2 * i] = db_cell_int(&rows, i, 0);
		(*out)[2 * i + 1] = db_cell_int(&rows, i, 1);
	}
	db_rows_free(&rows);
	return n;
}

int
db_sale_ending(struct db *d, int64_t now_ms, int64_t **out)
{
	static const char sql[] =
		"SELECT a.id, ai.item_id FROM activities a LEFT JOIN activity_items ai "
		"ON ai.activity_id = a.id WHERE a.status = 'published' AND a.end_ms <= ? ORDER BY a.id";
	struct dbv args[] = {DBI(now_ms)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 1, &rows, 2 * sizeof(int64_t), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[2 * i] = db_cell_int(&rows, i, 0);
		(*out)[2 * i + 1] = db_cell(&rows, i, 1) != NULL ? db_cell_int(&rows, i, 1) : 0;
	}
	db_rows_free(&rows);
	return n;
}

int
db_sale_end(struct db *d, int64_t aid, int64_t now_ms)
{
	static const char sql[] =
		"UPDATE activities SET status = 'ended', updated_ms = ? WHERE id = ? AND status = 'published'";
	struct dbv args[] = {DBI(now_ms), DBI(aid)};

	return db_exec(d, sql, args, 2, NULL, NULL);
}

int
db_sale_due(struct db *d, int64_t start_before_ms, int64_t now_ms, struct db_sale_due **out)
{
	static const char sql[] =
		"SELECT a.id, a.warmed_ms, ai.item_id FROM activities a"
		" LEFT JOIN activity_items ai ON ai.activity_id = a.id"
		" WHERE a.status = 'published' AND a.start_ms <= ? AND a.end_ms > ?"
		" ORDER BY a.id, ai.item_id";
	struct dbv args[] = {DBI(start_before_ms), DBI(now_ms)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 2, &rows, sizeof(struct db_sale_due), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[i].aid = db_cell_int(&rows, i, 0);
		(*out)[i].warmed = db_cell(&rows, i, 1) != NULL;
		(*out)[i].iid = db_cell(&rows, i, 2) != NULL ? db_cell_int(&rows, i, 2) : 0;
	}
	db_rows_free(&rows);
	return n;
}

int
db_sale_activity(struct db *d, int64_t aid, struct db_sale_activity *a)
{
	static const char sql[] =
		"SELECT name, description, start_ms, end_ms, status FROM activities WHERE id = ?";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows;
	int rc;

	memset(a, 0, sizeof(*a));
	if (db_query(d, sql, args, 1, &rows) != FS_OK)
		return FS_ERR;
	rc = rows.nrows > 0;
	if (rc) {
		a->name = mem_strdup(db_cell(&rows, 0, 0) ? db_cell(&rows, 0, 0) : "");
		a->description = mem_strdup(db_cell(&rows, 0, 1) ? db_cell(&rows, 0, 1) : "");
		a->start_ms = db_cell_int(&rows, 0, 2);
		a->end_ms = db_cell_int(&rows, 0, 3);
		snprintf(a->status, sizeof(a->status), "%s",
			 db_cell(&rows, 0, 4) ? db_cell(&rows, 0, 4) : "");
		a->nitems = db_sale_item_ids(d, aid, &a->iids);
		if (a->nitems == FS_ERR) {
			db_sale_activity_cleanup(a);
			rc = FS_ERR;
		}
	}
	db_rows_free(&rows);
	return rc;
}

void
db_sale_activity_cleanup(struct db_sale_activity *a)
{
	free(a->name);
	free(a->description);
	free(a->iids);
	memset(a, 0, sizeof(*a));
}

int
db_sale_page(struct db *d, int64_t now_ms, int64_t after_start, int64_t after_id, int max,
	     int64_t *aids, int64_t *starts)
{
	static const char sql_first[] =
		"SELECT id, start_ms FROM activities WHERE status = 'published' AND end_ms > ?"
		" ORDER BY start_ms, id LIMIT ?";
	static const char sql_after[] =
		"SELECT id, start_ms FROM activities WHERE status = 'published' AND end_ms > ?"
		" AND (start_ms > ? OR (start_ms = ? AND id > ?)) ORDER BY start_ms, id LIMIT ?";
	struct dbv first[] = {DBI(now_ms), DBI(max)};
	struct dbv after[] = {DBI(now_ms), DBI(after_start), DBI(after_start), DBI(after_id), DBI(max)};
	struct db_rows rows;
	int n;

	if ((after_id > 0 ? db_query_read(d, sql_after, after, 5, &rows)
			  : db_query_read(d, sql_first, first, 2, &rows)) != FS_OK)
		return FS_ERR;
	n = rows.nrows < max ? rows.nrows : max;
	for (int i = 0; i < n; i++) {
		aids[i] = db_cell_int(&rows, i, 0);
		starts[i] = db_cell_int(&rows, i, 1);
	}
	db_rows_free(&rows);
	return n;
}

int
db_sale_item_stock(struct db *d, int64_t aid, struct db_rows *out)
{
	static const char sql[] =
		"SELECT item_id, alloc_stock, stock FROM activity_items WHERE activity_id = ?"
		" ORDER BY item_id";
	struct dbv args[] = {DBI(aid)};

	return db_query(d, sql, args, 1, out);
}

int
db_sale_origin_rows(struct db *d, int64_t now_ms, struct db_rows *out)
{
	static const char sql[] =
		"SELECT a.id, a.name, a.description, a.start_ms, a.end_ms, a.status, a.warmed_ms,"
		" ai.item_id, i.name, i.title, i.description, i.images, i.price_cents,"
		" ai.flash_price_cents, ai.per_user_limit, ai.alloc_stock"
		" FROM activities a"
		" LEFT JOIN activity_items ai ON ai.activity_id = a.id"
		" LEFT JOIN items i ON i.id = ai.item_id"
		" WHERE a.status = 'published' AND a.end_ms > ?"
		" ORDER BY a.start_ms, a.id, ai.item_id";
	struct dbv args[] = {DBI(now_ms)};

	return db_query(d, sql, args, 1, out);
}

int
db_sale_mark_warmed(struct db *d, int64_t aid, int64_t now_ms)
{
	static const char sql[] = "UPDATE activities SET warmed_ms = ? WHERE id = ?";
	struct dbv args[] = {DBI(now_ms), DBI(aid)};

	return db_exec(d, sql, args, 2, NULL, NULL);
}

int
db_sale_rebuild_items(struct db *d, int64_t ended_after_ms, struct rebuild_item **out)
{
	static const char sql[] =
		"SELECT ai.activity_id, ai.item_id, a.end_ms, a.warmed_ms IS NOT NULL, ai.shards "
		"FROM activity_items ai JOIN activities a ON a.id = ai.activity_id "
		"WHERE a.status IN ('published', 'ended') AND a.end_ms > ? "
		"ORDER BY ai.activity_id, ai.item_id";
	struct dbv args[] = {DBI(ended_after_ms)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, args, 1, &rows, sizeof(struct rebuild_item), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		(*out)[i].aid = db_cell_int(&rows, i, 0);
		(*out)[i].iid = db_cell_int(&rows, i, 1);
		(*out)[i].end_ms = db_cell_int(&rows, i, 2);
		(*out)[i].warmed = (int)db_cell_int(&rows, i, 3);
		(*out)[i].shards = (int)db_cell_int(&rows, i, 4);
	}
	db_rows_free(&rows);
	return n;
}

int
db_sale_item_ids(struct db *d, int64_t aid, int64_t **out)
{
	static const char sql[] =
		"SELECT item_id FROM activity_items WHERE activity_id = ? ORDER BY item_id";
	struct dbv arg[] = {DBI(aid)};
	struct db_rows rows;
	int n;

	*out = db_query_array(d, sql, arg, 1, &rows, sizeof(int64_t), &n);
	if (n < 0)
		return FS_ERR;
	for (int i = 0; i < n; i++)
		(*out)[i] = db_cell_int(&rows, i, 0);
	db_rows_free(&rows);
	return n;
}

int
db_sale_recent_items(struct db *d, int64_t end_after_ms, struct db_rows *out)
{
	static const char sql[] =
		"SELECT ai.activity_id, ai.item_id FROM activity_items ai "
		"JOIN activities a ON a.id = ai.activity_id WHERE a.status <> 'draft' AND a.end_ms > ?";
	struct dbv args[] = {DBI(end_after_ms)};

	return db_query(d, sql, args, 1, out);
}

int
db_sale_stock_take(struct db *d, int64_t aid, int64_t iid, int64_t qty, long long *affected)
{
	static const char sql[] = "UPDATE activity_items SET stock = stock - ? "
				  "WHERE activity_id = ? AND item_id = ? AND stock >= ?";
	struct dbv a[] = {DBI(qty), DBI(aid), DBI(iid), DBI(qty)};

	return db_exec(d, sql, a, 4, affected, NULL);
}

int
db_sale_stock_give(struct db *d, int64_t aid, int64_t iid, int64_t qty, long long *affected)
{
	static const char sql[] =
		"UPDATE activity_items SET stock = stock + ? WHERE activity_id = ? AND item_id = ?";
	struct dbv a[] = {DBI(qty), DBI(aid), DBI(iid)};

	return db_exec(d, sql, a, 3, affected, NULL);
}

int
db_sale_item_lock(struct db *d, int64_t aid, int64_t iid, int64_t *alloc, int64_t *stock)
{
	static const char sql[] = "SELECT alloc_stock, stock FROM activity_items "
				  "WHERE activity_id = ? AND item_id = ? FOR UPDATE";
	struct dbv a[] = {DBI(aid), DBI(iid)};
	struct db_rows rows;
	int found;

	if (db_query(d, sql, a, 2, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows == 1;
	if (found) {
		*alloc = db_cell_int(&rows, 0, 0);
		*stock = db_cell_int(&rows, 0, 1);
	}
	db_rows_free(&rows);
	return found;
}
