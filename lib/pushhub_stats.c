/*
 * pushhub_stats.c: the operator's stream. A thread of its own, with its own
 * MySQL and Redis connections, computes the stats of each watched activity
 * once a second (lib/stats.c, as GET /api/admin/activities/{aid}/stats
 * does) and hands the finished lines to the loop through an eventfd, so a
 * slow or dead store never stalls the order events.
 */
#include "pushhub_stats.h"
#include "db.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "pushhub_conn.h"
#include "stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct ph_stats {
	pthread_t th;
	pthread_mutex_t mu;
	int efd;
	int stop;                          /* under mu */
	int64_t want[PH_STATS_MAX];        /* under mu: set by the loop */
	int nwant;
	int64_t done_aid[PH_STATS_MAX];    /* under mu: results for the loop */
	char *done[PH_STATS_MAX];
	int ndone;
};

/* One stats line for aid, or NULL when a store failed. Caller frees. */
static char *
stats_line(struct db *d, struct kv *kv, int64_t aid)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();
	int64_t backlog = 0;
	char *line = NULL;
	int rc;

	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "now_ms", json_object_new_int64(fs_now_ms()));
	json_object_object_add(o, "activity_id", json_object_new_int64(aid));
	rc = stats_items(d, kv, aid, items, &backlog);
	json_object_object_add(o, "backlog", json_object_new_int64(backlog));
	json_object_object_add(o, "items", items);
	if (rc == STATS_OK) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		size_t n = strlen(s);

		line = mem_alloc(n + 2);
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	json_object_put(o);
	return line;
}

static void *
stats_main(void *arg)
{
	struct ph_stats *s = arg;
	struct db *d = db_open_conf();
	struct kv *kv = kv_open_conf();
	struct timespec next;
	int64_t failures = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		int64_t want[PH_STATS_MAX], aid[PH_STATS_MAX];
		char *lines[PH_STATS_MAX];
		int n, k = 0, stop;
		uint64_t one = 1;

		next.tv_sec += 1;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
			;
		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		n = s->nwant;
		memcpy(want, s->want, sizeof(want[0]) * (size_t)n);
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		for (int i = 0; i < n; i++) {
			char *line = stats_line(d, kv, want[i]);

			if (line == NULL) {
				/* a store is down: the dashboard shows the gap */
				if (failures++ % 60 == 0)
					log_warn("push stats activity=%" PRId64 ": a store failed", want[i]);
				continue;
			}
			aid[k] = want[i];
			lines[k++] = line;
		}
		if (k == 0)
			continue;
		pthread_mutex_lock(&s->mu);
		for (int i = 0; i < s->ndone; i++)
			free(s->done[i]); /* the loop did not take the last ones */
		memcpy(s->done, lines, sizeof(lines[0]) * (size_t)k);
		memcpy(s->done_aid, aid, sizeof(aid[0]) * (size_t)k);
		s->ndone = k;
		pthread_mutex_unlock(&s->mu);
		if (write(s->efd, &one, sizeof(one)) < 0)
			log_warn("push stats: eventfd write failed");
	}
	db_close(d);
	kv_close(kv);
	return NULL;
}

struct ph_stats *
pushhub_stats_start(int *efd)
{
	struct ph_stats *s = mem_calloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0 || pthread_create(&s->th, NULL, stats_main, s) != 0)
		die("push stats: thread or eventfd failed");
	*efd = s->efd;
	return s;
}

void
pushhub_stats_stop(struct ph_stats *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	for (int i = 0; i < s->ndone; i++)
		free(s->done[i]);
	close(s->efd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
pushhub_stats_want(struct ph_stats *s, const int64_t *aids, int n)
{
	if (n > PH_STATS_MAX)
		n = PH_STATS_MAX;
	pthread_mutex_lock(&s->mu);
	memcpy(s->want, aids, sizeof(aids[0]) * (size_t)n);
	s->nwant = n;
	pthread_mutex_unlock(&s->mu);
}

void
pushhub_stats_deliver(struct pushhub *h)
{
	struct ph_stats *s = h->stats;
	int64_t aid[PH_STATS_MAX];
	char *lines[PH_STATS_MAX];
	uint64_t v;
	int n;

	if (read(s->efd, &v, sizeof(v)) < 0) {
		/* nothing signalled: fine, take what is there */
	}
	pthread_mutex_lock(&s->mu);
	n = s->ndone;
	memcpy(lines, s->done, sizeof(lines[0]) * (size_t)n);
	memcpy(aid, s->done_aid, sizeof(aid[0]) * (size_t)n);
	s->ndone = 0;
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(lines[i]);

		for (int fd = 0; fd < h->nconns_max; fd++) {
			struct ph_conn *c = h->conns[fd];

			if (c != NULL && c->state == PH_ADMIN && c->aid == aid[i])
				pushhub_conn_send(h, c, lines[i], len);
		}
		free(lines[i]);
	}
}
