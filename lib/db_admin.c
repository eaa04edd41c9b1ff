/*
 * db_admin.c: the catalogue as the operator sees it: the SQL of the admin
 * routes on items, activities and activity_items (creating, listing,
 * adding an item to a sale in one transaction, publishing). The public
 * read side of the same tables is db_sale.c's.
 */
#include "db_admin.h"
#include "db.h"
#include "db_sale.h"
#include "fs.h"

#include <stdio.h>
#include <string.h>

int
db_admin_item_add(struct db *d, const struct db_admin_item *it, int64_t now_ms, int64_t *id)
{
	static const char sql[] =
		"INSERT INTO items (name, title, description, price_cents, stock, images,"
		" created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	struct dbv args[] = {DBS(it->name), DBS(it->title), DBS(it->description),
			     DBI(it->price_cents), DBI(it->stock), DBS(it->images_json),
			     DBI(now_ms), DBI(now_ms)};
	long long newid = 0;

	if (db_exec(d, sql, args, 8, NULL, &newid) != FS_OK)
		return FS_ERR;
	*id = newid;
	return FS_OK;
}

int
db_admin_items(struct db *d, json_object **out)
{
	static const char sql[] =
		"SELECT id, name, title, description, price_cents, stock, images, created_ms"
		" FROM items ORDER BY id DESC LIMIT 500";
	struct db_rows rows;
	json_object *arr;

	if (db_query(d, sql, NULL, 0, &rows) != FS_OK)
		return FS_ERR;
	arr = json_object_new_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_object *it = json_object_new_object(), *imgs = db_sale_images_json(db_cell(&rows, i, 6));

		json_object_object_add(it, "item_id", json_object_new_int64(db_cell_int(&rows, i, 0)));
		json_object_object_add(it, "name", json_object_new_string(db_cell(&rows, i, 1)));
		json_object_object_add(it, "title", json_object_new_string(db_cell(&rows, i, 2)));
		json_object_object_add(it, "description", json_object_new_string(db_cell(&rows, i, 3)));
		json_object_object_add(it, "price_cents", json_object_new_int64(db_cell_int(&rows, i, 4)));
		json_object_object_add(it, "stock", json_object_new_int64(db_cell_int(&rows, i, 5)));
		json_object_object_add(it, "images", imgs);
		json_object_object_add(it, "created_ms", json_object_new_int64(db_cell_int(&rows, i, 7)));
		json_object_array_add(arr, it);
	}
	db_rows_free(&rows);
	*out = arr;
	return FS_OK;
}

int
db_admin_activity_add(struct db *d, const char *name, const char *desc, int64_t start_ms,
		      int64_t end_ms, int64_t now_ms, const char *challenge, int64_t pow_bits,
		      int64_t *id)
{
	static const char sql[] =
		"INSERT INTO activities (name, description, start_ms, end_ms, status,"
		" created_ms, updated_ms, challenge, pow_bits) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?)";
	struct dbv args[] = {DBS(name), DBS(desc), DBI(start_ms), DBI(end_ms), DBI(now_ms), DBI(now_ms),
			     DBS(challenge), DBI(pow_bits)};
	long long newid = 0;

	if (db_exec(d, sql, args, 8, NULL, &newid) != FS_OK)
		return FS_ERR;
	*id = newid;
	return FS_OK;
}

/* The activity columns every listing shows, row i of rows from a SELECT of
 * id, name, description, status, start_ms, end_ms, warmed_ms, created_ms,
 * item count, challenge, pow_bits and the two rules (0 without a rules
 * row). Caller puts the result. */
static json_object *
activity_json(const struct db_rows *rows, int i)
{
	json_object *a = json_object_new_object(), *rules;

	json_object_object_add(a, "activity_id", json_object_new_int64(db_cell_int(rows, i, 0)));
	json_object_object_add(a, "name", json_object_new_string(db_cell(rows, i, 1)));
	json_object_object_add(a, "description", json_object_new_string(db_cell(rows, i, 2)));
	json_object_object_add(a, "status", json_object_new_string(db_cell(rows, i, 3)));
	json_object_object_add(a, "start_ms", json_object_new_int64(db_cell_int(rows, i, 4)));
	json_object_object_add(a, "end_ms", json_object_new_int64(db_cell_int(rows, i, 5)));
	json_object_object_add(a, "warmed_ms", db_cell(rows, i, 6) ?
				json_object_new_int64(db_cell_int(rows, i, 6)) : NULL);
	json_object_object_add(a, "created_ms", json_object_new_int64(db_cell_int(rows, i, 7)));
	json_object_object_add(a, "item_count", json_object_new_int64(db_cell_int(rows, i, 8)));
	json_object_object_add(a, "challenge", json_object_new_string(db_cell(rows, i, 9)));
	json_object_object_add(a, "pow_bits", json_object_new_int64(db_cell_int(rows, i, 10)));
	rules = json_object_new_object();
	json_object_object_add(rules, "min_account_age_s", json_object_new_int64(db_cell_int(rows, i, 11)));
	json_object_object_add(rules, "max_orders_per_ip", json_object_new_int64(db_cell_int(rows, i, 12)));
	json_object_object_add(a, "rules", rules);
	return a;
}

#define ACTIVITY_COLS \
	"SELECT a.id, a.name, a.description, a.status, a.start_ms, a.end_ms, a.warmed_ms," \
	" a.created_ms, (SELECT COUNT(*) FROM activity_items ai WHERE ai.activity_id = a.id)," \
	" a.challenge, a.pow_bits, COALESCE(r.min_account_age_s, 0)," \
	" COALESCE(r.max_orders_per_ip, 0) FROM activities a" \
	" LEFT JOIN activity_rules r ON r.activity_id = a.id "

int
db_admin_activities(struct db *d, json_object **out)
{
	static const char sql[] = ACTIVITY_COLS "ORDER BY a.id DESC LIMIT 500";
	struct db_rows rows;
	json_object *arr;

	if (db_query(d, sql, NULL, 0, &rows) != FS_OK)
		return FS_ERR;
	arr = json_object_new_array();
	for (int i = 0; i < rows.nrows; i++)
		json_object_array_add(arr, activity_json(&rows, i));
	db_rows_free(&rows);
	*out = arr;
	return FS_OK;
}

int
db_admin_activity(struct db *d, int64_t aid, json_object **out)
{
	static const char sql[] = ACTIVITY_COLS "WHERE a.id = ?";
	static const char sql_items[] =
		"SELECT ai.item_id, i.name, ai.flash_price_cents, ai.alloc_stock, ai.stock,"
		" ai.per_user_limit, i.price_cents, ai.shards FROM activity_items ai"
		" JOIN items i ON i.id = ai.item_id WHERE ai.activity_id = ? ORDER BY ai.item_id";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows = {0}, items = {0};
	json_object *arr;
	int rc = FS_ERR;

	*out = NULL;
	if (db_query(d, sql, args, 1, &rows) != FS_OK || db_query(d, sql_items, args, 1, &items) != FS_OK)
		goto out;
	rc = rows.nrows > 0;
	if (!rc)
		goto out;
	*out = activity_json(&rows, 0);
	arr = json_object_new_array();
	for (int i = 0; i < items.nrows; i++) {
		json_object *it = json_object_new_object();

		json_object_object_add(it, "item_id", json_object_new_int64(db_cell_int(&items, i, 0)));
		json_object_object_add(it, "name", json_object_new_string(db_cell(&items, i, 1)));
		json_object_object_add(it, "flash_price_cents",
				       json_object_new_int64(db_cell_int(&items, i, 2)));
		json_object_object_add(it, "stock", json_object_new_int64(db_cell_int(&items, i, 3)));
		json_object_object_add(it, "db_stock", json_object_new_int64(db_cell_int(&items, i, 4)));
		json_object_object_add(it, "per_user_limit",
				       json_object_new_int64(db_cell_int(&items, i, 5)));
		json_object_object_add(it, "price_cents", json_object_new_int64(db_cell_int(&items, i, 6)));
		json_object_object_add(it, "shards", json_object_new_int64(db_cell_int(&items, i, 7)));
		json_object_array_add(arr, it);
	}
	json_object_object_add(*out, "items", arr);
out:
	db_rows_free(&rows);
	db_rows_free(&items);
	return rc;
}

/* The checks of an item going into activity aid, inside the transaction
 * (rows locked). Returns FS_OK, or the error to answer in *err with a
 * message in *msg; FS_ERR with *err FS_E_COUNT when MySQL failed. */
static int
activity_item_check(struct db *d, int64_t aid, int64_t iid, int64_t stock, enum fs_err *err,
		    const char **msg)
{
	static const char sql_act[] =
		"SELECT status, start_ms, end_ms FROM activities WHERE id = ? FOR UPDATE";
	static const char sql_item[] = "SELECT stock FROM items WHERE id = ? FOR UPDATE";
	static const char sql_overlap[] =
		"SELECT a.id FROM activity_items ai JOIN activities a ON a.id = ai.activity_id"
		" WHERE ai.item_id = ? AND (a.id = ? OR (a.start_ms < ? AND a.end_ms > ?)) LIMIT 1";
	struct db_rows act = {0}, item = {0}, ov = {0};
	int rc = FS_ERR;

	*err = FS_E_COUNT;
	{
		struct dbv a1[] = {DBI(aid)}, a2[] = {DBI(iid)};

		if (db_query(d, sql_act, a1, 1, &act) != FS_OK ||
		    db_query(d, sql_item, a2, 1, &item) != FS_OK)
			goto out;
	}
	if (act.nrows == 0) {
		*err = FS_E_NOT_FOUND;
		*msg = "no such activity";
		goto out;
	}
	if (item.nrows == 0) {
		*err = FS_E_NOT_FOUND;
		*msg = "no such item";
		goto out;
	}
	if (strcmp(db_cell(&act, 0, 0), "draft") != 0) {
		*err = FS_E_CONFLICT;
		*msg = "only a draft activity can change";
		goto out;
	}
	{
		struct dbv a3[] = {DBI(iid), DBI(aid), DBI(db_cell_int(&act, 0, 2)),
				   DBI(db_cell_int(&act, 0, 1))};

		if (db_query(d, sql_overlap, a3, 4, &ov) != FS_OK)
			goto out;
	}
	if (ov.nrows > 0) {
		*err = FS_E_CONFLICT;
		*msg = db_cell_int(&ov, 0, 0) == aid ? "the item is already in this activity"
						     : "the item is in another activity at that time";
		goto out;
	}
	if (db_cell_int(&item, 0, 0) < stock) {
		*err = FS_E_CONFLICT;
		*msg = "the item does not have that much stock";
		goto out;
	}
	rc = FS_OK;
out:
	db_rows_free(&act);
	db_rows_free(&item);
	db_rows_free(&ov);
	return rc;
}

int
db_admin_activity_item_add(struct db *d, const struct db_admin_sale_item *si, int64_t now_ms,
			   enum fs_err *err, const char **msg)
{
	static const char sql_take[] =
		"UPDATE items SET stock = stock - ?, updated_ms = ? WHERE id = ? AND stock >= ?";
	static const char sql_add[] =
		"INSERT INTO activity_items (activity_id, item_id, flash_price_cents, alloc_stock,"
		" stock, per_user_limit, shards) VALUES (?, ?, ?, ?, ?, ?, ?)";
	static const char sql_touch[] = "UPDATE activities SET updated_ms = ? WHERE id = ?";
	struct dbv take[] = {DBI(si->stock), DBI(now_ms), DBI(si->iid), DBI(si->stock)};
	struct dbv add[] = {DBI(si->aid), DBI(si->iid), DBI(si->flash_price_cents), DBI(si->stock),
			    DBI(si->stock), DBI(si->per_user_limit),
			    DBI(si->shards > 0 ? si->shards : 1)};
	struct dbv touch[] = {DBI(now_ms), DBI(si->aid)};
	long long n;
	int dup;

	*err = FS_E_COUNT;
	if (db_begin(d) != FS_OK) {
		*msg = "begin";
		return FS_ERR;
	}
	if (activity_item_check(d, si->aid, si->iid, si->stock, err, msg) != FS_OK) {
		db_rollback(d);
		if (*err == FS_E_COUNT)
			*msg = "check activity item";
		return FS_ERR;
	}
	if (db_exec(d, sql_take, take, 4, &n, NULL) == FS_OK && n == 1 &&
	    db_exec(d, sql_add, add, 7, NULL, NULL) == FS_OK &&
	    db_exec(d, sql_touch, touch, 2, NULL, NULL) == FS_OK && db_commit(d) == FS_OK)
		return FS_OK;
	dup = db_errno(d) == DB_ER_DUP_ENTRY;
	db_rollback(d);
	if (dup) {
		*err = FS_E_CONFLICT;
		*msg = "the item is already in this activity";
	} else {
		*err = FS_E_COUNT;
		*msg = "add activity item";
	}
	return FS_ERR;
}

int
db_admin_activity_status(struct db *d, int64_t aid, char *buf, size_t size, int64_t *nitems)
{
	static const char sql[] =
		"SELECT status, (SELECT COUNT(*) FROM activity_items WHERE activity_id = a.id)"
		" FROM activities a WHERE id = ?";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows;
	int found;

	if (db_query(d, sql, args, 1, &rows) != FS_OK)
		return FS_ERR;
	found = rows.nrows > 0;
	if (found) {
		snprintf(buf, size, "%s", db_cell(&rows, 0, 0));
		if (nitems)
			*nitems = db_cell_int(&rows, 0, 1);
	}
	db_rows_free(&rows);
	return found;
}

int
db_admin_publish(struct db *d, int64_t aid, int64_t now_ms)
{
	static const char sql[] =
		"UPDATE activities SET status = 'published', updated_ms = ?"
		" WHERE id = ? AND status = 'draft'";
	struct dbv args[] = {DBI(now_ms), DBI(aid)};

	return db_exec(d, sql, args, 2, NULL, NULL);
}
