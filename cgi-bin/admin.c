/*
 * admin: placeholder until the endpoint is written; answers 503.
 */
#include "app.h"

static void
not_yet(struct req *r)
{
	reply_error(r, FS_E_UNAVAILABLE);
}

static const struct route routes[] = {
	{"GET", "/api/admin", not_yet, 0},
};

int
main(void)
{
	static const struct app app = {"admin", routes, FS_ARRAY_LEN(routes), 0, NULL};

	return app_main(&app);
}
