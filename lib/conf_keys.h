/*
 * conf_keys.h: every configuration key of flashsale, with its type and its
 * default, in one table (conf_keys.c; lighttpd's config_plugin_keys_t).
 * Programs read a key by its enum; each value is read from conf.c once
 * (after every conf_load) and kept. README "Configuration" describes them.
 */
#ifndef FS_CONF_KEYS_H
#define FS_CONF_KEYS_H

#include <stdint.h>

enum conf_key {
	CONF_ACCESS_TTL_S,
	CONF_ADMIN_TOKEN,
	CONF_BREAKER_FAILURES,
	CONF_BREAKER_MS,
	CONF_CDN_PUSH_CMD,
	CONF_DETAIL_STALE_MAX_MS,
	CONF_CHALLENGE_TTL_MS,
	CONF_IDGEN_LEASE_S,
	CONF_IMAGE_MAX_BYTES,
	CONF_JWT_SECRET,
	CONF_LOG_LEVEL,
	CONF_LOGIN_FAILURES_LOCK,
	CONF_MYSQL_DB,
	CONF_MYSQL_HOST,
	CONF_MYSQL_NODES,
	CONF_MYSQL_PASSWORD,
	CONF_MYSQL_PORT,
	CONF_MYSQL_SEMISYNC_TIMEOUT_MS,
	CONF_MYSQL_USER,
	CONF_ORDER_SECRET,
	CONF_ORIGIN_DIR,
	CONF_PAY_PAGE,
	CONF_PAY_SANDBOX,
	CONF_PAY_SECRET,
	CONF_PAY_WINDOW_MS,
	CONF_PUBLIC_URL,
	CONF_PUSH_AUTH_MS,
	CONF_PUSH_EVENTS,
	CONF_PUSH_MAX_SOCKETS,
	CONF_PUSH_PING_MS,
	CONF_PUSH_SOCKET,
	CONF_QUEUE_ENDPOINT,
	CONF_RATE_AUTH_PER_IP_PER_MIN,
	CONF_RATE_IP_PER_SEC,
	CONF_RATE_ORDER_PER_USER,
	CONF_RECONCILE_AGE_MS,
	CONF_REDIS_CLUSTER,
	CONF_REDIS_HOST,
	CONF_REDIS_NODES,
	CONF_REDIS_PORT,
	CONF_REDIS_TIMEOUT_MS,
	CONF_REDIS_WAIT_MS,
	CONF_REDIS_WAIT_REPLICAS,
	CONF_REFRESH_TTL_S,
	CONF_SHED_BACKLOG,
	CONF_SHED_REDIS_MS,
	CONF_REFUND_URL,
	CONF_STATE_DIR,
	CONF_TRUSTED_PROXIES,
	CONF_KEY_COUNT
};

/* The value of integer key k, or its default when unset or not a number. */
int64_t conf_keys_int(enum conf_key k);
/* The value of string key k, or its default (NULL for a few keys whose
 * default the caller derives, e.g. from state_dir). */
const char *conf_keys_str(enum conf_key k);
/* The name of k as the file and FLASH_<NAME> spell it. */
const char *conf_keys_name(enum conf_key k);

#endif
