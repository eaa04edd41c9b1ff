/*
 * metrics.h: request counters and latency histograms. Each process counts in
 * memory and adds its counts to Redis at most once a second, so the hot path
 * pays no Redis round trip for them; /api/metrics reads the sums.
 */
#ifndef FS_METRICS_H
#define FS_METRICS_H

struct kv;
struct req;
struct text;

/* Counts r (its status and time taken) under endpoint. kv may be NULL
 * (then counts wait in memory for a process that has Redis). */
void metrics_observe(struct kv *kv, const char *endpoint, const struct req *r);

/* Latency bucket upper bounds in microseconds, shared with the exporter. */
extern const long metrics_buckets_us[];
extern const int metrics_nbuckets;

/* Appends fs:metrics as Prometheus text (requests and latency histograms)
 * to t; nothing when Redis is down. */
void metrics_text(struct kv *kv, struct text *t);

/* Adds 1 to counter field (a static string, e.g. "shed|backlog") in this
 * process's memory: it reaches fs:metrics with the next flush, so counting
 * costs no Redis round trip (and works while Redis is down). */
void metrics_count(const char *field);

/* Adds 1 to the counter field of fs:metrics. FS_OK or FS_ERR. */
int metrics_incr(struct kv *kv, const char *field);

/* Sets the gauge field of fs:metrics to v (a cron job's last result, e.g.
 * "reconcile_drift"). FS_OK or FS_ERR. */
int metrics_set(struct kv *kv, const char *field, long long v);
/* Reads a field of fs:metrics: FS_OK, or FS_ERR when absent or Redis is down. */
int metrics_get(struct kv *kv, const char *field, long long *v);

#endif
