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
	long messages_in;        /* ZeroMQ messages: events_in / messages_in is the publishers' batching */
};

/* pushhub.c */
/* Runs the hub until SIGTERM/SIGINT. Returns the exit status. */
int pushhub_run(void);
int64_t pushhub_mono_ms(void);

#endif
