/*
 * db_nodes.c: picks the writable MariaDB node of `mysql_nodes` (see db_nodes.h).
 */
#include "db_nodes.h"
#include "conf_keys.h"
#include "db.h"
#include "fs.h"
#include "log.h"

#include <errmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ER_READ_ONLY 1290 /* ER_OPTION_PREVENTS_STATEMENT */

int
db_nodes_configured(void)
{
	const char *s = conf_keys_str(CONF_MYSQL_NODES);

	return s != NULL && strchr(s, ':') != NULL;
}

/* 1 when the connected server takes writes (@@read_only = 0); a failed
 * question counts as not writable. */
static int
writable(MYSQL *m)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int w = 0;

	if (mysql_query(m, "SELECT @@read_only") != 0 || (res = mysql_store_result(m)) == NULL)
		return 0;
	row = mysql_fetch_row(res);
	w = row != NULL && row[0] != NULL && strcmp(row[0], "0") == 0;
	mysql_free_result(res);
	return w;
}

MYSQL *
db_nodes_connect(void (*init_opts)(MYSQL *m), const char *user, const char *pass,
		 const char *dbname, int want_writable, char *host, size_t hsize, int *port,
		 unsigned *err, char *msg, size_t msize)
{
	const char *p = conf_keys_str(CONF_MYSQL_NODES);

	*err = CR_CONNECTION_ERROR;
	snprintf(msg, msize, "no node in mysql_nodes");
	while (*p) {
		size_t n = strcspn(p, ",");
		char one[128], *colon;
		MYSQL *m;

		if (n == 0 || n >= sizeof(one))
			goto next;
		memcpy(one, p, n);
		one[n] = '\0';
		colon = strrchr(one, ':');
		if (colon == NULL)
			goto next;
		*colon = '\0';
		m = mysql_init(NULL);
		if (m == NULL)
			die("mysql_init: out of memory");
		init_opts(m);
		if (mysql_real_connect(m, one, user, pass, dbname, (unsigned)atoi(colon + 1), NULL,
				       CLIENT_FOUND_ROWS) == NULL) {
			*err = mysql_errno(m) ? mysql_errno(m) : CR_CONNECTION_ERROR;
			snprintf(msg, msize, "%s:%s: %s", one, colon + 1, mysql_error(m));
			mysql_close(m);
			goto next;
		}
		if (writable(m) == want_writable) {
			snprintf(host, hsize, "%s", one);
			*port = atoi(colon + 1);
			return m;
		}
		/* a replica: writes must not land there (and reads for a
		 * replica want no primary) */
		*err = ER_READ_ONLY;
		snprintf(msg, msize, "%s:%s: no %s node", one, colon + 1,
			 want_writable ? "writable" : "read-only");
		mysql_close(m);
next:
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

const char *
db_nodes_replication(struct db *d)
{
	/* status ON alone is not enough: it stays ON after the replica left
	 * until a commit has waited the timeout; without a replica attached
	 * (clients 0) the next commit is not semi-synchronous either */
	static const char sql[] = "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM "
				  "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
				  "('RPL_SEMI_SYNC_MASTER_STATUS', 'RPL_SEMI_SYNC_MASTER_CLIENTS')";
	struct db_rows rows;
	int on = 0, clients = 0;

	if (!db_nodes_configured() || db_query(d, sql, NULL, 0, &rows) != FS_OK)
		return NULL;
	for (int i = 0; i < rows.nrows; i++) {
		const char *k = db_cell(&rows, i, 0), *v = db_cell(&rows, i, 1);

		if (k == NULL || v == NULL)
			continue;
		if (strcasecmp(k, "RPL_SEMI_SYNC_MASTER_STATUS") == 0)
			on = strcmp(v, "ON") == 0;
		else
			clients = atoi(v);
	}
	db_rows_free(&rows);
	return on && clients > 0 ? "semisync" : "async";
}

long long
db_nodes_lag(MYSQL *m)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	MYSQL_FIELD *f;
	long long lag = -1;

	/* a plain query: SHOW is not worth a cached statement; needs the
	 * SLAVE MONITOR privilege (scripts/cluster.sh grants it) */
	if (m == NULL || mysql_query(m, "SHOW SLAVE STATUS") != 0 ||
	    (res = mysql_store_result(m)) == NULL)
		return -1;
	row = mysql_fetch_row(res);
	f = mysql_fetch_fields(res);
	for (unsigned i = 0; row != NULL && i < mysql_num_fields(res); i++)
		if (strcmp(f[i].name, "Seconds_Behind_Master") == 0 && row[i] != NULL)
			lag = atoll(row[i]);
	mysql_free_result(res);
	return lag;
}
