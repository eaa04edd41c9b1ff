/*
 * pay: payments (API.md "Payment").
 *   POST /api/pay/{order_id}            the owner starts paying an unpaid order
 *   POST /api/pay/notify                the provider's signed callback
 *   POST /api/pay/sandbox/{payment_id}  the sandbox provider's buttons, for
 *        the payment's owner only (user token): builds and signs a notify
 *        with pay_secret and applies it through the very path
 *        /api/pay/notify takes. Off (404) unless pay_sandbox = 1: the demo
 *        stack turns it on, production leaves it off.
 *   POST /api/pay/sandbox/refund        the sandbox provider's refund call
 *        (refund.h), signed with pay_secret by the refund job: one refund
 *        per payment, the same refund_id however often it is asked. Off
 *        like the rest of the sandbox.
 * The state changes themselves are lifecycle.c's.
 */
#include "app.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "db_order.h"
#include "db_payment.h"
#include "db_refund.h"
#include "idgen.h"
#include "jx.h"
#include "kv.h"
#include "lifecycle.h"
#include "log.h"
#include "codec.h"
#include "order.h"
#include "paynotify.h"
#include "queued.h"
#include "refund.h"
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *pay_secret;
static const char *pay_page;
static int sandbox_on;

static void
post_pay(struct req *r)
{
	struct order o;
	json_object *j;
	char pid[24], oid[24], url[512];
	int64_t payment_id, now;
	int rc;

	if (req_user_or_reply(r) != FS_OK)
		return;
	rc = db_order_load(r->db, r->ids[0], &o);
	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	if (rc == 0) {
		/* a queued order is not payable yet; anyone else's is not found */
		if (queued_get(r->kv, r->db, r->user_id, r->ids[0], &o) == 1)
			reply_error_msg(r, FS_E_CONFLICT, "the order is not unpaid yet; try again shortly");
		else
			reply_error(r, FS_E_NOT_FOUND);
		return;
	}
	if (o.user_id != r->user_id) {
		reply_error(r, FS_E_NOT_FOUND);
		return;
	}
	now = fs_now_ms();
	if (o.status != ORDER_UNPAID || now >= o.pay_deadline_ms) {
		reply_error_msg(r, FS_E_CONFLICT, o.status == ORDER_UNPAID ?
				"the payment window of this order has closed" :
				"only an unpaid order can be paid");
		return;
	}
	if (idgen_next(r->kv, &payment_id) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	if (db_payment_create(r->db, payment_id, &o, now) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	snprintf(pid, sizeof(pid), "%" PRId64, payment_id);
	snprintf(oid, sizeof(oid), "%" PRId64, o.id);
	snprintf(url, sizeof(url), "%s?payment_id=%s&order_id=%s&amount_cents=%" PRId64, pay_page,
		 pid, oid, o.amount_cents);
	j = json_object_new_object();
	json_object_object_add(j, "payment_id", json_object_new_string(pid));
	json_object_object_add(j, "pay_url", json_object_new_string(url));
	json_object_object_add(j, "order_id", json_object_new_string(oid));
	json_object_object_add(j, "amount_cents", json_object_new_int64(o.amount_cents));
	reply_json(r, 200, j);
	json_object_put(j);
}

/* The one way a notify body takes, from the provider or the sandbox:
 * parse (400), signature (401), then the state change. */
static void
notify_apply_or_reply(struct req *r, const char *body, size_t len)
{
	static const char *const results[] = {
		[PAY_PAID] = "paid", [PAY_LATE] = "late", [PAY_FAILED] = "failed",
		[PAY_REPLAY] = "duplicate",
	};
	struct paynotify n;
	const char *why;
	enum pay_outcome res;
	json_object *j;
	char num[24];

	if (paynotify_parse(body, len, &n, &why) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST, why);
		return;
	}
	if (!paynotify_verify(pay_secret, &n)) {
		reply_error_msg(r, FS_E_UNAUTHORIZED, "the notify's signature is wrong");
		return;
	}
	res = lifecycle_pay_apply(r->db, r->kv, &n);
	switch (res) {
	case PAY_PAID:
	case PAY_LATE:
	case PAY_FAILED:
	case PAY_REPLAY:
		j = json_object_new_object();
		json_object_object_add(j, "ok", json_object_new_boolean(1));
		json_object_object_add(j, "result", json_object_new_string(results[res]));
		snprintf(num, sizeof(num), "%" PRId64, n.payment_id);
		json_object_object_add(j, "payment_id", json_object_new_string(num));
		snprintf(num, sizeof(num), "%" PRId64, n.order_id);
		json_object_object_add(j, "order_id", json_object_new_string(num));
		reply_json(r, 200, j);
		json_object_put(j);
		break;
	case PAY_NOT_FOUND:
		reply_error_msg(r, FS_E_NOT_FOUND, "no such payment");
		break;
	case PAY_ORDER_MISMATCH:
		reply_error_msg(r, FS_E_CONFLICT, "the payment belongs to another order");
		break;
	case PAY_AMOUNT_MISMATCH:
		reply_error_msg(r, FS_E_CONFLICT, "amount_cents is not the payment's amount");
		break;
	case PAY_DOWN:
	default:
		reply_error(r, FS_E_UNAVAILABLE);
		break;
	}
}

static void
post_notify(struct req *r)
{
	if (req_body_or_reply(r) != FS_OK)
		return;
	notify_apply_or_reply(r, r->body, r->body_len);
}

/* The sandbox provider: what a real provider does after the shopper paid
 * (or failed to), signed with the shop's pay_secret. A real provider lets
 * only the payer settle a payment: here that is the owner's token, and a
 * payment of anyone else is not found (payment ids are guessable). */
static void
post_sandbox(struct req *r)
{
	json_object *body = NULL, *nj = NULL;
	struct paynotify n;
	int64_t order_id = 0, amount = 0, owner = 0;
	const char *status = NULL, *s;
	int found;

	if (!sandbox_on) {
		reply_error_msg(r, FS_E_NOT_FOUND, "the sandbox payment provider is off");
		return;
	}
	if (req_user_or_reply(r) != FS_OK)
		return;
	if (req_json_or_reply(r, 0, &body) != FS_OK)
		return;
	if (jx_str(body, "status", 16, &status) != FS_OK ||
	    (strcmp(status, "success") != 0 && strcmp(status, "fail") != 0)) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "status must be \"success\" or \"fail\"");
		goto out;
	}
	found = db_payment_get(r->db, r->ids[0], &order_id, &amount, &owner);
	if (found == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		goto out;
	}
	found = found == 1 && owner == r->user_id;
	memset(&n, 0, sizeof(n));
	if (found) {
		n.payment_id = r->ids[0];
		n.order_id = order_id;
		n.amount_cents = amount;
	}
	if (!found) {
		reply_error_msg(r, FS_E_NOT_FOUND, "no such payment");
		goto out;
	}
	n.success = strcmp(status, "success") == 0;
	n.ts_ms = fs_now_ms();
	paynotify_sign(pay_secret, &n);
	nj = paynotify_to_json(&n);
	s = json_object_to_json_string_ext(nj, JSON_C_TO_STRING_PLAIN);
	notify_apply_or_reply(r, s, strlen(s));
out:
	json_object_put(nj);
	json_object_put(body);
}

/* The sandbox provider's refund: parse (400), signature (401), then the
 * payment as the provider knows it (404, 409) and its one refund. */
static void
post_sandbox_refund(struct req *r)
{
	struct refund_call q;
	const char *why;
	unsigned char raw[12];
	char new_id[3 + 2 * sizeof(raw) + 1], id[REFUND_ID_MAX + 1];
	json_object *j;

	if (!sandbox_on) {
		reply_error_msg(r, FS_E_NOT_FOUND, "the sandbox payment provider is off");
		return;
	}
	if (req_body_or_reply(r) != FS_OK)
		return;
	if (refund_call_parse(r->body, r->body_len, &q, &why) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST, why);
		return;
	}
	if (!refund_call_verify(pay_secret, &q)) {
		reply_error_msg(r, FS_E_UNAUTHORIZED, "the refund call's signature is wrong");
		return;
	}
	/* a provider's own id: random, used only if this is the first call */
	if (fs_random_bytes(raw, sizeof(raw)) != FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		return;
	}
	memcpy(new_id, "re_", 3);
	codec_hex_encode(raw, sizeof(raw), new_id + 3);
	switch (db_refund_sandbox(r->db, &q, new_id, fs_now_ms(), id)) {
	case DBR_REFUNDED:
		j = json_object_new_object();
		json_object_object_add(j, "refund_id", json_object_new_string(id));
		reply_json_put(r, 200, j);
		break;
	case DBR_NOT_FOUND:
		reply_error_msg(r, FS_E_NOT_FOUND, "no such payment");
		break;
	case DBR_MISMATCH:
		reply_error_msg(r, FS_E_CONFLICT, "order_id or amount_cents are not the payment's");
		break;
	case DBR_NOT_CAPTURED:
		reply_error_msg(r, FS_E_CONFLICT, "no money came for this payment");
		break;
	default:
		reply_error(r, FS_E_UNAVAILABLE);
		break;
	}
}

static int
pay_init(struct req *proto)
{
	pay_secret = conf_keys_str(CONF_PAY_SECRET);
	pay_page = conf_keys_str(CONF_PAY_PAGE);
	/* missing means off: the sandbox settles payments with no money
	 * moving, so a shop that forgot it would give its stock away;
	 * `make run` writes pay_sandbox = 1 for the demo */
	sandbox_on = conf_keys_int(CONF_PAY_SANDBOX) != 0;
	if (*pay_secret == '\0')
		log_warn("pay_secret is empty: every notify will be refused as unauthorized");
	if (sandbox_on)
		log_info("sandbox payment provider on (set pay_sandbox = 0 in production)");
	(void)proto;
	return FS_OK;
}

/* literal routes first: "$" would take "notify" and answer 400 */
static const struct route routes[] = {
	{"POST", "/api/pay/notify", post_notify, PAYNOTIFY_BODY_MAX},
	{"POST", "/api/pay/sandbox/refund", post_sandbox_refund, PAYNOTIFY_BODY_MAX},
	{"POST", "/api/pay/sandbox/$", post_sandbox, 0},
	{"POST", "/api/pay/$", post_pay, 0},
};

int
main(void)
{
	static const struct app app = {"pay", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB,
				       pay_init, NULL, NULL};

	return app_main(&app);
}
