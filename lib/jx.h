/*
 * jx.h: JSON field readers for request bodies, and the validators that
 * answer 400 themselves (admin's fields).
 */
#ifndef FS_JX_H
#define FS_JX_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* JSON field readers: FS_OK and the value, or FS_ERR when absent or of the
 * wrong type or range. Strings are borrowed from o. */
int jx_id(json_object *o, const char *key, int64_t *out);
int jx_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out);
int jx_str(json_object *o, const char *key, size_t maxlen, const char **out);
/* 1 when key is present (with any value, null included). */
int jx_has(json_object *o, const char *key);

/* The validators of the HTTP layer: the readers above that answer 400
 * naming the field (and its range or length) themselves; FS_ERR: answered.
 * jx_text_or_reply: the string field key, at most maxchars characters of
 * UTF-8; absent and not JX_TEXT_REQUIRED leaves *out as it was. */
enum { JX_TEXT_OPTIONAL = 0, JX_TEXT_REQUIRED = 1, JX_TEXT_ONE_LINE = 2 };
struct req;
int jx_text_or_reply(struct req *r, json_object *o, const char *key, int flags, size_t maxchars,
		     const char **out);
int jx_int_or_reply(struct req *r, json_object *o, const char *key, int64_t min, int64_t max,
		    int64_t *out);

#endif
