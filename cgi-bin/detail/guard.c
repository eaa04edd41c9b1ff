/*
 * detail/guard.c: the sale rules at the order secret (docs/GUARD-RULES.md):
 * a blocked user or address gets 403 banned; an account younger than the
 * sale's min_account_age_s (or not registered here), or an address that
 * already has max_orders_per_ip accepted orders of the item, 403 forbidden.
 *
 * The account age is checked here only: the secret is bound to user and
 * item and every order needs it, and an account that was old enough when it
 * got the secret is older still when it orders, so the order path never
 * pays for the user's record (it lives in the user's Redis slot, not the
 * item's). The blocklist and the per-address cap are checked again by the
 * reservation script, where they are exact.
 */
#include "detail.h"
#include "db_guard.h"
#include "guard.h"
#include "kv_guard.h"
#include "log.h"
#include "ratelimit.h"
#include "reply.h"

/* The rules of (aid, iid) and what Redis counts for the address: FS_OK, or
 * FS_ERR after a 503. */
static int
view_or_reply(struct req *r, int64_t aid, int64_t iid, const char *ip, struct kv_guard_view *v)
{
	if (kv_guard_view(r->kv, aid, iid, ip, v) != FS_OK ||
	    (!v->warm && db_guard_rules_get(r->db, aid, &v->rules) == FS_ERR)) {
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
	/* a change raised the item's version past this process's copy */
	if (v->ver > guard_version() && guard_refresh(r->db) != FS_OK)
		log_warn("blocklist: cannot read it again; deciding with version %lld",
			 (long long)guard_version());
	return FS_OK;
}

int
guard_secret_or_reply(struct req *r, int64_t aid, int64_t iid)
{
	struct kv_guard_view v;
	char bucket[48];
	int has_ip = ratelimit_client(r, bucket), rc;

	if (view_or_reply(r, aid, iid, has_ip ? bucket : NULL, &v) != FS_OK)
		return FS_ERR;
	if (guard_blocked(r->user_id, has_ip ? r->client_ip : NULL)) {
		reply_error(r, FS_E_BANNED);
		return FS_ERR;
	}
	if (v.rules.min_account_age_s > 0) {
		rc = guard_account_age_ok(r->kv, r->db, r->user_id, v.rules.min_account_age_s,
					  fs_now_ms());
		if (rc != 1) {
			reply_error_msg(r, rc == 0 ? FS_E_FORBIDDEN : FS_E_UNAVAILABLE,
					rc == 0 ? "this sale is for accounts registered here long enough"
						: NULL);
			return FS_ERR;
		}
	}
	if (v.rules.max_orders_per_ip > 0 && has_ip && v.ip_orders >= v.rules.max_orders_per_ip) {
		reply_error_msg(r, FS_E_FORBIDDEN, "this address has bought its share of this sale");
		return FS_ERR;
	}
	return FS_OK;
}
