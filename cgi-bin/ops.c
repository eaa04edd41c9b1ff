/*
 * ops: /api/health, /api/metrics, and the JSON 404 for every /api/ path no
 * other program owns.
 */
#include "app.h"
#include "conf.h"
#include "db.h"
#include "db_nodes.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "order.h"
#include "pub.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
get_health(struct req *r)
{
	json_object *o = json_object_new_object();
	redisReply *rep;
	int ok = 1, redis_ok, mysql_ok, queue_ok = 0;

	rep = kv_cmd(r->kv, "PING");
	redis_ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (rep)
		freeReplyObject(rep);
	mysql_ok = db_ping(r->db) == FS_OK;
	/* the order handler refreshes this key every second while it runs */
	if (redis_ok) {
		rep = kv_cmd(r->kv, "EXISTS fs:handler:alive");
		queue_ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
		if (rep)
			freeReplyObject(rep);
	}
	json_object_object_add(o, "redis", json_object_new_string(redis_ok ? "ok" : "down"));
	json_object_object_add(o, "mysql", json_object_new_string(mysql_ok ? "ok" : "down"));
	json_object_object_add(o, "queue", json_object_new_string(queue_ok ? "ok" : "down"));
	/* mysql_nodes: semi-sync falling back to async (replica away) is seen here */
	if (mysql_ok) {
		const char *mode = db_nodes_replication(r->db);

		if (mode != NULL)
			json_object_object_add(o, "mysql_replication", json_object_new_string(mode));
	}
	/* the push hub is reported, not required: without it pages poll */
	json_object_object_add(o, "push", json_object_new_string(pub_hub_check(200) == FS_OK ? "ok" : "down"));
	ok = redis_ok && mysql_ok && queue_ok;
	if (!ok) {
		json_object_object_add(o, "error", json_object_new_string("unavailable"));
		json_object_object_add(o, "message",
				       json_object_new_string("a dependency is down"));
	}
	reply_json(r, ok ? 200 : 503, o);
	json_object_put(o);
}

/* Liveness for the load balancer (API.md "Scale-out"): this node's lighttpd
 * and programs run. It asks no store, so a store that is down does not take
 * every web node out of HAProxy; /api/health stays the readiness view. */
static void
get_live(struct req *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "live", json_object_new_boolean(1));
	reply_json(r, 200, o);
	json_object_put(o);
}

/* Appends to a growing text buffer. */
struct text {
	char *s;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (t->s && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n + 256;
		t->s = xrealloc(t->s, t->cap);
	}
}

static void
metrics_requests(struct req *r, struct text *t)
{
	redisReply *rep = kv_cmd(r->kv, "HGETALL fs:metrics");

	text_add(t, "# HELP flashsale_requests_total API requests by endpoint and status.\n"
		    "# TYPE flashsale_requests_total counter\n");
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		char ep[64], st[16];

		if (sscanf(rep->element[i]->str, "req|%63[^|]|%15s", ep, st) == 2)
			text_add(t, "flashsale_requests_total{endpoint=\"%s\",status=\"%s\"} %s\n",
				 ep, st, rep->element[i + 1]->str);
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2)
		if (strcmp(rep->element[i]->str, "redis_wait_timeouts") == 0)
			text_add(t, "# HELP flashsale_redis_wait_timeouts_total Reservations answered 202 "
				    "before redis_wait_replicas replicas acknowledged them.\n"
				    "# TYPE flashsale_redis_wait_timeouts_total counter\n"
				    "flashsale_redis_wait_timeouts_total %s\n",
				 rep->element[i + 1]->str);
	text_add(t, "# HELP flashsale_request_duration_seconds API latency.\n"
		    "# TYPE flashsale_request_duration_seconds histogram\n");
	/* cumulative buckets per endpoint, as Prometheus wants them */
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		char ep[64];

		if (sscanf(rep->element[i]->str, "latsum|%63s", ep) != 1)
			continue;
		long long cum = 0;
		for (int b = 0; b <= metrics_nbuckets; b++) {
			char want[96];

			if (b < metrics_nbuckets)
				snprintf(want, sizeof(want), "lat|%s|%ld", ep, metrics_buckets_us[b]);
			else
				snprintf(want, sizeof(want), "lat|%s|inf", ep);
			for (size_t k = 0; k + 1 < rep->elements; k += 2)
				if (strcmp(rep->element[k]->str, want) == 0)
					cum += strtoll(rep->element[k + 1]->str, NULL, 10);
			if (b < metrics_nbuckets)
				text_add(t, "flashsale_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %lld\n",
					 ep, metrics_buckets_us[b] / 1e6, cum);
			else
				text_add(t, "flashsale_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %lld\n"
					    "flashsale_request_duration_seconds_count{endpoint=\"%s\"} %lld\n",
					 ep, cum, ep, cum);
		}
		text_add(t, "flashsale_request_duration_seconds_sum{endpoint=\"%s\"} %g\n", ep,
			 strtoll(rep->element[i + 1]->str, NULL, 10) / 1e6);
	}
	freeReplyObject(rep);
}

static void
metrics_orders(struct req *r, struct text *t)
{
	static const char sql[] = "SELECT status, COUNT(*) FROM orders GROUP BY status";
	static const char sql_items[] =
		"SELECT ai.activity_id, ai.item_id FROM activity_items ai "
		"JOIN activities a ON a.id = ai.activity_id WHERE a.status = 'published'";
	struct db_rows rows;
	long long depth = 0;

	text_add(t, "# HELP flashsale_orders Orders in MySQL by state.\n# TYPE flashsale_orders gauge\n");
	if (db_query(r->db, sql, NULL, 0, &rows) == FS_OK) {
		for (int i = 0; i < rows.nrows; i++)
			text_add(t, "flashsale_orders{status=\"%s\"} %s\n", db_cell(&rows, i, 0),
				 db_cell(&rows, i, 1));
		db_rows_free(&rows);
	}
	/* queue depth: reservations that no handler has confirmed yet */
	if (db_query(r->db, sql_items, NULL, 0, &rows) == FS_OK) {
		for (int i = 0; i < rows.nrows; i++) {
			char key[KV_KEY_MAX];
			redisReply *rep;

			kv_item_key(key, db_cell_int(&rows, i, 0), db_cell_int(&rows, i, 1), "pending");
			rep = kv_cmd(r->kv, "ZCARD %s", key);
			if (rep && rep->type == REDIS_REPLY_INTEGER)
				depth += rep->integer;
			if (rep)
				freeReplyObject(rep);
		}
		db_rows_free(&rows);
	}
	text_add(t, "# HELP flashsale_queue_depth Reserved orders not yet in MySQL.\n"
		    "# TYPE flashsale_queue_depth gauge\nflashsale_queue_depth %lld\n", depth);
}

/* mysql_nodes: 1 while the primary commits semi-synchronously, 0 when it
 * fell back to async (alert on 0: a primary lost now loses commits) */
static void
metrics_replication(struct req *r, struct text *t)
{
	const char *mode = db_nodes_replication(r->db);

	if (mode == NULL)
		return;
	text_add(t, "# HELP flashsale_mysql_semisync 1 while MySQL commits wait for a replica.\n"
		    "# TYPE flashsale_mysql_semisync gauge\nflashsale_mysql_semisync %d\n",
		 strcmp(mode, "semisync") == 0);
}

/* redis_cluster: 1 while the cluster serves every slot (cluster_state:ok);
 * 0 while a master is down and not yet replaced (its slots answer 503) */
static void
metrics_redis_cluster(struct req *r, struct text *t)
{
	redisReply *rep;

	if (strcmp(conf_str("redis_cluster", "0"), "1") != 0)
		return;
	rep = kv_cmd(r->kv, "CLUSTER INFO");
	text_add(t, "# HELP flashsale_redis_cluster_ok 1 while the Redis Cluster serves every slot.\n"
		    "# TYPE flashsale_redis_cluster_ok gauge\nflashsale_redis_cluster_ok %d\n",
		 rep != NULL && rep->type == REDIS_REPLY_STRING &&
			 strstr(rep->str, "cluster_state:ok") != NULL);
	if (rep)
		freeReplyObject(rep);
}

static void
get_metrics(struct req *r)
{
	struct text t = {NULL, 0, 0};

	metrics_requests(r, &t);
	metrics_orders(r, &t);
	metrics_replication(r, &t);
	metrics_redis_cluster(r, &t);
	reply_raw(r, 200, "text/plain; version=0.0.4", t.s, t.len, NULL);
	free(t.s);
}

static const struct route routes[] = {
	{"GET", "/api/health", get_health, 0},
	{"GET", "/api/health/live", get_live, 0},
	{"GET", "/api/metrics", get_metrics, 0},
};

int
main(void)
{
	static const struct app app = {"ops", routes, FS_ARRAY_LEN(routes), APP_KV | APP_DB, NULL,
				       NULL, NULL};

	return app_main(&app);
}
