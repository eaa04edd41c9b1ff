/*
 * app.h: the skeleton of every endpoint program: read the config, open the
 * connections once, then answer FastCGI requests in a loop, dispatching on a
 * table of routes.
 */
#ifndef FS_APP_H
#define FS_APP_H

#include "req.h"
#include "route.h"

enum { APP_KV = 1, APP_DB = 2, APP_ORDERQ = 4 };

struct app {
	const char *name;
	const struct route *routes;
	size_t nroutes;
	unsigned needs;
	/* run once after the connections are open; FS_ERR stops the program */
	int (*init)(struct req *proto);
	/* work deferred past the answers (may be NULL): while idle_pending()
	 * says there is some, the loop waits at most IDLE_WAIT_MS for the next
	 * request and otherwise calls idle_flush(); also called at exit */
	int (*idle_pending)(void);
	void (*idle_flush)(struct req *proto);
};

#define APP_IDLE_WAIT_MS 1

/* Runs the program until SIGTERM. Returns the exit status. */
int app_main(const struct app *app);

#endif
