/*
 * req.c: reading a FastCGI request: path, query, body, JSON and identity.
 */
#include "req.h"
#include "conf.h"
#include "conf_keys.h"
#include "fs.h"
#include "hmac.h"
#include "jwt.h"
#include "log.h"
#include "mem.h"
#include "order_secret.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

int
req_init(struct req *r, FCGX_Request *fcgi)
{
	const char *uri, *q, *ip;
	size_t n;
	char *p;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgi;
	r->start_us = now_us();
	r->body_max = REQ_BODY_MAX;
	r->method = req_param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "GET";
	ip = req_param(r, "REMOTE_ADDR");
	snprintf(r->client_ip, sizeof(r->client_ip), "%s", ip ? ip : "");
	/* route on REQUEST_URI: lighttpd splits SCRIPT_NAME/PATH_INFO by its
	 * own prefix rules, which differ between route spellings */
	uri = req_param(r, "REQUEST_URI");
	if (uri == NULL)
		uri = "/";
	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);
	r->query = q ? q + 1 : "";
	if (n >= REQ_PATH_MAX) {
		reply_error(r, FS_E_NOT_FOUND);
		return FS_ERR;
	}
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	memcpy(r->segbuf, r->path, n + 1);
	for (p = r->segbuf; *p == '/'; p++)
		;
	while (*p) {
		char *slash = strchr(p, '/');

		if (r->nseg == REQ_MAX_SEGS) {
			reply_error(r, FS_E_NOT_FOUND);
			return FS_ERR;
		}
		r->segs[r->nseg++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return FS_OK;
}

void
req_cleanup(struct req *r)
{
	free(r->body);
	r->body = NULL;
}

int
req_body_or_reply(struct req *r)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0;
	size_t got = 0;

	if (r->body != NULL)
		return FS_OK;
	if (len < 0) {
		reply_error(r, FS_E_BAD_REQUEST);
		return FS_ERR;
	}
	if ((unsigned long long)len > r->body_max) {
		reply_error(r, FS_E_TOO_LARGE);
		return FS_ERR;
	}
	if (len == 0)
		return FS_OK;
	r->body = mem_alloc((size_t)len + 1);
	while (got < (size_t)len) {
		int k = FCGX_GetStr(r->body + got, (int)((size_t)len - got), r->fcgi->in);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (got != (size_t)len) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "the request body was cut short");
		return FS_ERR;
	}
	return FS_OK;
}

int
req_json_or_reply(struct req *r, int allow_empty, json_object **out)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (req_body_or_reply(r) != FS_OK)
		return FS_ERR;
	if (r->body_len == 0) {
		if (!allow_empty) {
			reply_error_msg(r, FS_E_BAD_REQUEST, "a JSON object body is required");
			return FS_ERR;
		}
		*out = json_object_new_object();
		return FS_OK;
	}
	if (!fs_utf8_valid(r->body, r->body_len)) {
		reply_error_msg(r, FS_E_BAD_REQUEST, "the body is not valid UTF-8");
		return FS_ERR;
	}
	tok = json_tokener_new_ex(REQ_JSON_DEPTH);
	if (tok == NULL)
		die("json_tokener_new_ex: out of memory");
	/* strict: no comments, trailing commas, leading zeros ("01") or
	 * "TRUE", which a lenient parser would read as something else */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* trailing white space is fine, trailing data is not */
	while (o != NULL && end < r->body_len &&
	       strchr(" \t\r\n", r->body[end]) != NULL)
		end++;
	if (o == NULL || jerr != json_tokener_success || end != r->body_len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		reply_error_msg(r, FS_E_BAD_REQUEST, "the body must be one JSON object");
		return FS_ERR;
	}
	*out = o;
	return FS_OK;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
req_query(const struct req *r, const char *name, char *buf, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = r->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);

		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t o = 0;

			for (const char *s = p + nlen + 1; s < end; s++) {
				int c = (unsigned char)*s;

				if (c == '%') {
					int hi = end - s >= 3 ? hexval(s[1]) : -1;
					int lo = hi >= 0 ? hexval(s[2]) : -1;

					if (hi < 0 || lo < 0)
						return -1;
					c = hi * 16 + lo;
					s += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (c == 0 || o + 1 >= size)
					return -1;
				buf[o++] = (char)c;
			}
			buf[o] = '\0';
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

const char *
req_bearer(const struct req *r, size_t *len)
{
	const char *h = req_param(r, "HTTP_AUTHORIZATION");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*len = strlen(h);
	while (*len > 0 && h[*len - 1] == ' ')
		(*len)--;
	return *len ? h : NULL;
}

int
req_user_or_reply(struct req *r)
{
	size_t len;
	const char *tok = req_bearer(r, &len);

	if (tok == NULL ||
	    jwt_verify(conf_keys_str(CONF_JWT_SECRET), tok, len, fs_now_ms() / 1000, &r->user_id) != FS_OK) {
		reply_error(r, FS_E_UNAUTHORIZED);
		return FS_ERR;
	}
	return FS_OK;
}

int
req_admin_or_reply(struct req *r)
{
	size_t len;
	const char *tok = req_bearer(r, &len);
	const char *admin = conf_keys_str(CONF_ADMIN_TOKEN);
	int64_t sub;

	if (tok != NULL && *admin && fs_ct_equal(tok, len, admin, strlen(admin)))
		return FS_OK;
	if (tok != NULL &&
	    jwt_verify(conf_keys_str(CONF_JWT_SECRET), tok, len, fs_now_ms() / 1000, &sub) == FS_OK) {
		reply_error_msg(r, FS_E_FORBIDDEN, "admin routes need the admin token");
		return FS_ERR;
	}
	reply_error(r, FS_E_UNAUTHORIZED);
	return FS_ERR;
}

int
req_order_secret_or_reply(struct req *r, const char *key)
{
	static int64_t logged_ms;
	int64_t now;

	if (order_secret_usable(key))
		return FS_OK;
	now = fs_now_ms();
	if (now - logged_ms >= 60000) {
		logged_ms = now;
		log_err("order_secret is not set (or shorter than %d characters): every order "
			"and order secret is refused with 503", ORDER_SECRET_KEY_MIN);
	}
	reply_error_msg(r, FS_E_UNAVAILABLE, "ordering is not configured on this server");
	return FS_ERR;
}
