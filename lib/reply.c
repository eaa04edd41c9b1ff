/*
 * reply.c: writing answers: JSON bodies, the API error table, 429 and 204.
 * API answers are never cached by browsers or proxies.
 */
#include "reply.h"
#include "req.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

void
reply_raw(struct req *r, int status, const char *ctype, const char *body, size_t len,
	  const char *extra_headers)
{
	char head[512];
	int hl;

	if (r->status != 0) {
		log_err("second reply (%d after %d) to %s %s", status, r->status, r->method, r->path);
		return;
	}
	r->status = status;
	/* our own snprintf: FCGX_FPrintF has its own formatter without %zu */
	hl = snprintf(head, sizeof(head),
		      "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
		      "Content-Length: %zu\r\n%s\r\n",
		      status, reason(status), ctype, len, extra_headers ? extra_headers : "");
	if (hl < 0 || (size_t)hl >= sizeof(head))
		die("reply header of %d bytes is too long", hl);
	FCGX_PutStr(head, hl, r->fcgi->out);
	if (len > 0)
		FCGX_PutStr(body, (int)len, r->fcgi->out);
}

void
reply_json(struct req *r, int status, json_object *body)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	reply_raw(r, status, "application/json", s, len, NULL);
}

void
reply_json_put(struct req *r, int status, json_object *body)
{
	reply_json(r, status, body);
	json_object_put(body);
}

static void
reply_error_hdr(struct req *r, enum fs_err err, const char *message, const char *headers)
{
	const struct fs_errdef *e = fs_err_get(err);
	json_object *o = json_object_new_object();
	size_t len;
	const char *s;

	json_object_object_add(o, "error", json_object_new_string(e->code));
	json_object_object_add(o, "message", json_object_new_string(message ? message : e->message));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	reply_raw(r, e->status, "application/json", s, len, headers);
	json_object_put(o);
}

void
reply_error(struct req *r, enum fs_err err)
{
	reply_error_hdr(r, err, NULL, NULL);
}

void
reply_error_msg(struct req *r, enum fs_err err, const char *message)
{
	reply_error_hdr(r, err, message, NULL);
}

void
reply_rate_limited(struct req *r, int retry_after_s)
{
	char hdr[48];

	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", retry_after_s > 0 ? retry_after_s : 1);
	reply_error_hdr(r, FS_E_RATE_LIMITED, NULL, hdr);
}

void
reply_shed(struct req *r, int retry_after_s)
{
	/* a fixed body: shedding must cost less than any other answer */
	static const char body[] = "{\"error\":\"unavailable\",\"message\":\"the shop is busy: "
				   "nothing was done, retry in a moment\"}";
	char hdr[48];

	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", retry_after_s > 0 ? retry_after_s : 1);
	reply_raw(r, 503, "application/json", body, sizeof(body) - 1, hdr);
}

void
reply_empty(struct req *r)
{
	reply_raw(r, 204, "application/json", "", 0, NULL);
}
