/*
 * jx.c: reading typed fields out of a parsed JSON request body, strictly
 * (an integer is a JSON integer in range, a string is valid UTF-8 within
 * its length), so that handlers validate in one line per field.
 */
#include "jx.h"
#include "fs.h"

int
jx_has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

int
jx_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;
	int64_t n;

	/* only a JSON integer: "5", 5.0 and 1e400 are all refused */
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return FS_ERR;
	n = json_object_get_int64(v);
	/* json-c clamps values past int64 to the limits: treat those as out of range */
	if (n == INT64_MAX || n == INT64_MIN || n < min || n > max)
		return FS_ERR;
	*out = n;
	return FS_OK;
}

int
jx_id(json_object *o, const char *key, int64_t *out)
{
	return jx_int(o, key, 1, FS_ID_MAX, out);
}

int
jx_str(json_object *o, const char *key, size_t maxlen, const char **out)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return FS_ERR;
	n = (size_t)json_object_get_string_len(v);
	if (n > maxlen || !fs_utf8_valid(json_object_get_string(v), n))
		return FS_ERR;
	*out = json_object_get_string(v);
	return FS_OK;
}
