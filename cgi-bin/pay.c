/*
 * pay: placeholder until the endpoint is written; answers 503.
 */
#include "app.h"

static void
not_yet(struct req *r)
{
	reply_error(r, FS_E_UNAVAILABLE);
}

static const struct route routes[] = {
	{"GET", "/api/pay", not_yet, 0},
};

int
main(void)
{
	static const struct app app = {"pay", routes, FS_ARRAY_LEN(routes), 0, NULL};

	return app_main(&app);
}
