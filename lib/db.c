/*
 * db.c: MariaDB Connector/C wrapper: connection, statement cache, binding.
 */
#include "db.h"
#include "breaker.h"
#include "conf.h"
#include "conf_keys.h"
#include "db_nodes.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <errmsg.h>
#include <mysql.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>

#define DB_CACHE 128
#define DB_READ_SKIP_MS 1000

struct db_stmt {
	char *sql;
	MYSQL_STMT *st;
};

struct db {
	MYSQL *m;
	char host[64], user[64], pass[128], name[64];
	int port;
	int in_tx;
	int down;
	unsigned err;
	char errstr[256];
	struct breaker br; /* transport failures in a row open it (breaker.h) */
	struct db_stmt cache[DB_CACHE];
	int ncache;
	/* reads on a replica (db_query_read): its handle, and while the
	 * replica is away or behind, the time it is asked again */
	struct db *rd;
	int is_rd;
	int64_t rd_skip_ms;
};

struct db *
db_open_conf(void)
{
	struct db *d = mem_calloc(1, sizeof(*d));

	snprintf(d->host, sizeof(d->host), "%s", conf_keys_str(CONF_MYSQL_HOST));
	snprintf(d->user, sizeof(d->user), "%s", conf_keys_str(CONF_MYSQL_USER));
	snprintf(d->pass, sizeof(d->pass), "%s", conf_keys_str(CONF_MYSQL_PASSWORD));
	snprintf(d->name, sizeof(d->name), "%s", conf_keys_str(CONF_MYSQL_DB));
	d->port = (int)conf_keys_int(CONF_MYSQL_PORT);
	/* a dead MySQL costs each request a fast 503, not a connect timeout */
	breaker_init_conf(&d->br);
	return d;
}

static void
db_disconnect(struct db *d)
{
	for (int i = 0; i < d->ncache; i++) {
		mysql_stmt_close(d->cache[i].st);
		free(d->cache[i].sql);
	}
	d->ncache = 0;
	if (d->m != NULL)
		mysql_close(d->m);
	d->m = NULL;
	d->in_tx = 0;
}

void
db_close(struct db *d)
{
	if (d == NULL)
		return;
	db_close(d->rd);
	db_disconnect(d);
	free(d);
}

static int
is_transport_error(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == 1927 /* conn killed */ ||
	       e == 1053 /* server shutdown in progress */ || e == CR_COMMANDS_OUT_OF_SYNC ||
	       /* read-only: this node was demoted (mysql_nodes); reconnect finds the primary */
	       (e == 1290 && db_nodes_configured());
}

/* A transport failure: toward the breaker's threshold. */
static void
db_broke(struct db *d)
{
	if (breaker_failure(&d->br, fs_now_ms()))
		log_warn("mysql %s:%d: circuit open for %d ms", d->host, d->port, d->br.open_ms);
}

static void
db_seterr(struct db *d, unsigned e, const char *msg, const char *sql)
{
	d->err = e;
	snprintf(d->errstr, sizeof(d->errstr), "%s", msg);
	if (is_transport_error(e)) {
		d->down = 1;
		log_warn("mysql %s:%d: %u %s", d->host, d->port, e, msg);
		db_broke(d);
		db_disconnect(d);
	} else if (e != DB_ER_DUP_ENTRY) {
		log_err("mysql %.80s: %u %s", sql ? sql : "", e, msg);
	}
}

static void
db_init_opts(MYSQL *m)
{
	unsigned timeout = 2, rw_timeout = 10;

	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
}

/* mysql_nodes: the writable node of the list (lib/db_nodes.c) */
static int
db_connect_nodes(struct db *d)
{
	unsigned e;
	char msg[256];

	d->m = db_nodes_connect(db_init_opts, d->user, d->pass, d->name, !d->is_rd, d->host,
				sizeof(d->host), &d->port, &e, msg, sizeof(msg));
	if (d->m != NULL) {
		d->down = 0;
		breaker_success(&d->br);
		return FS_OK;
	}
	d->down = 1;
	d->err = e;
	snprintf(d->errstr, sizeof(d->errstr), "%s", msg);
	log_warn("mysql connect: %s", msg);
	db_broke(d);
	return FS_ERR;
}

static int
db_connect(struct db *d)
{
	if (d->m != NULL)
		return FS_OK;
	if (!breaker_allow(&d->br, fs_now_ms())) {
		d->down = 1;
		d->err = CR_CONNECTION_ERROR;
		return FS_ERR;
	}
	if (db_nodes_configured())
		return db_connect_nodes(d);
	d->m = mysql_init(NULL);
	if (d->m == NULL)
		die("mysql_init: out of memory");
	db_init_opts(d->m);
	if (mysql_real_connect(d->m, d->host, d->user, d->pass, d->name, (unsigned)d->port,
			       NULL, CLIENT_FOUND_ROWS) == NULL) {
		unsigned e = mysql_errno(d->m);
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", mysql_error(d->m));
		mysql_close(d->m);
		d->m = NULL;
		d->down = 1;
		d->err = e ? e : CR_CONNECTION_ERROR;
		snprintf(d->errstr, sizeof(d->errstr), "%s", msg);
		log_warn("mysql connect %s:%d: %s", d->host, d->port, msg);
		db_broke(d);
		return FS_ERR;
	}
	d->down = 0;
	breaker_success(&d->br);
	return FS_OK;
}

/* The cached statement for sql, prepared on first use. NULL on error. */
static MYSQL_STMT *
db_prepare(struct db *d, const char *sql)
{
	MYSQL_STMT *st;

	for (int i = 0; i < d->ncache; i++)
		if (strcmp(d->cache[i].sql, sql) == 0)
			return d->cache[i].st;
	if (db_connect(d) != FS_OK)
		return NULL;
	st = mysql_stmt_init(d->m);
	if (st == NULL)
		die("mysql_stmt_init: out of memory");
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		db_seterr(d, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		return NULL;
	}
	if (d->ncache == DB_CACHE) {
		/* full: drop the oldest; long-lived programs use few statements */
		mysql_stmt_close(d->cache[0].st);
		free(d->cache[0].sql);
		memmove(d->cache, d->cache + 1, sizeof(d->cache[0]) * (DB_CACHE - 1));
		d->ncache--;
	}
	d->cache[d->ncache].sql = mem_strdup(sql);
	d->cache[d->ncache].st = st;
	d->ncache++;
	return st;
}

static int
db_bind(struct db *d, MYSQL_STMT *st, const struct dbv *args, int nargs, const char *sql)
{
	MYSQL_BIND b[nargs > 0 ? nargs : 1];

	if ((int)mysql_stmt_param_count(st) != nargs)
		die("statement takes %lu parameters, %d given: %s", mysql_stmt_param_count(st),
		    nargs, sql);
	if (nargs == 0)
		return FS_OK;
	memset(b, 0, sizeof(b));
	for (int i = 0; i < nargs; i++) {
		switch (args[i].type) {
		case DBV_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&args[i].i;
			break;
		case DBV_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)(args[i].s ? args[i].s : "");
			b[i].buffer_length = args[i].len;
			b[i].length = (unsigned long *)&args[i].len;
			break;
		case DBV_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
	if (mysql_stmt_bind_param(st, b) != 0) {
		db_seterr(d, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		return FS_ERR;
	}
	return FS_OK;
}

/* Prepares, binds and executes; retries once when the connection had gone
 * away while idle (the statement was not run then). */
/* 1 when the server has closed this connection while it was idle (a
 * MariaDB restart): the socket then reads as end-of-file. One non-blocking
 * peek, no round trip; a statement is then never sent into a dead socket. */
static int
db_conn_dropped(struct db *d)
{
	char b;
	ssize_t n;

	if (d->m == NULL || d->in_tx)
		return 0;
	n = recv((int)mysql_get_socket(d->m), &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static MYSQL_STMT *
db_run(struct db *d, const char *sql, const struct dbv *args, int nargs)
{
	if (db_conn_dropped(d))
		db_disconnect(d);
	for (int attempt = 0; attempt < 2; attempt++) {
		/* read before a failure resets it: a statement inside a
		 * transaction must never be rerun alone on a new connection */
		int in_tx = d->in_tx;
		MYSQL_STMT *st = db_prepare(d, sql);
		unsigned e;

		if (st == NULL) {
			e = d->err;
		} else {
			if (db_bind(d, st, args, nargs, sql) != FS_OK)
				return NULL;
			if (mysql_stmt_execute(st) == 0) {
				d->err = 0;
				return st;
			}
			e = mysql_stmt_errno(st);
			db_seterr(d, e, mysql_stmt_error(st), sql);
		}
		/* the server went away while we were idle (a restart): the
		 * statement never reached it, so one more try on a new
		 * connection, at once */
		if (attempt > 0 || in_tx ||
		    !(e == CR_SERVER_GONE_ERROR ||
		      (e == CR_SERVER_LOST && strncasecmp(sql, "SELECT", 6) == 0)))
			return NULL;
	}
	return NULL;
}

int
db_exec(struct db *d, const char *sql, const struct dbv *args, int nargs, long long *affected,
	long long *insert_id)
{
	MYSQL_STMT *st = db_run(d, sql, args, nargs);

	if (st == NULL)
		return FS_ERR;
	if (affected)
		*affected = (long long)mysql_stmt_affected_rows(st);
	if (insert_id)
		*insert_id = (long long)mysql_stmt_insert_id(st);
	return FS_OK;
}

/* The result columns bound to buffers as long as their longest value
 * (STMT_ATTR_UPDATE_MAX_LENGTH); freed by fetch_free. */
struct fetch {
	int ncols;
	MYSQL_BIND *b;
	char **bufs;
	unsigned long *lens;
	my_bool *nulls;
};

static void
fetch_init(struct fetch *f, MYSQL_FIELD *fields, int ncols)
{
	f->ncols = ncols;
	f->b = mem_calloc((size_t)ncols + 1, sizeof(*f->b));
	f->bufs = mem_calloc((size_t)ncols + 1, sizeof(*f->bufs));
	f->lens = mem_calloc((size_t)ncols + 1, sizeof(*f->lens));
	f->nulls = mem_calloc((size_t)ncols + 1, sizeof(*f->nulls));
	for (int c = 0; c < ncols; c++) {
		f->bufs[c] = mem_alloc(fields[c].max_length + 1);
		f->b[c].buffer_type = MYSQL_TYPE_STRING;
		f->b[c].buffer = f->bufs[c];
		f->b[c].buffer_length = fields[c].max_length + 1;
		f->b[c].length = &f->lens[c];
		f->b[c].is_null = &f->nulls[c];
	}
}

static void
fetch_free(struct fetch *f)
{
	for (int c = 0; c < f->ncols; c++)
		free(f->bufs[c]);
	free(f->b);
	free(f->bufs);
	free(f->lens);
	free(f->nulls);
}

/* Copies the fetched row into row `row` of out. */
static void
fetch_copy(const struct fetch *f, struct db_rows *out, int row)
{
	for (int c = 0; c < f->ncols; c++) {
		size_t k = (size_t)row * (size_t)f->ncols + (size_t)c;

		if (f->nulls[c])
			continue;
		out->cells[k] = mem_alloc(f->lens[c] + 1);
		memcpy(out->cells[k], f->bufs[c], f->lens[c]);
		out->cells[k][f->lens[c]] = '\0';
		out->lens[k] = f->lens[c];
	}
}

/* Fetches every stored row of st into out. FS_OK or FS_ERR. */
static int
db_fetch_all(struct db *d, MYSQL_STMT *st, MYSQL_RES *meta, const char *sql, struct db_rows *out)
{
	int ncols = (int)mysql_num_fields(meta), nrows = (int)mysql_stmt_num_rows(st);
	int rc = FS_ERR, row = 0;
	struct fetch f;

	fetch_init(&f, mysql_fetch_fields(meta), ncols);
	out->ncols = ncols;
	out->cells = mem_calloc((size_t)nrows * (size_t)ncols + 1, sizeof(char *));
	out->lens = mem_calloc((size_t)nrows * (size_t)ncols + 1, sizeof(unsigned long));
	if (mysql_stmt_bind_result(st, f.b) != 0) {
		db_seterr(d, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		goto done;
	}
	while (row < nrows) {
		int r = mysql_stmt_fetch(st);

		if (r == MYSQL_NO_DATA)
			break;
		if (r == 1) {
			db_seterr(d, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
			goto done;
		}
		fetch_copy(&f, out, row++);
	}
	out->nrows = row;
	rc = FS_OK;
done:
	fetch_free(&f);
	return rc;
}

int
db_query(struct db *d, const char *sql, const struct dbv *args, int nargs, struct db_rows *out)
{
	MYSQL_STMT *st;
	MYSQL_RES *meta;
	my_bool update_max = 1;
	int rc;

	memset(out, 0, sizeof(*out));
	st = db_run(d, sql, args, nargs);
	if (st == NULL)
		return FS_ERR;
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
	if (mysql_stmt_store_result(st) != 0) {
		db_seterr(d, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		return FS_ERR;
	}
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		mysql_stmt_free_result(st);
		return FS_OK;
	}
	rc = db_fetch_all(d, st, meta, sql, out);
	mysql_free_result(meta);
	/* a lost connection already closed every statement */
	if (d->m != NULL)
		mysql_stmt_free_result(st);
	if (rc != FS_OK)
		db_rows_free(out);
	return rc;
}

/* 1 when the replica has applied everything the primary has committed so
 * far (MASTER_GTID_WAIT on the primary's @@gtid_binlog_pos): a read there
 * then sees every write made before it (read-your-writes). */
static int
db_replica_caught_up(struct db *d)
{
	static const char sql_pos[] = "SELECT @@gtid_binlog_pos";
	static const char sql_wait[] = "SELECT MASTER_GTID_WAIT(?, 0.2)";
	struct db_rows pos, w;
	struct dbv a[1];
	int ok;

	if (db_query(d, sql_pos, NULL, 0, &pos) != FS_OK)
		return 0;
	a[0] = DBS(db_cell(&pos, 0, 0) ? db_cell(&pos, 0, 0) : "");
	ok = db_query(d->rd, sql_wait, a, 1, &w) == FS_OK;
	db_rows_free(&pos);
	if (!ok)
		return 0;
	ok = db_cell(&w, 0, 0) != NULL && strcmp(db_cell(&w, 0, 0), "0") == 0;
	db_rows_free(&w);
	return ok;
}

void *
db_query_array(struct db *d, const char *sql, const struct dbv *args, int nargs,
	       struct db_rows *rows, size_t elem, int *n)
{
	*n = FS_ERR;
	if (db_query(d, sql, args, nargs, rows) != FS_OK)
		return NULL;
	*n = rows->nrows;
	return *n > 0 ? mem_calloc((size_t)*n, elem) : NULL;
}

int
db_query_read(struct db *d, const char *sql, const struct dbv *args, int nargs,
	      struct db_rows *out)
{
	if (!db_nodes_configured() || d->in_tx || d->is_rd || fs_now_ms() < d->rd_skip_ms)
		return db_query(d, sql, args, nargs, out);
	if (d->rd == NULL) {
		d->rd = db_open_conf();
		d->rd->is_rd = 1;
	}
	if (db_replica_caught_up(d) && db_query(d->rd, sql, args, nargs, out) == FS_OK)
		return FS_OK;
	/* no replica, or it is behind: the primary answers, and the replica
	 * is asked again a second later (a stopped replica costs one wait),
	 * on a new connection: the node may have been promoted meanwhile */
	d->rd_skip_ms = fs_now_ms() + DB_READ_SKIP_MS;
	db_disconnect(d->rd);
	return db_query(d, sql, args, nargs, out);
}

long long
db_replica_lag(struct db *d)
{
	long long lag;

	if (!db_nodes_configured() || d->is_rd)
		return -1;
	if (d->rd == NULL) {
		d->rd = db_open_conf();
		d->rd->is_rd = 1;
	}
	if (db_connect(d->rd) != FS_OK)
		return -1;
	lag = db_nodes_lag(d->rd->m);
	if (lag < 0) {
		/* the node may have been promoted since this handle connected (a
		 * client on one keep-alive connection asks the same process each
		 * time): a new connection finds the replica of now */
		db_disconnect(d->rd);
		if (db_connect(d->rd) != FS_OK)
			return -1;
		lag = db_nodes_lag(d->rd->m);
	}
	return lag;
}

const char *
db_cell(const struct db_rows *rows, int row, int col)
{
	if (row < 0 || row >= rows->nrows || col < 0 || col >= rows->ncols)
		return NULL;
	return rows->cells[(size_t)row * (size_t)rows->ncols + (size_t)col];
}

long long
db_cell_int(const struct db_rows *rows, int row, int col)
{
	const char *s = db_cell(rows, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

void
db_rows_free(struct db_rows *rows)
{
	if (rows == NULL || rows->cells == NULL)
		return;
	for (size_t i = 0; i < (size_t)rows->nrows * (size_t)rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	free(rows->lens);
	memset(rows, 0, sizeof(*rows));
}

int
db_begin(struct db *d)
{
	if (db_conn_dropped(d))
		db_disconnect(d);
	if (db_connect(d) != FS_OK)
		return FS_ERR;
	if (mysql_autocommit(d->m, 0) != 0) {
		db_seterr(d, mysql_errno(d->m), mysql_error(d->m), "autocommit 0");
		return FS_ERR;
	}
	d->in_tx = 1;
	return FS_OK;
}

int
db_commit(struct db *d)
{
	if (d->m == NULL)
		return FS_ERR;
	if (mysql_commit(d->m) != 0) {
		db_seterr(d, mysql_errno(d->m), mysql_error(d->m), "commit");
		if (d->m != NULL) {
			mysql_rollback(d->m);
			mysql_autocommit(d->m, 1);
		}
		d->in_tx = 0;
		return FS_ERR;
	}
	mysql_autocommit(d->m, 1);
	d->in_tx = 0;
	return FS_OK;
}

void
db_rollback(struct db *d)
{
	if (d->m != NULL && d->in_tx) {
		mysql_rollback(d->m);
		mysql_autocommit(d->m, 1);
	}
	d->in_tx = 0;
}

unsigned
db_errno(const struct db *d)
{
	return d->err;
}

const char *
db_errstr(const struct db *d)
{
	return d->errstr;
}

int
db_down(const struct db *d)
{
	return d->down || is_transport_error(d->err);
}

int
db_ping(struct db *d)
{
	if (db_connect(d) != FS_OK)
		return FS_ERR;
	if (mysql_ping(d->m) != 0) {
		db_seterr(d, mysql_errno(d->m), mysql_error(d->m), "ping");
		return FS_ERR;
	}
	return FS_OK;
}
