/*
 * fuzz_json: a request body through req_json_or_reply (size limit, UTF-8,
 * json-c tokener with the depth limit, one object and nothing after it) and
 * the jx_* field readers, on a fake FastCGI request.
 */
#include "app.h"
#include "fakefcgi.h"
#include "jx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_fcgi f;
	struct req r;
	char cl[48];
	char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/order", cl, NULL};
	json_object *o;

	/* a CONTENT_LENGTH that lies now and then: the body is cut short */
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", size + (size % 7 == 3));
	fake_fcgi_init(&f, env, data, size);
	if (req_init(&r, &f.req) != FS_OK)
		abort();
	if (req_json_or_reply(&r, size % 2, &o) == FS_OK) {
		static const char *keys[] = {"activity_id", "item_id", "quantity", "secret",
					     "username", "password", "images", ""};
		if (!json_object_is_type(o, json_type_object) || r.status != 0)
			abort();
		for (size_t i = 0; i < FS_ARRAY_LEN(keys); i++) {
			int64_t v;
			const char *s;

			if (jx_id(o, keys[i], &v) == FS_OK && (v <= 0 || v >= ((int64_t)1 << 53)))
				abort();
			if (jx_int(o, keys[i], -5, 5, &v) == FS_OK && (v < -5 || v > 5))
				abort();
			if (jx_str(o, keys[i], 16, &s) == FS_OK &&
			    (strlen(s) > 16 || !fs_utf8_valid(s, strlen(s))))
				abort();
			(void)jx_has(o, keys[i]);
		}
		/* what we parsed we can print and parse again */
		json_object *again = json_tokener_parse(json_object_to_json_string(o));
		if (again == NULL)
			abort();
		json_object_put(again);
		json_object_put(o);
	} else if (r.status != 400 && r.status != 413) {
		abort();
	}
	req_cleanup(&r);
	return 0;
}
