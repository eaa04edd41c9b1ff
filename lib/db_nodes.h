/*
 * db_nodes.h: MariaDB over several nodes (conf `mysql_nodes`, API.md
 * "Scale-out"). A connection goes to the node that is writable, found by
 * asking each one (@@read_only) at connect time, so a promoted replica is
 * found on the next reconnect without a restart.
 */
#ifndef FS_DB_NODES_H
#define FS_DB_NODES_H

#include <mysql.h>
#include <stddef.h>

struct db;

/* 1 when `mysql_nodes` names at least one node. */
int db_nodes_configured(void);

/* init_opts sets the options of a new handle (timeouts, charset). Returns a
 * handle connected to the first writable node of the list (want_writable 1;
 * 0: the first read-only node, a replica for reads) and writes its
 * address to host/port, or NULL with the last error in err/msg (a list where
 * every node answers but none is writable: ER_OPTION_PREVENTS_STATEMENT). */
MYSQL *db_nodes_connect(void (*init_opts)(MYSQL *m), const char *user, const char *pass,
			const char *dbname, int want_writable, char *host, size_t hsize, int *port,
			unsigned *err, char *msg, size_t msize);

/* The replication mode of the connected primary: "semisync" while
 * Rpl_semi_sync_master_status is ON, "async" when it fell back (or is off),
 * NULL without mysql_nodes or when MySQL cannot be asked. */
const char *db_nodes_replication(struct db *d);

/* Seconds_Behind_Master of the replica connected as m (SHOW SLAVE STATUS);
 * -1 when unknown (no replica, not replicating, no privilege). */
long long db_nodes_lag(MYSQL *m);

#endif
