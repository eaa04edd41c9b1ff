/*
 * jx.c: reading typed fields out of a parsed JSON request body, strictly
 * (an integer is a JSON integer in range, a string is valid UTF-8 within
 * its length), so that handlers validate in one line per field.
 */
#include "jx.h"
#include "fs.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

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
jx_text_or_reply(struct req *r, json_object *o, const char *key, int flags, size_t maxchars,
		 const char **out)
{
	char msg[160];
	const char *s;
	size_t n;
	int blank = 1;

	if (!jx_has(o, key) && !(flags & JX_TEXT_REQUIRED))
		return FS_OK;
	snprintf(msg, sizeof(msg), "%s must be %sUTF-8 text of at most %zu characters", key,
		 (flags & JX_TEXT_REQUIRED) ? "non-empty " : "", maxchars);
	if (jx_str(o, key, maxchars * 4, &s) != FS_OK)
		goto fail;
	n = strlen(s);
	if (utf8_chars(s, n) > maxchars)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			blank = 0;
		if ((flags & JX_TEXT_ONE_LINE) && (c < 0x20 || c == 0x7F)) {
			snprintf(msg, sizeof(msg), "%s may not hold control characters", key);
			goto fail;
		}
	}
	if ((flags & JX_TEXT_REQUIRED) && blank)
		goto fail;
	*out = s;
	return FS_OK;
fail:
	reply_error_msg(r, FS_E_BAD_REQUEST, msg);
	return FS_ERR;
}

/* jx_int that answers 400 naming the field and its range. */
int
jx_int_or_reply(struct req *r, json_object *o, const char *key, int64_t min, int64_t max,
		int64_t *out)
{
	char msg[160];

	if (jx_int(o, key, min, max, out) == FS_OK)
		return FS_OK;
	snprintf(msg, sizeof(msg), "%s must be an integer from %lld to %lld", key, (long long)min,
		 (long long)max);
	reply_error_msg(r, FS_E_BAD_REQUEST, msg);
	return FS_ERR;
}
