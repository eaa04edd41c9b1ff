/*
 * fuzz_route: request path splitting, route matching with id captures and
 * query decoding (req_init, route_dispatch, req_query) on a fake FastCGI
 * request. Input: one method byte, the REQUEST_URI up to a newline, then the
 * body (read by the JSON handler).
 */
#include "app.h"
#include "fakefcgi.h"
#include "jx.h"
#include "reply.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
h_query(struct req *r)
{
	static const char *names[] = {"activity_id", "item_id", "a", "", "x=y", "%41"};
	char small[4], big[REQ_PATH_MAX];

	for (size_t i = 0; i < FS_ARRAY_LEN(names); i++) {
		int64_t id;
		int rc = req_query(r, names[i], big, sizeof(big));

		if (rc == 1 && strlen(big) >= sizeof(big))
			abort();
		if (rc == 1)
			(void)fs_parse_id(big, &id);
		rc = req_query(r, names[i], small, sizeof(small));
		if (rc == 1 && strlen(small) >= sizeof(small))
			abort();
	}
	for (int i = 0; i < r->nids; i++)
		if (r->ids[i] <= 0)
			abort();
	reply_empty(r);
}

static void
h_json(struct req *r)
{
	json_object *o;
	const char *s;
	int64_t v;

	if (req_json_or_reply(r, 1, &o) != FS_OK)
		return;
	(void)jx_id(o, "activity_id", &v);
	(void)jx_int(o, "quantity", 1, 10, &v);
	(void)jx_str(o, "secret", 64, &s);
	json_object_put(o);
	reply_empty(r);
}

static void
h_nothing(struct req *r)
{
	(void)r; /* no reply: route_dispatch must answer 500 itself */
}

static const struct route routes[] = {
	{"GET", "/api/detail", h_query, 0},
	{"GET", "/api/detail/#", h_query, 0},
	{"GET", "/api/detail/#/#", h_query, 0},
	{"GET", "/api/detail/#/#/secret", h_query, 0},
	{"POST", "/api/order", h_json, 0},
	{"POST", "/api/order/$/cancel", h_json, 0},
	{"GET", "/api/order-status", h_query, 0},
	{"GET", "/api/order-status/$", h_query, 0},
	{"POST", "/api/pay/$", h_json, 0},
	{"POST", "/api/admin/activities/#/items", h_json, 128},
	{"GET", "/api/#/#/#/#/#/#", h_query, 0},
	{"PUT", "/api/nothing", h_nothing, 0},
};

static const char *methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "", "get"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_fcgi f;
	struct req r;
	char method[32], cl[48], *uri, *env[5];
	const uint8_t *nl, *body;
	size_t ulen, blen;

	if (size < 1)
		return 0;
	snprintf(method, sizeof(method), "REQUEST_METHOD=%s", methods[data[0] % 8]);
	data++;
	size--;
	nl = memchr(data, '\n', size);
	ulen = nl ? (size_t)(nl - data) : size;
	body = nl ? nl + 1 : data + size;
	blen = (size_t)(data + size - body);
	uri = malloc(ulen + sizeof("REQUEST_URI="));
	memcpy(uri, "REQUEST_URI=", 12);
	memcpy(uri + 12, data, ulen);
	uri[12 + ulen] = '\0'; /* a NUL inside the URI ends it, as in FastCGI */
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", blen);
	env[0] = method;
	env[1] = uri;
	env[2] = "REMOTE_ADDR=127.0.0.1";
	env[3] = cl;
	env[4] = NULL;
	fake_fcgi_init(&f, env, body, blen);
	if (req_init(&r, &f.req) == FS_OK) {
		if (r.nseg > REQ_MAX_SEGS)
			abort();
		route_dispatch(&r, routes, FS_ARRAY_LEN(routes));
	}
	/* every request gets exactly one answer */
	if (r.status < 200 || r.status > 599)
		abort();
	req_cleanup(&r);
	free(uri);
	return 0;
}
