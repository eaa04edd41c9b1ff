/*
 * route.c: matching a request path against a table of route patterns.
 */
#include "route.h"
#include "reply.h"

#include <string.h>

/* 1 when the literal segments of pattern match r's path; captures the '#'
 * and '$' segments' texts into caps. */
static int
route_match(const struct req *r, const char *pattern, const char *caps[], char kinds[], int *ncap)
{
	char buf[256];
	char *save = NULL, *seg;
	int i = 0;

	*ncap = 0;
	if (strlen(pattern) >= sizeof(buf))
		return 0;
	strcpy(buf, pattern);
	for (seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save), i++) {
		if (i >= r->nseg)
			return 0;
		if ((seg[0] == '#' || seg[0] == '$') && seg[1] == '\0') {
			if (*ncap < 4) {
				caps[*ncap] = r->segs[i];
				kinds[*ncap] = seg[0];
				(*ncap)++;
			}
		} else if (seg[0] == '*' && seg[1] == '\0') {
			continue; /* any one segment; the handler reads r->segs[] */
		} else if (strcmp(seg, r->segs[i]) != 0) {
			return 0;
		}
	}
	return i == r->nseg;
}

void
route_dispatch(struct req *r, const struct route *routes, size_t n)
{
	int method_mismatch = 0;

	for (size_t k = 0; k < n; k++) {
		const char *caps[4];
		char kinds[4];
		int ncap;

		if (!route_match(r, routes[k].pattern, caps, kinds, &ncap))
			continue;
		if (strcmp(routes[k].method, r->method) != 0) {
			method_mismatch = 1;
			continue;
		}
		r->nids = 0;
		for (int c = 0; c < ncap; c++) {
			int rc = kinds[c] == '#' ? fs_parse_id(caps[c], &r->ids[c])
						 : fs_parse_u63(caps[c], &r->ids[c]);
			if (rc != FS_OK) {
				reply_error_msg(r, FS_E_BAD_REQUEST, "an id in the path is not a positive integer");
				return;
			}
			r->nids++;
		}
		if (routes[k].body_max)
			r->body_max = routes[k].body_max;
		routes[k].fn(r);
		if (r->status == 0)
			reply_error(r, FS_E_INTERNAL);
		return;
	}
	reply_error(r, method_mismatch ? FS_E_METHOD : FS_E_NOT_FOUND);
}
