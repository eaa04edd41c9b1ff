/*
 * admin: the catalogue and activity routes of API.md (/api/admin/...):
 * items and images (items.c), activities, their items, publish and warmup
 * (activities.c) and stats (stats.c). Low traffic, so MySQL is the source
 * of truth and every answer is read fresh. Every route takes the admin
 * token; bad input answers 400 and changes nothing. This file: the routes
 * and the field readers every route uses.
 */
#include "admin.h"
#include "app.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "fs.h"
#include "jx.h"
#include "log.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

/* Answers a 500 or, when the server is gone, a 503 for a failed statement. */
void
admin_db_fail(struct req *r, const char *what)
{
	if (db_down(r->db)) {
		reply_error(r, FS_E_UNAVAILABLE);
	} else {
		log_err("%s: %u %s", what, db_errno(r->db), db_errstr(r->db));
		reply_error(r, FS_E_INTERNAL);
	}
}

void
admin_bad(struct req *r, const char *message)
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

/* Reads the string field key of o into *out (borrowed). Absent and not
 * required: *out keeps its value. Required means at least one non-space
 * character; one-line text may hold no control characters. Answers 400
 * naming the field otherwise. */
int
admin_text_or_reply(struct req *r, json_object *o, const char *key, int flags, size_t maxchars,
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
	admin_bad(r, msg);
	return FS_ERR;
}

/* jx_int that answers 400 naming the field and its range. */
int
admin_int_or_reply(struct req *r, json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	char msg[160];

	if (jx_int(o, key, min, max, out) == FS_OK)
		return FS_OK;
	snprintf(msg, sizeof(msg), "%s must be an integer from %lld to %lld", key, (long long)min,
		 (long long)max);
	admin_bad(r, msg);
	return FS_ERR;
}

/* The admin check, then the JSON body. FS_ERR: already answered. */
int
admin_json_or_reply(struct req *r, json_object **o)
{
	*o = NULL;
	if (req_admin_or_reply(r) != FS_OK)
		return FS_ERR;
	return req_json_or_reply(r, 0, o);
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
	int64_t max = conf_keys_int(CONF_IMAGE_MAX_BYTES);

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
