/*
 * kv_cluster.c: slot routing for a Redis Cluster over hiredis 0.14 (see
 * kv_cluster.h). Commands are formatted once (RESP), their key found in the
 * formatted text, and the bytes sent to the node that owns the key's slot.
 */
#include "kv_cluster.h"
#include "fs.h"
#include "kv_slot.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define KVC_NODES 64
#define KVC_SCRIPTS 32
/* one request's attempts at one command: redirections, a refreshed map,
 * back-offs; and the time they may take at most (below the 1 s socket
 * timeout, so that a request with a few Redis calls answers well inside
 * API.md's 5 s even while a master fails over) */
#define KVC_TRIES 8
#define KVC_BUDGET_MS 500
/* back-off after TRYAGAIN / CLUSTERDOWN: doubles from this */
#define KVC_BACKOFF_MS 10
/* a node whose connect failed is not tried again before this (a dead node
 * costs each request a fast 503, not a connect per request) */
#define KVC_RETRY_MS 200
/* the map is asked for again at most this often, except after a MOVED */
#define KVC_REFRESH_MS 100

struct kv_cluster_node {
	char host[64];
	int port;
	redisContext *c;
	int64_t retry_ms;
};

struct kv_cluster_cmd {
	char *buf; /* RESP text from redisFormatCommand (ours) */
	int len;
	int slot;        /* -1: the command has no key */
	redisReply *rep; /* NULL until read, or after a transport failure */
	int64_t read_us; /* fs_mono_us() when rep was read */
};

struct kv_cluster {
	struct kv_cluster_node node[KVC_NODES];
	int nnodes;
	short owner[KV_SLOTS]; /* node index of each slot's master, -1 unknown */
	int map_ok;
	int64_t refreshed_ms;
	char seeds[1024];
	int timeout_ms;
	struct kv_script *script[KVC_SCRIPTS];
	int nscripts;
	/* the pipeline: commands queued by kv_cluster_*append, run by the first
	 * kv_cluster_reply, handed out in order */
	struct kv_cluster_cmd *q;
	int nq, qcap, next, ran;
	int rerun; /* the last pipeline ran a unit again (redirected, NOSCRIPT,
		    * unreachable): its commands did not all run in one trip */
};

struct kv_cluster *
kv_cluster_open(const char *seeds, int timeout_ms)
{
	struct kv_cluster *cl = mem_calloc(1, sizeof(*cl));

	snprintf(cl->seeds, sizeof(cl->seeds), "%s", seeds);
	cl->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
	for (int s = 0; s < KV_SLOTS; s++)
		cl->owner[s] = -1;
	return cl;
}

static void
pipeline_reset(struct kv_cluster *cl)
{
	for (int i = 0; i < cl->nq; i++) {
		redisFreeCommand(cl->q[i].buf);
		if (cl->q[i].rep)
			freeReplyObject(cl->q[i].rep);
	}
	cl->nq = cl->next = cl->ran = cl->rerun = 0;
}

void
kv_cluster_close(struct kv_cluster *cl)
{
	if (cl == NULL)
		return;
	pipeline_reset(cl);
	free(cl->q);
	for (int i = 0; i < cl->nnodes; i++)
		if (cl->node[i].c)
			redisFree(cl->node[i].c);
	free(cl);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- commands as formatted text ---- */

/* Finds argument want of the RESP command buf; FS_OK sets *p and *n. */
static int
resp_arg(const char *buf, int len, int want, const char **p, size_t *n)
{
	const char *s = buf, *end = buf + len;
	long argc, l;
	char *e;

	if (len < 4 || *s != '*')
		return FS_ERR;
	argc = strtol(s + 1, &e, 10);
	if (want >= argc)
		return FS_ERR;
	s = e + 2;
	for (int i = 0; i <= want; i++) {
		if (s >= end || *s != '$')
			return FS_ERR;
		l = strtol(s + 1, &e, 10);
		s = e + 2;
		if (l < 0 || s + l > end)
			return FS_ERR;
		if (i == want) {
			*p = s;
			*n = (size_t)l;
			return FS_OK;
		}
		s += l + 2;
	}
	return FS_ERR;
}

static int
name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* The slot of a formatted command's key, -1 when it has none. The project's
 * commands carry their key first, EVAL/EVALSHA after the key count. */
static int
cmd_slot(const char *buf, int len)
{
	static const char *const keyless[] = {
		"PING", "MULTI", "EXEC", "DISCARD", "SCRIPT", "INFO", "CLUSTER", "WAIT",
		"ASKING", "READONLY", "READWRITE", "DBSIZE", "FLUSHALL", "FLUSHDB", "TIME",
		"ECHO", "CONFIG", "CLIENT", "SELECT", "AUTH", "HELLO", "COMMAND", "RANDOMKEY",
		"SCAN", "KEYS", "FUNCTION", "ROLE", "LASTSAVE", "SLOWLOG", "PUBLISH"};
	const char *p, *k;
	size_t n, kn;

	if (resp_arg(buf, len, 0, &p, &n) != FS_OK)
		return -1;
	if (name_is(p, n, "EVALSHA") || name_is(p, n, "EVAL") || name_is(p, n, "EVALSHA_RO") ||
	    name_is(p, n, "EVAL_RO") || name_is(p, n, "FCALL")) {
		const char *nk;
		size_t nkn;

		if (resp_arg(buf, len, 2, &nk, &nkn) != FS_OK || nkn == 0 || *nk == '0' ||
		    resp_arg(buf, len, 3, &k, &kn) != FS_OK)
			return -1;
		return (int)kv_slot_of(k, kn);
	}
	for (size_t i = 0; i < FS_ARRAY_LEN(keyless); i++)
		if (name_is(p, n, keyless[i]))
			return -1;
	if (resp_arg(buf, len, 1, &k, &kn) != FS_OK)
		return -1;
	return (int)kv_slot_of(k, kn);
}

/* ---- nodes and the slot map ---- */

/* The index of node host:port, added when new; -1 when the table is full. */
static int
node_find(struct kv_cluster *cl, const char *host, int port)
{
	for (int i = 0; i < cl->nnodes; i++)
		if (cl->node[i].port == port && strcmp(cl->node[i].host, host) == 0)
			return i;
	if (cl->nnodes == KVC_NODES || strlen(host) >= sizeof(cl->node[0].host))
		return -1;
	memset(&cl->node[cl->nnodes], 0, sizeof(cl->node[0]));
	snprintf(cl->node[cl->nnodes].host, sizeof(cl->node[0].host), "%s", host);
	cl->node[cl->nnodes].port = port;
	return cl->nnodes++;
}

static void
node_fail(struct kv *kv, int i, const char *what)
{
	struct kv_cluster_node *n = &kv->cl->node[i];

	kv->err = 1;
	snprintf(kv->errstr, sizeof(kv->errstr), "%s %s:%d: %s", what, n->host, n->port,
		 n->c && n->c->errstr[0] ? n->c->errstr : "no connection");
	if (n->c != NULL) {
		redisFree(n->c);
		n->c = NULL;
	}
	if (strcmp(what, "connect") == 0)
		n->retry_ms = fs_now_ms() + KVC_RETRY_MS;
	log_warn("redis cluster %s", kv->errstr);
}

/* 1 when the server closed this idle connection (a restart): one
 * non-blocking peek, no round trip. */
static int
conn_dropped(redisContext *c)
{
	char b;
	ssize_t n;

	if (sdslen(c->obuf) != 0)
		return 0;
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The connection to node i, made when missing; NULL when it cannot be. A
 * connection the server closed while idle is replaced before use: nothing
 * was sent on it, so nothing is sent twice. */
static redisContext *
node_ctx(struct kv *kv, int i)
{
	struct kv_cluster_node *n = &kv->cl->node[i];
	struct timeval tv;

	if (n->c != NULL && conn_dropped(n->c)) {
		redisFree(n->c);
		n->c = NULL;
	}
	if (n->c != NULL)
		return n->c;
	if (fs_now_ms() < n->retry_ms) {
		kv->err = 1;
		snprintf(kv->errstr, sizeof(kv->errstr), "redis %s:%d is down", n->host, n->port);
		return NULL;
	}
	tv.tv_sec = kv->cl->timeout_ms / 1000;
	tv.tv_usec = (kv->cl->timeout_ms % 1000) * 1000;
	n->c = redisConnectWithTimeout(n->host, n->port, tv);
	if (n->c == NULL || n->c->err) {
		node_fail(kv, i, "connect");
		return NULL;
	}
	redisSetTimeout(n->c, tv);
	redisEnableKeepAlive(n->c);
	return n->c;
}

/* Reads CLUSTER SLOTS from node i into the map. FS_OK when it held one. */
static int
map_read(struct kv *kv, int i)
{
	struct kv_cluster *cl = kv->cl;
	redisContext *c = node_ctx(kv, i);
	redisReply *rep;
	short owner[KV_SLOTS];
	int any = 0;

	if (c == NULL)
		return FS_ERR;
	rep = redisCommand(c, "CLUSTER SLOTS");
	if (rep == NULL) {
		node_fail(kv, i, "CLUSTER SLOTS");
		return FS_ERR;
	}
	for (int s = 0; s < KV_SLOTS; s++)
		owner[s] = -1;
	for (size_t e = 0; rep->type == REDIS_REPLY_ARRAY && e < rep->elements; e++) {
		redisReply *r = rep->element[e], *m;
		const char *host;
		int idx;

		if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER ||
		    r->element[1]->type != REDIS_REPLY_INTEGER ||
		    (m = r->element[2])->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
		    m->element[0]->type != REDIS_REPLY_STRING ||
		    m->element[1]->type != REDIS_REPLY_INTEGER)
			continue;
		/* an empty address means "the node you asked" */
		host = m->element[0]->len > 0 && strcmp(m->element[0]->str, "?") != 0
			       ? m->element[0]->str
			       : cl->node[i].host;
		idx = node_find(cl, host, (int)m->element[1]->integer);
		if (idx < 0)
			continue;
		for (long long s = r->element[0]->integer;
		     s <= r->element[1]->integer && s < KV_SLOTS && s >= 0; s++) {
			owner[s] = (short)idx;
			any = 1;
		}
	}
	if (rep->type == REDIS_REPLY_ERROR)
		log_warn("redis cluster CLUSTER SLOTS %s:%d: %s", cl->node[i].host,
			 cl->node[i].port, rep->str);
	freeReplyObject(rep);
	if (!any)
		return FS_ERR;
	memcpy(cl->owner, owner, sizeof(owner));
	cl->map_ok = 1;
	return FS_OK;
}

/* Asks for the slot map again: first of the nodes already connected, then
 * of the seeds, then of any node known; never of node avoid (just found
 * dead). Unless force, at most once per KVC_REFRESH_MS. */
static int
map_refresh(struct kv *kv, int avoid, int force)
{
	struct kv_cluster *cl = kv->cl;
	int64_t now = fs_now_ms();
	char seeds[sizeof(cl->seeds)], *save = NULL;

	if (!force && cl->map_ok && now - cl->refreshed_ms < KVC_REFRESH_MS)
		return FS_ERR;
	cl->refreshed_ms = now;
	for (int i = 0; i < cl->nnodes; i++)
		if (i != avoid && cl->node[i].c != NULL && map_read(kv, i) == FS_OK)
			return FS_OK;
	snprintf(seeds, sizeof(seeds), "%s", cl->seeds);
	for (char *t = strtok_r(seeds, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		char *colon = strrchr(t, ':');
		int i;

		if (colon == NULL)
			continue;
		*colon = '\0';
		i = node_find(cl, t, atoi(colon + 1));
		if (i >= 0 && i != avoid && cl->node[i].c == NULL && map_read(kv, i) == FS_OK)
			return FS_OK;
	}
	for (int i = 0; i < cl->nnodes; i++)
		if (i != avoid && cl->node[i].c == NULL && map_read(kv, i) == FS_OK)
			return FS_OK;
	kv->err = 1;
	if (kv->errstr[0] == '\0')
		snprintf(kv->errstr, sizeof(kv->errstr), "no cluster node answered CLUSTER SLOTS");
	return FS_ERR;
}

/* The node to send a command of slot to (-1: none known). A command
 * without a key goes to a master already connected, else slot 0's. */
static int
pick_node(struct kv *kv, int slot)
{
	struct kv_cluster *cl = kv->cl;

	if (!cl->map_ok)
		map_refresh(kv, -1, 1);
	if (slot < 0) {
		for (int s = 0; s < KV_SLOTS; s += 64) {
			int i = cl->owner[s];

			if (i >= 0 && cl->node[i].c != NULL)
				return i;
		}
		slot = 0;
	}
	if (cl->owner[slot] < 0)
		map_refresh(kv, -1, 0);
	return cl->owner[slot];
}

/* ---- scripts ---- */

void
kv_cluster_script(struct kv *kv, struct kv_script *script)
{
	struct kv_cluster *cl = kv->cl;

	for (int i = 0; i < cl->nscripts; i++)
		if (cl->script[i] == script)
			return;
	if (cl->nscripts == KVC_SCRIPTS)
		die("more than %d Lua scripts: raise KVC_SCRIPTS", KVC_SCRIPTS);
	cl->script[cl->nscripts++] = script;
}

/* Loads the script whose SHA the EVALSHA in buf names on context c. */
static int
script_load_for(struct kv *kv, redisContext *c, const char *buf, int len)
{
	struct kv_cluster *cl = kv->cl;
	const char *sha;
	size_t n;

	if (resp_arg(buf, len, 1, &sha, &n) != FS_OK || n != 40)
		return FS_ERR;
	for (int i = 0; i < cl->nscripts; i++) {
		if (memcmp(cl->script[i]->sha, sha, 40) == 0) {
			redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", cl->script[i]->source);
			int ok = rep != NULL && rep->type == REDIS_REPLY_STRING;

			if (rep)
				freeReplyObject(rep);
			return ok ? FS_OK : FS_ERR;
		}
	}
	return FS_ERR;
}

int
kv_cluster_script_load(struct kv *kv, struct kv_script *script)
{
	struct kv_cluster *cl = kv->cl;
	int known = 0, done[KVC_NODES] = {0};

	for (int i = 0; i < cl->nscripts; i++)
		known |= cl->script[i] == script;
	if (known)
		return FS_OK;
	kv_cluster_script(kv, script);
	if (!cl->map_ok && map_refresh(kv, -1, 1) != FS_OK)
		return FS_ERR;
	/* a master down now loads it later, on its first NOSCRIPT */
	for (int s = 0; s < KV_SLOTS; s++) {
		int i = cl->owner[s];
		redisContext *c;
		redisReply *rep;

		if (i < 0 || done[i])
			continue;
		done[i] = 1;
		if ((c = node_ctx(kv, i)) == NULL)
			continue;
		rep = redisCommand(c, "SCRIPT LOAD %s", script->source);
		if (rep == NULL)
			node_fail(kv, i, "SCRIPT LOAD");
		else
			freeReplyObject(rep);
	}
	kv->err = 0;
	return FS_OK;
}

/* ---- running commands ---- */

enum retry { RETRY_NONE, RETRY_MOVED, RETRY_ASK, RETRY_LATER, RETRY_NOSCRIPT };

static enum retry
retry_kind(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ERROR)
		return RETRY_NONE;
	if (strncmp(r->str, "MOVED ", 6) == 0)
		return RETRY_MOVED;
	if (strncmp(r->str, "ASK ", 4) == 0)
		return RETRY_ASK;
	if (strncmp(r->str, "TRYAGAIN", 8) == 0 || strncmp(r->str, "CLUSTERDOWN", 11) == 0)
		return RETRY_LATER;
	if (strncmp(r->str, "NOSCRIPT", 8) == 0)
		return RETRY_NOSCRIPT;
	return RETRY_NONE;
}

/* The reply of a unit that asks for a retry, or NULL. In a MULTI..EXEC
 * unit a queued command's MOVED aborts the whole transaction (EXECABORT):
 * nothing ran, so the unit is sent again whole. */
static const redisReply *
unit_retry(const struct kv_cluster_cmd *u, int n)
{
	for (int k = 0; k < n; k++) {
		enum retry kind = retry_kind(u[k].rep);

		/* a NOSCRIPT inside a transaction is its own error, not ours */
		if (kind != RETRY_NONE && !(kind == RETRY_NOSCRIPT && n > 1))
			return u[k].rep;
	}
	return NULL;
}

static void
unit_free(struct kv_cluster_cmd *u, int n)
{
	for (int k = 0; k < n; k++) {
		if (u[k].rep)
			freeReplyObject(u[k].rep);
		u[k].rep = NULL;
	}
}

/* Sends unit u (n commands) on c, after an ASKING when asking, and reads
 * the replies into u. FS_ERR on a transport failure (replies NULL): the
 * commands may have run, so they are not sent again. */
static int
unit_send(struct kv *kv, int i, redisContext *c, struct kv_cluster_cmd *u, int n, int asking)
{
	void *rep;

	if (asking)
		redisAppendCommand(c, "ASKING");
	for (int k = 0; k < n; k++)
		redisAppendFormattedCommand(c, u[k].buf, (size_t)u[k].len);
	if (asking) {
		if (redisGetReply(c, &rep) != REDIS_OK || rep == NULL) {
			node_fail(kv, i, "reply");
			return FS_ERR;
		}
		freeReplyObject(rep);
	}
	for (int k = 0; k < n; k++) {
		rep = NULL;
		if (redisGetReply(c, &rep) != REDIS_OK || rep == NULL) {
			unit_free(u, n);
			node_fail(kv, i, "reply");
			return FS_ERR;
		}
		u[k].rep = rep;
	}
	return FS_OK;
}

/* Follows the MOVED or ASK in why, node i's answer (-1: unknown): a MOVED
 * updates the map (*ask = -1), an ASK sends the next attempt to its node
 * (*ask). Frees u's replies. FS_OK: try again; FS_ERR: give up. */
static int
unit_follow(struct kv *kv, struct kv_cluster_cmd *u, int n, const redisReply *why, int i, int *ask)
{
	struct kv_cluster *cl = kv->cl;
	char host[64];
	int s, port, to;
	enum kv_redirect k = kv_slot_redirect_parse(why->str, strlen(why->str), &s, host,
						    sizeof(host), &port);

	if (k == KV_REDIRECT_NONE)
		return FS_ERR;
	if (i < 0 || (to = node_find(cl, host[0] ? host : cl->node[i].host, port)) < 0)
		return FS_ERR;
	unit_free(u, n);
	if (k == KV_REDIRECT_MOVED) {
		/* the slot has a new master: remember it, and learn the rest
		 * of a resharding at once */
		cl->owner[s] = (short)to;
		*ask = -1;
		map_refresh(kv, -1, 0);
		cl->owner[s] = (short)to;
	} else {
		/* one command's detour while the slot migrates: the map stays
		 * as it is */
		*ask = to;
	}
	return FS_OK;
}

/* Acts on why, the retry answer of node i (-1: unknown), before the next
 * attempt: follows a redirection, waits out a TRYAGAIN or CLUSTERDOWN
 * (*backoff doubles, bounded by deadline), loads a script a promoted
 * replica lacks. FS_OK: try again; FS_ERR: give up. */
static int
unit_recover(struct kv *kv, struct kv_cluster_cmd *u, int n, const redisReply *why, int i,
	     int *ask, int *backoff, int64_t deadline)
{
	redisContext *c;

	switch (retry_kind(why)) {
	case RETRY_MOVED:
	case RETRY_ASK:
		return unit_follow(kv, u, n, why, i, ask);
	case RETRY_LATER:
		/* a slot migrating or a failover under way: wait a little,
		 * bounded; the map may have changed meanwhile */
		if (fs_now_ms() + *backoff > deadline)
			return FS_ERR;
		unit_free(u, n);
		sleep_ms(*backoff);
		*backoff *= 2;
		*ask = -1;
		map_refresh(kv, -1, 0);
		return FS_OK;
	case RETRY_NOSCRIPT:
		/* a promoted replica has no scripts (Redis 7 does not
		 * replicate SCRIPT LOAD): load it there, run again */
		unit_free(u, n);
		if (i < 0 || (c = node_ctx(kv, i)) == NULL ||
		    script_load_for(kv, c, u[0].buf, u[0].len) != FS_OK)
			return FS_ERR;
		return FS_OK;
	case RETRY_NONE:
		break;
	}
	return FS_OK;
}

/* Runs unit u (one command, or MULTI..EXEC) on the master of slot,
 * following redirections, within KVC_TRIES and KVC_BUDGET_MS. When first
 * is a node index, u already holds the replies node first gave (a
 * pipeline's first attempt): they are judged first. FS_OK: u[].rep hold
 * the replies; FS_ERR: kv->errstr says why, u[].rep are NULL (the caller
 * answers 503). */
static int
unit_run(struct kv *kv, struct kv_cluster_cmd *u, int n, int slot, int first)
{
	int64_t deadline = fs_now_ms() + KVC_BUDGET_MS;
	int ask = -1, backoff = KVC_BACKOFF_MS;

	for (int attempt = 0; attempt < KVC_TRIES; attempt++) {
		const redisReply *why;
		redisContext *c;
		int i = first;

		if (first < 0 || attempt > 0) {
			i = ask >= 0 ? ask : pick_node(kv, slot);
			if (i < 0)
				break;
			if ((c = node_ctx(kv, i)) == NULL) {
				/* a dead node: its replica may own the slot by now */
				if (ask < 0 && map_refresh(kv, i, 0) == FS_OK && pick_node(kv, slot) != i)
					continue;
				break;
			}
			if (unit_send(kv, i, c, u, n, ask >= 0) != FS_OK)
				return FS_ERR;
		}
		if ((why = unit_retry(u, n)) == NULL) {
			kv->err = 0;
			return FS_OK;
		}
		snprintf(kv->errstr, sizeof(kv->errstr), "redis cluster: %.200s", why->str);
		if (unit_recover(kv, u, n, why, i, &ask, &backoff, deadline) != FS_OK)
			break;
	}
	unit_free(u, n);
	kv->err = 1;
	if (kv->errstr[0] == '\0')
		snprintf(kv->errstr, sizeof(kv->errstr), "redis cluster: no node for slot %d", slot);
	log_warn("%s (slot %d, gave up)", kv->errstr, slot);
	return FS_ERR;
}

/* Runs one formatted command (buf is ours and freed here). */
static redisReply *
cmd_run(struct kv *kv, char *buf, int len)
{
	struct kv_cluster_cmd c = {buf, len, -1, NULL, 0};

	pipeline_reset(kv->cl);
	kv->errstr[0] = '\0';
	if (len < 0) {
		kv->err = 1;
		snprintf(kv->errstr, sizeof(kv->errstr), "command does not format");
		return NULL;
	}
	c.slot = cmd_slot(buf, len);
	unit_run(kv, &c, 1, c.slot, -1);
	redisFreeCommand(buf);
	return c.rep;
}

redisReply *
kv_cluster_vcmd(struct kv *kv, const char *fmt, va_list ap)
{
	char *buf = NULL;
	int len = redisvFormatCommand(&buf, fmt, ap);

	return cmd_run(kv, buf, len);
}

redisReply *
kv_cluster_cmdargv(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	char *buf = NULL;
	int len = redisFormatCommandArgv(&buf, argc, argv, lens);

	return cmd_run(kv, buf, len);
}

/* ---- pipelines ---- */

static int
queue_add(struct kv *kv, char *buf, int len)
{
	struct kv_cluster *cl = kv->cl;

	/* replies of an earlier pipeline nobody read are dropped here */
	if (cl->ran)
		pipeline_reset(cl);
	if (len < 0)
		return FS_ERR;
	if (cl->nq == cl->qcap) {
		cl->qcap = cl->qcap ? cl->qcap * 2 : 16;
		cl->q = mem_realloc(cl->q, (size_t)cl->qcap * sizeof(*cl->q));
	}
	cl->q[cl->nq].buf = buf;
	cl->q[cl->nq].len = len;
	cl->q[cl->nq].slot = cmd_slot(buf, len);
	cl->q[cl->nq].rep = NULL;
	cl->q[cl->nq].read_us = 0;
	cl->nq++;
	return FS_OK;
}

int
kv_cluster_vappend(struct kv *kv, const char *fmt, va_list ap)
{
	char *buf = NULL;
	int len = redisvFormatCommand(&buf, fmt, ap);

	return queue_add(kv, buf, len);
}

int
kv_cluster_appendargv(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	char *buf = NULL;
	int len = redisFormatCommandArgv(&buf, argc, argv, lens);

	return queue_add(kv, buf, len);
}

/* The length of the unit starting at q[i]: MULTI..EXEC goes as one. */
static int
unit_len(const struct kv_cluster *cl, int i)
{
	const char *p;
	size_t n;
	int j;

	if (resp_arg(cl->q[i].buf, cl->q[i].len, 0, &p, &n) != FS_OK || !name_is(p, n, "MULTI"))
		return 1;
	for (j = i + 1; j < cl->nq; j++)
		if (resp_arg(cl->q[j].buf, cl->q[j].len, 0, &p, &n) == FS_OK &&
		    (name_is(p, n, "EXEC") || name_is(p, n, "DISCARD")))
			return j - i + 1;
	return j - i;
}

static int
unit_slot(const struct kv_cluster_cmd *u, int n)
{
	for (int k = 0; k < n; k++)
		if (u[k].slot >= 0)
			return u[k].slot;
	return -1;
}

/* A pipeline's run: per unit (indexed by its first command) its length,
 * its node and its state; per node whether it got commands. */
enum unit_state { UNIT_SENT, UNIT_SERIAL, UNIT_FAILED };
struct plan {
	int *ulen, *unode;
	enum unit_state *state;
	int used[KVC_NODES]; /* 1 commands written to it, -1 it failed */
};

/* Each unit's node; a unit without a reachable node runs on its own. Nodes
 * first, commands after: finding a node may ask one for the map, which
 * must not meet pipelined commands in its buffer. */
static void
plan_nodes(struct kv *kv, struct plan *pl)
{
	struct kv_cluster *cl = kv->cl;
	char asked[KVC_NODES] = {0}; /* node_ctx's check, once a node */

	for (int i = 0; i < cl->nq; i += pl->ulen[i]) {
		int n;

		pl->ulen[i] = unit_len(cl, i);
		n = pl->unode[i] = pick_node(kv, unit_slot(&cl->q[i], pl->ulen[i]));
		if (n >= 0 && !asked[n]) {
			asked[n] = 1;
			(void)node_ctx(kv, n);
		}
		if (n < 0 || cl->node[n].c == NULL)
			pl->state[i] = UNIT_SERIAL;
	}
}

/* Writes every node's commands, all of them before any reply is read. */
static void
plan_send(struct kv *kv, struct plan *pl)
{
	struct kv_cluster *cl = kv->cl;

	for (int i = 0; i < cl->nq; i += pl->ulen[i]) {
		/* (a later map refresh may have dropped an earlier node) */
		if (pl->state[i] == UNIT_SERIAL || cl->node[pl->unode[i]].c == NULL) {
			pl->state[i] = UNIT_SERIAL;
			continue;
		}
		pl->used[pl->unode[i]] = 1;
		for (int k = i; k < i + pl->ulen[i]; k++)
			redisAppendFormattedCommand(cl->node[pl->unode[i]].c, cl->q[k].buf,
						    (size_t)cl->q[k].len);
	}
	for (int n = 0; n < cl->nnodes; n++) {
		int done = 0;

		while (pl->used[n] == 1 && !done)
			if (redisBufferWrite(cl->node[n].c, &done) != REDIS_OK) {
				node_fail(kv, n, "write");
				pl->used[n] = -1;
			}
	}
}

/* Reads the replies of the units sent; a node's transport failure fails
 * its units from there on (they may have run: not resent). */
static void
plan_read(struct kv *kv, struct plan *pl)
{
	struct kv_cluster *cl = kv->cl;

	for (int i = 0; i < cl->nq; i += pl->ulen[i]) {
		int n = pl->unode[i];

		if (pl->state[i] == UNIT_SERIAL)
			continue;
		if (pl->used[n] < 0) {
			pl->state[i] = UNIT_FAILED;
			continue;
		}
		for (int k = i; k < i + pl->ulen[i]; k++) {
			void *rep = NULL;

			if (redisGetReply(cl->node[n].c, &rep) != REDIS_OK || rep == NULL) {
				node_fail(kv, n, "reply");
				pl->used[n] = -1;
				unit_free(&cl->q[i], k - i);
				pl->state[i] = UNIT_FAILED;
				break;
			}
			cl->q[k].rep = rep;
			cl->q[k].read_us = fs_mono_us();
		}
	}
}

/* Runs the queued pipeline: every node's commands are written before any
 * reply is read (one round trip per node, the nodes in parallel); a unit
 * a node redirected, or whose node could not be reached, then runs on its
 * own with unit_run's retries. A transport failure after sending leaves
 * that node's replies NULL: they may have run, so they are not resent. */
static void
pipeline_run(struct kv *kv)
{
	struct kv_cluster *cl = kv->cl;
	struct plan pl = {mem_calloc((size_t)cl->nq, sizeof(int)),
			  mem_calloc((size_t)cl->nq, sizeof(int)),
			  mem_calloc((size_t)cl->nq, sizeof(enum unit_state)),
			  {0}};

	cl->ran = 1;
	kv->errstr[0] = '\0';
	plan_nodes(kv, &pl);
	plan_send(kv, &pl);
	plan_read(kv, &pl);
	for (int i = 0; i < cl->nq; i += pl.ulen[i]) {
		struct kv_cluster_cmd *u = &cl->q[i];
		int serial = pl.state[i] == UNIT_SERIAL;

		if (serial || (pl.state[i] == UNIT_SENT && unit_retry(u, pl.ulen[i]) != NULL)) {
			cl->rerun = 1;
			unit_run(kv, u, pl.ulen[i], unit_slot(u, pl.ulen[i]), serial ? -1 : pl.unode[i]);
			u->read_us = fs_mono_us();
		}
	}
	free(pl.ulen);
	free(pl.unode);
	free(pl.state);
}

redisReply *
kv_cluster_reply(struct kv *kv)
{
	struct kv_cluster *cl = kv->cl;
	redisReply *rep;

	if (!cl->ran)
		pipeline_run(kv);
	if (cl->next >= cl->nq)
		return NULL;
	rep = cl->q[cl->next].rep;
	cl->q[cl->next++].rep = NULL;
	kv->err = rep == NULL;
	if (rep == NULL && kv->errstr[0] == '\0')
		snprintf(kv->errstr, sizeof(kv->errstr), "redis cluster: no reply");
	return rep;
}

/* ---- WAIT ---- */

int
kv_cluster_append_wait(struct kv *kv, const char *key, int replicas, int ms)
{
	char *buf = NULL;
	int len;

	if (kv->cl == NULL)
		return kv_append(kv, "WAIT %d %d", replicas, ms);
	len = redisFormatCommand(&buf, "WAIT %d %d", replicas, ms);
	if (queue_add(kv, buf, len) != FS_OK)
		return FS_ERR;
	/* WAIT names no key: it goes where key's write went, the slot's master */
	kv->cl->q[kv->cl->nq - 1].slot = kv_slot_of(key, strlen(key));
	return FS_OK;
}

int
kv_cluster_wait_reply(struct kv *kv, int replicas, int ms)
{
	redisReply *rep = kv_reply(kv);
	int n = FS_ERR;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_INTEGER)
		n = (int)rep->integer;
	else
		log_warn("WAIT %d %d: %s", replicas, ms,
			 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	freeReplyObject(rep);
	return n;
}

int64_t
kv_cluster_read_us(const struct kv *kv, int i)
{
	return kv->cl != NULL && i >= 0 && i < kv->cl->nq ? kv->cl->q[i].read_us : 0;
}

int
kv_cluster_rerun(const struct kv *kv)
{
	return kv->cl != NULL && kv->cl->rerun;
}

int
kv_cluster_wait(struct kv *kv, const char *key, int replicas, int ms)
{
	if (kv_cluster_append_wait(kv, key, replicas, ms) != FS_OK)
		return FS_ERR;
	return kv_cluster_wait_reply(kv, replicas, ms);
}
