/*
 * route.h: the table of route patterns of an endpoint program and the
 * dispatch on it.
 */
#ifndef FS_ROUTE_H
#define FS_ROUTE_H

#include <stddef.h>

#include "req.h"

typedef void (*route_fn)(struct req *r);

/* pattern segments: a literal, '#' a positive id (r->ids[]), '$' an order id
 * (a 63-bit positive integer, also in r->ids[]), '*' any one segment (not
 * captured: the handler reads r->segs[]). */
struct route {
	const char *method;
	const char *pattern;
	route_fn fn;
	size_t body_max; /* 0: REQ_BODY_MAX */
};

/* Finds the route for r and calls it; answers 404, 405 or 400 itself when
 * no route fits or a captured id is malformed. */
void route_dispatch(struct req *r, const struct route *routes, size_t n);

#endif
