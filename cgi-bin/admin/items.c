/*
 * admin/items.c: the catalogue: items (POST, GET /api/admin/items) and
 * their images (POST /api/admin/images), stored under their SHA-256 for the
 * CDN origin.
 */
#include "admin.h"
#include "codec.h"
#include "conf.h"
#include "conf_keys.h"
#include "db_admin.h"
#include "fs.h"
#include "jx.h"
#include "log.h"
#include "reply.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
	admin_bad(r, "images must be an array of at most 10 image URLs (/cdn/... or http(s)://...)");
	return FS_ERR;
}

/* POST /api/admin/items */
void
post_item(struct req *r)
{
	json_object *o = NULL, *imgs = NULL, *res;
	const char *name = NULL, *title = "", *desc = "";
	int64_t price, stock, id;
	struct db_admin_item it;

	if (admin_json_or_reply(r, &o) != FS_OK)
		goto out;
	if (jx_text_or_reply(r, o, "name", JX_TEXT_REQUIRED | JX_TEXT_ONE_LINE, NAME_MAX_CHARS, &name) != FS_OK ||
	    jx_text_or_reply(r, o, "title", JX_TEXT_ONE_LINE, TITLE_MAX_CHARS, &title) != FS_OK ||
	    jx_text_or_reply(r, o, "description", JX_TEXT_OPTIONAL, DESC_MAX_CHARS, &desc) != FS_OK ||
	    jx_int_or_reply(r, o, "price_cents", 1, PRICE_MAX, &price) != FS_OK ||
	    jx_int_or_reply(r, o, "stock", 0, STOCK_MAX, &stock) != FS_OK ||
	    images_or_reply(r, o, &imgs) != FS_OK)
		goto out;
	it = (struct db_admin_item){name, title, desc, price, stock,
				    json_object_to_json_string_ext(imgs, JSON_C_TO_STRING_PLAIN |
									 JSON_C_TO_STRING_NOSLASHESCAPE)};
	if (db_admin_item_add(r->db, &it, fs_now_ms(), &id) != FS_OK) {
		admin_db_fail(r, "insert item");
		goto out;
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
void
get_items(struct req *r)
{
	json_object *res, *arr;

	if (req_admin_or_reply(r) != FS_OK)
		return;
	if (db_admin_items(r->db, &arr) != FS_OK) {
		admin_db_fail(r, "list items");
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "items", arr);
	reply_json(r, 200, res);
	json_object_put(res);
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
void
post_image(struct req *r)
{
	const struct image_kind *k;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], dir[1024], path[1100], url[128];
	const char *origin = conf_keys_str(CONF_ORIGIN_DIR) ? conf_keys_str(CONF_ORIGIN_DIR) : "";
	struct stat st;
	json_object *res = NULL;

	if (req_admin_or_reply(r) != FS_OK)
		goto out;
	k = image_kind_find(req_param(r, "CONTENT_TYPE"));
	if (k == NULL) {
		admin_bad(r, "Content-Type must be image/png, image/jpeg or image/webp");
		goto out;
	}
	if (req_body_or_reply(r) != FS_OK)
		goto out;
	if (r->body_len == 0 || !image_magic_ok(k, (const unsigned char *)r->body, r->body_len)) {
		admin_bad(r, "the body is not an image of its Content-Type");
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
