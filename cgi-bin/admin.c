/*
 * admin: the catalogue and activity routes of API.md (/api/admin/...):
 * items, images, activities, their items, publish, warmup and stats. Low
 * traffic, so MySQL is the source of truth and every answer is read fresh.
 * Every route takes the admin token; bad input answers 400 and changes
 * nothing.
 */
#include "app.h"
#include "codec.h"
#include "conf.h"
#include "db.h"
#include "hmac.h"
#include "jx.h"
#include "kv.h"
#include "log.h"
#include "render.h"
#include "reply.h"
#include "warm.h"
#include "stats.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_CHARS 128
#define TITLE_MAX_CHARS 256
#define DESC_MAX_CHARS 8000
#define IMAGES_MAX 10
#define URL_MAX 512
#define PRICE_MAX 100000000000LL /* a billion in cents */
#define STOCK_MAX 1000000000LL   /* fits the INT columns */
#define LIMIT_MAX 1000000LL
#define ID_MAX (((int64_t)1 << 53) - 1)

/* Answers a 500 or, when the server is gone, a 503 for a failed statement. */
static void
db_fail(struct req *r, const char *what)
{
	if (db_down(r->db)) {
		reply_error(r, FS_E_UNAVAILABLE);
	} else {
		log_err("%s: %u %s", what, db_errno(r->db), db_errstr(r->db));
		reply_error(r, FS_E_INTERNAL);
	}
}

static void
bad(struct req *r, const char *message)
{
	reply_error_msg(r, FS_E_BAD_REQUEST, message);
}

/* Characters (code points) of valid UTF-8 s of n bytes. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

enum { TEXT_OPTIONAL = 0, TEXT_REQUIRED = 1, TEXT_ONE_LINE = 2 };

/* Reads the string field key of o into *out (borrowed). Absent and not
 * required: *out keeps its value. Required means at least one non-space
 * character; one-line text may hold no control characters. Answers 400
 * naming the field otherwise. */
static int
text_or_reply(struct req *r, json_object *o, const char *key, int flags, size_t maxchars,
	      const char **out)
{
	char msg[160];
	const char *s;
	size_t n;
	int blank = 1;

	if (!jx_has(o, key) && !(flags & TEXT_REQUIRED))
		return FS_OK;
	snprintf(msg, sizeof(msg), "%s must be %sUTF-8 text of at most %zu characters", key,
		 (flags & TEXT_REQUIRED) ? "non-empty " : "", maxchars);
	if (jx_str(o, key, maxchars * 4, &s) != FS_OK)
		goto fail;
	n = strlen(s);
	if (utf8_chars(s, n) > maxchars)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			blank = 0;
		if ((flags & TEXT_ONE_LINE) && (c < 0x20 || c == 0x7F)) {
			snprintf(msg, sizeof(msg), "%s may not hold control characters", key);
			goto fail;
		}
	}
	if ((flags & TEXT_REQUIRED) && blank)
		goto fail;
	*out = s;
	return FS_OK;
fail:
	bad(r, msg);
	return FS_ERR;
}

/* jx_int that answers 400 naming the field and its range. */
static int
int_or_reply(struct req *r, json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	char msg[160];

	if (jx_int(o, key, min, max, out) == FS_OK)
		return FS_OK;
	snprintf(msg, sizeof(msg), "%s must be an integer from %lld to %lld", key, (long long)min,
		 (long long)max);
	bad(r, msg);
	return FS_ERR;
}

/* The admin check, then the JSON body. FS_ERR: already answered. */
static int
admin_json_or_reply(struct req *r, json_object **o)
{
	*o = NULL;
	if (req_admin_or_reply(r) != FS_OK)
		return FS_ERR;
	return req_json_or_reply(r, 0, o);
}

/* 1 when url may be shown as an image: our CDN path or an http(s) URL, with
 * nothing a page could misread (spaces, quotes, angle brackets). */
static int
image_url_ok(const char *u, size_t n)
{
	if (n == 0 || n > URL_MAX)
		return 0;
	if (strncmp(u, "/cdn/", 5) != 0 && strncasecmp(u, "https://", 8) != 0 &&
	    strncasecmp(u, "http://", 7) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= 0x20 || c == 0x7F || c == '"' || c == '\'' || c == '<' || c == '>' ||
		    c == '\\' || c == '`')
			return 0;
	}
	return 1;
}

/* Checks the optional "images" array and returns it as compact JSON text in
 * a new array (caller puts *out). Answers 400 when malformed. */
static int
images_or_reply(struct req *r, json_object *o, json_object **out)
{
	json_object *v;
	size_t n;

	*out = json_object_new_array();
	if (!json_object_object_get_ex(o, "images", &v))
		return FS_OK;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > IMAGES_MAX)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(v, i);
		const char *s;
		size_t len;

		if (!json_object_is_type(u, json_type_string))
			goto fail;
		s = json_object_get_string(u);
		len = (size_t)json_object_get_string_len(u);
		if (!fs_utf8_valid(s, len) || !image_url_ok(s, len))
			goto fail;
		json_object_array_add(*out, json_object_new_string_len(s, (int)len));
	}
	return FS_OK;
fail:
	json_object_put(*out);
	*out = NULL;
	bad(r, "images must be an array of at most 10 image URLs (/cdn/... or http(s)://...)");
	return FS_ERR;
}

/* POST /api/admin/items */
static void
post_item(struct req *r)
{
	static const char sql[] =
		"INSERT INTO items (name, title, description, price_cents, stock, images,"
		" created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	json_object *o = NULL, *imgs = NULL, *res;
	const char *name = NULL, *title = "", *desc = "", *imgtext;
	int64_t price, stock, now = fs_now_ms();
	long long id;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (text_or_reply(r, o, "name", TEXT_REQUIRED | TEXT_ONE_LINE, NAME_MAX_CHARS, &name) != FS_OK ||
	    text_or_reply(r, o, "title", TEXT_ONE_LINE, TITLE_MAX_CHARS, &title) != FS_OK ||
	    text_or_reply(r, o, "description", TEXT_OPTIONAL, DESC_MAX_CHARS, &desc) != FS_OK ||
	    int_or_reply(r, o, "price_cents", 1, PRICE_MAX, &price) != FS_OK ||
	    int_or_reply(r, o, "stock", 0, STOCK_MAX, &stock) != FS_OK ||
	    images_or_reply(r, o, &imgs) != FS_OK)
		goto out;
	imgtext = json_object_to_json_string_ext(imgs, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	{
		struct dbv args[] = {DBS(name), DBS(title), DBS(desc), DBI(price), DBI(stock),
				     DBS(imgtext), DBI(now), DBI(now)};

		if (db_exec(r->db, sql, args, 8, NULL, &id) != FS_OK) {
			db_fail(r, "insert item");
			goto out;
		}
	}
	res = json_object_new_object();
	json_object_object_add(res, "item_id", json_object_new_int64(id));
	reply_json(r, 201, res);
	json_object_put(res);
out:
	json_object_put(imgs);
	json_object_put(o);
}

/* GET /api/admin/items: the catalogue, newest first. */
static void
get_items(struct req *r)
{
	static const char sql[] =
		"SELECT id, name, title, description, price_cents, stock, images, created_ms"
		" FROM items ORDER BY id DESC LIMIT 500";
	struct db_rows rows = {0};
	json_object *res = NULL, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	if (db_query(r->db, sql, NULL, 0, &rows) != FS_OK) {
		db_fail(r, "list items");
		goto out;
	}
	res = json_object_new_object();
	arr = json_object_new_array();
	for (int i = 0; i < rows.nrows; i++) {
		json_object *it = json_object_new_object(), *imgs = json_tokener_parse(db_cell(&rows, i, 6));

		if (imgs == NULL || !json_object_is_type(imgs, json_type_array)) {
			json_object_put(imgs);
			imgs = json_object_new_array();
		}
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
	json_object_object_add(res, "items", arr);
	reply_json(r, 200, res);
out:
	json_object_put(res);
	db_rows_free(&rows);
}

/* The image formats we take, told by their first bytes. */
static const struct image_kind {
	const char *ctype, *ext;
} image_kinds[] = {
	{"image/png", "png"},
	{"image/jpeg", "jpg"},
	{"image/webp", "webp"},
};

/* The kind that ctype names (parameters after ';' ignored), or NULL. */
static const struct image_kind *
image_kind_find(const char *ctype)
{
	size_t n;

	if (ctype == NULL)
		return NULL;
	while (*ctype == ' ')
		ctype++;
	n = strcspn(ctype, "; ");
	for (size_t i = 0; i < FS_ARRAY_LEN(image_kinds); i++)
		if (strlen(image_kinds[i].ctype) == n && strncasecmp(ctype, image_kinds[i].ctype, n) == 0)
			return &image_kinds[i];
	return NULL;
}

/* 1 when the n bytes at b start like a file of kind k. */
static int
image_magic_ok(const struct image_kind *k, const unsigned char *b, size_t n)
{
	if (strcmp(k->ext, "png") == 0)
		return n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
	if (strcmp(k->ext, "jpg") == 0)
		return n >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
	return n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0;
}

/* Creates dir unless it exists. FS_OK or FS_ERR (errno set). */
static int
dir_make(const char *dir)
{
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? FS_OK : FS_ERR;
}

/* Writes len bytes to path via a temporary file and rename, so the CDN
 * never serves half an image. FS_OK or FS_ERR. */
static int
file_write(const char *path, const char *data, size_t len)
{
	char tmp[1200];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp, "wb");
	if (f == NULL)
		return FS_ERR;
	ok = fwrite(data, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return FS_ERR;
	}
	return FS_OK;
}

/* POST /api/admin/images: raw image body, stored under its SHA-256 so the
 * same image uploaded twice is one file and its URL never changes. */
static void
post_image(struct req *r)
{
	const struct image_kind *k;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], dir[1024], path[1100], url[128];
	const char *origin = conf_str("origin_dir", "");
	struct stat st;
	json_object *res = NULL;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	k = image_kind_find(req_param(r, "CONTENT_TYPE"));
	if (k == NULL) {
		bad(r, "Content-Type must be image/png, image/jpeg or image/webp");
		goto out;
	}
	if (req_body_or_reply(r) != FS_OK)
		goto out;
	if (r->body_len == 0 || !image_magic_ok(k, (const unsigned char *)r->body, r->body_len)) {
		bad(r, "the body is not an image of its Content-Type");
		goto out;
	}
	if (*origin == '\0') {
		log_err("images: origin_dir is not configured");
		reply_error(r, FS_E_INTERNAL);
		goto out;
	}
	SHA256((const unsigned char *)r->body, r->body_len, md);
	codec_hex_encode(md, SHA256_DIGEST_LENGTH, hex);
	snprintf(dir, sizeof(dir), "%s/img", origin);
	snprintf(path, sizeof(path), "%s/%s.%s", dir, hex, k->ext);
	/* the name is the content: a file of the right size is this image */
	if (stat(path, &st) != 0 || (size_t)st.st_size != r->body_len) {
		if (dir_make(origin) != FS_OK || dir_make(dir) != FS_OK ||
		    file_write(path, r->body, r->body_len) != FS_OK) {
			log_err("images: write %s: %s", path, strerror(errno));
			reply_error(r, FS_E_UNAVAILABLE);
			goto out;
		}
	}
	snprintf(url, sizeof(url), "/cdn/img/%s.%s", hex, k->ext);
	res = json_object_new_object();
	json_object_object_add(res, "url", json_object_new_string(url));
	reply_json(r, 201, res);
out:
	json_object_put(res);
}

/* POST /api/admin/activities */
static void
post_activity(struct req *r)
{
	static const char sql[] =
		"INSERT INTO activities (name, description, start_ms, end_ms, status,"
		" created_ms, updated_ms) VALUES (?, ?, ?, ?, 'draft', ?, ?)";
	json_object *o = NULL, *res;
	const char *name = NULL, *desc = "";
	int64_t start, end, now = fs_now_ms();
	long long id;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (text_or_reply(r, o, "name", TEXT_REQUIRED | TEXT_ONE_LINE, NAME_MAX_CHARS, &name) != FS_OK ||
	    text_or_reply(r, o, "description", TEXT_OPTIONAL, DESC_MAX_CHARS, &desc) != FS_OK ||
	    int_or_reply(r, o, "start_ms", 1, ID_MAX, &start) != FS_OK ||
	    int_or_reply(r, o, "end_ms", 1, ID_MAX, &end) != FS_OK)
		goto out;
	if (end <= start) {
		bad(r, "end_ms must be after start_ms");
		goto out;
	}
	if (end <= now) {
		bad(r, "end_ms is already past");
		goto out;
	}
	{
		struct dbv args[] = {DBS(name), DBS(desc), DBI(start), DBI(end), DBI(now), DBI(now)};

		if (db_exec(r->db, sql, args, 6, NULL, &id) != FS_OK) {
			db_fail(r, "insert activity");
			goto out;
		}
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(id));
	json_object_object_add(res, "status", json_object_new_string("draft"));
	reply_json(r, 201, res);
	json_object_put(res);
out:
	json_object_put(o);
}

/* The activity columns every listing shows, row i of rows from a SELECT of
 * id, name, description, status, start_ms, end_ms, warmed_ms, created_ms,
 * item count. Caller puts the result. */
static json_object *
activity_json(const struct db_rows *rows, int i)
{
	json_object *a = json_object_new_object();

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
	return a;
}

#define ACTIVITY_COLS \
	"SELECT a.id, a.name, a.description, a.status, a.start_ms, a.end_ms, a.warmed_ms," \
	" a.created_ms, (SELECT COUNT(*) FROM activity_items ai WHERE ai.activity_id = a.id)" \
	" FROM activities a "

/* GET /api/admin/activities: newest first, every status. */
static void
get_activities(struct req *r)
{
	static const char sql[] = ACTIVITY_COLS "ORDER BY a.id DESC LIMIT 500";
	struct db_rows rows = {0};
	json_object *res = NULL, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	if (db_query(r->db, sql, NULL, 0, &rows) != FS_OK) {
		db_fail(r, "list activities");
		goto out;
	}
	res = json_object_new_object();
	arr = json_object_new_array();
	for (int i = 0; i < rows.nrows; i++)
		json_object_array_add(arr, activity_json(&rows, i));
	json_object_object_add(res, "activities", arr);
	reply_json(r, 200, res);
out:
	json_object_put(res);
	db_rows_free(&rows);
}

/* GET /api/admin/activities/{aid}: the activity and its items. */
static void
get_activity(struct req *r)
{
	static const char sql[] = ACTIVITY_COLS "WHERE a.id = ?";
	static const char sql_items[] =
		"SELECT ai.item_id, i.name, ai.flash_price_cents, ai.alloc_stock, ai.stock,"
		" ai.per_user_limit, i.price_cents FROM activity_items ai"
		" JOIN items i ON i.id = ai.item_id WHERE ai.activity_id = ? ORDER BY ai.item_id";
	struct dbv args[] = {DBI(r->ids[0])};
	struct db_rows rows = {0}, items = {0};
	json_object *res = NULL, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	if (db_query(r->db, sql, args, 1, &rows) != FS_OK ||
	    db_query(r->db, sql_items, args, 1, &items) != FS_OK) {
		db_fail(r, "read activity");
		goto out;
	}
	if (rows.nrows == 0) {
		reply_error(r, FS_E_NOT_FOUND);
		goto out;
	}
	res = activity_json(&rows, 0);
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
		json_object_array_add(arr, it);
	}
	json_object_object_add(res, "items", arr);
	reply_json(r, 200, res);
out:
	json_object_put(res);
	db_rows_free(&rows);
	db_rows_free(&items);
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

/* POST /api/admin/activities/{aid}/items: locks the units out of the item's
 * own stock and gives them to the sale, all in one transaction. */
static void
post_activity_item(struct req *r)
{
	static const char sql_take[] =
		"UPDATE items SET stock = stock - ?, updated_ms = ? WHERE id = ? AND stock >= ?";
	static const char sql_add[] =
		"INSERT INTO activity_items (activity_id, item_id, flash_price_cents, alloc_stock,"
		" stock, per_user_limit) VALUES (?, ?, ?, ?, ?, ?)";
	static const char sql_touch[] = "UPDATE activities SET updated_ms = ? WHERE id = ?";
	json_object *o = NULL, *res;
	int64_t aid = r->ids[0], iid, price, stock, limit, now = fs_now_ms();
	enum fs_err err;
	const char *msg = NULL;
	long long n;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (int_or_reply(r, o, "item_id", 1, ID_MAX, &iid) != FS_OK ||
	    int_or_reply(r, o, "flash_price_cents", 1, PRICE_MAX, &price) != FS_OK ||
	    int_or_reply(r, o, "stock", 1, STOCK_MAX, &stock) != FS_OK ||
	    int_or_reply(r, o, "per_user_limit", 1, LIMIT_MAX, &limit) != FS_OK)
		goto out;
	if (db_begin(r->db) != FS_OK) {
		db_fail(r, "begin");
		goto out;
	}
	if (activity_item_check(r->db, aid, iid, stock, &err, &msg) != FS_OK) {
		db_rollback(r->db);
		if (err == FS_E_COUNT)
			db_fail(r, "check activity item");
		else
			reply_error_msg(r, err, msg);
		goto out;
	}
	{
		struct dbv take[] = {DBI(stock), DBI(now), DBI(iid), DBI(stock)};
		struct dbv add[] = {DBI(aid), DBI(iid), DBI(price), DBI(stock), DBI(stock), DBI(limit)};
		struct dbv touch[] = {DBI(now), DBI(aid)};

		if (db_exec(r->db, sql_take, take, 4, &n, NULL) != FS_OK || n != 1 ||
		    db_exec(r->db, sql_add, add, 6, NULL, NULL) != FS_OK ||
		    db_exec(r->db, sql_touch, touch, 2, NULL, NULL) != FS_OK ||
		    db_commit(r->db) != FS_OK) {
			int dup = db_errno(r->db) == DB_ER_DUP_ENTRY;

			db_rollback(r->db);
			if (dup)
				reply_error_msg(r, FS_E_CONFLICT, "the item is already in this activity");
			else
				db_fail(r, "add activity item");
			goto out;
		}
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(aid));
	json_object_object_add(res, "item_id", json_object_new_int64(iid));
	reply_json(r, 201, res);
	json_object_put(res);
out:
	json_object_put(o);
}

/* The status of activity aid into buf: 1 found, 0 not, FS_ERR (answered). */
static int
activity_status_or_reply(struct req *r, int64_t aid, char *buf, size_t size, int64_t *nitems)
{
	static const char sql[] =
		"SELECT status, (SELECT COUNT(*) FROM activity_items WHERE activity_id = a.id)"
		" FROM activities a WHERE id = ?";
	struct dbv args[] = {DBI(aid)};
	struct db_rows rows;
	int found;

	if (db_query(r->db, sql, args, 1, &rows) != FS_OK) {
		db_fail(r, "read activity status");
		return FS_ERR;
	}
	found = rows.nrows > 0;
	if (found) {
		snprintf(buf, size, "%s", db_cell(&rows, 0, 0));
		if (nitems)
			*nitems = db_cell_int(&rows, 0, 1);
	} else {
		reply_error_msg(r, FS_E_NOT_FOUND, "no such activity");
	}
	db_rows_free(&rows);
	return found ? 1 : FS_ERR;
}

/* Re-renders the CDN origin's activity JSON; a failure only costs the
 * pages a stale file until the next cron warmup, so it is only logged. */
static void
origin_refresh(struct req *r)
{
	const char *origin = conf_str("origin_dir", "");

	if (*origin && render_origin(r->db, origin, fs_now_ms(), NULL) != FS_OK)
		log_warn("render_origin %s failed", origin);
}

/* POST /api/admin/activities/{aid}/publish: draft -> published; again is a
 * no-op 200 (a retried click), an ended one is 409. */
static void
post_publish(struct req *r)
{
	static const char sql[] =
		"UPDATE activities SET status = 'published', updated_ms = ?"
		" WHERE id = ? AND status = 'draft'";
	struct dbv args[] = {DBI(fs_now_ms()), DBI(r->ids[0])};
	char status[16];
	int64_t nitems = 0;
	json_object *res = NULL;

	if (req_admin_or_reply(r) != FS_OK ||
	    activity_status_or_reply(r, r->ids[0], status, sizeof(status), &nitems) != 1)
		goto out;
	if (strcmp(status, "ended") == 0) {
		reply_error_msg(r, FS_E_CONFLICT, "the activity has ended");
		goto out;
	}
	if (strcmp(status, "draft") == 0) {
		if (nitems == 0) {
			reply_error_msg(r, FS_E_CONFLICT, "an activity needs an item to be published");
			goto out;
		}
		if (db_exec(r->db, sql, args, 2, NULL, NULL) != FS_OK) {
			db_fail(r, "publish");
			goto out;
		}
		origin_refresh(r);
	}
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "status", json_object_new_string("published"));
	reply_json(r, 200, res);
out:
	json_object_put(res);
}

/* POST /api/admin/activities/{aid}/warmup: what the cron warmup does an
 * hour before the start, now. A draft is not for sale: 409. */
static void
post_warmup(struct req *r)
{
	char status[16];
	json_object *res = NULL;
	int n;

	if (req_admin_or_reply(r) != FS_OK ||
	    activity_status_or_reply(r, r->ids[0], status, sizeof(status), NULL) != 1)
		goto out;
	if (strcmp(status, "draft") == 0) {
		reply_error_msg(r, FS_E_CONFLICT, "publish the activity before warming it up");
		goto out;
	}
	n = warm_activity(r->kv, r->db, r->ids[0]);
	if (n < 0) {
		if (kv_down(r->kv) || db_down(r->db)) {
			reply_error(r, FS_E_UNAVAILABLE);
		} else {
			log_err("warm_activity %lld failed", (long long)r->ids[0]);
			reply_error(r, FS_E_INTERNAL);
		}
		goto out;
	}
	origin_refresh(r);
	res = json_object_new_object();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "warmed", json_object_new_boolean(1));
	json_object_object_add(res, "items", json_object_new_int(n));
	reply_json(r, 200, res);
out:
	json_object_put(res);
}

/* GET /api/admin/activities/{aid}/stats: per item, the units allocated,
 * left in Redis, queued there, and in MySQL orders by state (stats.c, which
 * the push hub's operator stream shares). */
static void
get_stats(struct req *r)
{
	json_object *res = NULL, *arr;
	char status[16];
	int rc;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	if (activity_status_or_reply(r, r->ids[0], status, sizeof(status), NULL) != 1)
		goto out;
	res = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(res, "activity_id", json_object_new_int64(r->ids[0]));
	json_object_object_add(res, "status", json_object_new_string(status));
	json_object_object_add(res, "items", arr);
	rc = stats_items(r->db, r->kv, r->ids[0], arr, NULL);
	if (rc == STATS_DB_FAILED)
		db_fail(r, "stats");
	else if (rc == STATS_KV_FAILED)
		reply_error(r, FS_E_UNAVAILABLE);
	else
		reply_json(r, 200, res);
out:
	json_object_put(res);
}

/* Not const: init() sets the image route's body limit from the config. */
static struct route routes[] = {
	{"POST", "/api/admin/items", post_item, 0},
	{"GET", "/api/admin/items", get_items, 0},
	{"POST", "/api/admin/images", post_image, 0},
	{"POST", "/api/admin/activities", post_activity, 0},
	{"GET", "/api/admin/activities", get_activities, 0},
	{"GET", "/api/admin/activities/#", get_activity, 0},
	{"POST", "/api/admin/activities/#/items", post_activity_item, 0},
	{"POST", "/api/admin/activities/#/publish", post_publish, 0},
	{"POST", "/api/admin/activities/#/warmup", post_warmup, 0},
	{"GET", "/api/admin/activities/#/stats", get_stats, 0},
};

static int
admin_init(struct req *proto)
{
	int64_t max = conf_int("image_max_bytes", 2 * 1024 * 1024);

	(void)proto;
	for (size_t i = 0; i < FS_ARRAY_LEN(routes); i++)
		if (routes[i].fn == post_image)
			routes[i].body_max = max > 0 ? (size_t)max : REQ_BODY_MAX;
	return FS_OK;
}

int
main(void)
{
	static const struct app app = {"admin", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB,
				       admin_init, NULL, NULL};

	return app_main(&app);
}
