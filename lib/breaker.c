/*
 * breaker.c: the circuit breaker's state machine (breaker.h).
 */
#include "breaker.h"
#include "conf_keys.h"

void
breaker_init(struct breaker *b, int failures, int open_ms)
{
	b->state = BREAKER_CLOSED;
	b->fails = 0;
	b->failures = failures < 1 ? 1 : failures;
	b->open_ms = open_ms < 0 ? 0 : open_ms;
	b->open_until_ms = 0;
	b->opened = 0;
}

void
breaker_init_conf(struct breaker *b)
{
	breaker_init(b, (int)conf_keys_int(CONF_BREAKER_FAILURES), (int)conf_keys_int(CONF_BREAKER_MS));
}

int
breaker_refusing(const struct breaker *b, int64_t now)
{
	switch (b->state) {
	case BREAKER_OPEN:
		return now < b->open_until_ms;
	case BREAKER_HALF_OPEN:
		/* the probe is out: nobody else until it reports */
		return 1;
	case BREAKER_CLOSED:
	default:
		return 0;
	}
}

int
breaker_allow(struct breaker *b, int64_t now)
{
	if (breaker_refusing(b, now))
		return 0;
	if (b->state == BREAKER_OPEN)
		b->state = BREAKER_HALF_OPEN; /* this attempt is the probe */
	return 1;
}

int64_t
breaker_wait_ms(const struct breaker *b, int64_t now)
{
	if (b->state == BREAKER_HALF_OPEN)
		return b->open_ms; /* at worst the probe fails and it opens again */
	if (b->state == BREAKER_OPEN && now < b->open_until_ms)
		return b->open_until_ms - now;
	return 0;
}

void
breaker_success(struct breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->fails = 0;
}

int
breaker_failure(struct breaker *b, int64_t now)
{
	if (b->state == BREAKER_CLOSED && ++b->fails < b->failures)
		return 0;
	/* the threshold reached, or the probe failed */
	b->state = BREAKER_OPEN;
	b->open_until_ms = now + b->open_ms;
	b->fails = 0;
	b->opened++;
	return 1;
}
