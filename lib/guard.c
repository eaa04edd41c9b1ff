/*
 * guard.c: the rules against scalpers, apart from HTTP (guard.h).
 *
 * The blocklist copy: each program keeps the whole list in memory (sorted
 * arrays, a binary search per request) with the version MySQL had when it
 * was read. Every change bumps that version in MySQL and raises it in the
 * meta hash of every item on sale (guard_fanout) before the admin's answer;
 * the reservation script refuses to decide with a copy older than its
 * item's version, so the program reads the list again and asks once more:
 * a change holds from the next request on, and costs the hot path nothing
 * until it happens.
 */
#include "guard.h"
#include "clientip.h"
#include "db.h"
#include "db_guard.h"
#include "db_sale.h"
#include "db_user.h"
#include "fs.h"
#include "kv.h"
#include "kv_guard.h"
#include "kv_user.h"
#include "log.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the non-negative integer field key of o (absent: 0). */
static int
rule_int(json_object *o, const char *key, int64_t max, int64_t *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return FS_OK;
	if (!json_object_is_type(v, json_type_int))
		return FS_ERR;
	errno = 0;
	*out = json_object_get_int64(v);
	return *out < 0 || *out > max || errno != 0 ? FS_ERR : FS_OK;
}

int
guard_rules_parse(json_object *v, struct sale_rules *out, const char **msg)
{
	memset(out, 0, sizeof(*out));
	*msg = "rules must be an object {\"min_account_age_s\", \"max_orders_per_ip\"} of "
	       "non-negative integers (0: off)";
	if (v == NULL || !json_object_is_type(v, json_type_object))
		return FS_ERR;
	json_object_object_foreach(v, key, val) {
		(void)val;
		if (strcmp(key, "min_account_age_s") != 0 && strcmp(key, "max_orders_per_ip") != 0)
			return FS_ERR;
	}
	if (rule_int(v, "min_account_age_s", GUARD_AGE_MAX, &out->min_account_age_s) != FS_OK ||
	    rule_int(v, "max_orders_per_ip", GUARD_IPMAX_MAX, &out->max_orders_per_ip) != FS_OK)
		return FS_ERR;
	return FS_OK;
}

const char *
guard_kind_name(enum guard_kind kind)
{
	return kind == GUARD_USER ? "user" : "ip";
}

int
guard_entry_from_text(const char *s, enum guard_kind *kind, char value[GUARD_VALUE_LEN])
{
	int64_t id;
	size_t n = s ? strlen(s) : 0;
	int digits = n > 0;

	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
	if (digits) {
		if (fs_parse_u63(s, &id) != FS_OK)
			return FS_ERR;
		*kind = GUARD_USER;
		snprintf(value, GUARD_VALUE_LEN, "%" PRId64, id);
		return FS_OK;
	}
	/* an address as text: no port, brackets or blanks in a stored entry */
	if (n == 0 || n >= GUARD_VALUE_LEN || strpbrk(s, "[] \t") != NULL ||
	    (strchr(s, ':') == NULL && strchr(s, '.') == NULL))
		return FS_ERR;
	if (strchr(s, ':') != NULL && strchr(s, '.') != NULL && strchr(s, ':') == strrchr(s, ':'))
		return FS_ERR; /* "1.2.3.4:80" */
	*kind = GUARD_IP;
	return clientip_normalize(s, n, value);
}

int
guard_entry_parse(json_object *body, enum guard_kind *kind, char value[GUARD_VALUE_LEN],
		  const char **msg)
{
	json_object *u = NULL, *ip = NULL;
	int fields = 0;

	*msg = "give exactly one of user_id (a positive integer or its decimal string) or ip "
	       "(an IPv4 or IPv6 address)";
	if (body == NULL || !json_object_is_type(body, json_type_object))
		return FS_ERR;
	json_object_object_foreach(body, key, val) {
		(void)key;
		(void)val;
		fields++;
	}
	if (fields != 1)
		return FS_ERR;
	if (json_object_object_get_ex(body, "user_id", &u)) {
		char buf[24];

		if (json_object_is_type(u, json_type_int)) {
			int64_t id = json_object_get_int64(u);

			if (id <= 0 || id == INT64_MAX)
				return FS_ERR;
			snprintf(buf, sizeof(buf), "%" PRId64, id);
		} else if (json_object_is_type(u, json_type_string) &&
			   json_object_get_string_len(u) < (int)sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s", json_object_get_string(u));
		} else {
			return FS_ERR;
		}
		return guard_entry_from_text(buf, kind, value) == FS_OK && *kind == GUARD_USER ?
			       FS_OK : FS_ERR;
	}
	if (!json_object_object_get_ex(body, "ip", &ip) || !json_object_is_type(ip, json_type_string))
		return FS_ERR;
	return guard_entry_from_text(json_object_get_string(ip), kind, value) == FS_OK &&
			       *kind == GUARD_IP ? FS_OK : FS_ERR;
}

/* --- the process's copy ---------------------------------------------------- */

static struct {
	int64_t ver;
	int64_t *users;
	int nusers;
	char (*ips)[GUARD_VALUE_LEN];
	int nips;
} copy;

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_ip(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int64_t
guard_version(void)
{
	return copy.ver;
}

void
guard_list_set(const char *const *kinds, const char *const *values, int n, int64_t ver)
{
	free(copy.users);
	free(copy.ips);
	copy.users = mem_calloc(n > 0 ? (size_t)n : 1, sizeof(*copy.users));
	copy.ips = mem_calloc(n > 0 ? (size_t)n : 1, sizeof(*copy.ips));
	copy.nusers = copy.nips = 0;
	for (int i = 0; i < n; i++) {
		if (kinds[i] == NULL || values[i] == NULL)
			continue;
		if (strcmp(kinds[i], "user") == 0)
			copy.users[copy.nusers++] = strtoll(values[i], NULL, 10);
		else
			snprintf(copy.ips[copy.nips++], GUARD_VALUE_LEN, "%s", values[i]);
	}
	qsort(copy.users, (size_t)copy.nusers, sizeof(*copy.users), cmp_i64);
	qsort(copy.ips, (size_t)copy.nips, sizeof(*copy.ips), cmp_ip);
	copy.ver = ver;
}

int
guard_refresh(struct db *d)
{
	struct db_rows rows;
	const char **kinds, **values;
	int64_t ver;

	/* the version first: a change committed between the two reads makes
	 * the list newer than its version, never older */
	if (db_guard_version(d, &ver) != FS_OK)
		return FS_ERR;
	/* every change bumps the version in its own transaction: the same
	 * version is the same list, so the rows need not travel again */
	if (ver == guard_version())
		return FS_OK;
	if (db_guard_list(d, &rows) != FS_OK)
		return FS_ERR;
	kinds = mem_calloc((size_t)rows.nrows + 1, sizeof(*kinds));
	values = mem_calloc((size_t)rows.nrows + 1, sizeof(*values));
	for (int i = 0; i < rows.nrows; i++) {
		kinds[i] = db_cell(&rows, i, 0);
		values[i] = db_cell(&rows, i, 1);
	}
	guard_list_set(kinds, values, rows.nrows, ver);
	free(kinds);
	free(values);
	db_rows_free(&rows);
	return FS_OK;
}

int
guard_blocked(int64_t uid, const char *ip)
{
	if (copy.nusers > 0 &&
	    bsearch(&uid, copy.users, (size_t)copy.nusers, sizeof(*copy.users), cmp_i64) != NULL)
		return 1;
	return ip != NULL && *ip != '\0' && copy.nips > 0 &&
	       bsearch(ip, copy.ips, (size_t)copy.nips, sizeof(*copy.ips), cmp_ip) != NULL;
}

/* --- account age, warmup, fan-out ------------------------------------------- */

int
guard_account_age_ok(struct kv *kv, struct db *d, int64_t uid, int64_t min_age_s, int64_t now_ms)
{
	int64_t born = 0;
	int rc = kv_user_born_get(kv, uid, &born);

	if (rc == FS_ERR)
		return FS_ERR;
	if (rc == 0) {
		rc = db_user_created(d, uid, &born);
		if (rc == FS_ERR)
			return FS_ERR;
		if (rc == 0)
			born = 0;
		/* a copy for the next time; losing it costs one more read */
		(void)kv_user_born_put(kv, uid, born, born > 0 ? GUARD_BORN_TTL_S : GUARD_UNKNOWN_TTL_S);
	}
	return born > 0 && now_ms - born >= min_age_s * 1000;
}

int
guard_warm_done(struct kv *kv, struct db *d, const struct sale_item *items, int n)
{
	int64_t ver, pair[2];

	if (db_guard_version(d, &ver) != FS_OK)
		return FS_ERR;
	for (int i = 0; i < n; i++) {
		pair[0] = items[i].aid;
		pair[1] = items[i].iid;
		if (kv_guard_raise(kv, pair, 1, ver) != FS_OK)
			return FS_ERR;
	}
	return FS_OK;
}

int
guard_fanout(struct kv *kv, struct db *d, int64_t ver)
{
	int64_t *pairs = NULL;
	int n = db_sale_published_items(d, &pairs), rc;

	if (n < 0)
		return FS_ERR;
	rc = kv_guard_raise(kv, pairs, n, ver);
	free(pairs);
	return rc;
}
