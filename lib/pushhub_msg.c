/*
 * pushhub_msg.c: what a client of the push hub may say (API.md "Push
 * channel"). The first message must be {"type":"auth","token"}: a user's
 * access token (lib/jwt) or the admin token (compared in constant time);
 * anything else first is unauthorized and closes the socket. After that:
 * {"type":"subscribe","activity_id"} (admin only: the stats stream) and
 * {"type":"ping"}. {"type":"health"} as the first message is the hub's
 * liveness answer for flashctl and /api/health.
 */
#include "pushhub_msg.h"
#include "fs.h"
#include "jwt.h"
#include "log.h"
#include "pushhub_conn.h"
#include "pushhub_users.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOKEN_MAX JWT_MAX

void
pushhub_msg_set_admin(struct pushhub *h, const char *token)
{
	h->admin_set = token != NULL && *token != '\0';
	if (h->admin_set)
		SHA256((const unsigned char *)token, strlen(token), h->admin_hash);
}

/* 1 when token is the admin token: both hashed, so that the compare takes
 * the same time whatever the length or the first wrong byte. */
static int
is_admin(const struct pushhub *h, const char *token, size_t len)
{
	unsigned char d[32];

	if (!h->admin_set)
		return 0;
	SHA256((const unsigned char *)token, len, d);
	return CRYPTO_memcmp(d, h->admin_hash, sizeof(d)) == 0;
}

int
pushhub_msg_error(struct pushhub *h, struct ph_conn *c, const char *code, int close)
{
	char line[128];

	snprintf(line, sizeof(line), "{\"type\":\"error\",\"error\":\"%s\"}\n", code);
	if (close) {
		pushhub_conn_finish(h, c, line);
		return FS_ERR; /* c may be gone */
	}
	return pushhub_conn_send(h, c, line, strlen(line));
}

static const char *
str_field(json_object *msg, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static int
auth(struct pushhub *h, struct ph_conn *c, json_object *msg)
{
	size_t len = 0;
	const char *token = str_field(msg, "token", &len);
	char line[96];
	int64_t sub;

	if (token == NULL || len == 0 || len >= TOKEN_MAX)
		return pushhub_msg_error(h, c, "unauthorized", 1);
	if (is_admin(h, token, len)) {
		c->state = PH_ADMIN;
		snprintf(line, sizeof(line), "{\"type\":\"ready\",\"admin\":true}\n");
	} else if (h->jwt_secret != NULL && *h->jwt_secret != '\0' &&
		   jwt_verify(h->jwt_secret, token, len, (int64_t)time(NULL), &sub) == FS_OK) {
		c->state = PH_USER;
		c->uid = sub;
		pushhub_users_add(h, c);
		snprintf(line, sizeof(line), "{\"type\":\"ready\",\"user_id\":\"%lld\"}\n",
			 (long long)sub);
	} else {
		return pushhub_msg_error(h, c, "unauthorized", 1);
	}
	return pushhub_conn_send(h, c, line, strlen(line));
}

static int
subscribe(struct pushhub *h, struct ph_conn *c, json_object *msg)
{
	json_object *v;
	int64_t aid;
	char line[96];

	if (c->state != PH_ADMIN)
		return pushhub_msg_error(h, c, "forbidden", 0);
	if (!json_object_object_get_ex(msg, "activity_id", &v))
		return pushhub_msg_error(h, c, "bad_request", 0);
	if (json_object_is_type(v, json_type_int)) {
		aid = json_object_get_int64(v);
	} else if (!json_object_is_type(v, json_type_string) ||
		   fs_parse_id(json_object_get_string(v), &aid) != FS_OK) {
		return pushhub_msg_error(h, c, "bad_request", 0);
	}
	if (aid <= 0 || aid > FS_ID_MAX)
		return pushhub_msg_error(h, c, "bad_request", 0);
	c->aid = aid;
	snprintf(line, sizeof(line), "{\"type\":\"subscribed\",\"activity_id\":%lld}\n",
		 (long long)aid);
	return pushhub_conn_send(h, c, line, strlen(line));
}

int
pushhub_msg_handle(struct pushhub *h, struct ph_conn *c, json_object *msg)
{
	const char *type;

	if (!json_object_is_type(msg, json_type_object) ||
	    (type = str_field(msg, "type", NULL)) == NULL)
		return pushhub_msg_error(h, c, c->state == PH_NEW ? "unauthorized" : "bad_request",
					 c->state == PH_NEW);
	if (c->state == PH_NEW) {
		if (strcmp(type, "auth") == 0)
			return auth(h, c, msg);
		if (strcmp(type, "health") == 0) {
			char line[128];

			snprintf(line, sizeof(line),
				 "{\"type\":\"health\",\"ok\":true,\"sockets\":%d}\n", h->nconns);
			pushhub_conn_finish(h, c, line);
			return FS_ERR;
		}
		return pushhub_msg_error(h, c, "unauthorized", 1);
	}
	if (strcmp(type, "subscribe") == 0)
		return subscribe(h, c, msg);
	if (strcmp(type, "ping") == 0)
		return pushhub_conn_send(h, c, "{\"type\":\"pong\"}\n", 16);
	if (strcmp(type, "pong") == 0)
		return FS_OK;
	return pushhub_msg_error(h, c, "bad_request", 0);
}
