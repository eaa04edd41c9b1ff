/*
 * detail/challenge.c: the challenge before the order secret (API.md "Guard
 * rails", "Challenge"). For an activity with one, GET .../secret issues a
 * challenge (stored in Redis for the user and item, replacing any other),
 * and POST .../secret trades its answer, once, for the secret. Checking an
 * answer costs one SHA-256 (pow) or one compare (quiz); the order path
 * itself is untouched: the secret it checks is the same HMAC as without a
 * challenge.
 */
#include "detail.h"
#include "challenge.h"
#include "challenge_png.h"
#include "conf_keys.h"
#include "jx.h"
#include "kv.h"
#include "kv_challenge.h"
#include "log.h"
#include "ratelimit.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

/* Fills c's secret part: a pow's random prefix, or a quiz's answer with its
 * question drawn into *img (caller frees). FS_OK or FS_ERR. */
static int
challenge_fill(struct kv_challenge *c, char **img)
{
	char question[CHALLENGE_QUESTION_MAX], answer[CHALLENGE_QUIZ_ANSWER_MAX];
	unsigned char rnd[4];

	if (c->kind == CHALLENGE_POW)
		return challenge_random_hex(c->data, CHALLENGE_PREFIX_LEN / 2);
	if (fs_random_bytes(rnd, sizeof(rnd)) != FS_OK)
		return FS_ERR;
	challenge_quiz_make(rnd, question, answer);
	memcpy(c->data, answer, sizeof(answer));
	*img = challenge_png_uri(question);
	return *img != NULL ? FS_OK : FS_ERR;
}

enum fs_err
challenge_issue(struct req *r, const struct item_entry *e)
{
	struct kv_challenge c = {.kind = e->challenge, .bits = e->pow_bits};
	enum fs_err err = FS_E_INTERNAL;
	char *img = NULL;

	/* a meta without its bits (written by hand) must not make any answer do */
	if (c.bits < CHALLENGE_BITS_MIN || c.bits > CHALLENGE_BITS_MAX)
		c.bits = CHALLENGE_BITS_DEFAULT;
	if (challenge_random_hex(c.id, CHALLENGE_ID_LEN / 2) != FS_OK || challenge_fill(&c, &img) != FS_OK) {
		log_err("challenge for %lld:%lld: no randomness or no image", (long long)e->aid,
			(long long)e->iid);
		goto out;
	}
	err = FS_E_UNAVAILABLE;
	if (kv_challenge_put(r->kv, r->user_id, e->aid, e->iid, &c,
			     conf_keys_int(CONF_CHALLENGE_TTL_MS)) != FS_OK)
		goto out;
	out.len = 0;
	out_add("{\"challenge\":{\"id\":\"%s\",\"kind\":\"%s\",", c.id, challenge_kind_name(c.kind));
	if (c.kind == CHALLENGE_POW) {
		out_add("\"prefix\":\"%s\",\"bits\":%d}}", c.data, c.bits);
	} else {
		out_put("\"image\":\"", 9);
		out_put(img, strlen(img));
		out_put("\"}}", 3);
	}
	err = NO_ERROR;
out:
	free(img);
	return err;
}

/* 1 when id has the shape of the ids challenge_issue hands out. */
static int
id_shaped(const char *id)
{
	size_t n = strlen(id);

	return n == CHALLENGE_ID_LEN && strspn(id, "0123456789abcdef") == n;
}

/* 1 when answer solves c. */
static int
answer_ok(const struct kv_challenge *c, const char *answer)
{
	if (c->kind == CHALLENGE_POW)
		return challenge_pow_ok(c->data, answer, strlen(answer), c->bits);
	return fs_ct_equal(c->data, strlen(c->data), answer, strlen(answer));
}

/* POST /api/detail/{aid}/{iid}/secret {"challenge_id","answer"}: the secret
 * for the right answer to the user's current challenge of the item; the
 * challenge is used up by any answer to it, right or wrong. */
void
post_secret(struct req *r)
{
	json_object *o = NULL;
	const char *id, *answer;
	struct item_entry *e;
	struct kv_challenge c;
	enum fs_err err;
	int rc;

	if (req_order_secret_or_reply(r, conf_keys_str(CONF_ORDER_SECRET)) != FS_OK ||
	    req_user_or_reply(r) != FS_OK || req_json_or_reply(r, 0, &o) != FS_OK)
		return;
	if (jx_str(o, "challenge_id", REQ_BODY_MAX, &id) != FS_OK ||
	    jx_str(o, "answer", CHALLENGE_ANSWER_MAX, &answer) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST,
				"challenge_id and answer must be strings, answer at most 64 characters");
		goto done;
	}
	if (ratelimit_secret_or_reply(r) != FS_OK)
		goto done;
	err = secret_window(r, &e);
	if (err != NO_ERROR)
		goto out;
	if (guard_secret_or_reply(r, r->ids[0], r->ids[1]) != FS_OK)
		goto done; /* the sale rules answered: guard.c */
	err = FS_E_BAD_ANSWER;
	/* an id we never made cannot be the user's challenge: it leaves the
	 * current one alone, as a stale one does */
	if (!id_shaped(id))
		goto out;
	rc = kv_challenge_take(r->kv, r->user_id, r->ids[0], r->ids[1], id, &c);
	if (rc == FS_ERR)
		err = FS_E_UNAVAILABLE;
	if (rc != 1 || !answer_ok(&c, answer))
		goto out;
	secret_out(r);
	err = NO_ERROR;
out:
	reply_out_or_error(r, err);
done:
	json_object_put(o);
}
