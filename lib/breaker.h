/*
 * breaker.h: a circuit breaker for one connection to a store (kv.c, db.c).
 * After `failures` transport failures in a row it opens for open_ms: every
 * connect is refused at once, so a dead store costs a request a fast 503
 * instead of a connect (or read) timeout. Then it half-opens: exactly one
 * attempt (the probe) is let through; its success closes the breaker, its
 * failure opens it again for open_ms. Pure state, no clock of its own: the
 * caller passes now (ms). One struct per connection, used by one thread.
 */
#ifndef FS_BREAKER_H
#define FS_BREAKER_H

#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	enum breaker_state state;
	int fails;            /* transport failures in a row while closed */
	int failures;         /* the threshold that opens it (>= 1) */
	int open_ms;          /* how long it stays open */
	int64_t open_until_ms;
	long opened;          /* times it opened (for logs and tests) */
};

/* Sets b closed with threshold failures (< 1: 1) and open_ms (< 0: 0). */
void breaker_init(struct breaker *b, int failures, int open_ms);
/* Sets b from the config keys breaker_failures and breaker_ms. */
void breaker_init_conf(struct breaker *b);
/* 1 when an attempt may go to the store now: closed, or the single probe
 * of a breaker whose open time has passed (b becomes half-open, and every
 * other attempt is refused until the probe reports). 0: answer at once. */
int breaker_allow(struct breaker *b, int64_t now);
/* 1 when breaker_allow would refuse at now; does not take the probe. */
int breaker_refusing(const struct breaker *b, int64_t now);
/* ms until b lets a probe through (0 when it would allow now). */
int64_t breaker_wait_ms(const struct breaker *b, int64_t now);
/* The store answered: closed, count reset. */
void breaker_success(struct breaker *b);
/* A transport failure (connect refused or timed out, connection lost):
 * counts toward the threshold; a failed probe opens b again. Returns 1
 * when this failure opened b. */
int breaker_failure(struct breaker *b, int64_t now);

#endif
