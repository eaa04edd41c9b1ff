/*
 * metrics.c: in-process request counts, flushed to the Redis hash
 * fs:metrics as "req|endpoint|status" and "lat|endpoint|le" fields.
 */
#include "metrics.h"
#include "fs.h"
#include "kv.h"
#include "log.h"
#include "req.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

const long metrics_buckets_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
				   250000, 1000000};
const int metrics_nbuckets = (int)FS_ARRAY_LEN(metrics_buckets_us);

#define NSTATUS 16

static struct {
	int status;
	long count;
} status_counts[NSTATUS];
static long bucket_counts[FS_ARRAY_LEN(metrics_buckets_us) + 1];
static long long latency_sum_us;
static int64_t next_flush_ms;
static long unflushed;
/* named counters (metrics_count): field names are static strings */
#define NCOUNTS 8
static struct {
	const char *field;
	long count;
} named_counts[NCOUNTS];
/* the reasons of flashsale_shed_total, shown even before the first */
static const char *const shed_reasons[] = {"backlog", "redis_slow", "breaker"};

void
metrics_count(const char *field)
{
	for (int i = 0; i < NCOUNTS; i++) {
		if (named_counts[i].field == NULL)
			named_counts[i].field = field;
		if (named_counts[i].field == field || strcmp(named_counts[i].field, field) == 0) {
			named_counts[i].count++;
			return;
		}
	}
	log_warn("metrics_count %s: more than %d named counters", field, NCOUNTS);
}

static void
metrics_flush(struct kv *kv, const char *endpoint)
{
	char field[96];
	int queued = 0;
	redisReply *rep;

	for (int i = 0; i < NSTATUS && status_counts[i].status; i++) {
		if (status_counts[i].count == 0)
			continue;
		snprintf(field, sizeof(field), "req|%s|%d", endpoint, status_counts[i].status);
		if (kv_append(kv, "HINCRBY fs:metrics %s %ld", field, status_counts[i].count) != FS_OK)
			return;
		queued++;
	}
	for (int b = 0; b <= metrics_nbuckets; b++) {
		if (bucket_counts[b] == 0)
			continue;
		if (b < metrics_nbuckets)
			snprintf(field, sizeof(field), "lat|%s|%ld", endpoint, metrics_buckets_us[b]);
		else
			snprintf(field, sizeof(field), "lat|%s|inf", endpoint);
		if (kv_append(kv, "HINCRBY fs:metrics %s %ld", field, bucket_counts[b]) != FS_OK)
			return;
		queued++;
	}
	for (int i = 0; i < NCOUNTS && named_counts[i].field; i++) {
		if (named_counts[i].count == 0)
			continue;
		if (kv_append(kv, "HINCRBY fs:metrics %s %ld", named_counts[i].field,
			      named_counts[i].count) != FS_OK)
			return;
		queued++;
	}
	snprintf(field, sizeof(field), "latsum|%s", endpoint);
	if (kv_append(kv, "HINCRBY fs:metrics %s %lld", field, latency_sum_us) != FS_OK)
		return;
	queued++;
	for (int i = 0; i < queued; i++) {
		rep = kv_reply(kv);
		if (rep == NULL)
			return; /* keep the counts; they go with the next flush */
		freeReplyObject(rep);
	}
	for (int i = 0; i < NSTATUS; i++)
		status_counts[i].count = 0;
	memset(bucket_counts, 0, sizeof(bucket_counts));
	for (int i = 0; i < NCOUNTS; i++)
		named_counts[i].count = 0;
	latency_sum_us = 0;
	unflushed = 0;
}

void
metrics_observe(struct kv *kv, const char *endpoint, const struct req *r)
{
	struct timeval tv;
	long us;
	int i, b;
	int64_t now;

	gettimeofday(&tv, NULL);
	us = (long)(((int64_t)tv.tv_sec * 1000000 + tv.tv_usec) - r->start_us);
	for (i = 0; i < NSTATUS; i++) {
		if (status_counts[i].status == r->status || status_counts[i].status == 0) {
			status_counts[i].status = r->status;
			status_counts[i].count++;
			break;
		}
	}
	for (b = 0; b < metrics_nbuckets && us > metrics_buckets_us[b]; b++)
		;
	bucket_counts[b]++;
	latency_sum_us += us;
	unflushed++;
	now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (kv != NULL && now >= next_flush_ms) {
		next_flush_ms = now + 1000;
		metrics_flush(kv, endpoint);
	}
}

/* flashsale_shed_total{reason}: place-order's 503s without asking Redis
 * (lib/shed.h), from the fields "shed|REASON" */
static void
metrics_text_shed(const redisReply *rep, struct text *t)
{
	text_add(t, "# HELP flashsale_shed_total Orders refused 503 at once by load shedding.\n"
		    "# TYPE flashsale_shed_total counter\n");
	for (size_t r = 0; r < FS_ARRAY_LEN(shed_reasons); r++) {
		char want[64];
		const char *v = "0";

		snprintf(want, sizeof(want), "shed|%s", shed_reasons[r]);
		for (size_t i = 0; i + 1 < rep->elements; i += 2)
			if (strcmp(rep->element[i]->str, want) == 0)
				v = rep->element[i + 1]->str;
		text_add(t, "flashsale_shed_total{reason=\"%s\"} %s\n", shed_reasons[r], v);
	}
}

void
metrics_text(struct kv *kv, struct text *t)
{
	redisReply *rep = kv_cmd(kv, "HGETALL fs:metrics");

	text_add(t, "# HELP flashsale_requests_total API requests by endpoint and status.\n"
		    "# TYPE flashsale_requests_total counter\n");
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		char ep[64], st[16];

		if (sscanf(rep->element[i]->str, "req|%63[^|]|%15s", ep, st) == 2)
			text_add(t, "flashsale_requests_total{endpoint=\"%s\",status=\"%s\"} %s\n",
				 ep, st, rep->element[i + 1]->str);
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2)
		if (strcmp(rep->element[i]->str, "redis_wait_timeouts") == 0)
			text_add(t, "# HELP flashsale_redis_wait_timeouts_total Reservations answered 202 "
				    "before redis_wait_replicas replicas acknowledged them.\n"
				    "# TYPE flashsale_redis_wait_timeouts_total counter\n"
				    "flashsale_redis_wait_timeouts_total %s\n",
				 rep->element[i + 1]->str);
	metrics_text_shed(rep, t);
	text_add(t, "# HELP flashsale_request_duration_seconds API latency.\n"
		    "# TYPE flashsale_request_duration_seconds histogram\n");
	/* cumulative buckets per endpoint, as Prometheus wants them */
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		char ep[64];

		if (sscanf(rep->element[i]->str, "latsum|%63s", ep) != 1)
			continue;
		long long cum = 0;
		for (int b = 0; b <= metrics_nbuckets; b++) {
			char want[96];

			if (b < metrics_nbuckets)
				snprintf(want, sizeof(want), "lat|%s|%ld", ep, metrics_buckets_us[b]);
			else
				snprintf(want, sizeof(want), "lat|%s|inf", ep);
			for (size_t k = 0; k + 1 < rep->elements; k += 2)
				if (strcmp(rep->element[k]->str, want) == 0)
					cum += strtoll(rep->element[k + 1]->str, NULL, 10);
			if (b < metrics_nbuckets)
				text_add(t, "flashsale_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %lld\n",
					 ep, metrics_buckets_us[b] / 1e6, cum);
			else
				text_add(t, "flashsale_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %lld\n"
					    "flashsale_request_duration_seconds_count{endpoint=\"%s\"} %lld\n",
					 ep, cum, ep, cum);
		}
		text_add(t, "flashsale_request_duration_seconds_sum{endpoint=\"%s\"} %g\n", ep,
			 strtoll(rep->element[i + 1]->str, NULL, 10) / 1e6);
	}
	freeReplyObject(rep);
}

int
metrics_incr(struct kv *kv, const char *field)
{
	redisReply *rep = kv_cmd(kv, "HINCRBY fs:metrics %s 1", field);

	if (rep == NULL)
		return FS_ERR;
	freeReplyObject(rep);
	return FS_OK;
}

int
metrics_set(struct kv *kv, const char *field, long long v)
{
	redisReply *rep = kv_cmd(kv, "HSET fs:metrics %s %lld", field, v);

	if (rep == NULL)
		return FS_ERR;
	freeReplyObject(rep);
	return FS_OK;
}

int
metrics_get(struct kv *kv, const char *field, long long *v)
{
	redisReply *rep = kv_cmd(kv, "HGET fs:metrics %s", field);
	int rc = FS_ERR;

	if (rep == NULL)
		return FS_ERR;
	if (rep->type == REDIS_REPLY_STRING) {
		*v = strtoll(rep->str, NULL, 10);
		rc = FS_OK;
	}
	freeReplyObject(rep);
	return rc;
}
