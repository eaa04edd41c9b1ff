/*
 * render.c: page staticization: the public activity JSON of render.h,
 * rendered from MySQL's rows (db_sale_origin_rows) and written atomically
 * into the CDN origin folder.
 */
#include "render.h"
#include "db.h"
#include "db_sale.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_object *
s_str(const struct db_rows *rows, int row, int col)
{
	const char *s = db_cell(rows, row, col);

	return json_object_new_string(s ? s : "");
}

static json_object *
s_int(const struct db_rows *rows, int row, int col)
{
	return json_object_new_int64(db_cell_int(rows, row, col));
}

json_object *
render_activity_json(int64_t aid, const char *name, const char *description, int64_t start_ms,
		     int64_t end_ms)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "activity_id", json_object_new_int64(aid));
	json_object_object_add(o, "name", json_object_new_string(name ? name : ""));
	json_object_object_add(o, "description",
			       json_object_new_string(description ? description : ""));
	json_object_object_add(o, "start_ms", json_object_new_int64(start_ms));
	json_object_object_add(o, "end_ms", json_object_new_int64(end_ms));
	return o;
}

static json_object *
s_activity(const struct db_rows *rows, int row)
{
	json_object *o = render_activity_json(db_cell_int(rows, row, DB_SALE_O_AID),
					      db_cell(rows, row, DB_SALE_O_ANAME),
					      db_cell(rows, row, DB_SALE_O_ADESC),
					      db_cell_int(rows, row, DB_SALE_O_START),
					      db_cell_int(rows, row, DB_SALE_O_END));

	json_object_object_add(o, "status", s_str(rows, row, DB_SALE_O_STATUS));
	json_object_object_add(o, "items", json_object_new_array());
	return o;
}

static json_object *
s_item(const struct db_rows *rows, int row)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "activity_id", s_int(rows, row, DB_SALE_O_AID));
	json_object_object_add(o, "item_id", s_int(rows, row, DB_SALE_O_IID));
	json_object_object_add(o, "name", s_str(rows, row, DB_SALE_O_INAME));
	json_object_object_add(o, "title", s_str(rows, row, DB_SALE_O_TITLE));
	json_object_object_add(o, "description", s_str(rows, row, DB_SALE_O_IDESC));
	json_object_object_add(o, "images", db_sale_images_json(db_cell(rows, row, DB_SALE_O_IMAGES)));
	json_object_object_add(o, "price_cents", s_int(rows, row, DB_SALE_O_PRICE));
	json_object_object_add(o, "flash_price_cents", s_int(rows, row, DB_SALE_O_FLASH));
	json_object_object_add(o, "per_user_limit", s_int(rows, row, DB_SALE_O_LIMIT));
	json_object_object_add(o, "start_ms", s_int(rows, row, DB_SALE_O_START));
	json_object_object_add(o, "end_ms", s_int(rows, row, DB_SALE_O_END));
	json_object_object_add(o, "stock", s_int(rows, row, DB_SALE_O_ALLOC));
	return o;
}

/* Writes {"key": val} to path (render_file_put). Borrows val. */
static int
s_put_wrapped(const char *path, const char *key, json_object *val, int *changed)
{
	json_object *top = json_object_new_object();
	const char *text;
	size_t len;
	int rc;

	json_object_object_add(top, key, json_object_get(val));
	text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	rc = render_file_put(path, text, len);
	json_object_put(top);
	if (rc == 1 && changed != NULL)
		(*changed)++;
	return rc < 0 ? FS_ERR : FS_OK;
}

static int
s_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return FS_OK;
	log_err("mkdir %s: %s", path, strerror(errno));
	return FS_ERR;
}

int
render_origin(struct db *d, const char *dir, int64_t now_ms, int *changed)
{
	struct db_rows rows;
	json_object *list = NULL;
	json_object *cur = NULL;
	char sub[PATH_MAX], path[PATH_MAX + 32];
	long long cur_aid = 0;
	int rc = FS_ERR;

	if (changed != NULL)
		*changed = 0;
	if (db_sale_origin_rows(d, now_ms, &rows) != FS_OK) {
		log_err("render: list activities: %s", db_errstr(d));
		return FS_ERR;
	}
	if (snprintf(sub, sizeof(sub), "%s/activity", dir) >= (int)sizeof(sub) - 32) {
		log_err("render: origin_dir %s is too long", dir);
		goto out;
	}
	if (s_mkdir(dir) != FS_OK || s_mkdir(sub) != FS_OK)
		goto out;

	list = json_object_new_array();
	for (int row = 0; row < rows.nrows; row++) {
		long long aid = db_cell_int(&rows, row, DB_SALE_O_AID);

		if (cur == NULL || aid != cur_aid) {
			cur = s_activity(&rows, row);
			cur_aid = aid;
			json_object_array_add(list, cur);
		}
		if (db_cell(&rows, row, DB_SALE_O_IID) != NULL && db_cell(&rows, row, DB_SALE_O_INAME) != NULL) {
			json_object *items = NULL;

			json_object_object_get_ex(cur, "items", &items);
			json_object_array_add(items, s_item(&rows, row));
		}
		/* the last row of a warmed activity: its own file, complete now */
		if (db_cell(&rows, row, DB_SALE_O_WARMED) != NULL &&
		    (row + 1 == rows.nrows || db_cell_int(&rows, row + 1, DB_SALE_O_AID) != aid)) {
			snprintf(path, sizeof(path), "%s/%lld.json", sub, aid);
			if (s_put_wrapped(path, "activity", cur, changed) != FS_OK)
				goto out;
		}
	}
	snprintf(path, sizeof(path), "%s/activities.json", dir);
	if (s_put_wrapped(path, "activities", list, changed) != FS_OK)
		goto out;
	rc = FS_OK;
out:
	json_object_put(list);
	db_rows_free(&rows);
	return rc;
}

/* 1 when the file at path holds exactly the len bytes at data. */
static int
s_same(const char *path, const char *data, size_t len)
{
	char buf[8192];
	size_t off = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int same = 1;

	if (fd < 0)
		return 0;
	while (same && (n = read(fd, buf, sizeof(buf))) > 0) {
		if ((size_t)n > len - off || memcmp(buf, data + off, (size_t)n) != 0)
			same = 0;
		else
			off += (size_t)n;
	}
	if (n < 0)
		same = 0;
	close(fd);
	return same && off == len;
}

int
render_file_put(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	int fd, saved;

	if (s_same(path, data, len))
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		log_err("render %s: path too long", path);
		return FS_ERR;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("open %s: %s", tmp, strerror(errno));
		return FS_ERR;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	/* the data is on disk before the name points at it */
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 1;
fail:
	saved = errno;
	log_err("write %s: %s", path, strerror(saved));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return FS_ERR;
}
