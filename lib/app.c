/*
 * app.c: the FastCGI main loop shared by every endpoint program. lighttpd
 * spawns the program with the listening socket on fd 0.
 */
#include "app.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "orderq.h"
#include "ratelimit.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t app_stop;

static void
on_term(int sig)
{
	(void)sig;
	app_stop = 1;
	/* libfcgi's accept loop retries on EINTR unless told to shut down */
	FCGX_ShutdownPending();
}

static void
app_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	/* no SA_RESTART: the blocking accept returns so the loop sees the flag */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
app_main(const struct app *app)
{
	FCGX_Request fcgi;
	struct req proto;

	log_set_name(app->name);
	conf_load(NULL);
	log_set_level(conf_keys_str(CONF_LOG_LEVEL));
	app_signals();

	memset(&proto, 0, sizeof(proto));
	/* connections are made lazily: a program must start even while Redis
	 * or MySQL is down, or lighttpd refuses to start at all */
	if (app->needs & APP_KV)
		proto.kv = kv_open_conf();
	if (app->needs & APP_DB)
		proto.db = db_open_conf();
	if (app->needs & APP_ORDERQ)
		proto.q = orderq_open_push(conf_keys_str(CONF_QUEUE_ENDPOINT));
	if (app->init != NULL && app->init(&proto) != FS_OK) {
		log_err("%s: start-up failed", app->name);
		return 1;
	}

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, 0, 0) != 0) {
		log_err("FCGX_Init failed");
		return 1;
	}
	for (;;) {
		/* deferred work goes out as soon as no request is waiting */
		if (app->idle_pending != NULL && app->idle_pending()) {
			struct pollfd pfd = {0, POLLIN, 0};

			if (poll(&pfd, 1, APP_IDLE_WAIT_MS) == 0)
				app->idle_flush(&proto);
		}
		if (app_stop || FCGX_Accept_r(&fcgi) < 0)
			break;
		struct req r;

		if (req_init(&r, &fcgi) == FS_OK) {
			r.kv = proto.kv;
			r.db = proto.db;
			r.q = proto.q;
			if (ratelimit_ip_or_reply(&r) == FS_OK)
				route_dispatch(&r, app->routes, app->nroutes);
		}
		metrics_observe(proto.kv, app->name, &r);
		req_cleanup(&r);
		FCGX_Finish_r(&fcgi);
	}
	if (app->idle_pending != NULL && app->idle_pending())
		app->idle_flush(&proto);
	FCGX_Free(&fcgi, 1);
	orderq_close(proto.q);
	db_close(proto.db);
	kv_close(proto.kv);
	conf_free();
	return 0;
}
