/*
 * pub.c: order events for the push hub (pub.h). One ZeroMQ PUSH socket per
 * process, opened at the first event; sends never wait (ZMQ_DONTWAIT) and
 * what the queue cannot take is dropped: the page polls instead.
 */
#include "pub.h"
#include "conf.h"
#include "conf_keys.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

/* Messages queued for a hub that is away; past it they are dropped. Small:
 * a page that missed an event polls, and a hub that comes back should not
 * get a flood of stale ones. */
#define PUB_HWM 1000
/* A process that exits waits at most this for its last events to leave. */
#define PUB_LINGER_MS 200
#define PUB_MSG_MAX (PUB_BATCH * PUB_LINE_MAX)

static void *pub_ctx;
static void *pub_sock;
static int pub_tried;
static char batch[PUB_MSG_MAX];
static size_t batch_len;
static int batch_count;
static int64_t batch_first_ms;

const char *
pub_events_endpoint(void)
{
	static char def[256];
	const char *e = conf_keys_str(CONF_PUSH_EVENTS);

	if (e != NULL && *e != '\0')
		return e;
	if (def[0] == '\0')
		snprintf(def, sizeof(def), "ipc://%s/push-events.ipc", conf_keys_str(CONF_STATE_DIR));
	return def;
}

const char *
pub_hub_socket(void)
{
	static char def[256];
	const char *s = conf_keys_str(CONF_PUSH_SOCKET);

	if (s != NULL && *s != '\0')
		return s;
	if (def[0] == '\0')
		snprintf(def, sizeof(def), "%s/push.sock", conf_keys_str(CONF_STATE_DIR));
	return def;
}

static void
pub_close(void)
{
	if (pub_sock != NULL) {
		pub_flush();
		zmq_close(pub_sock);
		pub_sock = NULL;
	}
	if (pub_ctx != NULL) {
		zmq_ctx_term(pub_ctx);
		pub_ctx = NULL;
	}
}

/* Opens the socket once; after a failure publishing stays off (logged). */
static int
pub_open(void)
{
	int hwm = PUB_HWM, linger = PUB_LINGER_MS, zero = 0;

	if (pub_sock != NULL)
		return FS_OK;
	if (pub_tried)
		return FS_ERR;
	pub_tried = 1;
	if ((pub_ctx = zmq_ctx_new()) == NULL)
		goto fail;
	zmq_ctx_set(pub_ctx, ZMQ_IO_THREADS, 1);
	/* its I/O thread is "9/ZMQbg/IO/0": told apart from the order queue's */
	zmq_ctx_set(pub_ctx, ZMQ_THREAD_NAME_PREFIX, 9);
	if ((pub_sock = zmq_socket(pub_ctx, ZMQ_PUSH)) == NULL)
		goto fail;
	zmq_setsockopt(pub_sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(pub_sock, ZMQ_LINGER, &linger, sizeof(linger));
	/* queue while connecting: a cron job's events would else be dropped
	 * before its first connection is up */
	zmq_setsockopt(pub_sock, ZMQ_IMMEDIATE, &zero, sizeof(zero));
	if (zmq_connect(pub_sock, pub_events_endpoint()) != 0)
		goto fail;
	atexit(pub_close);
	return FS_OK;
fail:
	log_warn("push events off: %s (%s)", zmq_strerror(errno), pub_events_endpoint());
	if (pub_sock != NULL)
		zmq_close(pub_sock);
	if (pub_ctx != NULL)
		zmq_ctx_term(pub_ctx);
	pub_sock = pub_ctx = NULL;
	return FS_ERR;
}

static void
pub_send(const char *msg, size_t len)
{
	if (len == 0 || pub_open() != FS_OK)
		return;
	/* EAGAIN: the hub is away and the queue full; the event is dropped */
	zmq_send(pub_sock, msg, len, ZMQ_DONTWAIT);
}

size_t
pub_format(const struct order *o, char *buf, size_t size)
{
	char deadline[24] = "null";
	int n;

	if (o->pay_deadline_ms)
		snprintf(deadline, sizeof(deadline), "%" PRId64, o->pay_deadline_ms);
	/* the fields and order of order_to_json, without json-c on the hot path */
	n = snprintf(buf, size,
		     "%" PRId64 " {\"type\":\"order\",\"order_id\":\"%" PRId64 "\",\"activity_id\":%" PRId64
		     ",\"item_id\":%" PRId64 ",\"quantity\":%" PRId64 ",\"amount_cents\":%" PRId64
		     ",\"status\":\"%s\",\"created_ms\":%" PRId64 ",\"pay_deadline_ms\":%s"
		     ",\"user_id\":%" PRId64 "}\n",
		     o->user_id, o->id, o->activity_id, o->item_id, o->quantity, o->amount_cents,
		     order_status_name(o->status), o->created_ms, deadline, o->user_id);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

void
pub_order(const struct order *o)
{
	char line[PUB_LINE_MAX];

	pub_send(line, pub_format(o, line, sizeof(line)));
}

void
pub_orders(const struct order *orders, int n)
{
	char msg[PUB_MSG_MAX];
	size_t len = 0, l;

	for (int i = 0; i < n; i++) {
		if (PUB_MSG_MAX - len < PUB_LINE_MAX) {
			pub_send(msg, len);
			len = 0;
		}
		l = pub_format(&orders[i], msg + len, PUB_MSG_MAX - len);
		len += l;
	}
	pub_send(msg, len);
}

int
pub_pending(void)
{
	/* the caller asks before each request: a batch PUB_WAIT_MS old goes
	 * now, so that a flood of requests that add no event does not hold it
	 * until the process is idle */
	if (batch_count > 0 && fs_now_ms() - batch_first_ms >= PUB_WAIT_MS)
		pub_flush();
	return batch_count > 0;
}

void
pub_flush(void)
{
	if (batch_count == 0)
		return;
	pub_send(batch, batch_len);
	batch_len = 0;
	batch_count = 0;
}

void
pub_order_later(const struct order *o)
{
	int64_t now = fs_now_ms();
	size_t l;

	if (batch_count > 0 && (batch_count >= PUB_BATCH || now - batch_first_ms >= PUB_WAIT_MS ||
				sizeof(batch) - batch_len < PUB_LINE_MAX))
		pub_flush();
	if (batch_count == 0)
		batch_first_ms = now;
	l = pub_format(o, batch + batch_len, sizeof(batch) - batch_len);
	if (l == 0)
		return;
	batch_len += l;
	batch_count++;
	if (batch_count >= PUB_BATCH)
		pub_flush();
}

int
pub_hub_check(int timeout_ms)
{
	static const char ask[] = "{\"type\":\"health\"}";
	struct sockaddr_un sa;
	struct pollfd pfd;
	char buf[256];
	size_t got = 0;
	int fd, rc = FS_ERR;
	int64_t until = fs_now_ms() + timeout_ms;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(pub_hub_socket()) >= sizeof(sa.sun_path))
		return FS_ERR;
	strcpy(sa.sun_path, pub_hub_socket());
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return FS_ERR;
	/* a unix connect does not wait for the peer: it succeeds, or fails at
	 * once (no listener), or EAGAIN (backlog full: as good as down) */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	if (write(fd, ask, sizeof(ask) - 1) != (ssize_t)(sizeof(ask) - 1))
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < sizeof(buf) - 1) {
		int64_t left = until - fs_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strchr(buf, '\n') != NULL) {
			if (strstr(buf, "\"type\":\"health\"") && strstr(buf, "\"ok\":true"))
				rc = FS_OK;
			break;
		}
	}
out:
	close(fd);
	return rc;
}
