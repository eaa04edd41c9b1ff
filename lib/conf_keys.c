/*
 * conf_keys.c: the table of configuration keys and their defaults, and the
 * values read once: a key on the request path (jwt_secret on every token)
 * costs an array index, not getenv and a scan.
 */
#include "conf_keys.h"
#include "conf.h"

#include <stddef.h>

static const struct {
	const char *name;
	int is_int;
	int64_t idef;
	const char *sdef;
} keys[CONF_KEY_COUNT] = {
	[CONF_ACCESS_TTL_S] = {"access_ttl_s", 1, 900, NULL}, /* access token lifetime */
	[CONF_ADMIN_TOKEN] = {"admin_token", 0, 0, ""}, /* the admin routes' bearer token (generated) */
	[CONF_BREAKER_FAILURES] = {"breaker_failures", 1, 3, NULL}, /* store connection failures in a row that open a breaker */
	[CONF_BREAKER_MS] = {"breaker_ms", 1, 1000, NULL}, /* an open breaker answers 503 at once this long, then probes once */
	[CONF_CDN_PUSH_CMD] = {"cdn_push_cmd", 0, 0, ""}, /* run after each warmup render (e.g. an rsync to a CDN origin) */
	[CONF_DETAIL_STALE_MAX_MS] = {"detail_stale_max_ms", 1, 300000, NULL}, /* detail serves its last copy ("stale") this long while Redis is down */
	[CONF_CHALLENGE_TTL_MS] = {"challenge_ttl_ms", 1, 60000, NULL}, /* life of a challenge before the secret */
	[CONF_IDGEN_LEASE_S] = {"idgen_lease_s", 1, 600, NULL}, /* a snowflake worker id lease */
	[CONF_IMAGE_MAX_BYTES] = {"image_max_bytes", 1, 2 * 1024 * 1024, NULL}, /* largest admin image upload */
	[CONF_JWT_SECRET] = {"jwt_secret", 0, 0, ""}, /* HMAC key of the access tokens (generated) */
	[CONF_LOG_LEVEL] = {"log_level", 0, 0, "info"}, /* debug, info or warn */
	[CONF_LOGIN_FAILURES_LOCK] = {"login_failures_lock", 1, 5, NULL}, /* failed logins of a name a UTC day before the lock */
	[CONF_MYSQL_DB] = {"mysql_db", 0, 0, "flash"},
	[CONF_MYSQL_HOST] = {"mysql_host", 0, 0, "127.0.0.1"},
	[CONF_MYSQL_PASSWORD] = {"mysql_password", 0, 0, ""}, /* (generated) */
	[CONF_MYSQL_NODES] = {"mysql_nodes", 0, 0, ""}, /* MariaDB nodes host:port,...; writes go to the one not read_only */
	[CONF_MYSQL_PORT] = {"mysql_port", 1, 3306, NULL},
	[CONF_MYSQL_SEMISYNC_TIMEOUT_MS] = {"mysql_semisync_timeout_ms", 1, 1000, NULL}, /* make cluster's MariaDB flag (scripts only) */
	[CONF_MYSQL_USER] = {"mysql_user", 0, 0, "flash"},
	[CONF_ORDER_SECRET] = {"order_secret", 0, 0, ""}, /* HMAC key of the per-item order secrets (generated) */
	[CONF_ORIGIN_DIR] = {"origin_dir", 0, 0, NULL}, /* the CDN origin folder; unset: none for the web programs, STATE_DIR/cdn for warmup */
	[CONF_PAY_PAGE] = {"pay_page", 0, 0, "/pay.html"}, /* the sandbox provider's page (pay_url) */
	[CONF_PAY_SANDBOX] = {"pay_sandbox", 1, 0, NULL}, /* 1: the sandbox payment provider answers */
	[CONF_PAY_SECRET] = {"pay_secret", 0, 0, ""}, /* HMAC key of payment notifies (generated) */
	[CONF_PAY_WINDOW_MS] = {"pay_window_ms", 1, 15 * 60 * 1000, NULL}, /* time to pay once the order is in MySQL */
	[CONF_PUBLIC_URL] = {"public_url", 0, 0, "http://127.0.0.1:8080"}, /* the shop's base URL (flashctl writes it) */
	[CONF_PUSH_AUTH_MS] = {"push_auth_ms", 1, 5000, NULL}, /* time a push socket has to authenticate (PH_AUTH_MS) */
	[CONF_PUSH_EVENTS] = {"push_events", 0, 0, NULL}, /* ZeroMQ endpoint of order events; unset: ipc://STATE_DIR/push-events.ipc */
	[CONF_PUSH_MAX_SOCKETS] = {"push_max_sockets", 1, 20000, NULL},
	[CONF_PUSH_PING_MS] = {"push_ping_ms", 1, 25000, NULL}, /* idle time before the hub pings (PH_PING_MS) */
	[CONF_PUSH_SOCKET] = {"push_socket", 0, 0, NULL}, /* the hub's socket for lighttpd; unset: STATE_DIR/push.sock */
	[CONF_QUEUE_ENDPOINT] = {"queue_endpoint", 0, 0, "ipc:///tmp/flashsale-orders.ipc"}, /* order handler endpoint(s), comma-separated */
	[CONF_RATE_AUTH_PER_IP_PER_MIN] = {"rate_auth_per_ip_per_min", 1, 30, NULL},
	[CONF_RATE_IP_PER_SEC] = {"rate_ip_per_sec", 1, 200, NULL},
	[CONF_RATE_ORDER_PER_USER] = {"rate_order_per_user", 1, 5, NULL}, /* order attempts a second per user */
	[CONF_RECONCILE_AGE_MS] = {"reconcile_age_ms", 1, 5000, NULL}, /* a journal entry older than this is replayed */
	[CONF_REDIS_CLUSTER] = {"redis_cluster", 1, 0, NULL}, /* 1: route by slot over redis_nodes */
	[CONF_REDIS_HOST] = {"redis_host", 0, 0, "127.0.0.1"},
	[CONF_REDIS_NODES] = {"redis_nodes", 0, 0, ""}, /* cluster seed nodes host:port,... */
	[CONF_REDIS_PORT] = {"redis_port", 1, 6379, NULL},
	[CONF_REDIS_TIMEOUT_MS] = {"redis_timeout_ms", 1, 1000, NULL},
	[CONF_REDIS_WAIT_MS] = {"redis_wait_ms", 1, 100, NULL}, /* WAIT timeout after a reservation */
	[CONF_REDIS_WAIT_REPLICAS] = {"redis_wait_replicas", 1, 0, NULL}, /* replicas WAIT asks for (0: no WAIT) */
	[CONF_REFRESH_TTL_S] = {"refresh_ttl_s", 1, 1209600, NULL}, /* refresh token (session) lifetime */
	[CONF_SHED_BACKLOG] = {"shed_backlog", 1, 100000, NULL}, /* orders not yet in MySQL past which place-order sheds (503) */
	[CONF_SHED_REDIS_MS] = {"shed_redis_ms", 1, 200, NULL}, /* reservation round trip (moving average) past which place-order sheds */
	[CONF_REFUND_URL] = {"refund_url", 0, 0, ""}, /* the provider's refund call; empty: public_url + /api/pay/sandbox/refund */
	[CONF_STATE_DIR] = {"state_dir", 0, 0, "var"}, /* the stack's folder */
	[CONF_TRUSTED_PROXIES] = {"trusted_proxies", 0, 0, "127.0.0.0/8"}, /* CIDRs whose X-Forwarded-For is believed */
};

static struct {
	unsigned gen; /* conf_generation() when read; 0: never */
	int64_t i;
	const char *s;
} vals[CONF_KEY_COUNT];

static void
fetch(enum conf_key k)
{
	unsigned gen = conf_generation();

	if (vals[k].gen == gen)
		return;
	if (keys[k].is_int)
		vals[k].i = conf_int(keys[k].name, keys[k].idef);
	else
		vals[k].s = conf_str(keys[k].name, keys[k].sdef);
	vals[k].gen = gen;
}

int64_t
conf_keys_int(enum conf_key k)
{
	fetch(k);
	return vals[k].i;
}

const char *
conf_keys_str(enum conf_key k)
{
	fetch(k);
	return vals[k].s;
}

const char *
conf_keys_name(enum conf_key k)
{
	return keys[k].name;
}
