/*
 * shed.h: load shedding for place-order (API.md "Guard rails"): the
 * decision to refuse an order at once, 503 with Retry-After, without asking
 * Redis, when
 *   - the order handler is behind: its backlog (accepted orders not yet in
 *     MySQL) passes shed_backlog;
 *   - Redis is slow: the moving average of the reservation round trip
 *     passes shed_redis_ms (one slow call cannot do it);
 *   - Redis's circuit breaker is open (breaker.h).
 *
 * The backlog without a round trip per request: a watcher thread with a
 * connection of its own reads, every SHED_WATCH_MS, the pending count of
 * each item this process took an order for in the last SHED_ITEM_MS (the
 * item's journal index, kv_journal_pending_count: what the handler has not
 * confirmed yet) and publishes the sum in an atomic; between two reads the
 * process adds the orders it accepted itself, so a burst cannot overshoot
 * by more than the other processes take in SHED_WATCH_MS. The request path
 * reads two atomics. The moving average is fed by the caller from the
 * round trips it makes anyway; while it sheds for slowness, one request
 * every SHED_PROBE_MS goes through to measure again (else the average could
 * never come down).
 */
#ifndef FS_SHED_H
#define FS_SHED_H

#include <stdatomic.h>
#include <stdint.h>

struct kv;

#define SHED_WATCH_MS 50
#define SHED_ITEM_MS 10000
#define SHED_PROBE_MS 100
/* the moving average: each sample weighs 1/SHED_EWMA_DIV, and counts for at
 * most SHED_SAMPLE_CAP times the limit, so from a quick baseline it takes
 * three very slow calls in a row to pass the limit, never one */
#define SHED_EWMA_DIV 8
#define SHED_SAMPLE_CAP 4

enum shed_reason { SHED_NONE, SHED_BACKLOG, SHED_REDIS_SLOW, SHED_BREAKER };

struct shed_watch;

struct shed {
	int64_t backlog_max;        /* <= 0: never for backlog */
	int64_t slow_us;            /* <= 0: never for slowness */
	int64_t avg_us;             /* moving average of the round trip */
	int64_t probe_ms;           /* redis_slow: the next probe's time */
	_Atomic int64_t backlog;    /* the watcher's last sum */
	_Atomic int64_t accepted;   /* orders this process accepted */
	_Atomic int64_t accepted_at_read; /* accepted when that sum was read */
	struct shed_watch *w;       /* NULL: no watcher (tests) */
};

/* Sets s from backlog_max and redis_ms, no watcher. */
void shed_init(struct shed *s, int64_t backlog_max, int64_t redis_ms);
/* shed_init from shed_backlog and shed_redis_ms, and starts the watcher on
 * kv (owned by it from now on; a connection of its own). */
void shed_start(struct shed *s, struct kv *kv);
/* Stops the watcher and frees its kv. */
void shed_stop(struct shed *s);

/* Whether to shed now, and why (SHED_NONE: go on). kv may be NULL; its
 * breaker is checked without using it. Under SHED_REDIS_SLOW one call every
 * SHED_PROBE_MS gets SHED_NONE (the probe). */
enum shed_reason shed_check(struct shed *s, const struct kv *kv, int64_t now);
/* The Retry-After of reason, in seconds (>= 1). */
int shed_retry_after_s(const struct shed *s, const struct kv *kv, enum shed_reason reason,
		       int64_t now);
/* The metric field of reason ("shed|backlog", ...). */
const char *shed_field(enum shed_reason reason);
/* One reservation round trip of us microseconds (timed with fs_mono_us). */
void shed_sample(struct shed *s, int64_t us);
/* An order of (aid, iid) was accepted: counted until the watcher's next
 * read, and the item watched. */
void shed_accepted(struct shed *s, int64_t aid, int64_t iid, int64_t now);
/* The backlog the decision uses: the last sum plus this process's orders
 * since. For tests: shed_set_backlog stands in for the watcher. */
int64_t shed_backlog(struct shed *s);
void shed_set_backlog(struct shed *s, int64_t n);

#endif
