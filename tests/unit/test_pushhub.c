/*
 * test_pushhub: the push hub's socket core without lighttpd (lib/pushhub_*):
 * values split over reads and several in one read, the input limit, bad
 * JSON, auth by user and admin token, the slow reader dropped at the output
 * limit, the event lines of lib/pub.c and their routing by user.
 */
#include "fs.h"
#include "jwt.h"
#include "order.h"
#include "orderq.h"
#include "pub.h"
#include "pushhub.h"
#include "pushhub_conn.h"
#include "pushhub_msg.h"
#include "pushhub_users.h"
#include "testhelp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SECRET "unit-secret"
#define ADMIN "unit-admin-token"

static struct pushhub *
hub_new(void)
{
	struct pushhub *h = calloc(1, sizeof(*h));

	h->ep = epoll_create1(0);
	h->nconns_max = 1024;
	h->conns = calloc((size_t)h->nconns_max, sizeof(h->conns[0]));
	h->jwt_secret = SECRET;
	h->auth_ms = PH_AUTH_MS;
	h->ping_ms = PH_PING_MS;
	pushhub_msg_set_admin(h, ADMIN);
	return h;
}

static void
hub_free(struct pushhub *h)
{
	for (int fd = 0; fd < h->nconns_max; fd++)
		if (h->conns[fd])
			pushhub_conn_close(h, h->conns[fd]);
	close(h->ep);
	free(h->conns);
	free(h);
}

/* A hub connection on one end of a socket pair; *peer is the client end. */
static struct ph_conn *
pair(struct pushhub *h, int *peer)
{
	int sv[2];
	struct epoll_event ev = {.events = EPOLLIN};

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	ev.data.fd = sv[0];
	epoll_ctl(h->ep, EPOLL_CTL_ADD, sv[0], &ev);
	*peer = sv[1];
	return pushhub_conn_new(h, sv[0]);
}

/* What the hub wrote to the client end so far (static buffer). */
static const char *
got(int peer)
{
	static char buf[65536];
	ssize_t n = read(peer, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
feed(struct pushhub *h, struct ph_conn *c, const char *s)
{
	return pushhub_conn_feed(h, c, s, strlen(s));
}

static void
test_auth(void)
{
	struct pushhub *h = hub_new();
	char tok[JWT_MAX], msg[2048];
	struct ph_conn *c;
	int peer, fd;

	jwt_sign(SECRET, 77, time(NULL) + 60, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	c = pair(h, &peer);
	fd = c->fd;
	/* split in two reads, inside a string */
	test_cond("first half waits", pushhub_conn_feed(h, c, msg, 20) == FS_OK && c->state == PH_NEW);
	test_cond("second half authenticates", feed(h, c, msg + 20) == FS_OK && c->state == PH_USER &&
		  c->uid == 77);
	test_cond("ready with the user id", strcmp(got(peer), "{\"type\":\"ready\",\"user_id\":\"77\"}\n") == 0);
	test_cond("parser memory given back between values", c->tok == NULL);
	/* two values and whitespace in one read */
	test_cond("two pings", feed(h, c, " {\"type\":\"ping\"}\n\n{\"type\":\"ping\"} ") == FS_OK);
	test_cond("two pongs", strcmp(got(peer), "{\"type\":\"pong\"}\n{\"type\":\"pong\"}\n") == 0);
	test_cond("subscribe is forbidden for a user",
		  feed(h, c, "{\"type\":\"subscribe\",\"activity_id\":3}") == FS_OK &&
		  strcmp(got(peer), "{\"type\":\"error\",\"error\":\"forbidden\"}\n") == 0);
	test_cond("unknown type: bad_request, still open",
		  feed(h, c, "{\"type\":\"x\"}") == FS_OK && h->conns[fd] == c &&
		  strcmp(got(peer), "{\"type\":\"error\",\"error\":\"bad_request\"}\n") == 0);
	close(peer);

	/* the admin token, and a subscribe */
	c = pair(h, &peer);
	test_cond("admin", feed(h, c, "{\"type\":\"auth\",\"token\":\"" ADMIN "\"}") == FS_OK &&
		  c->state == PH_ADMIN && strcmp(got(peer), "{\"type\":\"ready\",\"admin\":true}\n") == 0);
	test_cond("admin subscribes", feed(h, c, "{\"type\":\"subscribe\",\"activity_id\":\"12\"}") == FS_OK &&
		  c->aid == 12);
	close(peer);

	/* a wrong admin token of the same length, a forged and an expired JWT */
	c = pair(h, &peer);
	fd = c->fd;
	test_cond("near-admin refused", feed(h, c, "{\"type\":\"auth\",\"token\":\"unit-admin-tokeN\"}") == FS_ERR &&
		  h->conns[fd] == NULL && strstr(got(peer), "unauthorized") != NULL);
	close(peer);
	jwt_sign("other", 77, time(NULL) + 60, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	c = pair(h, &peer);
	test_cond("forged refused", feed(h, c, msg) == FS_ERR && strstr(got(peer), "unauthorized"));
	close(peer);
	jwt_sign(SECRET, 77, time(NULL) - 1, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	c = pair(h, &peer);
	test_cond("expired refused", feed(h, c, msg) == FS_ERR && strstr(got(peer), "unauthorized"));
	close(peer);
	hub_free(h);
}

static void
test_input_limits(void)
{
	struct pushhub *h = hub_new();
	char *big = malloc(PH_IN_MAX * 3);
	struct ph_conn *c;
	int peer, fd;

	/* one value longer than the limit, fed in small reads */
	c = pair(h, &peer);
	fd = c->fd;
	memset(big, 'a', PH_IN_MAX * 3);
	memcpy(big, "{\"type\":\"auth\",\"token\":\"", 24);
	{
		int rc = FS_OK;

		for (size_t off = 0; off < PH_IN_MAX * 3 && rc == FS_OK; off += 1000)
			rc = pushhub_conn_feed(h, c, big + off, 1000);
		test_cond("too large closes", rc == FS_ERR && h->conns[fd] == NULL);
	}
	test_cond("too_large said", strcmp(got(peer), "{\"type\":\"error\",\"error\":\"too_large\"}\n") == 0);
	close(peer);
	/* and in one read */
	c = pair(h, &peer);
	fd = c->fd;
	test_cond("too large in one read", pushhub_conn_feed(h, c, big, PH_IN_MAX * 3) == FS_ERR &&
		  h->conns[fd] == NULL && strstr(got(peer), "too_large"));
	close(peer);
	free(big);
	/* not JSON, invalid UTF-8, a JSON value that is not an object */
	const char *bad[] = {"hello", "\xff\xfe\x00", "{\"type\":\"au\xc3\x28\"}", "{'type':'auth'}",
			     "[1,2] ", "42 "};
	for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
		c = pair(h, &peer);
		fd = c->fd;
		test_cond("bad input closes", pushhub_conn_feed(h, c, bad[i], strlen(bad[i]) + (i == 1)) == FS_ERR &&
			  h->conns[fd] == NULL);
		close(peer);
	}
	test_cond("no socket left", h->nconns == 0);
	hub_free(h);
}

static void
test_slow_reader(void)
{
	struct pushhub *h = hub_new();
	char tok[JWT_MAX], msg[2048], line[400];
	struct ph_conn *c, *fast;
	int peer, fpeer, fd, sends = 0, fast_got = 0;

	jwt_sign(SECRET, 5, time(NULL) + 60, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	c = pair(h, &peer);
	fd = c->fd;
	feed(h, c, msg);
	got(peer);
	jwt_sign(SECRET, 6, time(NULL) + 60, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	fast = pair(h, &fpeer);
	feed(h, fast, msg);
	got(fpeer);
	memset(line, 'x', sizeof(line));
	line[0] = '{';
	line[sizeof(line) - 2] = '}';
	line[sizeof(line) - 1] = '\n';
	/* user 5 never reads; user 6 reads everything */
	for (int i = 0; i < 20000 && h->conns[fd] == c; i++) {
		sends += pushhub_users_send(h, 5, line, sizeof(line));
		pushhub_users_send(h, 6, line, sizeof(line));
		fast_got += (int)strlen(got(fpeer));
	}
	test_cond("the slow reader is dropped", h->conns[fd] == NULL && h->dropped_slow == 1);
	test_cond("after a bounded backlog", (size_t)sends * sizeof(line) < PH_OUT_MAX + 4 * 1024 * 1024);
	test_cond("the fast reader stays", h->conns[fast->fd] == fast && fast_got > 0);
	test_cond("the map forgets the dropped socket", pushhub_users_send(h, 5, line, sizeof(line)) == 0);
	close(peer);
	close(fpeer);
	hub_free(h);
}

static void
test_events(void)
{
	struct pushhub *h = hub_new();
	struct order o = {.id = 385475961145004032LL, .user_id = 9, .activity_id = 1, .item_id = 2,
			  .quantity = 1, .amount_cents = 999, .created_ms = 1700000000000LL,
			  .status = ORDER_QUEUED};
	char tok[JWT_MAX], msg[2048], ev[PUB_LINE_MAX * 2];
	struct ph_conn *c;
	json_object *a, *b, *t;
	size_t n;
	int peer;

	n = pub_format(&o, ev, sizeof(ev));
	test_cond("event line starts with the user", n > 0 && strncmp(ev, "9 {", 3) == 0 && ev[n - 1] == '\n');
	/* the JSON is order_to_json plus "type" */
	a = json_tokener_parse(ev + 2);
	b = order_to_json(&o);
	test_cond("same type", a && json_object_object_get_ex(a, "type", &t) &&
		  strcmp(json_object_get_string(t), "order") == 0);
	json_object_object_del(a, "type");
	test_cond("same object as the status poll", json_object_equal(a, b));
	json_object_put(a);
	json_object_put(b);
	o.pay_deadline_ms = 1700000900000LL;
	o.status = ORDER_UNPAID;
	n += pub_format(&o, ev + n, sizeof(ev) - n);

	jwt_sign(SECRET, 9, time(NULL) + 60, tok);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	c = pair(h, &peer);
	feed(h, c, msg);
	got(peer);
	pushhub_users_events(h, ev, n);
	{
		const char *s = got(peer);

		test_cond("both events, in order", strstr(s, "\"queued\"") && strstr(s, "\"unpaid\"") &&
			  strstr(s, "\"queued\"") < strstr(s, "\"unpaid\"") && s[strlen(s) - 1] == '\n');
		test_cond("without the user prefix", strncmp(s, "{\"type\":\"order\"", 15) == 0);
	}
	const char *junk = "10 {\"type\":\"order\"}\nx {}\n0 {}\n9{}\n9 x\n9 {\"no newline\"}";
	pushhub_users_events(h, junk, strlen(junk));
	test_cond("other users' and malformed lines reach nobody", strcmp(got(peer), "") == 0);
	close(peer);
	hub_free(h);
}

/* pub_order_later's batch: held while young, sent by pub_pending() once it
 * is PUB_WAIT_MS old, even when no further event comes (a flood of refused
 * orders adds none and never lets the process idle). */
static void
test_pub_batch(void)
{
	char ep[64], buf[PUB_LINE_MAX * PUB_BATCH + 1];
	struct order o = {.id = 11, .user_id = 12, .activity_id = 1, .item_id = 2, .quantity = 1,
			  .amount_cents = 5, .created_ms = 1, .status = ORDER_QUEUED};
	struct timespec nap = {0, (PUB_WAIT_MS + 5) * 1000000L};
	struct orderq *pull;
	int n;

	snprintf(ep, sizeof(ep), "ipc:///tmp/fs-ut-pub-%d.ipc", (int)getpid());
	setenv("FLASH_PUSH_EVENTS", ep, 1);
	pull = orderq_open_pull(ep);
	test_cond("events endpoint binds", pull != NULL);
	if (pull == NULL)
		return;
	pub_order_later(&o);
	test_cond("a young batch waits", pub_pending() && orderq_pull(pull, buf, sizeof(buf), 50) == 0);
	nanosleep(&nap, NULL);
	test_cond("pub_pending sends a batch that is due", !pub_pending());
	n = orderq_pull(pull, buf, sizeof(buf), 2000);
	test_cond("the event arrives", n > 0 && strncmp(buf, "12 {", 4) == 0);
	orderq_close(pull);
	unlink(ep + strlen("ipc://"));
}

int
main(void)
{
	test_auth();
	test_input_limits();
	test_slow_reader();
	test_events();
	test_pub_batch();
	return test_report();
}
