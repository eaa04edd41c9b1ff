/*
 * db.h: the MySQL (MariaDB) layer. One persistent connection per process,
 * prepared statements only, cached by their text; reconnects after the
 * server went away. Every SQL statement of the project goes through db_*.
 */
#ifndef FS_DB_H
#define FS_DB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum dbv_type { DBV_NULL, DBV_INT, DBV_STR };

/* One statement parameter. Strings are borrowed for the call. */
struct dbv {
	enum dbv_type type;
	long long i;
	const char *s;
	unsigned long len;
};

#define DBI(x) ((struct dbv){DBV_INT, (long long)(x), NULL, 0})
#define DBS(x) ((struct dbv){DBV_STR, 0, (x), (unsigned long)strlen(x)})
#define DBSN(x, n) ((struct dbv){DBV_STR, 0, (x), (unsigned long)(n)})
#define DBNULL ((struct dbv){DBV_NULL, 0, NULL, 0})

/* A result set: every cell as a NUL-terminated string, NULL for SQL NULL.
 * Owned by the caller: db_rows_free. */
struct db_rows {
	int nrows;
	int ncols;
	char **cells; /* nrows * ncols */
	unsigned long *lens;
};

struct db;

/* Never NULL; connects on first use, with mysql_* keys from the config. */
struct db *db_open_conf(void);
void db_close(struct db *d);

/* Runs a statement that returns no rows. affected and insert_id may be NULL.
 * FS_OK, or FS_ERR: db_errno(d) says which (1062 duplicate key, ...),
 * db_down(d) whether the server is unreachable (answer 503). */
int db_exec(struct db *d, const char *sql, const struct dbv *args, int nargs,
	    long long *affected, long long *insert_id);

/* db_query, then a zeroed array of one elem-sized element per row for the
 * caller to fill (caller frees; NULL when there is no row). *n is the row
 * count, or FS_ERR when the query failed. */
void *db_query_array(struct db *d, const char *sql, const struct dbv *args, int nargs,
		     struct db_rows *rows, size_t elem, int *n);
/* Runs a query and stores its rows in out (emptied first). */
int db_query(struct db *d, const char *sql, const struct dbv *args, int nargs,
	     struct db_rows *out);

/* db_query for reads that may lag a little (lists, cache misses): with a
 * replica in `mysql_nodes`, run there once it has applied every write the
 * primary has committed (so a client reads its own writes); else, or when
 * no replica answers, on d itself. Never inside a transaction. */
int db_query_read(struct db *d, const char *sql, const struct dbv *args, int nargs,
		  struct db_rows *out);

/* With a replica in `mysql_nodes`: its replication lag in seconds
 * (Seconds_Behind_Master), -1 when unknown or without a replica. */
long long db_replica_lag(struct db *d);

const char *db_cell(const struct db_rows *rows, int row, int col);
long long db_cell_int(const struct db_rows *rows, int row, int col);
void db_rows_free(struct db_rows *rows);

/* Transactions on this connection; db_rollback is safe to call anyway. */
int db_begin(struct db *d);
int db_commit(struct db *d);
void db_rollback(struct db *d);

unsigned db_errno(const struct db *d);
const char *db_errstr(const struct db *d);
int db_down(const struct db *d);
/* Connects now if not connected (health checks). FS_OK or FS_ERR. */
int db_ping(struct db *d);

#define DB_ER_DUP_ENTRY 1062

#endif
