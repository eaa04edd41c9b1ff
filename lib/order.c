/*
 * order.c: order line codec, state names and the order's JSON.
 */
#include "order.h"
#include "fs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_names[ORDER_NSTATUS] = {
	"queued", "unpaid", "paid", "closed", "cancelled", "failed",
};

size_t
order_encode(const struct order *o, char buf[ORDER_LINE_MAX])
{
	int n = snprintf(buf, ORDER_LINE_MAX, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
			 " %" PRId64 " %" PRId64 " %" PRId64,
			 o->id, o->user_id, o->activity_id, o->item_id, o->quantity,
			 o->amount_cents, o->created_ms);
	return n < 0 ? 0 : (size_t)n;
}

int
order_decode(const char *line, size_t len, struct order *o)
{
	char buf[ORDER_LINE_MAX], *p, *end;
	int64_t v[7];

	if (len == 0 || len >= sizeof(buf) || memchr(line, '\0', len) != NULL)
		return FS_ERR;
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf;
	for (int i = 0; i < 7; i++) {
		char tmp[24];
		size_t n;

		end = strchr(p, ' ');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || n >= sizeof(tmp) || (i < 6) != (end != NULL))
			return FS_ERR;
		memcpy(tmp, p, n);
		tmp[n] = '\0';
		if (fs_parse_u63(tmp, &v[i]) != FS_OK)
			return FS_ERR;
		p = end ? end + 1 : p + n;
	}
	memset(o, 0, sizeof(*o));
	o->id = v[0];
	o->user_id = v[1];
	o->activity_id = v[2];
	o->item_id = v[3];
	o->quantity = v[4];
	o->amount_cents = v[5];
	o->created_ms = v[6];
	o->status = ORDER_QUEUED;
	return FS_OK;
}

const char *
order_status_name(enum order_status s)
{
	return (unsigned)s < ORDER_NSTATUS ? status_names[s] : "unknown";
}

int
order_status_parse(const char *name, enum order_status *s)
{
	for (int i = 0; i < ORDER_NSTATUS; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*s = (enum order_status)i;
			return FS_OK;
		}
	}
	return FS_ERR;
}

int
order_status_live(enum order_status s)
{
	return s == ORDER_QUEUED || s == ORDER_UNPAID || s == ORDER_PAID;
}

json_object *
order_to_json(const struct order *o)
{
	json_object *j = json_object_new_object();
	char id[24];

	snprintf(id, sizeof(id), "%" PRId64, o->id);
	json_object_object_add(j, "order_id", json_object_new_string(id));
	json_object_object_add(j, "activity_id", json_object_new_int64(o->activity_id));
	json_object_object_add(j, "item_id", json_object_new_int64(o->item_id));
	json_object_object_add(j, "quantity", json_object_new_int64(o->quantity));
	json_object_object_add(j, "amount_cents", json_object_new_int64(o->amount_cents));
	json_object_object_add(j, "status", json_object_new_string(order_status_name(o->status)));
	json_object_object_add(j, "created_ms", json_object_new_int64(o->created_ms));
	json_object_object_add(j, "pay_deadline_ms",
			       o->pay_deadline_ms ? json_object_new_int64(o->pay_deadline_ms)
						  : NULL);
	json_object_object_add(j, "user_id", json_object_new_int64(o->user_id));
	return j;
}

static int64_t
get_i64(json_object *j, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(j, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		int64_t n = 0;

		return fs_parse_u63(json_object_get_string(v), &n) == FS_OK ? n : 0;
	}
	return json_object_get_int64(v);
}

int
order_from_json(const char *s, size_t len, struct order *o)
{
	json_tokener *tok = json_tokener_new_ex(4);
	json_object *j, *st;
	int rc = FS_ERR;

	if (tok == NULL)
		return FS_ERR;
	j = json_tokener_parse_ex(tok, s, (int)len);
	json_tokener_free(tok);
	if (j == NULL || !json_object_is_type(j, json_type_object))
		goto out;
	memset(o, 0, sizeof(*o));
	o->id = get_i64(j, "order_id");
	o->user_id = get_i64(j, "user_id");
	o->activity_id = get_i64(j, "activity_id");
	o->item_id = get_i64(j, "item_id");
	o->quantity = get_i64(j, "quantity");
	o->amount_cents = get_i64(j, "amount_cents");
	o->created_ms = get_i64(j, "created_ms");
	o->pay_deadline_ms = get_i64(j, "pay_deadline_ms");
	if (!json_object_object_get_ex(j, "status", &st) || st == NULL ||
	    order_status_parse(json_object_get_string(st), &o->status) != FS_OK || o->id <= 0)
		goto out;
	rc = FS_OK;
out:
	json_object_put(j);
	return rc;
}
