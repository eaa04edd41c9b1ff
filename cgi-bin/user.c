/*
 * user: /api/user: register, login, refresh and logout (API.md "Identity").
 *
 * Passwords are stored only as libsodium crypto_pwhash_str (argon2id,
 * INTERACTIVE limits: ~0.1 s and 64 MiB per hash or verify). Access tokens
 * are JWT HS256 living access_ttl_s; refresh tokens are "FAM.SECRET" (both
 * random, base64url), stored as a SHA-256 in Redis (kv_user.h), rotated on
 * every refresh; a rotated-out token that comes back revokes its session.
 * login_failures_lock failed logins of one username lock it until the end
 * of the UTC day. Login and register are also limited per client address.
 */
#include "app.h"
#include "codec.h"
#include "conf.h"
#include "conf_keys.h"
#include "db.h"
#include "db_user.h"
#include "fs.h"
#include "guard.h"
#include "hmac.h"
#include "jwt.h"
#include "jx.h"
#include "kv.h"
#include "kv_user.h"
#include "log.h"
#include "ratelimit.h"
#include "reply.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define UNAME_MIN 3
#define UNAME_MAX 32
#define PW_MIN 8          /* characters (code points) */
#define PW_MAX 128
#define PW_MAX_BYTES 512  /* 128 code points of up to 4 bytes */

#define FAM_BYTES 16      /* 22 base64url characters */
#define SECRET_BYTES 32   /* 43 base64url characters */
#define FAM_CHARS 22
#define SECRET_CHARS 43
#define REFRESH_LEN (FAM_CHARS + 1 + SECRET_CHARS)

/* verified when the username is unknown, so that both answers take as long */
static char dummy_hash[crypto_pwhash_STRBYTES];

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < UNAME_MIN || n > UNAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* Code points of valid UTF-8 s (jx_str checked it). */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Reads {"username","password"}: FS_OK, or FS_ERR with 400 answered.
 * check_rules: register applies the length rules to the password too. */
static int
credentials_or_reply(struct req *r, json_object **body, const char **name, const char **pw,
		     int check_rules)
{
	size_t pwn;

	if (req_json_or_reply(r, 0, body) != FS_OK)
		return FS_ERR;
	if (jx_str(*body, "username", UNAME_MAX, name) != FS_OK || !name_ok(*name)) {
		reply_error_msg(r, FS_E_BAD_REQUEST,
				"username: 3 to 32 of the characters A-Z a-z 0-9 _ . -");
		return FS_ERR;
	}
	if (jx_str(*body, "password", PW_MAX_BYTES, pw) != FS_OK ||
	    (check_rules && ((pwn = utf8_chars(*pw)) < PW_MIN || pwn > PW_MAX))) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "password: a string of 8 to 128 characters");
		return FS_ERR;
	}
	return FS_OK;
}

static void
reply_db_failure(struct req *r, const char *what)
{
	log_err("%s: %s", what, db_errstr(r->db));
	reply_error(r, FS_E_UNAVAILABLE);
}

static void
post_register(struct req *r)
{
	json_object *body = NULL, *o;
	const char *name, *pw;
	char hash[crypto_pwhash_STRBYTES];
	int64_t id = 0;
	int rc;

	if (ratelimit_auth_or_reply(r) != FS_OK ||
	    credentials_or_reply(r, &body, &name, &pw, 1) != FS_OK)
		goto out;
	if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		/* only when the 64 MiB cannot be had */
		log_err("crypto_pwhash_str: out of memory");
		reply_error(r, FS_E_UNAVAILABLE);
		goto out;
	}
	rc = db_user_insert(r->db, name, hash, fs_now_ms(), &id);
	if (rc != FS_OK) {
		/* the unique key decides, so two racing registers get one 409 */
		if (rc == DB_USER_TAKEN)
			reply_error_msg(r, FS_E_CONFLICT, "this username is taken");
		else
			reply_db_failure(r, "register: users");
		goto out;
	}
	/* the sale rules' copy of the account's age (guard.h); best effort:
	 * a miss is read back from MySQL */
	(void)kv_user_born_put(r->kv, id, fs_now_ms(), GUARD_BORN_TTL_S);
	o = json_object_new_object();
	json_object_object_add(o, "user_id", json_object_new_int64(id));
	reply_json(r, 201, o);
	json_object_put(o);
out:
	sodium_memzero(hash, sizeof(hash));
	json_object_put(body);
}

/* Writes a fresh base64url random string of n bytes into out. */
static int
random_b64(size_t n, char *out)
{
	unsigned char buf[SECRET_BYTES];

	if (n > sizeof(buf) || fs_random_bytes(buf, n) != FS_OK)
		return FS_ERR;
	codec_b64url_encode(buf, n, out);
	sodium_memzero(buf, sizeof(buf));
	return FS_OK;
}

static void
secret_hash(const char *secret, char out[KV_USER_HASH_LEN])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), md);
	codec_hex_encode(md, sizeof(md), out);
}

/* Splits a refresh token "FAM.SECRET" into its parts; FS_OK or FS_ERR. */
static int
refresh_split(const char *tok, char fam[FAM_CHARS + 1], char secret[SECRET_CHARS + 1])
{
	if (strlen(tok) != REFRESH_LEN || tok[FAM_CHARS] != '.')
		return FS_ERR;
	for (size_t i = 0; i < REFRESH_LEN; i++) {
		char c = tok[i];

		if (i != FAM_CHARS && !isalnum((unsigned char)c) && c != '-' && c != '_')
			return FS_ERR;
	}
	memcpy(fam, tok, FAM_CHARS);
	fam[FAM_CHARS] = '\0';
	memcpy(secret, tok + FAM_CHARS + 1, SECRET_CHARS);
	secret[SECRET_CHARS] = '\0';
	return FS_OK;
}

/* Answers 200 with an access token for uid and the refresh token
 * fam.secret. */
static void
reply_tokens(struct req *r, int64_t uid, const char *fam, const char *secret)
{
	char access[JWT_MAX], refresh[REFRESH_LEN + 1];
	int64_t ttl = conf_keys_int(CONF_ACCESS_TTL_S);
	json_object *o = json_object_new_object();

	jwt_sign(conf_keys_str(CONF_JWT_SECRET), uid, fs_now_ms() / 1000 + ttl, access);
	snprintf(refresh, sizeof(refresh), "%s.%s", fam, secret);
	json_object_object_add(o, "access_token", json_object_new_string(access));
	json_object_object_add(o, "refresh_token", json_object_new_string(refresh));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(ttl));
	reply_json(r, 200, o);
	json_object_put(o);
	sodium_memzero(refresh, sizeof(refresh));
}

/* Seconds until the next UTC midnight, at least 1. */
static int64_t
secs_to_midnight(int64_t now_s)
{
	return 86400 - now_s % 86400;
}

/* Counts a login attempt of name (lower: name lowercased, key: its counter)
 * against the daily lock before the password is checked, so parallel
 * guesses cannot slip past it; a success gives it back. FS_OK, or FS_ERR
 * after a 429 or 503. */
static int
login_lock_or_reply(struct req *r, const char *name, char lower[UNAME_MAX + 1],
		    char key[KV_KEY_MAX])
{
	int64_t now_s = fs_now_ms() / 1000;
	time_t t = (time_t)now_s;
	struct tm tm;
	char day[16];
	int retry = 1, rc;

	/* the lock counts per username as MySQL compares them (case-blind) */
	for (size_t i = 0; i <= strlen(name); i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	kv_user_login_key(key, day, lower);
	rc = ratelimit_hit(r->kv, key, conf_keys_int(CONF_LOGIN_FAILURES_LOCK),
			   secs_to_midnight(now_s) * 1000, &retry);
	if (rc == FS_ERR) {
		reply_error(r, FS_E_UNAVAILABLE);
		return FS_ERR;
	}
	if (rc == 0) {
		reply_rate_limited(r, retry);
		return FS_ERR;
	}
	return FS_OK;
}

static void
post_login(struct req *r)
{
	json_object *body = NULL;
	const char *name, *pw;
	char lower[UNAME_MAX + 1], key[KV_KEY_MAX];
	char fam[FAM_CHARS + 1], secret[SECRET_CHARS + 1], hash[KV_USER_HASH_LEN];
	char stored[crypto_pwhash_STRBYTES];
	int64_t uid = 0;
	int rc, good;

	if (ratelimit_auth_or_reply(r) != FS_OK ||
	    credentials_or_reply(r, &body, &name, &pw, 0) != FS_OK)
		goto out;
	if (login_lock_or_reply(r, name, lower, key) != FS_OK)
		goto out;
	rc = db_user_find(r->db, name, &uid, stored, sizeof(stored));
	if (rc == FS_ERR) {
		/* nothing was checked: an outage must not lock anyone */
		(void)kv_user_login_refund(r->kv, key);
		reply_db_failure(r, "login: users");
		goto out;
	}
	if (rc == 1) {
		good = crypto_pwhash_str_verify(stored, pw, strlen(pw)) == 0;
	} else {
		/* same work as for a known user; the result cannot count */
		good = 0;
		if (crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw)) == 0)
			log_debug("login of unknown user %s", lower);
	}
	if (!good || uid <= 0) {
		reply_error_msg(r, FS_E_UNAUTHORIZED, "wrong username or password");
		goto out;
	}
	if (kv_user_login_refund(r->kv, key) != FS_OK)
		log_warn("login refund %s failed", key);
	if (random_b64(FAM_BYTES, fam) != FS_OK || random_b64(SECRET_BYTES, secret) != FS_OK)
		die("fs_random_bytes failed");
	secret_hash(secret, hash);
	if (kv_user_session_open(r->kv, fam, uid, hash, conf_keys_int(CONF_REFRESH_TTL_S) * 1000) !=
	    FS_OK) {
		reply_error(r, FS_E_UNAVAILABLE);
		goto out;
	}
	reply_tokens(r, uid, fam, secret);
out:
	sodium_memzero(secret, sizeof(secret));
	json_object_put(body);
}

static void
post_refresh(struct req *r)
{
	json_object *body = NULL;
	const char *tok;
	char fam[FAM_CHARS + 1], secret[SECRET_CHARS + 1], nsecret[SECRET_CHARS + 1];
	char old_hash[KV_USER_HASH_LEN], new_hash[KV_USER_HASH_LEN];
	int64_t uid = 0;

	secret[0] = nsecret[0] = '\0';
	if (req_json_or_reply(r, 0, &body) != FS_OK)
		goto out;
	if (jx_str(body, "refresh_token", 256, &tok) != FS_OK) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "refresh_token: a string is required");
		goto out;
	}
	if (refresh_split(tok, fam, secret) != FS_OK) {
		reply_error_msg(r, FS_E_UNAUTHORIZED, "the refresh token is not valid");
		goto out;
	}
	secret_hash(secret, old_hash);
	if (random_b64(SECRET_BYTES, nsecret) != FS_OK)
		die("fs_random_bytes failed");
	secret_hash(nsecret, new_hash);
	switch (kv_user_session_rotate(r->kv, fam, old_hash, new_hash,
				  conf_keys_int(CONF_REFRESH_TTL_S) * 1000, &uid)) {
	case KV_ROTATE_OK:
		reply_tokens(r, uid, fam, nsecret);
		break;
	case KV_ROTATE_REUSED:
		log_warn("refresh token reused: session %s revoked", fam);
		reply_error_msg(r, FS_E_UNAUTHORIZED,
				"the refresh token was already used; the session is revoked");
		break;
	case KV_ROTATE_UNKNOWN:
		reply_error_msg(r, FS_E_UNAUTHORIZED, "the refresh token is not valid");
		break;
	case KV_ROTATE_DOWN:
		reply_error(r, FS_E_UNAVAILABLE);
		break;
	}
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(nsecret, sizeof(nsecret));
	json_object_put(body);
}

/* With {"refresh_token"} in the body: ends that session (if it is the
 * caller's); without a body: ends every session of the caller. The access
 * token itself stays valid until it expires (at most access_ttl_s). */
static void
post_logout(struct req *r)
{
	json_object *body = NULL;
	const char *tok;
	char fam[FAM_CHARS + 1], secret[SECRET_CHARS + 1];
	int rc;

	secret[0] = '\0';
	if (req_user_or_reply(r) != FS_OK || req_json_or_reply(r, 1, &body) != FS_OK)
		goto out;
	if (jx_has(body, "refresh_token")) {
		if (jx_str(body, "refresh_token", 256, &tok) != FS_OK) {
			reply_error_msg(r, FS_E_BAD_REQUEST, "refresh_token: must be a string");
			goto out;
		}
		rc = refresh_split(tok, fam, secret) == FS_OK ? kv_user_session_close(r->kv, fam, r->user_id)
							      : 0;
	} else {
		rc = kv_user_session_close_all(r->kv, r->user_id);
	}
	if (rc == FS_ERR)
		reply_error(r, FS_E_UNAVAILABLE);
	else
		reply_empty(r);
out:
	sodium_memzero(secret, sizeof(secret));
	json_object_put(body);
}

static int
user_init(struct req *proto)
{
	char pw[32];

	(void)proto;
	if (sodium_init() < 0) {
		log_err("sodium_init failed");
		return FS_ERR;
	}
	randombytes_buf(pw, sizeof(pw) - 1);
	for (size_t i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
	pw[sizeof(pw) - 1] = '\0';
	if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_err("crypto_pwhash_str: out of memory");
		return FS_ERR;
	}
	return FS_OK;
}

static const struct route routes[] = {
	{"POST", "/api/user/register", post_register, 0},
	{"POST", "/api/user/login", post_login, 0},
	{"POST", "/api/user/refresh", post_refresh, 0},
	{"POST", "/api/user/logout", post_logout, 0},
};

int
main(void)
{
	static const struct app app = {"user", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB,
				       user_init, NULL, NULL};

	return app_main(&app);
}
