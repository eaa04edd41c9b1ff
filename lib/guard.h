/*
 * guard.h: the rules against scalpers (API.md "Guard rails" -> "Sale
 * rules"; docs/GUARD-RULES.md): the parsers of the admin's input, the
 * process's copy of the blocklist, the account-age check, and the hooks
 * that keep Redis's copies in step (warmup, blocklist changes). Redis keys
 * are kv_guard.h's, SQL db_guard.h's; the HTTP answers are the programs'.
 */
#ifndef FS_GUARD_H
#define FS_GUARD_H

#include <json-c/json.h>
#include <stdint.h>

#include "sale.h"

struct db;
struct kv;

/* how long Redis keeps a copy of an account's registration time, and the
 * "not registered here" answer (a register overwrites it) */
#define GUARD_BORN_TTL_S 86400
#define GUARD_UNKNOWN_TTL_S 60
/* bounds of the rules: ten years, and a billion orders */
#define GUARD_AGE_MAX 315360000LL
#define GUARD_IPMAX_MAX 1000000000LL
/* a normalized address and its NUL (clientip.h's CLIENTIP_LEN) */
#define GUARD_VALUE_LEN 48

/* Parses the "rules" object v into out (absent fields 0). FS_OK, or FS_ERR
 * with *msg saying what is wrong (not an object, an unknown field, a value
 * that is not an integer from 0 to its bound). */
int guard_rules_parse(json_object *v, struct sale_rules *out, const char **msg);

enum guard_kind { GUARD_USER, GUARD_IP };

/* Parses a blocklist entry body: exactly one of "user_id" (a positive
 * integer or its decimal string, 63 bits) or "ip" (an IPv4 or IPv6
 * address), nothing else. FS_OK with *kind and value (the decimal id or
 * the normalized address), or FS_ERR and *msg. */
int guard_entry_parse(json_object *body, enum guard_kind *kind, char value[GUARD_VALUE_LEN],
		      const char **msg);
/* The same for a path segment: all digits is a user id, else an address. */
int guard_entry_from_text(const char *s, enum guard_kind *kind, char value[GUARD_VALUE_LEN]);
/* "user" or "ip", as MySQL's blocklist.kind holds it. */
const char *guard_kind_name(enum guard_kind kind);

/* The process's copy of the blocklist, with the version it was read at (0
 * and empty until the first change; never changed, nothing to read). */
int64_t guard_version(void);
/* Reads it again from MySQL. FS_OK or FS_ERR (the old copy stays). */
int guard_refresh(struct db *d);
/* Replaces the copy by n rows of (kind, value) strings at version ver
 * (guard_refresh's work; unit tests call it directly). */
void guard_list_set(const char *const *kinds, const char *const *values, int n, int64_t ver);
/* 1 when user uid or address ip (normalized, NULL or "": none) is on the
 * copy, else 0. */
int guard_blocked(int64_t uid, const char *ip);

/* 1 when uid registered here at least min_age_s seconds before now_ms, 0
 * when not (or not registered here at all), FS_ERR when a store failed.
 * Reads Redis's copy of the registration time, else MySQL (and copies it). */
int guard_account_age_ok(struct kv *kv, struct db *d, int64_t uid, int64_t min_age_s,
			 int64_t now_ms);

/* After kv_sale_put (whose items carry their rules: db_sale's loads fill
 * them): raises each item's blocklist version in Redis to MySQL's, read
 * after the meta was written, so a change racing the warmup is seen by one
 * of the two. Every writer of a meta hash calls it. FS_OK or FS_ERR. */
int guard_warm_done(struct kv *kv, struct db *d, const struct sale_item *items, int n);

/* After a blocklist change committed at version ver: raises the version of
 * every item of a published activity in Redis, so every program's next
 * request on it reads the list again. FS_OK or FS_ERR. */
int guard_fanout(struct kv *kv, struct db *d, int64_t ver);

#endif
