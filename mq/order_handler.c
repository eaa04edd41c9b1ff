/*
 * order-handler: binds the PULL end of the order queue and writes the orders
 * it receives into MySQL in batches (lib/persist.c), one transaction per
 * batch. Several handlers may share one pipe: each binds its own endpoint
 * (`order_handler ENDPOINT`), queue_endpoint lists them all, and the PUSH
 * side deals orders round-robin over the handlers it reaches. Handlers that
 * race on one item serialise on its activity_items row, never oversell.
 *
 * It acknowledges nothing it has not committed: the Redis journal entry of
 * an order goes only after MySQL has it. What it loses on a crash (orders in
 * socket buffers) is replayed from the journal by cron/reconcile.
 */
#include "daemon.h"
#include "conf_keys.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "kv_handler.h"
#include "log.h"
#include "order.h"
#include "orderq.h"
#include "persist.h"
#include "rain_credit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 1000
/* after the first order of a batch, wait at most this long for more */
#define BATCH_WAIT_MS 2

static volatile sig_atomic_t stop;
/* grab lines (rain.h) share the queue: credited beside the orders */
static struct rain_credit_batch grabs;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
heartbeat(struct kv *kv, int64_t *next_ms)
{
	int64_t now = fs_now_ms();

	if (now < *next_ms)
		return;
	*next_ms = now + 1000;
	/* /api/health reads this to tell whether a handler is up */
	(void)kv_handler_beat(kv, (int)getpid());
}

/* Decodes the order lines of one message into batch from index n, at most
 * ORDERQ_LINES_MAX of them (the caller leaves that much room). Returns the
 * new count. */
static int
batch_add(struct order *batch, int n, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;
	int cap = n + ORDERQ_LINES_MAX;

	while (p < end) {
		if (n == cap) {
			log_err("order message with more than %d lines: the rest is dropped "
				"(the journal keeps it)", ORDERQ_LINES_MAX);
			break;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l > 0 && !rain_credit_take(&grabs, p, l)) {
			if (order_decode(p, l, &batch[n]) == FS_OK)
				n++;
			else
				log_err("undecodable order line dropped (the journal keeps it): %.80s", p);
		}
		p += l + 1;
	}
	return n;
}

/* Writes the batch, retrying while MySQL is down: the orders are already
 * promised to their buyers. A stop request ends the retries; the journal
 * still holds the orders. */
static void
flush(struct db *d, struct kv *kv, struct order *batch, int n, int64_t window,
      struct persist_stats *st, int64_t *next_beat)
{
	int waited = 0, done = 0;

	for (;;) {
		struct timespec pause = {0, 200 * 1000000};

		if (!done)
			done = persist_orders(d, kv, batch, n, window, st) == FS_OK;
		if (done && rain_credit_flush(&grabs, d, kv) == FS_OK)
			return;
		if (stop)
			return;
		if (waited++ % 25 == 0)
			log_warn("MySQL refused a batch of %d orders, %d grabs (%s); retrying", n,
				 grabs.n, db_errstr(d));
		nanosleep(&pause, NULL);
		heartbeat(kv, next_beat);
	}
}

/* The endpoint this handler binds: the argument, else the first of the
 * configured list. Copied into buf. */
static const char *
bind_endpoint(int argc, char **argv, char *buf, size_t size)
{
	const char *list = conf_keys_str(CONF_QUEUE_ENDPOINT);
	size_t n = argc > 1 ? strlen(argv[1]) : strcspn(list, ",");

	if (n >= size)
		n = size - 1;
	memcpy(buf, argc > 1 ? argv[1] : list, n);
	buf[n] = '\0';
	return buf;
}

/* Decodes the message in msg (len bytes) into batch, then takes what else
 * arrives within BATCH_WAIT_MS, while the batch has room. Returns the count. */
static int
collect(struct orderq *q, struct order *batch, char *msg, size_t size, int len)
{
	int64_t deadline = fs_now_ms() + BATCH_WAIT_MS;
	int n = 0;

	do {
		n = batch_add(batch, n, msg, (size_t)len);
		if (n > BATCH_MAX - ORDERQ_LINES_MAX || rain_credit_full(&grabs, ORDERQ_LINES_MAX))
			break;
		len = orderq_pull(q, msg, size, 0);
		if (len == 0 && fs_now_ms() < deadline)
			len = orderq_pull(q, msg, size, 1);
	} while (len > 0);
	return n;
}

/* Logs the counts every 10 s when there is something to say. */
static void
report(const struct persist_stats *st, int64_t *next_report)
{
	if (fs_now_ms() < *next_report)
		return;
	*next_report = fs_now_ms() + 10000;
	if (st->written || st->failed || st->replayed || grabs.credited)
		log_info("orders written %ld, failed %ld, replayed %ld; grabs credited %ld", st->written,
			 st->failed, st->replayed, grabs.credited);
}

int
main(int argc, char **argv)
{
	static struct order batch[BATCH_MAX];
	static char msg[ORDERQ_LINES_MAX * ORDER_LINE_MAX];
	char endpoint[256];
	struct persist_stats st = {0, 0, 0};
	struct sigaction sa;
	struct daemon dm;
	struct orderq *q;
	struct kv *kv;
	struct db *d;
	int64_t window, next_beat = 0, next_report;

	daemon_start(&dm, "order-handler", DAEMON_KV | DAEMON_DB);
	kv = dm.kv;
	d = dm.db;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	window = conf_keys_int(CONF_PAY_WINDOW_MS);
	q = orderq_open_pull(bind_endpoint(argc, argv, endpoint, sizeof(endpoint)));
	if (q == NULL)
		return 1;
	log_info("order handler up on %s, pay window %lld ms", endpoint, (long long)window);
	next_report = fs_now_ms() + 10000;

	while (!stop) {
		int n, len;

		heartbeat(kv, &next_beat);
		len = orderq_pull(q, msg, sizeof(msg), 500);
		if (len < 0)
			continue; /* a signal: the loop condition decides */
		if (len == 0)
			goto report;
		n = collect(q, batch, msg, sizeof(msg), len);
		flush(d, kv, batch, n, window, &st, &next_beat);
report:
		report(&st, &next_report);
	}
	log_info("stopping: orders written %ld, failed %ld, replayed %ld", st.written, st.failed,
		 st.replayed);
	orderq_close(q);
	daemon_end(&dm);
	return 0;
}
