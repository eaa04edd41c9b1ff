/*
 * provider.h: the payment provider's refund call over HTTP or HTTPS
 * (libcurl; only the refund job links it). One POST of the signed call as
 * JSON, the answer {"refund_id"} read back (refund.h has both formats).
 */
#ifndef FS_PROVIDER_H
#define FS_PROVIDER_H

#include <stddef.h>

#include "refund.h"

/* Once per process, before any call: FS_OK or FS_ERR. */
int provider_open(void);
/* Once at the end; safe after a failed provider_open. */
void provider_close(void);

/* POSTs the signed call q to url, giving up after timeout_ms. FS_OK and
 * the provider's refund_id in id on a 200 with one; FS_ERR otherwise, with
 * what went wrong (transport, status, answer) in err. A failure is never
 * final: the provider is idempotent by payment_id, so asking again is
 * safe. */
int provider_refund(const char *url, const struct refund_call *q, long timeout_ms,
		    char id[REFUND_ID_MAX + 1], char *err, size_t errlen);

#endif
