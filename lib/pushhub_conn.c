/*
 * pushhub_conn.c: one socket of the push hub (pushhub.h): the input parsed
 * as a stream of JSON values, each at most PH_IN_MAX bytes, and the output
 * queued up to PH_OUT_MAX bytes, past which the reader is too slow and is
 * dropped (memory stays bounded, whatever a client does).
 */
#include "pushhub_conn.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "pushhub_msg.h"
#include "pushhub_users.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* reads per readiness event, so one busy socket cannot starve the rest */
#define READS_PER_EVENT 8

struct ph_conn *
pushhub_conn_new(struct pushhub *h, int fd)
{
	struct ph_conn *c = mem_calloc(1, sizeof(*c));

	c->fd = fd;
	c->state = PH_NEW;
	c->opened_ms = c->last_out_ms = pushhub_mono_ms();
	if (fd >= 0 && fd < h->nconns_max)
		h->conns[fd] = c;
	h->nconns++;
	return c;
}

void
pushhub_conn_close(struct pushhub *h, struct ph_conn *c)
{
	if (c->state == PH_USER)
		pushhub_users_remove(h, c);
	if (c->fd >= 0) {
		if (c->fd < h->nconns_max)
			h->conns[c->fd] = NULL;
		close(c->fd); /* also leaves the epoll set */
	}
	if (c->tok)
		json_tokener_free(c->tok);
	free(c->out);
	free(c);
	h->nconns--;
}

static void
want_out(struct pushhub *h, struct ph_conn *c, int on)
{
	struct epoll_event ev;

	if (c->epollout == on || h->ep < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);
	ev.data.fd = c->fd;
	epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->epollout = on;
}

/* Writes what is pending. FS_ERR when c was closed. */
static int
flush_out(struct pushhub *h, struct ph_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(h, c, 1);
			return FS_OK;
		}
		pushhub_conn_close(h, c); /* EPIPE, ECONNRESET: gone */
		return FS_ERR;
	}
	/* all out: give the buffer back (most sockets are idle most of the time) */
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	want_out(h, c, 0);
	if (c->state == PH_CLOSING) {
		pushhub_conn_close(h, c);
		return FS_ERR;
	}
	return FS_OK;
}

int
pushhub_conn_send(struct pushhub *h, struct ph_conn *c, const char *s, size_t len)
{
	size_t pending = c->out_len - c->out_off;

	if (c->state == PH_CLOSING)
		return FS_OK; /* its last words are already queued */
	c->last_out_ms = pushhub_mono_ms();
	if (pending + len > PH_OUT_MAX) {
		h->dropped_slow++;
		log_info("push: socket %d (user %lld) reads too slowly: dropped", c->fd,
			 (long long)c->uid);
		pushhub_conn_close(h, c);
		return FS_ERR;
	}
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;

		/* compact first: what was written no longer counts */
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, pending);
			c->out_len = pending;
			c->out_off = 0;
		}
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap != c->out_cap) {
			c->out = mem_realloc(c->out, cap);
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	if (c->epollout)
		return FS_OK; /* the socket is full; EPOLLOUT will flush */
	return flush_out(h, c);
}

void
pushhub_conn_finish(struct pushhub *h, struct ph_conn *c, const char *s)
{
	if (c->state == PH_CLOSING)
		return;
	if (pushhub_conn_send(h, c, s, strlen(s)) != FS_OK)
		return;
	if (c->state == PH_USER)
		pushhub_users_remove(h, c);
	c->state = PH_CLOSING;
	c->closing_ms = pushhub_mono_ms();
	if (c->out_off == c->out_len)
		pushhub_conn_close(h, c);
}

void
pushhub_conn_writable(struct pushhub *h, struct ph_conn *c)
{
	flush_out(h, c);
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int
pushhub_conn_feed(struct pushhub *h, struct ph_conn *c, const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		json_object *obj;
		enum json_tokener_error err;
		size_t chunk, used;
		int rc;

		if (c->state == PH_CLOSING)
			return FS_OK; /* nothing more is heard */
		if (c->in_value == 0) {
			while (off < n && is_space(buf[off]))
				off++;
			if (off == n)
				break;
		}
		if (c->tok == NULL) {
			c->tok = json_tokener_new_ex(8);
			if (c->tok == NULL)
				die("out of memory");
			json_tokener_set_flags(c->tok, JSON_TOKENER_STRICT |
				JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
		}
		/* never hand the parser more than the limit plus one byte */
		chunk = n - off;
		if (chunk > PH_IN_MAX + 1 - c->in_value)
			chunk = PH_IN_MAX + 1 - c->in_value;
		obj = json_tokener_parse_ex(c->tok, buf + off, (int)chunk);
		err = json_tokener_get_error(c->tok);
		if (obj == NULL && err == json_tokener_continue) {
			c->in_value += chunk;
			off += chunk;
			if (c->in_value > PH_IN_MAX)
				return pushhub_msg_error(h, c, "too_large", 1);
			continue;
		}
		if (obj == NULL)
			return pushhub_msg_error(h, c, "bad_request", 1);
		used = json_tokener_get_parse_end(c->tok);
		if (used == 0 || used > chunk)
			used = chunk;
		off += used;
		json_tokener_reset(c->tok);
		c->in_value = 0;
		rc = pushhub_msg_handle(h, c, obj);
		json_object_put(obj);
		if (rc != FS_OK)
			return FS_ERR;
	}
	/* between values the parser's memory goes back */
	if (c->in_value == 0 && c->tok != NULL) {
		json_tokener_free(c->tok);
		c->tok = NULL;
	}
	return FS_OK;
}

void
pushhub_conn_readable(struct pushhub *h, struct ph_conn *c)
{
	char buf[PH_IN_MAX];

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n > 0) {
			if (pushhub_conn_feed(h, c, buf, (size_t)n) != FS_OK)
				return;
			if ((size_t)n < sizeof(buf))
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* end of stream (the browser left) or an error */
		pushhub_conn_close(h, c);
		return;
	}
}
