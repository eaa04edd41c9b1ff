/*
 * orderq.c: ZeroMQ PUSH/PULL for orders.
 */
#include "orderq.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct orderq {
	void *ctx;
	void *sock;
};

static struct orderq *
orderq_new(int type)
{
	struct orderq *q = mem_calloc(1, sizeof(*q));
	int linger = 0;

	q->ctx = zmq_ctx_new();
	if (q->ctx == NULL)
		die("zmq_ctx_new: %s", zmq_strerror(errno));
	q->sock = zmq_socket(q->ctx, type);
	if (q->sock == NULL)
		die("zmq_socket: %s", zmq_strerror(errno));
	/* the default linger of -1 makes zmq_ctx_term hang on unsent orders;
	 * those are in the Redis journal anyway */
	zmq_setsockopt(q->sock, ZMQ_LINGER, &linger, sizeof(linger));
	return q;
}

struct orderq *
orderq_open_push(const char *endpoint)
{
	struct orderq *q = orderq_new(ZMQ_PUSH);
	int hwm = 20000;

	/* while no handler is up, hold up to hwm orders and deliver them when
	 * one binds; past that, push fails and reconcile delivers from the journal */
	zmq_setsockopt(q->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	/* several handlers: one endpoint each, comma-separated; PUSH deals
	 * the orders round-robin over the handlers it reaches */
	for (const char *p = endpoint; *p;) {
		char one[256];
		size_t n = strcspn(p, ",");

		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			if (zmq_connect(q->sock, one) != 0) {
				log_err("zmq_connect %s: %s", one, zmq_strerror(errno));
				orderq_close(q);
				return NULL;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return q;
}

struct orderq *
orderq_open_pull(const char *endpoint)
{
	struct orderq *q = orderq_new(ZMQ_PULL);
	int hwm = 100000;

	zmq_setsockopt(q->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (zmq_bind(q->sock, endpoint) != 0) {
		log_err("zmq_bind %s: %s", endpoint, zmq_strerror(errno));
		orderq_close(q);
		return NULL;
	}
	return q;
}

void
orderq_close(struct orderq *q)
{
	if (q == NULL)
		return;
	zmq_close(q->sock);
	zmq_ctx_term(q->ctx);
	free(q);
}

int
orderq_push(struct orderq *q, const char *msg, size_t len)
{
	if (q == NULL)
		return FS_ERR;
	if (zmq_send(q->sock, msg, len, ZMQ_DONTWAIT) < 0) {
		log_warn("zmq_send: %s (the journal keeps the order)", zmq_strerror(errno));
		return FS_ERR;
	}
	return FS_OK;
}

int
orderq_pull(struct orderq *q, char *buf, size_t size, int timeout_ms)
{
	zmq_pollitem_t item = {q->sock, 0, ZMQ_POLLIN, 0};
	int n, rc;

	rc = zmq_poll(&item, 1, timeout_ms);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	n = zmq_recv(q->sock, buf, size - 1, ZMQ_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if ((size_t)n >= size) {
		log_err("order message of %d bytes is larger than %zu, dropped (the journal keeps it)",
			n, size - 1);
		return 0;
	}
	buf[n] = '\0';
	return n;
}
