/*
 * pushhub.h: the push hub (mq/push_hub): one epoll loop behind lighttpd's
 * mod_wstunnel (API.md "Push channel"). lighttpd speaks WebSocket to the
 * browser and opens one stream connection per WebSocket to the hub's unix
 * socket, carrying the messages' payloads both ways; message boundaries do
 * not survive, so the hub parses the input as a stream of JSON values and
 * writes newline-delimited JSON.
 *
 *   pushhub.c        the loop: listener, order events (ZeroMQ PULL), timers
 *   pushhub_conn.c   one socket: bounded input parsing, bounded output
 *   pushhub_msg.c    what a client says: auth, subscribe, ping
 *   pushhub_users.c  user id -> that user's sockets
 *   pushhub_stats.c  a thread computing the operator's stats once a second
 *
 * Everything is bounded: input per value (PH_IN_MAX), output per socket
 * (PH_OUT_MAX: a slow reader is dropped), sockets (push_max_sockets), the
 * time an unauthenticated socket may live (PH_AUTH_MS).
 */
#ifndef FS_PUSHHUB_H
#define FS_PUSHHUB_H

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PH_IN_MAX 4096          /* bytes of one client message */
#define PH_OUT_MAX (256 * 1024) /* bytes waiting for one slow socket */
#define PH_AUTH_MS 5000         /* to send the auth message */
#define PH_PING_MS 25000        /* idle time before a ping */
#define PH_CLOSE_MS 1000        /* to flush the last words before closing */
#define PH_USER_BUCKETS 16384   /* power of two */
#define PH_STATS_MAX 64         /* activities streamed at once */

enum ph_state { PH_NEW, PH_USER, PH_ADMIN, PH_CLOSING };

struct ph_conn {
	int fd;
	enum ph_state state;
	int epollout;             /* EPOLLOUT armed */
	int64_t uid;              /* PH_USER: the token's sub */
	int64_t aid;              /* PH_ADMIN: the activity streamed, 0 none */
	int64_t opened_ms;        /* monotonic */
	int64_t last_out_ms;      /* monotonic: last write queued */
	int64_t closing_ms;
	json_tokener *tok;        /* while a value is being read */
	size_t in_value;          /* bytes of that value so far */
	char *out;                /* pending output, NULL when none */
	size_t out_off, out_len, out_cap;
	struct ph_conn *next_user; /* chain of a user-map bucket */
};

struct ph_stats;

struct pushhub {
	int ep;                   /* epoll */
	int lfd;                  /* the unix listener */
	int spare_fd;             /* kept open to shed connections at EMFILE */
	void *zctx, *zpull;       /* order events in */
	int zfd;
	struct ph_conn **conns;   /* by fd */
	int nconns_max;           /* size of conns */
	int nconns;               /* open sockets */
	int max_sockets;
	int64_t auth_ms, ping_ms;
	const char *jwt_secret;
	unsigned char admin_hash[32];
	int admin_set;
	struct ph_conn *users[PH_USER_BUCKETS];
	struct ph_stats *stats;
	/* counters for the health answer and logs */
	long events_in, events_out, dropped_slow;
};

/* pushhub.c */
/* Runs the hub until SIGTERM/SIGINT. Returns the exit status. */
int pushhub_run(void);
int64_t pushhub_mono_ms(void);

/* pushhub_conn.c */
struct ph_conn *pushhub_conn_new(struct pushhub *h, int fd);
/* Closes and frees c at once (removes it from the user map). */
void pushhub_conn_close(struct pushhub *h, struct ph_conn *c);
/* Queues len bytes for c; writes what the socket takes now. A socket whose
 * backlog would pass PH_OUT_MAX is closed (the slow reader). FS_OK, or
 * FS_ERR when c was closed (c is then freed). */
int pushhub_conn_send(struct pushhub *h, struct ph_conn *c, const char *s, size_t len);
/* Sends s, then closes after it is written (or after PH_CLOSE_MS). */
void pushhub_conn_finish(struct pushhub *h, struct ph_conn *c, const char *s);
/* Reads what the socket has and handles every complete message. */
void pushhub_conn_readable(struct pushhub *h, struct ph_conn *c);
void pushhub_conn_writable(struct pushhub *h, struct ph_conn *c);
/* Feeds n bytes of input to c's parser (pushhub_conn_readable's core, for
 * tests). FS_OK, or FS_ERR when c was closed. */
int pushhub_conn_feed(struct pushhub *h, struct ph_conn *c, const char *buf, size_t n);

/* pushhub_msg.c */
/* Handles one parsed client message. FS_OK, or FS_ERR when c was closed. */
int pushhub_msg_handle(struct pushhub *h, struct ph_conn *c, json_object *msg);
/* Sends {"type":"error","error":code} and, when close, closes after it. */
int pushhub_msg_error(struct pushhub *h, struct ph_conn *c, const char *code, int close);
/* Sets the admin token to compare against (hashed: compared in constant time). */
void pushhub_msg_set_admin(struct pushhub *h, const char *token);

/* pushhub_users.c */
void pushhub_users_add(struct pushhub *h, struct ph_conn *c);
void pushhub_users_remove(struct pushhub *h, struct ph_conn *c);
/* Sends the event line (with its newline) to every socket of uid.
 * Returns how many got it. */
int pushhub_users_send(struct pushhub *h, int64_t uid, const char *line, size_t len);
/* Handles one ZeroMQ message of event lines "<uid> <json>\n". */
void pushhub_users_events(struct pushhub *h, const char *msg, size_t len);

/* pushhub_stats.c */
/* Starts the stats thread; it signals results on the returned eventfd. */
struct ph_stats *pushhub_stats_start(int *efd);
void pushhub_stats_stop(struct ph_stats *s);
/* Tells the thread which activities are watched (n <= PH_STATS_MAX). */
void pushhub_stats_want(struct ph_stats *s, const int64_t *aids, int n);
/* Sends the finished stats lines to the sockets that watch them. */
void pushhub_stats_deliver(struct pushhub *h);

#endif
