/*
 * refund: run once a minute by cron, run-once otherwise. Refunds every late
 * payment (a success notify after its order left unpaid) through the
 * provider's refund call (docs/GUARD-REFUND.md):
 *  1. enlists the late payments that have no refunds row yet;
 *  2. for each due refund (pending, no live claim): claims it for LEASE_MS
 *     with a conditional update, so of two jobs running at once exactly one
 *     asks the provider; signs the call with pay_secret, POSTs it to
 *     refund_url and records the provider's refund_id once.
 * A job that dies between the provider's answer and the record leaves the
 * refund pending: after the lease the next run asks again, and the
 * provider, idempotent by payment_id, answers the same refund_id.
 * Prints one summary line. Exit status 0, or 1 when a step failed (the
 * next run retries).
 */
#include "daemon.h"
#include "conf_keys.h"
#include "db.h"
#include "db_refund.h"
#include "fs.h"
#include "log.h"
#include "provider.h"
#include "refund.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ENLIST_MAX 1000
#define BATCH 100
/* a run never loops forever, even if MySQL kept returning the same rows */
#define BATCHES_MAX 100
/* one provider call at most; the lease covers it several times over, so a
 * claim never runs out under a call still on its way */
#define CALL_TIMEOUT_MS 10000
#define LEASE_MS (6 * CALL_TIMEOUT_MS)
#define SANDBOX_PATH "/api/pay/sandbox/refund"

struct tally {
	int enlisted, refunded, before, busy, failed, errors;
};

/* Claims, asks the provider and records one due refund q. */
static void
refund_one(struct db *d, const char *url, const char *secret, struct refund_call *q,
	   struct tally *t)
{
	char id[REFUND_ID_MAX + 1], err[256];
	int64_t now = fs_now_ms();
	int rc = db_refund_claim(d, q->payment_id, now, LEASE_MS);

	if (rc != 1) {
		if (rc == FS_ERR) {
			log_err("refund: claim payment %" PRId64 ": %s", q->payment_id, db_errstr(d));
			t->errors++;
		} else {
			t->busy++; /* another job holds it (or just finished it) */
		}
		return;
	}
	q->ts_ms = now;
	refund_call_sign(secret, q);
	if (provider_refund(url, q, CALL_TIMEOUT_MS, id, err, sizeof(err)) != FS_OK) {
		/* the claim stays until its lease ends: the next run retries */
		log_err("refund: payment %" PRId64 " (%" PRId64 " cents): %s", q->payment_id,
			q->amount_cents, err);
		t->failed++;
		return;
	}
	rc = db_refund_done(d, q->payment_id, id, fs_now_ms());
	if (rc == FS_ERR) {
		log_err("refund: record payment %" PRId64 " refund %s: %s", q->payment_id, id,
			db_errstr(d));
		t->errors++;
	} else if (rc == 1) {
		log_info("refund: payment %" PRId64 " order %" PRId64 " refunded %" PRId64
			 " cents as %s", q->payment_id, q->order_id, q->amount_cents, id);
		t->refunded++;
	} else {
		t->before++;
	}
}

/* Works through the due refunds, a batch at a time. */
static void
refund_due(struct db *d, const char *url, const char *secret, struct tally *t)
{
	struct refund_call due[BATCH];

	for (int b = 0; b < BATCHES_MAX; b++) {
		int n = db_refund_due(d, fs_now_ms(), due, BATCH);

		if (n == FS_ERR) {
			log_err("refund: list due refunds: %s", db_errstr(d));
			t->errors++;
			return;
		}
		for (int i = 0; i < n; i++)
			refund_one(d, url, secret, &due[i], t);
		/* what failed keeps its claim, what another job holds is not
		 * listed again once claimed: a full batch means more are due */
		if (n < BATCH)
			return;
	}
}

/* refund_url, or the sandbox provider of this shop. */
static void
provider_url(char *buf, size_t len)
{
	const char *url = conf_keys_str(CONF_REFUND_URL);
	const char *pub = conf_keys_str(CONF_PUBLIC_URL);
	size_t n = strlen(pub);

	if (url != NULL && *url != '\0') {
		snprintf(buf, len, "%s", url);
		return;
	}
	while (n > 0 && pub[n - 1] == '/')
		n--;
	snprintf(buf, len, "%.*s%s", (int)n, pub, SANDBOX_PATH);
}

int main(void);

int
main(void)
{
	struct daemon dm;
	struct tally t;
	const char *secret;
	char url[1024];
	int n;

	daemon_start(&dm, "refund", DAEMON_DB);
	memset(&t, 0, sizeof(t));
	secret = conf_keys_str(CONF_PAY_SECRET);
	provider_url(url, sizeof(url));
	if (*secret == '\0' || provider_open() != FS_OK) {
		log_err("refund: %s", *secret == '\0' ? "pay_secret is empty: no call can be signed"
						   : "libcurl would not start");
		t.errors++;
	} else {
		n = db_refund_enlist(dm.db, fs_now_ms(), ENLIST_MAX);
		if (n == FS_ERR) {
			log_err("refund: enlist late payments: %s", db_errstr(dm.db));
			t.errors++;
		} else {
			t.enlisted = n;
		}
		refund_due(dm.db, url, secret, &t);
	}
	provider_close();
	printf("refund: enlisted %d, refunded %d, recorded before %d, held by another job %d, "
	       "provider failed %d, errors %d\n", t.enlisted, t.refunded, t.before, t.busy,
	       t.failed, t.errors);
	fflush(stdout);
	daemon_end(&dm);
	return t.errors || t.failed ? 1 : 0;
}
