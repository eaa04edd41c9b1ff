/*
 * fuzz_order: the order line codec (journal and queue) and the status
 * record's JSON: decode anything, and encode/decode round trips.
 */
#include "fs.h"
#include "order.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct order o, o2;
	char line[ORDER_LINE_MAX];
	size_t n;

	if (order_decode((const char *)data, size, &o) == FS_OK) {
		n = order_encode(&o, line);
		if (n == 0 || n >= ORDER_LINE_MAX || order_decode(line, n, &o2) != FS_OK ||
		    memcmp(&o, &o2, sizeof(o)) != 0)
			abort();
		/* a line decodes only from its one canonical form (a NUL
		 * inside the line is refused, not read as its end) */
		if (n != size || memcmp(line, data, n) != 0)
			abort();
		json_object *j = order_to_json(&o);
		const char *s = json_object_to_json_string(j);
		if (order_from_json(s, strlen(s), &o2) != FS_OK || o2.id != o.id ||
		    o2.user_id != o.user_id || o2.quantity != o.quantity)
			abort();
		json_object_put(j);
	}
	if (order_from_json((const char *)data, size, &o) == FS_OK &&
	    (o.id <= 0 || (unsigned)o.status >= ORDER_NSTATUS))
		abort();
	return 0;
}
