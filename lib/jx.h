/*
 * jx.h: JSON field readers for request bodies.
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

#endif
