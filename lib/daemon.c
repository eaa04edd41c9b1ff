/*
 * daemon.c: the shared start-up of the cron/ and mq/ programs (daemon.h).
 */
#include "daemon.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"

#include <stddef.h>

void
daemon_start(struct daemon *dm, const char *name, int stores)
{
	log_set_name(name);
	if (conf_load(NULL) != FS_OK)
		log_warn("no configuration file; using the environment and defaults");
	log_set_level(conf_keys_str(CONF_LOG_LEVEL));
	dm->kv = stores & DAEMON_KV ? kv_open_conf() : NULL;
	dm->db = stores & DAEMON_DB ? db_open_conf() : NULL;
}

void
daemon_end(struct daemon *dm)
{
	if (dm->db)
		db_close(dm->db);
	if (dm->kv)
		kv_close(dm->kv);
	dm->db = NULL;
	dm->kv = NULL;
	conf_free();
}
