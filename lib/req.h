/*
 * req.h: one FastCGI request: what the client sent (method, path segments,
 * query, body, identity) and the connections of the process that serves it.
 * Functions named *_or_reply send the error answer themselves and return
 * FS_ERR; the caller then just returns.
 */
#ifndef FS_REQ_H
#define FS_REQ_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

#define REQ_MAX_SEGS 8
#define REQ_PATH_MAX 1024
#define REQ_BODY_MAX 65536
#define REQ_JSON_DEPTH 16

struct kv;
struct db;
struct orderq;

struct req {
	FCGX_Request *fcgi;
	const char *method; /* borrowed from the FastCGI params: this request only */
	const char *query;  /* borrowed, "" when none */
	char path[REQ_PATH_MAX];
	char segbuf[REQ_PATH_MAX];
	char *segs[REQ_MAX_SEGS]; /* path split on '/', pointing into segbuf */
	int nseg;
	int64_t ids[4];     /* numeric path segments captured by the route */
	int nids;
	char *body;         /* NUL-terminated, owned by req; NULL when empty */
	size_t body_len;
	size_t body_max;    /* REQ_BODY_MAX unless a route allows more */
	char client_ip[64];
	int64_t user_id;    /* set by req_user_or_reply */
	int status;         /* the status sent, 0 before the reply */
	int64_t start_us;
	/* the process's connections, opened once at start-up */
	struct kv *kv;
	struct db *db;
	struct orderq *q;
};

/* Fills r from the accepted FastCGI request. FS_OK, or FS_ERR when the path
 * is too long or has too many segments (already answered 404). */
int req_init(struct req *r, FCGX_Request *fcgi);
/* Frees what req_init and the handlers attached to r. */
void req_cleanup(struct req *r);

/* A FastCGI param (HTTP_*, CONTENT_TYPE, ...), or NULL. Borrowed: valid
 * for this request only. */
const char *req_param(const struct req *r, const char *name);

/* Reads the body into r->body. Over r->body_max: 413 answered. */
int req_body_or_reply(struct req *r);
/* Reads and parses the body as a JSON object (UTF-8, depth and size limits).
 * Sets *out (caller puts it). 400/413 answered on error. An empty body
 * gives an empty object when allow_empty, else 400. */
int req_json_or_reply(struct req *r, int allow_empty, json_object **out);

/* Copies the percent-decoded value of query parameter name into buf.
 * Returns 1 when found, 0 when absent, -1 when too long or not decodable. */
int req_query(const struct req *r, const char *name, char *buf, size_t size);

/* Checks the Bearer JWT and sets r->user_id; else answers 401. */
int req_user_or_reply(struct req *r);
/* Checks the Bearer admin token (constant time); a user token gets 403,
 * anything else 401. */
int req_admin_or_reply(struct req *r);
/* FS_OK when key (the configured order_secret) is usable; else 503
 * "ordering is not configured": a secret anyone can compute (an empty key)
 * guards nothing. The log says why at most once a minute. Detail's secret
 * and place-order both ask it first. */
int req_order_secret_or_reply(struct req *r, const char *key);

/* The Bearer token of the Authorization header, or NULL. Borrowed. */
const char *req_bearer(const struct req *r, size_t *len);

#endif
