/*
 * orderbatch.c: batches of order lines for the order handler, with a timer
 * thread that sends a batch once its first order is old enough (see
 * orderbatch.h). One lock guards the batch and the queue's socket, which
 * ZeroMQ allows from one thread at a time only.
 */
#include "orderbatch.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "orderq.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct orderbatch {
	struct orderq *q;
	int wait_ms;
	int late_ms;             /* the timer's deadline: ORDERBATCH_LATE x wait_ms */
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* the timer's wake-up; clock: CLOCK_MONOTONIC */
	pthread_t timer;
	int timer_idle;          /* the timer waits for a first order, no deadline */
	int stop;
	int count;
	size_t len;
	int64_t first_ms;        /* monotonic time of the first order of the batch */
	char buf[ORDERBATCH_MAX * ORDER_LINE_MAX];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends the batch; the caller holds the lock. */
static void
batch_send(struct orderbatch *b)
{
	if (b->count == 0)
		return;
	orderq_push(b->q, b->buf, b->len);
	b->len = 0;
	b->count = 0;
}

/* The timer: the backstop for a batch that nobody sends (orderbatch.h).
 * It sleeps until the first order of the batch is late_ms old and sends
 * the batch unless someone did already. Under load the adds send every
 * batch at wait_ms, and the timer, finding a younger batch each time it
 * wakes, wakes once per late_ms instead of twice per batch (a wake-up to
 * arm it, one to send): on a small VM those two context switches cost more
 * than the ZeroMQ send they spare. */
static void *
batch_timer(void *arg)
{
	struct orderbatch *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		int64_t due;
		struct timespec ts;

		if (b->count == 0) {
			b->timer_idle = 1;
			pthread_cond_wait(&b->cond, &b->lock);
			b->timer_idle = 0;
			continue;
		}
		due = b->first_ms + b->late_ms;
		if (mono_ms() >= due) {
			batch_send(b);
			continue;
		}
		ts.tv_sec = (time_t)(due / 1000);
		ts.tv_nsec = (long)(due % 1000) * 1000000;
		pthread_cond_timedwait(&b->cond, &b->lock, &ts);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

struct orderbatch *
orderbatch_open(struct orderq *q, int wait_ms)
{
	struct orderbatch *b = mem_calloc(1, sizeof(*b));
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	b->q = q;
	b->wait_ms = wait_ms > 0 ? wait_ms : 1;
	b->late_ms = b->wait_ms * ORDERBATCH_LATE;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* the timer takes no signal: SIGTERM must reach the thread blocked in
	 * accept, or the program would not stop until its next request */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&b->timer, NULL, batch_timer, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		die("pthread_create (order batch timer): %d", rc);
	/* named, so that top and tests/bench/cpucost.sh tell it apart */
	pthread_setname_np(b->timer, "orderbatch");
	return b;
}

void
orderbatch_add(struct orderbatch *b, const struct order *o)
{
	char line[ORDER_LINE_MAX];

	orderbatch_add_line(b, line, order_encode(o, line));
}

void
orderbatch_add_line(struct orderbatch *b, const char *line, size_t len)
{
	int64_t now = mono_ms();

	if (len == 0 || len >= ORDER_LINE_MAX)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->count == 0) {
		b->first_ms = now;
		/* a timer already waiting for an older deadline wakes by itself */
		if (b->timer_idle)
			pthread_cond_signal(&b->cond);
	}
	memcpy(b->buf + b->len, line, len);
	b->len += len;
	b->buf[b->len++] = '\n';
	b->count++;
	if (b->count == ORDERBATCH_MAX || now - b->first_ms >= b->wait_ms)
		batch_send(b);
	pthread_mutex_unlock(&b->lock);
}

void
orderbatch_flush(struct orderbatch *b)
{
	pthread_mutex_lock(&b->lock);
	batch_send(b);
	pthread_mutex_unlock(&b->lock);
}

int
orderbatch_pending(struct orderbatch *b)
{
	int n;

	pthread_mutex_lock(&b->lock);
	n = b->count;
	pthread_mutex_unlock(&b->lock);
	return n > 0;
}

void
orderbatch_close(struct orderbatch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	batch_send(b);
	b->stop = 1;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->timer, NULL);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
