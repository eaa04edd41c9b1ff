/*
 * pushhub_users.c: the push hub's map from a user id to that user's open
 * sockets (a user may have several pages open), and the delivery of the
 * order events the programs publish (lib/pub.c's lines "<uid> <json>\n").
 */
#include "pub.h"
#include "pushhub_users.h"
#include "fs.h"
#include "pushhub_conn.h"

#include <stdlib.h>
#include <string.h>

static size_t
bucket(int64_t uid)
{
	/* Fibonacci hashing: user ids are often sequential */
	return (size_t)(((uint64_t)uid * 11400714819323198485ull) >> 50) & (PH_USER_BUCKETS - 1);
}

void
pushhub_users_add(struct pushhub *h, struct ph_conn *c)
{
	size_t b = bucket(c->uid);

	c->next_user = h->users[b];
	h->users[b] = c;
}

void
pushhub_users_remove(struct pushhub *h, struct ph_conn *c)
{
	struct ph_conn **p = &h->users[bucket(c->uid)];

	for (; *p != NULL; p = &(*p)->next_user) {
		if (*p == c) {
			*p = c->next_user;
			c->next_user = NULL;
			return;
		}
	}
}

int
pushhub_users_send(struct pushhub *h, int64_t uid, const char *line, size_t len)
{
	struct ph_conn *c = h->users[bucket(uid)], *next;
	int n = 0;

	for (; c != NULL; c = next) {
		next = c->next_user; /* a send may drop c (slow reader) */
		if (c->uid != uid || c->state != PH_USER)
			continue;
		if (pushhub_conn_send(h, c, line, len) == FS_OK)
			n++;
	}
	h->events_out += n;
	return n;
}

void
pushhub_users_events(struct pushhub *h, const char *msg, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *line = msg + off, *nl = memchr(line, '\n', len - off), *sp;
		size_t llen = nl ? (size_t)(nl - line) + 1 : len - off;
		char num[24];
		int64_t uid;

		off += llen;
		h->events_in++;
		/* "<uid> {...}\n"; anything else is not from lib/pub.c: skipped */
		if (nl == NULL || llen > PUB_LINE_MAX)
			continue;
		sp = memchr(line, ' ', llen);
		if (sp == NULL || sp == line || (size_t)(sp - line) >= sizeof(num) || sp[1] != '{')
			continue;
		memcpy(num, line, (size_t)(sp - line));
		num[sp - line] = '\0';
		if (fs_parse_u63(num, &uid) != FS_OK)
			continue;
		pushhub_users_send(h, uid, sp + 1, llen - (size_t)(sp + 1 - line));
	}
}
