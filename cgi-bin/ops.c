/*
 * ops: /api/health, /api/metrics, and the JSON 404 for every /api/ path no
 * other program owns.
 */
#include "app.h"
#include "conf_keys.h"
#include "db.h"
#include "db_order.h"
#include "db_sale.h"
#include "db_nodes.h"
#include "kv.h"
#include "kv_handler.h"
#include "kv_journal.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "order.h"
#include "pub.h"
#include "reply.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
get_health(struct req *r)
{
	json_object *o = json_object_new_object();
	int ok = 1, redis_ok, mysql_ok, queue_ok = 0;

	redis_ok = kv_ping(r->kv) == FS_OK;
	mysql_ok = db_ping(r->db) == FS_OK;
	/* the order handler refreshes its heartbeat every second while it runs */
	if (redis_ok)
		queue_ok = kv_handler_alive(r->kv) == 1;
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

static void
metrics_orders(struct req *r, struct text *t)
{
	struct db_rows rows;
	int64_t *items = NULL;
	long long depth = 0, n;
	int nitems;

	text_add(t, "# HELP flashsale_orders Orders in MySQL by state.\n# TYPE flashsale_orders gauge\n");
	if (db_order_counts(r->db, &rows) == FS_OK) {
		for (int i = 0; i < rows.nrows; i++)
			text_add(t, "flashsale_orders{status=\"%s\"} %s\n", db_cell(&rows, i, 0),
				 db_cell(&rows, i, 1));
		db_rows_free(&rows);
	}
	/* queue depth: reservations that no handler has confirmed yet */
	nitems = db_sale_published_items(r->db, &items);
	for (int i = 0; i < nitems; i++)
		if (kv_journal_pending_count(r->kv, items[2 * i], items[2 * i + 1], &n) == FS_OK)
			depth += n;
	free(items);
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
	/* alert when it stays high: replica reads then fall back to the primary */
	text_add(t, "# HELP flashsale_mysql_replica_lag_seconds Replica lag behind the primary, "
		    "-1 when unknown.\n# TYPE flashsale_mysql_replica_lag_seconds gauge\n"
		    "flashsale_mysql_replica_lag_seconds %lld\n", db_replica_lag(r->db));
}

/* the drift the last reconcile run found and could not repair (-1: no run
 * yet); alert on > 0 */
static void
metrics_drift(struct req *r, struct text *t)
{
	long long n;

	if (metrics_get(r->kv, "reconcile_drift", &n) != FS_OK)
		n = -1;
	text_add(t, "# HELP flashsale_reconcile_drift Sale items with stock drift at the last "
		    "reconcile run, -1 before the first.\n# TYPE flashsale_reconcile_drift gauge\n"
		    "flashsale_reconcile_drift %lld\n", n);
}

/* redis_cluster: 1 while the cluster serves every slot (cluster_state:ok);
 * 0 while a master is down and not yet replaced (its slots answer 503) */
static void
metrics_redis_cluster(struct req *r, struct text *t)
{
	if (conf_keys_int(CONF_REDIS_CLUSTER) != 1)
		return;
	text_add(t, "# HELP flashsale_redis_cluster_ok 1 while the Redis Cluster serves every slot.\n"
		    "# TYPE flashsale_redis_cluster_ok gauge\nflashsale_redis_cluster_ok %d\n",
		 kv_slots_served(r->kv));
}

static void
get_metrics(struct req *r)
{
	struct text t = {NULL, 0, 0};

	metrics_text(r->kv, &t);
	metrics_orders(r, &t);
	metrics_replication(r, &t);
	metrics_drift(r, &t);
	metrics_redis_cluster(r, &t);
	reply_raw(r, 200, "text/plain; version=0.0.4", t.s, t.len, NULL);
	text_free(&t);
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
