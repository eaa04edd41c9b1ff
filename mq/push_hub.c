/*
 * push_hub: the push channel's daemon (API.md "Push channel", lib/pushhub.h).
 * Started by scripts/flashctl beside the order handler; lighttpd's
 * mod_wstunnel connects to its unix socket, one connection per WebSocket.
 *   push_hub           run until SIGTERM
 *   push_hub --check   exit 0 when a running hub answers, else 1
 */
#include "daemon.h"
#include "conf_keys.h"
#include "fs.h"
#include "log.h"
#include "pub.h"
#include "pushhub.h"

#include <string.h>

int
main(int argc, char **argv)
{
	struct daemon dm;
	int rc;

	daemon_start(&dm, "push_hub", 0);
	if (argc > 1 && strcmp(argv[1], "--check") == 0)
		rc = pub_hub_check(1000) == FS_OK ? 0 : 1;
	else
		rc = pushhub_run();
	daemon_end(&dm);
	return rc;
}
