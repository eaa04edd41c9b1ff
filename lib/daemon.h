/*
 * daemon.h: the start-up and the end every program of cron/ and mq/ shares:
 * its log name, the configuration (a missing file is said in the log, the
 * environment and the defaults then rule), the log level, and the stores it
 * asks for. The FastCGI programs have app.h instead.
 */
#ifndef FS_DAEMON_H
#define FS_DAEMON_H

struct kv;
struct db;

/* Stores to open: a bit set. */
#define DAEMON_KV 1
#define DAEMON_DB 2

struct daemon {
	struct kv *kv; /* NULL unless DAEMON_KV */
	struct db *db; /* NULL unless DAEMON_DB */
};

/* Names the log, loads the configuration, sets the log level, opens the
 * stores of the set (kv_open_conf, db_open_conf: never NULL). */
void daemon_start(struct daemon *dm, const char *name, int stores);
/* Closes what daemon_start opened and frees the configuration. */
void daemon_end(struct daemon *dm);

#endif
