/*
 * shed.c: place-order's load shedding (shed.h): the decision, the moving
 * average of Redis's round trip, and the backlog watcher thread.
 */
#include "shed.h"
#include "breaker.h"
#include "conf_keys.h"
#include "fs.h"
#include "kv.h"
#include "kv_journal.h"
#include "log.h"
#include "mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define SHED_ITEMS 32

struct shed_item {
	int64_t aid, iid;
	int64_t seen_ms;  /* last accepted order; 0: free slot */
	long long pending; /* at the last read */
};

struct shed_watch {
	pthread_t thread;
	pthread_mutex_t lock; /* items and stop */
	pthread_cond_t cond;  /* wakes the watcher to stop; CLOCK_MONOTONIC */
	int stop;
	struct kv *kv;        /* the watcher's own connection */
	struct shed *s;
	struct shed_item items[SHED_ITEMS];
	/* the request thread's last note, to skip the lock on the next ones */
	int64_t last_aid, last_iid, last_ms;
};

void
shed_init(struct shed *s, int64_t backlog_max, int64_t redis_ms)
{
	s->backlog_max = backlog_max;
	s->slow_us = redis_ms * 1000;
	s->avg_us = 0;
	s->probe_ms = 0;
	atomic_store(&s->backlog, 0);
	atomic_store(&s->accepted, 0);
	atomic_store(&s->accepted_at_read, 0);
	s->w = NULL;
}

int64_t
shed_backlog(struct shed *s)
{
	return atomic_load(&s->backlog) + atomic_load(&s->accepted) - atomic_load(&s->accepted_at_read);
}

void
shed_set_backlog(struct shed *s, int64_t n)
{
	int64_t a = atomic_load(&s->accepted);

	atomic_store(&s->backlog, n);
	atomic_store(&s->accepted_at_read, a);
}

enum shed_reason
shed_check(struct shed *s, const struct kv *kv, int64_t now)
{
	if (kv != NULL && kv_refusing(kv, now))
		return SHED_BREAKER;
	if (s->backlog_max > 0 && shed_backlog(s) > s->backlog_max)
		return SHED_BACKLOG;
	if (s->slow_us > 0 && s->avg_us > s->slow_us) {
		if (now < s->probe_ms)
			return SHED_REDIS_SLOW;
		s->probe_ms = now + SHED_PROBE_MS; /* this one measures again */
	}
	return SHED_NONE;
}

int
shed_retry_after_s(const struct shed *s, const struct kv *kv, enum shed_reason reason, int64_t now)
{
	int64_t ms = 1000;

	(void)s;
	if (reason == SHED_BREAKER && kv != NULL)
		ms = breaker_wait_ms(&kv->br, now);
	return ms <= 1000 ? 1 : (int)((ms + 999) / 1000);
}

const char *
shed_field(enum shed_reason reason)
{
	switch (reason) {
	case SHED_BACKLOG: return "shed|backlog";
	case SHED_REDIS_SLOW: return "shed|redis_slow";
	case SHED_BREAKER: return "shed|breaker";
	case SHED_NONE:
	default: return "shed|none";
	}
}

void
shed_sample(struct shed *s, int64_t us)
{
	int64_t cap = s->slow_us * SHED_SAMPLE_CAP;

	if (us < 0)
		us = 0;
	if (cap > 0 && us > cap)
		us = cap;
	s->avg_us += (us - s->avg_us) / SHED_EWMA_DIV;
}

/* Under w->lock: remembers (aid, iid) as seen at now. */
static void
watch_note(struct shed_watch *w, int64_t aid, int64_t iid, int64_t now)
{
	struct shed_item *free_slot = NULL, *oldest = &w->items[0];

	for (int i = 0; i < SHED_ITEMS; i++) {
		struct shed_item *it = &w->items[i];

		if (it->seen_ms && it->aid == aid && it->iid == iid) {
			it->seen_ms = now;
			return;
		}
		if (!it->seen_ms && free_slot == NULL)
			free_slot = it;
		if (it->seen_ms < oldest->seen_ms)
			oldest = it;
	}
	if (free_slot == NULL)
		free_slot = oldest;
	*free_slot = (struct shed_item){aid, iid, now, 0};
}

void
shed_accepted(struct shed *s, int64_t aid, int64_t iid, int64_t now)
{
	struct shed_watch *w = s->w;

	atomic_fetch_add(&s->accepted, 1);
	if (w == NULL || (w->last_aid == aid && w->last_iid == iid && now - w->last_ms < 1000))
		return;
	pthread_mutex_lock(&w->lock);
	watch_note(w, aid, iid, now);
	pthread_mutex_unlock(&w->lock);
	w->last_aid = aid;
	w->last_iid = iid;
	w->last_ms = now;
}

/* Under w->lock: copies the items worth reading into out: seen lately, or
 * still with a backlog (an item whose orders are all shed is watched until
 * its backlog drains, or shedding would never end). Frees the rest. */
static int
watch_due(struct shed_watch *w, int64_t now, struct shed_item *out)
{
	int n = 0;

	for (int i = 0; i < SHED_ITEMS; i++) {
		struct shed_item *it = &w->items[i];

		if (!it->seen_ms)
			continue;
		if (now - it->seen_ms >= SHED_ITEM_MS && it->pending <= 0)
			it->seen_ms = 0;
		else
			out[n++] = *it;
	}
	return n;
}

/* Reads the items' pending counts and publishes their sum. */
static void
watch_read(struct shed_watch *w, struct shed_item *items, int n)
{
	int64_t a0 = atomic_load(&w->s->accepted), sum = 0;

	for (int i = 0; i < n; i++) {
		if (kv_journal_pending_count(w->kv, items[i].aid, items[i].iid, &items[i].pending) != FS_OK)
			return; /* Redis away: keep the last sum */
		sum += items[i].pending;
	}
	atomic_store(&w->s->backlog, sum);
	atomic_store(&w->s->accepted_at_read, a0);
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < SHED_ITEMS; k++)
			if (w->items[k].seen_ms && w->items[k].aid == items[i].aid &&
			    w->items[k].iid == items[i].iid)
				w->items[k].pending = items[i].pending;
	pthread_mutex_unlock(&w->lock);
}

static void *
watch_main(void *arg)
{
	struct shed_watch *w = arg;
	struct shed_item items[SHED_ITEMS];
	struct timespec ts;
	int n;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SHED_WATCH_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		if (w->stop)
			break;
		n = watch_due(w, fs_now_ms(), items);
		if (n == 0) {
			/* nothing accepted lately, nothing behind */
			atomic_store(&w->s->backlog, 0);
			atomic_store(&w->s->accepted_at_read, atomic_load(&w->s->accepted));
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		watch_read(w, items, n);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void
shed_start(struct shed *s, struct kv *kv)
{
	struct shed_watch *w = mem_calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	shed_init(s, conf_keys_int(CONF_SHED_BACKLOG), conf_keys_int(CONF_SHED_REDIS_MS));
	w->kv = kv;
	w->s = s;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (s->backlog_max <= 0 || pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		if (s->backlog_max > 0)
			log_err("shed: no backlog watcher thread: shedding by backlog is off");
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		kv_close(kv);
		free(w);
		return;
	}
	s->w = w;
}

void
shed_stop(struct shed *s)
{
	struct shed_watch *w = s->w;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	kv_close(w->kv);
	free(w);
	s->w = NULL;
}
