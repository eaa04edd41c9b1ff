/*
 * reply.h: writing answers to a request: JSON bodies, the API error table
 * (fs.h), 429 and 204. Only the HTTP layer (cgi-bin/ and the lib files of
 * the HTTP group) calls these.
 */
#ifndef FS_REPLY_H
#define FS_REPLY_H

#include <json-c/json.h>
#include <stddef.h>

#include "fs.h"

struct req;

/* Replies. Each sets r->status. The body is JSON unless said otherwise. */
void reply_json(struct req *r, int status, json_object *body);   /* puts nothing */
/* reply_json, then puts body: reply_json_put(r, 200, order_to_json(o)). */
void reply_json_put(struct req *r, int status, json_object *body);
void reply_raw(struct req *r, int status, const char *ctype, const char *body, size_t len,
	       const char *extra_headers);
void reply_error(struct req *r, enum fs_err err);
void reply_error_msg(struct req *r, enum fs_err err, const char *message);
/* 429 with Retry-After: seconds. */
void reply_rate_limited(struct req *r, int retry_after_s);
/* 503 unavailable with Retry-After: seconds (load shedding, an open
 * breaker): the request had no effect. */
void reply_shed(struct req *r, int retry_after_s);
/* 204 No Content. */
void reply_empty(struct req *r);

#endif
