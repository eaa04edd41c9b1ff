/*
 * test_orderpath: the pure parts of the order path's hardening: the push
 * batch sends an order by age alone (its timer, nobody calling again), the
 * in-process tier of the per-user limit, the order secret's key check, and
 * the worker lease's owner.
 */
#include "fs.h"
#include "idgen.h"
#include "orderbatch.h"
#include "orderq.h"
#include "ratelimit.h"
#include "order_secret.h"
#include "testhelp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_batch(void)
{
	char ep[64], buf[ORDERBATCH_MAX * ORDER_LINE_MAX + 1];
	struct orderq *pull, *push;
	struct orderbatch *b;
	struct order o;
	int64_t t0;
	int n;

	snprintf(ep, sizeof(ep), "ipc:///tmp/fs-ut-%d.ipc", (int)getpid());
	pull = orderq_open_pull(ep);
	push = orderq_open_push(ep);
	test_cond("queue opens", pull != NULL && push != NULL);
	if (pull == NULL || push == NULL)
		return;
	b = orderbatch_open(push, 2);
	memset(&o, 0, sizeof(o));
	o.id = 7;
	o.user_id = 8;
	o.activity_id = 1;
	o.item_id = 2;
	o.quantity = 1;
	o.amount_cents = 999;
	o.created_ms = 1;

	/* one order and then nothing: the timer sends it */
	t0 = mono_ms();
	orderbatch_add(b, &o);
	test_cond("pending after add", orderbatch_pending(b));
	n = orderq_pull(pull, buf, sizeof(buf), 2000);
	test_cond("a lone order is sent by age", n > 0 && strncmp(buf, "7 8 1 2 1 999 1\n", (size_t)n) == 0);
	test_cond("within a few ms, not when someone calls again", mono_ms() - t0 < 500);
	test_cond("nothing pending after", !orderbatch_pending(b));

	/* a full batch goes at once, as one message */
	for (int i = 0; i < ORDERBATCH_MAX; i++) {
		o.id = 100 + i;
		orderbatch_add(b, &o);
	}
	n = orderq_pull(pull, buf, sizeof(buf), 2000);
	int lines = 0;
	for (int i = 0; i < n; i++)
		lines += buf[i] == '\n';
	test_cond("a full batch is one message of all its lines", lines == ORDERBATCH_MAX);

	/* an explicit flush sends at once; close sends what is left */
	o.id = 500;
	orderbatch_add(b, &o);
	orderbatch_flush(b);
	n = orderq_pull(pull, buf, sizeof(buf), 0);
	if (n == 0)
		n = orderq_pull(pull, buf, sizeof(buf), 200);
	test_cond("flush sends", n > 0 && strncmp(buf, "500 ", 4) == 0);
	o.id = 501;
	orderbatch_add(b, &o);
	orderbatch_close(b);
	n = orderq_pull(pull, buf, sizeof(buf), 1000);
	test_cond("close sends the rest", n > 0 && strncmp(buf, "501 ", 4) == 0);
	orderq_close(push);
	orderq_close(pull);
	unlink(ep + strlen("ipc://"));
}

static void
test_local_limit(void)
{
	static struct ratelimit_local t;
	int ok = 0, retry = 0;
	int64_t now = 1700000000123;

	for (int i = 0; i < 8; i++)
		ok += ratelimit_local_hit(&t, 42, 5, now + i, &retry);
	test_cond("5 of 8 in one second", ok == 5);
	test_cond("Retry-After 1", retry == 1);
	test_cond("another user is not limited", ratelimit_local_hit(&t, 43, 5, now, NULL) == 1);
	test_cond("the next second starts anew", ratelimit_local_hit(&t, 42, 5, now + 1000, NULL) == 1);
	test_cond("limit 0 is no limit", ratelimit_local_hit(&t, 42, 0, now + 1000, NULL) == 1);
}

static void
test_secret_key(void)
{
	test_cond("empty key refused", !order_secret_usable(""));
	test_cond("NULL key refused", !order_secret_usable(NULL));
	test_cond("15 characters refused", !order_secret_usable("0123456789abcde"));
	test_cond("16 characters served", order_secret_usable("0123456789abcdef"));
}

static void
test_owner(void)
{
	const char *o = idgen_owner();
	char host[64], want[96];
	const char *nonce;

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "%s:%d:", host, (int)getpid());
	test_cond("owner starts with host:pid:", strncmp(o, want, strlen(want)) == 0);
	nonce = o + strlen(want);
	test_cond("a 64-bit nonce in hex", strlen(nonce) == 16 && strspn(nonce, "0123456789abcdef") == 16);
	test_cond("the same owner for the process's life", strcmp(o, idgen_owner()) == 0);
}

int
main(void)
{
	test_batch();
	test_local_limit();
	test_secret_key();
	test_owner();
	return test_report();
}
