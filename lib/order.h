/*
 * order.h: an order as it travels: the line format shared by the Redis
 * journal and the ZeroMQ queue, the state names, and its JSON for the API.
 */
#ifndef FS_ORDER_H
#define FS_ORDER_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

enum order_status {
	ORDER_QUEUED,
	ORDER_UNPAID,
	ORDER_PAID,
	ORDER_CLOSED,
	ORDER_CANCELLED,
	ORDER_FAILED,
	ORDER_NSTATUS
};

struct order {
	int64_t id;
	int64_t user_id;
	int64_t activity_id;
	int64_t item_id;
	int64_t quantity;
	int64_t amount_cents;
	int64_t created_ms;
	int64_t pay_deadline_ms; /* 0 until the order is unpaid */
	enum order_status status;
};

#define ORDER_LINE_MAX 192

/* "id user activity item quantity amount created_ms" in decimal. Returns
 * the length written into buf (ORDER_LINE_MAX bytes). */
size_t order_encode(const struct order *o, char buf[ORDER_LINE_MAX]);
/* Parses a line made by order_encode (len bytes, need not be NUL-terminated).
 * The status is set to ORDER_QUEUED. FS_OK or FS_ERR. */
int order_decode(const char *line, size_t len, struct order *o);

const char *order_status_name(enum order_status s);
/* FS_OK and *s, or FS_ERR for an unknown name. */
int order_status_parse(const char *name, enum order_status *s);
/* 1 for the states that hold stock (queued, unpaid, paid). */
int order_status_live(enum order_status s);

/* The API object of API.md ("order_id" as a string). Caller puts it. */
json_object *order_to_json(const struct order *o);
/* Parses what order_to_json wrote (the Redis status record). */
int order_from_json(const char *s, size_t len, struct order *o);

#endif
