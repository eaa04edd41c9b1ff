/*
 * test_shed: the circuit breaker's state machine (closed, open after the
 * threshold, exactly one half-open probe, close or reopen on its result),
 * the moving average of the reservation round trip (one slow call never
 * sheds, a run of them does, probes bring it down), and the shed decision
 * with its reasons and Retry-After.
 */
#include "breaker.h"
#include "fs.h"
#include "kv.h"
#include "shed.h"
#include "testhelp.h"

#include <string.h>

static void
test_breaker(void)
{
	struct breaker b;
	int64_t t = 1000000;

	breaker_init(&b, 3, 500);
	test_cond("breaker: closed at first", b.state == BREAKER_CLOSED && breaker_allow(&b, t));
	test_cond("breaker: 1st failure keeps it closed", breaker_failure(&b, t) == 0 && breaker_allow(&b, t));
	test_cond("breaker: 2nd failure keeps it closed", breaker_failure(&b, t) == 0 && breaker_allow(&b, t));
	breaker_success(&b);
	test_cond("breaker: a success resets the count", b.fails == 0);
	breaker_failure(&b, t);
	breaker_failure(&b, t);
	test_cond("breaker: the 3rd failure in a row opens it", breaker_failure(&b, t) == 1 &&
								  b.state == BREAKER_OPEN && b.opened == 1);
	test_cond("breaker: open refuses at once", !breaker_allow(&b, t) && breaker_refusing(&b, t + 499));
	test_cond("breaker: Retry-After wait", breaker_wait_ms(&b, t + 100) == 400);
	test_cond("breaker: refusing() does not take the probe",
		  !breaker_refusing(&b, t + 500) && b.state == BREAKER_OPEN);
	test_cond("breaker: after open_ms one probe passes", breaker_allow(&b, t + 500) &&
								  b.state == BREAKER_HALF_OPEN);
	test_cond("breaker: exactly one probe", !breaker_allow(&b, t + 501) && !breaker_allow(&b, t + 5000) &&
							  breaker_refusing(&b, t + 5000));
	test_cond("breaker: a failed probe opens it again", breaker_failure(&b, t + 600) == 1 &&
								   b.state == BREAKER_OPEN && !breaker_allow(&b, t + 1099));
	test_cond("breaker: next probe after another open_ms", breaker_allow(&b, t + 1100));
	breaker_success(&b);
	test_cond("breaker: a good probe closes it", b.state == BREAKER_CLOSED && breaker_allow(&b, t + 1101) &&
							breaker_allow(&b, t + 1101));
	test_cond("breaker: closed again needs the full threshold",
		  breaker_failure(&b, t + 2000) == 0 && breaker_failure(&b, t + 2000) == 0 &&
			  breaker_failure(&b, t + 2000) == 1);
	breaker_init(&b, 0, -5);
	test_cond("breaker: threshold at least 1", breaker_failure(&b, t) == 1);
}

static void
test_average(void)
{
	struct shed s;
	int64_t t = 5000000;

	shed_init(&s, 0, 200); /* 200 ms */
	for (int i = 0; i < 50; i++)
		shed_sample(&s, 300); /* a quick Redis: 0.3 ms */
	test_cond("average: quick baseline", s.avg_us < 1000 && shed_check(&s, NULL, t) == SHED_NONE);
	shed_sample(&s, 60 * 1000 * 1000); /* one call of a minute */
	test_cond("average: one slow call does not shed", shed_check(&s, NULL, t) == SHED_NONE);
	shed_sample(&s, 900000);
	test_cond("average: two slow calls do not shed", shed_check(&s, NULL, t) == SHED_NONE);
	for (int i = 0; i < 3; i++)
		shed_sample(&s, 900000);
	test_cond("average: a run of slow calls sheds", s.avg_us > 200000);
	test_cond("average: the first check is the probe", shed_check(&s, NULL, t) == SHED_NONE);
	test_cond("average: then redis_slow", shed_check(&s, NULL, t + 1) == SHED_REDIS_SLOW &&
						      shed_check(&s, NULL, t + SHED_PROBE_MS - 1) == SHED_REDIS_SLOW);
	test_cond("average: a probe every SHED_PROBE_MS", shed_check(&s, NULL, t + SHED_PROBE_MS) == SHED_NONE &&
								    shed_check(&s, NULL, t + SHED_PROBE_MS + 1) == SHED_REDIS_SLOW);
	for (int i = 0; i < 40; i++)
		shed_sample(&s, 500); /* the probes find Redis quick again */
	test_cond("average: quick probes end it", s.avg_us < 200000 &&
							shed_check(&s, NULL, t + 10 * SHED_PROBE_MS) == SHED_NONE &&
							shed_check(&s, NULL, t + 10 * SHED_PROBE_MS + 1) == SHED_NONE);
	shed_init(&s, 0, 0);
	for (int i = 0; i < 20; i++)
		shed_sample(&s, 5000000);
	test_cond("average: shed_redis_ms 0 is off", shed_check(&s, NULL, t) == SHED_NONE);
}

static void
test_backlog(void)
{
	struct shed s;
	int64_t t = 7000000;

	shed_init(&s, 100, 200);
	shed_set_backlog(&s, 100);
	test_cond("backlog: at the limit goes on", shed_check(&s, NULL, t) == SHED_NONE);
	shed_accepted(&s, 1, 2, t);
	test_cond("backlog: own orders since the read count", shed_backlog(&s) == 101 &&
								  shed_check(&s, NULL, t) == SHED_BACKLOG);
	test_cond("backlog: Retry-After 1 s", shed_retry_after_s(&s, NULL, SHED_BACKLOG, t) == 1);
	shed_set_backlog(&s, 40);
	test_cond("backlog: a new read replaces them", shed_backlog(&s) == 40 &&
							  shed_check(&s, NULL, t) == SHED_NONE);
	shed_init(&s, 0, 200);
	shed_set_backlog(&s, 1000000);
	test_cond("backlog: shed_backlog 0 is off", shed_check(&s, NULL, t) == SHED_NONE);
	test_cond("fields", strcmp(shed_field(SHED_BACKLOG), "shed|backlog") == 0 &&
				    strcmp(shed_field(SHED_REDIS_SLOW), "shed|redis_slow") == 0 &&
				    strcmp(shed_field(SHED_BREAKER), "shed|breaker") == 0);
}

static void
test_breaker_reason(void)
{
	struct kv kv;
	struct shed s;
	int64_t t = 9000000;

	memset(&kv, 0, sizeof(kv));
	breaker_init(&kv.br, 2, 3500);
	shed_init(&s, 100, 200);
	shed_set_backlog(&s, 1000); /* the breaker comes first */
	breaker_failure(&kv.br, t);
	test_cond("breaker reason: closed is not a reason", shed_check(&s, &kv, t) == SHED_BACKLOG);
	breaker_failure(&kv.br, t);
	test_cond("breaker reason: open sheds first", shed_check(&s, &kv, t) == SHED_BREAKER);
	test_cond("breaker reason: Retry-After rounds up", shed_retry_after_s(&s, &kv, SHED_BREAKER, t + 100) == 4);
	test_cond("breaker reason: the probe's turn goes through to the store",
		  kv_refusing(&kv, t + 3500) == 0 && kv.br.state == BREAKER_OPEN);
}

int
main(void)
{
	test_breaker();
	test_average();
	test_backlog();
	test_breaker_reason();
	return test_report();
}
