/*
 * pushhub.c: the push hub's loop (pushhub.h). One thread does all socket
 * work with epoll: lighttpd's connections on a unix socket (one per
 * WebSocket), the order events on a ZeroMQ PULL, the stats thread's
 * eventfd, and once a second the timers (auth deadline, pings, closing).
 */
#include "pushhub.h"
#include "conf.h"
#include "conf_keys.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "pub.h"
#include "pushhub_conn.h"
#include "pushhub_msg.h"
#include "pushhub_stats.h"
#include "pushhub_users.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define EVENTS_PER_WAIT 256
#define ZMSG_PER_TURN 1024
#define FDS_MAX 65536

static volatile sig_atomic_t hub_stop;

static void
on_term(int sig)
{
	(void)sig;
	hub_stop = 1;
}

int64_t
pushhub_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ep_add(struct pushhub *h, int fd, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Binds the unix socket. A socket file left by a hub that died is removed;
 * one that answers belongs to a running hub: FS_ERR. */
static int
listen_unix(struct pushhub *h, const char *path)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("push socket path too long: %s", path);
		return FS_ERR;
	}
	strcpy(sa.sun_path, path);
	if (pub_hub_check(300) == FS_OK) {
		log_err("another push hub answers on %s", path);
		return FS_ERR;
	}
	unlink(path);
	h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(h->lfd, 4096) != 0) {
		log_err("push socket %s: %s", path, strerror(errno));
		return FS_ERR;
	}
	chmod(path, 0660);
	return ep_add(h, h->lfd, EPOLLIN);
}

static int
open_events(struct pushhub *h, const char *endpoint)
{
	int hwm = 10000, zero = 0;
	size_t len = sizeof(h->zfd);

	h->zctx = zmq_ctx_new();
	h->zpull = h->zctx ? zmq_socket(h->zctx, ZMQ_PULL) : NULL;
	if (h->zpull == NULL)
		return FS_ERR;
	zmq_setsockopt(h->zpull, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(h->zpull, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_bind(h->zpull, endpoint) != 0 ||
	    zmq_getsockopt(h->zpull, ZMQ_FD, &h->zfd, &len) != 0) {
		log_err("push events %s: %s", endpoint, zmq_strerror(errno));
		return FS_ERR;
	}
	return ep_add(h, h->zfd, EPOLLIN);
}

/* ZeroMQ's fd is edge-like: drain until EAGAIN each time it fires, and once
 * a turn anyway (a turn whose events included it has drained already: each
 * empty drain costs ZeroMQ a poll and a getpid). */
static void
drain_events(struct pushhub *h)
{
	for (int i = 0; i < ZMSG_PER_TURN; i++) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, h->zpull, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		h->messages_in++;
		pushhub_users_events(h, zmq_msg_data(&m), zmq_msg_size(&m));
		zmq_msg_close(&m);
	}
}

static void
accept_all(struct pushhub *h)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && h->spare_fd >= 0) {
				/* out of descriptors: take one connection and shut it, so
				 * that the backlog does not wake us forever */
				close(h->spare_fd);
				fd = accept(h->lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				log_warn("push: out of file descriptors (%d sockets)", h->nconns);
			}
			return;
		}
		if (fd >= h->nconns_max || h->nconns >= h->max_sockets) {
			close(fd); /* full: lighttpd closes the WebSocket */
			continue;
		}
		pushhub_conn_new(h, fd);
		if (ep_add(h, fd, EPOLLIN | EPOLLRDHUP) != 0)
			pushhub_conn_close(h, h->conns[fd]);
	}
}

/* Once a second: the deadlines of every socket, and which activities the
 * operators watch. */
static void
sweep(struct pushhub *h, int64_t now)
{
	int64_t aids[PH_STATS_MAX];
	int naids = 0;

	for (int fd = 0; fd < h->nconns_max; fd++) {
		struct ph_conn *c = h->conns[fd];

		if (c == NULL)
			continue;
		switch (c->state) {
		case PH_NEW:
			if (now - c->opened_ms >= h->auth_ms)
				pushhub_msg_error(h, c, "unauthorized", 1);
			break;
		case PH_CLOSING:
			if (now - c->closing_ms >= PH_CLOSE_MS)
				pushhub_conn_close(h, c);
			break;
		case PH_ADMIN:
			if (c->aid > 0 && naids < PH_STATS_MAX) {
				int seen = 0;

				for (int i = 0; i < naids; i++)
					seen |= aids[i] == c->aid;
				if (!seen)
					aids[naids++] = c->aid;
			}
			/* fall through */
		case PH_USER:
			if (now - c->last_out_ms >= h->ping_ms)
				pushhub_conn_send(h, c, "{\"type\":\"ping\"}\n", 16);
			break;
		}
	}
	pushhub_stats_want(h->stats, aids, naids);
}

static int
fds_limit(void)
{
	struct rlimit rl;

	/* as many sockets as the system lets this process have: FDS_MAX when
	 * allowed to raise the hard limit (root), else up to the hard limit */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FDS_MAX) {
		struct rlimit want = {FDS_MAX, rl.rlim_max > FDS_MAX ? rl.rlim_max : FDS_MAX};

		if (setrlimit(RLIMIT_NOFILE, &want) != 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max > FDS_MAX ? FDS_MAX : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > FDS_MAX ? FDS_MAX : (int)rl.rlim_cur;
}

/* Handles one epoll event: the listener, the events socket (*drained set),
 * the stats thread's eventfd efd, or a client socket. */
static void
dispatch(struct pushhub *h, const struct epoll_event *ev, int efd, int *drained)
{
	int fd = ev->data.fd;
	struct ph_conn *c;

	if (fd == h->lfd) {
		accept_all(h);
	} else if (fd == h->zfd) {
		drain_events(h);
		*drained = 1;
	} else if (fd == efd) {
		pushhub_stats_deliver(h);
	} else if (fd >= 0 && fd < h->nconns_max && (c = h->conns[fd]) != NULL) {
		if (ev->events & EPOLLOUT) {
			pushhub_conn_writable(h, c);
			if (h->conns[fd] != c)
				return; /* closed */
		}
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			pushhub_conn_readable(h, c);
	}
}

/* The hub's settings and socket table, before anything is opened. */
static void
hub_init(struct pushhub *h)
{
	h->lfd = h->zfd = -1;
	h->nconns_max = fds_limit();
	h->conns = mem_calloc((size_t)h->nconns_max, sizeof(h->conns[0]));
	h->max_sockets = (int)conf_keys_int(CONF_PUSH_MAX_SOCKETS);
	h->auth_ms = conf_keys_int(CONF_PUSH_AUTH_MS);
	h->ping_ms = conf_keys_int(CONF_PUSH_PING_MS);
	h->jwt_secret = conf_keys_str(CONF_JWT_SECRET);
	pushhub_msg_set_admin(h, conf_keys_str(CONF_ADMIN_TOKEN));
}

/* Closes every socket and frees h. */
static void
hub_free(struct pushhub *h)
{
	pushhub_stats_stop(h->stats);
	for (int fd = 0; fd < h->nconns_max; fd++)
		if (h->conns[fd] != NULL)
			pushhub_conn_close(h, h->conns[fd]);
	if (h->lfd >= 0) {
		close(h->lfd);
		unlink(pub_hub_socket());
	}
	if (h->zpull)
		zmq_close(h->zpull);
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	if (h->spare_fd >= 0)
		close(h->spare_fd);
	close(h->ep);
	free(h->conns);
	free(h);
}

int
pushhub_run(void)
{
	struct pushhub *h = mem_calloc(1, sizeof(*h));
	struct epoll_event evs[EVENTS_PER_WAIT];
	struct sigaction sa;
	int efd = -1, rc = 1;
	int64_t last_sweep = pushhub_mono_ms();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	hub_init(h);
	h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((h->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	if (listen_unix(h, pub_hub_socket()) != FS_OK || open_events(h, pub_events_endpoint()) != FS_OK)
		goto out;
	h->stats = pushhub_stats_start(&efd);
	ep_add(h, efd, EPOLLIN);
	log_info("push hub: %s, events %s, up to %d sockets", pub_hub_socket(),
		 pub_events_endpoint(), h->max_sockets);

	while (!hub_stop) {
		int n = epoll_wait(h->ep, evs, EVENTS_PER_WAIT, 200), drained = 0;
		int64_t now;

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			dispatch(h, &evs[i], efd, &drained);
		if (!drained)
			drain_events(h);
		now = pushhub_mono_ms();
		if (now - last_sweep >= 1000) {
			last_sweep = now;
			sweep(h, now);
		}
	}
	rc = 0;
	log_info("push hub: stopping (%d sockets, %ld events in %ld messages, %ld out, %ld slow dropped)",
		 h->nconns, h->events_in, h->messages_in, h->events_out, h->dropped_slow);
out:
	hub_free(h);
	return rc;
}
