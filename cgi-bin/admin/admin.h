/*
 * admin.h: what the files of the admin program share: the limits of the
 * fields, the answers to bad input and failed statements, and the routes.
 */
#ifndef FS_ADMIN_H
#define FS_ADMIN_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "jx.h"
#include "req.h"

#define NAME_MAX_CHARS 128
#define TITLE_MAX_CHARS 256
#define DESC_MAX_CHARS 8000
#define IMAGES_MAX 10
#define URL_MAX 512
#define PRICE_MAX 100000000000LL /* a billion in cents */
#define STOCK_MAX 1000000000LL   /* fits the INT columns */
#define LIMIT_MAX 1000000LL

/* main.c: answers and the admin check (the field validators are jx.h's) */
void admin_db_fail(struct req *r, const char *what);
void admin_bad(struct req *r, const char *message);
int admin_json_or_reply(struct req *r, json_object **o);

/* items.c */
void post_item(struct req *r);
void get_items(struct req *r);
void post_image(struct req *r);

/* activities.c */
int admin_status_or_reply(struct req *r, int64_t aid, char *buf, size_t size, int64_t *nitems);
void post_activity(struct req *r);
void get_activities(struct req *r);
void get_activity(struct req *r);
void post_activity_item(struct req *r);
void post_publish(struct req *r);
void post_warmup(struct req *r);

/* stats.c */
void get_stats(struct req *r);

/* blocklist.c */
void post_blocklist(struct req *r);
void delete_blocklist(struct req *r);
void get_blocklist(struct req *r);
/* rains.c */
void post_rain(struct req *r);
void get_rains(struct req *r);
void post_rain_publish(struct req *r);
void post_rain_warmup(struct req *r);
void get_rain_stats(struct req *r);
void post_rain_ban(struct req *r);

#endif
