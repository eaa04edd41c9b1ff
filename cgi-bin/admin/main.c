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
	{"POST", "/api/admin/blocklist", post_blocklist, 0},
	{"GET", "/api/admin/blocklist", get_blocklist, 0},
	{"DELETE", "/api/admin/blocklist/*", delete_blocklist, 0},
	{"POST", "/api/admin/rains", post_rain, 0},
	{"GET", "/api/admin/rains", get_rains, 0},
	{"POST", "/api/admin/rains/#/publish", post_rain_publish, 0},
	{"POST", "/api/admin/rains/#/warmup", post_rain_warmup, 0},
	{"GET", "/api/admin/rains/#/stats", get_rain_stats, 0},
	{"POST", "/api/admin/rains/#/bans", post_rain_ban, 0},
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
