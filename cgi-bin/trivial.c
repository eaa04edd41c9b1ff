/*
 * trivial: the ceiling of the stack for `make bench`. A fixed JSON answer
 * through the same app loop, lighttpd and settings as every endpoint, with
 * no Redis or MySQL behind it.
 */
#include "app.h"
#include "reply.h"

static void
get_trivial(struct req *r)
{
	static const char body[] = "{\"ok\":true}";

	reply_raw(r, 200, "application/json", body, sizeof(body) - 1, NULL);
}

static const struct route routes[] = {
	{"GET", "/api/_trivial", get_trivial, 0},
};

int
main(void)
{
	static const struct app app = {"trivial", routes, FS_ARRAY_LEN(routes), 0, NULL,
				       NULL, NULL};

	return app_main(&app);
}
