/*
 * kv.c: Redis connection handling, commands, pipelining and scripts.
 */
#include "kv.h"
#include "codec.h"
#include "conf_keys.h"
#include "kv_cluster.h"
#include "conf.h"
#include "fs.h"
#include "hmac.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct kv *
kv_open(const char *host, int port, int timeout_ms)
{
	struct kv *kv = mem_calloc(1, sizeof(*kv));

	snprintf(kv->host, sizeof(kv->host), "%s", host);
	kv->port = port;
	kv->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
	/* a dead Redis costs each request a fast 503, not a connect timeout */
	breaker_init_conf(&kv->br);
	return kv;
}

struct kv *
kv_open_conf(void)
{
	struct kv *kv = kv_open(conf_keys_str(CONF_REDIS_HOST),
				(int)conf_keys_int(CONF_REDIS_PORT),
				(int)conf_keys_int(CONF_REDIS_TIMEOUT_MS));

	/* cluster: kv_cluster.c routes every call by slot (seeds: redis_nodes,
	 * else redis_host:redis_port) */
	if (conf_keys_int(CONF_REDIS_CLUSTER) != 0) {
		char seed[96];

		snprintf(seed, sizeof(seed), "%s:%d", kv->host, kv->port);
		kv->cl = kv_cluster_open(*conf_keys_str(CONF_REDIS_NODES) ? conf_keys_str(CONF_REDIS_NODES) : seed,
				  kv->timeout_ms);
	}
	return kv;
}

void
kv_close(struct kv *kv)
{
	if (kv == NULL)
		return;
	if (kv->c != NULL)
		redisFree(kv->c);
	kv_cluster_close(kv->cl);
	free(kv);
}

/* Returns 1 when the failure was the server closing the connection (a
 * restart): the command then never ran on the new server and may be sent
 * again. A timeout is not such a failure: the command may have run. */
static int
kv_fail(struct kv *kv, const char *what)
{
	int closed = kv->c != NULL && (kv->c->err == REDIS_ERR_EOF ||
				       (kv->c->err == REDIS_ERR_IO &&
					(errno == ECONNRESET || errno == EPIPE)));

	kv->err = 1;
	snprintf(kv->errstr, sizeof(kv->errstr), "%s: %s", what,
		 kv->c && kv->c->errstr[0] ? kv->c->errstr : "no connection");
	/* a context with err set is dead: drop it, the next call reconnects */
	if (kv->c != NULL) {
		redisFree(kv->c);
		kv->c = NULL;
	}
	/* a dropped connection (Redis restarted) is worth one immediate
	 * reconnect; failures in a row open the breaker */
	log_warn("redis %s:%d %s", kv->host, kv->port, kv->errstr);
	if (breaker_failure(&kv->br, fs_now_ms()))
		log_warn("redis %s:%d: circuit open for %d ms", kv->host, kv->port, kv->br.open_ms);
	return closed;
}

static int
kv_connect(struct kv *kv)
{
	struct timeval tv;

	if (kv->c != NULL)
		return FS_OK;
	if (!breaker_allow(&kv->br, fs_now_ms())) {
		kv->err = 1; /* errstr keeps the failure that opened it */
		return FS_ERR;
	}
	tv.tv_sec = kv->timeout_ms / 1000;
	tv.tv_usec = (kv->timeout_ms % 1000) * 1000;
	kv->c = redisConnectWithTimeout(kv->host, kv->port, tv);
	if (kv->c == NULL || kv->c->err) {
		kv_fail(kv, "connect");
		return FS_ERR;
	}
	redisSetTimeout(kv->c, tv);
	redisEnableKeepAlive(kv->c);
	kv->err = 0;
	kv->errstr[0] = '\0';
	kv->served = 0;
	kv->conns++;
	return FS_OK;
}

/* 1 when the server has closed this connection (a Redis restart, a CLIENT
 * KILL): the socket then reads as end-of-file. One non-blocking peek, no
 * round trip. */
static int
kv_conn_dropped(const struct kv *kv)
{
	char b;
	ssize_t n = recv(kv->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* A reply came: Redis answers, the breaker closes. */
static void
kv_served(struct kv *kv)
{
	kv->served++;
	breaker_success(&kv->br);
}

/* Connects, and first drops a connection the server closed while it was
 * idle: a command written to it would fail without telling whether it ran,
 * while one not yet written goes to a fresh connection without doubt. */
static int
kv_ready(struct kv *kv)
{
	if (kv->c != NULL && sdslen(kv->c->obuf) == 0 && kv_conn_dropped(kv)) {
		redisFree(kv->c);
		kv->c = NULL;
	}
	return kv_connect(kv);
}

/* After a command failed once written: it may have run and only its reply
 * been lost (kv->maybe_ran). Returns 1 when it may be sent again on a fresh
 * connection: the server closed this one (not a timeout: the command may
 * still be running) and resend says running it twice does no harm. */
static int
kv_resend_ok(struct kv *kv, int resend)
{
	kv->maybe_ran = 1;
	return kv_fail(kv, "command") && resend;
}

redisReply *
kv_cmd(struct kv *kv, const char *fmt, ...)
{
	redisReply *reply = NULL;
	va_list ap;

	if (kv->cl != NULL) {
		va_start(ap, fmt);
		reply = kv_cluster_vcmd(kv, fmt, ap);
		va_end(ap);
		return reply;
	}
	kv->maybe_ran = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (kv_ready(kv) != FS_OK)
			return NULL;
		va_start(ap, fmt);
		reply = redisvCommand(kv->c, fmt, ap);
		va_end(ap);
		if (reply != NULL || !kv_resend_ok(kv, 1))
			break;
	}
	if (reply != NULL)
		kv_served(kv);
	return reply;
}

/* kv_cmdargv, sent a second time after a lost reply only when resend. */
static redisReply *
kv_argv(struct kv *kv, int resend, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply = NULL;

	kv->maybe_ran = 0;
	if (kv->cl != NULL) {
		/* kv_cluster never resends what it sent, and does not tell a
		 * command lost on its way from a reply lost on its way back: the
		 * caller must assume it may have run */
		reply = kv_cluster_cmdargv(kv, argc, argv, lens);
		kv->maybe_ran = reply == NULL;
		return reply;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (kv_ready(kv) != FS_OK)
			return NULL;
		reply = redisCommandArgv(kv->c, argc, argv, lens);
		if (reply != NULL || !kv_resend_ok(kv, resend))
			break;
	}
	if (reply != NULL)
		kv_served(kv);
	return reply;
}

redisReply *
kv_cmdargv(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	if (kv->cl != NULL)
		return kv_cluster_cmdargv(kv, argc, argv, lens);
	return kv_argv(kv, 1, argc, argv, lens);
}

/* Before the first command of a pipeline: a pipeline is never resent
 * command by command, so a connection the server has closed meanwhile is
 * dropped first. */
static int
kv_pipeline_ready(struct kv *kv)
{
	return kv_ready(kv);
}

int
kv_append(struct kv *kv, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (kv->cl != NULL) {
		va_start(ap, fmt);
		rc = kv_cluster_vappend(kv, fmt, ap);
		va_end(ap);
		return rc;
	}
	if (kv_pipeline_ready(kv) != FS_OK)
		return FS_ERR;
	va_start(ap, fmt);
	rc = redisvAppendCommand(kv->c, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK) {
		/* commands queued before this one would have their replies read
		 * by whoever comes next: drop the connection with them */
		kv_fail(kv, "append");
		return FS_ERR;
	}
	return FS_OK;
}

/* 1 for Redis's answer to an EVALSHA of a script it does not hold. */
static int
is_noscript(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

int
kv_replies(struct kv *kv, int n, const char *what)
{
	int rc = FS_OK;

	for (int i = 0; i < n; i++) {
		redisReply *rep = kv_reply(kv);

		if (rep == NULL)
			return FS_ERR;
		/* a SCRIPT FLUSH (no restart): every script is loaded again */
		if (is_noscript(rep))
			kv->conns++;
		if (kv_take_ok(rep, what) != FS_OK)
			rc = FS_ERR;
	}
	return rc;
}

int
kv_appendargv(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
	if (kv->cl != NULL)
		return kv_cluster_appendargv(kv, argc, argv, lens);
	if (kv_pipeline_ready(kv) != FS_OK)
		return FS_ERR;
	if (redisAppendCommandArgv(kv->c, argc, argv, lens) != REDIS_OK) {
		kv_fail(kv, "append");
		return FS_ERR;
	}
	return FS_OK;
}

redisReply *
kv_reply(struct kv *kv)
{
	void *reply = NULL;

	if (kv->cl != NULL)
		return kv_cluster_reply(kv);
	if (kv->c == NULL)
		return NULL;
	if (redisGetReply(kv->c, &reply) != REDIS_OK || reply == NULL) {
		kv_fail(kv, "reply");
		return NULL;
	}
	kv_served(kv);
	return reply;
}

static void
script_sha(struct kv_script *s)
{
	unsigned char md[SHA_DIGEST_LENGTH];

	if (s->sha[0])
		return;
	SHA1((const unsigned char *)s->source, strlen(s->source), md);
	codec_hex_encode(md, SHA_DIGEST_LENGTH, s->sha);
}

/* "EVALSHA sha nkeys argv..." into av (and the lengths into al when not
 * NULL; lens NULL: argv are strings), with nk the digits of nkeys; first
 * the script's digest, and on a cluster its source for every node. who
 * names the caller when argc is more than av's KV_EVAL_ARGV slots take. */
#define KV_EVAL_ARGV 64
static void
eval_argv(struct kv *kv, const char *who, struct kv_script *script, int nkeys, int argc,
	  const char **argv, const size_t *lens, const char **av, size_t *al, char nk[16])
{
	if (argc + 3 > KV_EVAL_ARGV)
		die("script %s: %d arguments is more than %s takes", script->name, argc, who);
	script_sha(script);
	if (kv->cl != NULL)
		kv_cluster_script(kv, script);
	snprintf(nk, 16, "%d", nkeys);
	av[0] = "EVALSHA";
	av[1] = script->sha;
	av[2] = nk;
	for (int i = 0; i < argc; i++)
		av[i + 3] = argv[i];
	if (al == NULL)
		return;
	for (int i = 0; i < argc; i++)
		al[i + 3] = lens ? lens[i] : strlen(argv[i]);
	al[0] = 7;
	al[1] = 40;
	al[2] = strlen(nk);
}

static redisReply *
kv_eval_resend(struct kv *kv, int resend, struct kv_script *script, int nkeys, int argc,
	       const char **argv, const size_t *lens)
{
	const char *av[KV_EVAL_ARGV];
	size_t al[KV_EVAL_ARGV];
	char nk[16];
	redisReply *reply;
	int tries;

	eval_argv(kv, "kv_eval", script, nkeys, argc, argv, lens, av, al, nk);
	for (tries = 0; tries < 2; tries++) {
		reply = kv_argv(kv, resend, argc + 3, av, al);
		if (reply == NULL || !is_noscript(reply))
			return reply;
		/* Redis restarted or flushed its scripts: load ours again */
		freeReplyObject(reply);
		reply = kv_cmd(kv, "SCRIPT LOAD %s", script->source);
		if (reply == NULL)
			return NULL;
		if (reply->type == REDIS_REPLY_ERROR)
			log_err("SCRIPT LOAD %s: %s", script->name, reply->str);
		freeReplyObject(reply);
	}
	/* NOSCRIPT twice: the script did not run either time */
	return kv_argv(kv, resend, argc + 3, av, al);
}

redisReply *
kv_eval(struct kv *kv, struct kv_script *script, int nkeys, int argc, const char **argv,
	const size_t *lens)
{
	return kv_eval_resend(kv, 0, script, nkeys, argc, argv, lens);
}

redisReply *
kv_eval_idempotent(struct kv *kv, struct kv_script *script, int nkeys, int argc,
		   const char **argv, const size_t *lens)
{
	return kv_eval_resend(kv, 1, script, nkeys, argc, argv, lens);
}

/* One Redis: the script, then its WAIT, both written before either reply
 * is read. A NOSCRIPT (a restart, a SCRIPT FLUSH) or a failure before
 * sending falls back to the two trips; a transport failure after sending
 * leaves kv->maybe_ran set (never resent: the caller settles). */
static redisReply *
eval_wait_one(struct kv *kv, int ac, const char **av, const size_t *al, int replicas, int ms,
	      int *acked, int64_t *ran_us)
{
	redisReply *rep;

	if (kv_pipeline_ready(kv) != FS_OK)
		return NULL;
	if (redisAppendCommandArgv(kv->c, ac, av, al) != REDIS_OK ||
	    redisAppendCommand(kv->c, "WAIT %d %d", replicas, ms) != REDIS_OK) {
		kv_fail(kv, "append");
		return NULL;
	}
	rep = kv_reply(kv);
	if (rep == NULL) {
		kv->maybe_ran = 1;
		return NULL;
	}
	*ran_us = fs_mono_us();
	*acked = kv_cluster_wait_reply(kv, replicas, ms);
	return rep;
}

redisReply *
kv_eval_wait(struct kv *kv, struct kv_script *script, int nkeys, int argc, const char **argv,
	     const size_t *lens, int replicas, int ms, int *acked, int64_t *ran_us)
{
	const char *av[KV_EVAL_ARGV];
	size_t al[KV_EVAL_ARGV];
	char nk[16];
	redisReply *rep = NULL;

	*acked = FS_ERR;
	*ran_us = 0;
	eval_argv(kv, "kv_eval_wait", script, nkeys, argc, argv, lens, av, al, nk);
	kv->maybe_ran = 0;
	if (kv->cl == NULL) {
		rep = eval_wait_one(kv, argc + 3, av, al, replicas, ms, acked, ran_us);
		if (rep != NULL && is_noscript(rep)) {
			kv->conns++;
			freeReplyObject(rep);
			rep = NULL;
		} else if (rep != NULL || kv->maybe_ran) {
			return rep;
		}
		/* not sent, or not run: the long way */
		rep = kv_eval_idempotent(kv, script, nkeys, argc, argv, lens);
		*ran_us = fs_mono_us();
		if (rep != NULL)
			*acked = kv_cluster_wait(kv, argv[0], replicas, ms);
		return rep;
	}
	/* a Cluster: WAIT goes to the master of the script's first key; if
	 * the script had to run again on its own (redirected, NOSCRIPT on a
	 * promoted replica), that WAIT ran before it or elsewhere: again */
	if (kv_cluster_appendargv(kv, argc + 3, av, al) != FS_OK ||
	    kv_cluster_append_wait(kv, argv[0], replicas, ms) != FS_OK)
		return NULL;
	rep = kv_cluster_reply(kv);
	kv->maybe_ran = rep == NULL;
	*ran_us = kv_cluster_read_us(kv, 0);
	*acked = kv_cluster_wait_reply(kv, replicas, ms);
	if (rep != NULL && kv_cluster_rerun(kv))
		*acked = kv_cluster_wait(kv, argv[0], replicas, ms);
	return rep;
}

int
kv_eval_append(struct kv *kv, struct kv_script *script, int nkeys, int argc, const char **argv)
{
	const char *av[KV_EVAL_ARGV];
	char nk[16];

	eval_argv(kv, "kv_eval_append", script, nkeys, argc, argv, NULL, av, NULL, nk);
	return kv_appendargv(kv, argc + 3, av, NULL);
}

/* kv_script_load's memo, direct-mapped by script: loaded through kv when
 * it had made conns connections (a restart, or a NOSCRIPT seen, moves it);
 * per thread, as connections are */
struct script_memo {
	const struct kv_script *script;
	const struct kv *kv;
	long conns;
};
static _Thread_local struct script_memo loaded[32];

int
kv_script_load(struct kv *kv, struct kv_script *script)
{
	redisReply *rep;
	int rc;
	struct script_memo *m;

	if (kv->cl != NULL) {
		script_sha(script);
		return kv_cluster_script_load(kv, script);
	}
	/* once a connection: a pipeline of EVALSHAs (the handler's batches)
	 * needs the script there, not a SCRIPT LOAD round trip each time */
	m = &loaded[((uintptr_t)script / sizeof(void *)) % FS_ARRAY_LEN(loaded)];
	if (m->script == script && m->kv == kv && m->conns == kv->conns && kv->c != NULL)
		return FS_OK;
	rep = kv_cmd(kv, "SCRIPT LOAD %s", script->source);
	rc = rep != NULL && rep->type == REDIS_REPLY_STRING ? FS_OK : FS_ERR;
	if (rc == FS_OK) {
		m->script = script;
		m->kv = kv;
		m->conns = kv->conns;
	}

	if (rep != NULL && rc != FS_OK)
		log_err("SCRIPT LOAD %s: %s", script->name,
			rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	if (rep)
		freeReplyObject(rep);
	return rc;
}

int
kv_down(const struct kv *kv)
{
	return kv->err != 0;
}

int
kv_refusing(const struct kv *kv, int64_t now)
{
	return kv->cl == NULL && kv->c == NULL && breaker_refusing(&kv->br, now);
}

void
kv_item_key(char buf[KV_KEY_MAX], int64_t aid, int64_t iid, const char *suffix)
{
	snprintf(buf, KV_KEY_MAX, "fs:{%lld:%lld}:%s", (long long)aid, (long long)iid, suffix);
}

int
kv_slots_served(struct kv *kv)
{
	redisReply *rep = kv_cmd(kv, "CLUSTER INFO");
	int ok = rep != NULL && rep->type == REDIS_REPLY_STRING &&
		 strstr(rep->str, "cluster_state:ok") != NULL;

	if (rep)
		freeReplyObject(rep);
	return ok;
}

int
kv_ping(struct kv *kv)
{
	redisReply *rep = kv_cmd(kv, "PING");
	int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;

	if (rep)
		freeReplyObject(rep);
	return ok ? FS_OK : FS_ERR;
}

int
kv_take_ok(redisReply *rep, const char *what)
{
	int rc = FS_OK;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_err("%s: %s", what, rep->str);
		rc = FS_ERR;
	}
	freeReplyObject(rep);
	return rc;
}

int
kv_take_int(redisReply *rep, long long *out)
{
	int ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;

	if (ok)
		*out = rep->integer;
	if (rep)
		freeReplyObject(rep);
	return ok ? FS_OK : FS_ERR;
}
