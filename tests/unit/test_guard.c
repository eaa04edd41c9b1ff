/*
 * test_guard: the pure parts of the sale rules (guard.c): the "rules"
 * object, blocklist entries from a body and from a path, and the lookups
 * in the process's copy of the list.
 */
#include "fs.h"
#include "guard.h"
#include "testhelp.h"

#include <json-c/json.h>
#include <string.h>

/* 1 when the JSON text parses as rules (and gives age, ipmax). */
static int
rules_ok(const char *text, int64_t age, int64_t ipmax)
{
	json_object *o = json_tokener_parse(text);
	struct sale_rules r;
	const char *msg = NULL;
	int ok = guard_rules_parse(o, &r, &msg) == FS_OK;

	json_object_put(o);
	return ok && r.min_account_age_s == age && r.max_orders_per_ip == ipmax;
}

static int
rules_bad(const char *text)
{
	json_object *o = json_tokener_parse(text);
	struct sale_rules r;
	const char *msg = NULL;
	int bad = guard_rules_parse(o, &r, &msg) == FS_ERR && msg != NULL;

	json_object_put(o);
	return bad;
}

/* The entry a body gives: want NULL means refused. */
static int
entry_is(const char *text, enum guard_kind want_kind, const char *want)
{
	json_object *o = json_tokener_parse(text);
	enum guard_kind kind;
	char value[GUARD_VALUE_LEN];
	const char *msg;
	int rc = guard_entry_parse(o, &kind, value, &msg);

	json_object_put(o);
	if (want == NULL)
		return rc == FS_ERR;
	return rc == FS_OK && kind == want_kind && strcmp(value, want) == 0;
}

static int
text_is(const char *s, enum guard_kind want_kind, const char *want)
{
	enum guard_kind kind;
	char value[GUARD_VALUE_LEN];
	int rc = guard_entry_from_text(s, &kind, value);

	if (want == NULL)
		return rc == FS_ERR;
	return rc == FS_OK && kind == want_kind && strcmp(value, want) == 0;
}

static void
test_rules(void)
{
	test_cond("rules: empty object is all off", rules_ok("{}", 0, 0));
	test_cond("rules: both", rules_ok("{\"min_account_age_s\":86400,\"max_orders_per_ip\":2}", 86400, 2));
	test_cond("rules: zeros", rules_ok("{\"min_account_age_s\":0,\"max_orders_per_ip\":0}", 0, 0));
	test_cond("rules: at the bounds", rules_ok("{\"min_account_age_s\":315360000,\"max_orders_per_ip\":1000000000}",
						    GUARD_AGE_MAX, GUARD_IPMAX_MAX));
	test_cond("rules: null", rules_bad("null"));
	test_cond("rules: a string", rules_bad("\"x\""));
	test_cond("rules: an array", rules_bad("[1]"));
	test_cond("rules: negative", rules_bad("{\"min_account_age_s\":-1}"));
	test_cond("rules: fraction", rules_bad("{\"max_orders_per_ip\":1.5}"));
	test_cond("rules: string value", rules_bad("{\"max_orders_per_ip\":\"2\"}"));
	test_cond("rules: boolean", rules_bad("{\"max_orders_per_ip\":true}"));
	test_cond("rules: null value", rules_bad("{\"max_orders_per_ip\":null}"));
	test_cond("rules: unknown field", rules_bad("{\"min_account_age_s\":1,\"x\":1}"));
	test_cond("rules: over the bound", rules_bad("{\"min_account_age_s\":315360001}"));
	test_cond("rules: huge", rules_bad("{\"max_orders_per_ip\":99999999999999999999}"));
}

static void
test_entries(void)
{
	test_cond("entry: user id", entry_is("{\"user_id\":42}", GUARD_USER, "42"));
	test_cond("entry: user id string", entry_is("{\"user_id\":\"42\"}", GUARD_USER, "42"));
	test_cond("entry: 63-bit id string",
		  entry_is("{\"user_id\":\"9223372036854775806\"}", GUARD_USER, "9223372036854775806"));
	test_cond("entry: ipv4", entry_is("{\"ip\":\"10.0.0.1\"}", GUARD_IP, "10.0.0.1"));
	test_cond("entry: ipv6 normalized", entry_is("{\"ip\":\"2001:DB8:0::1\"}", GUARD_IP, "2001:db8::1"));
	test_cond("entry: v4-mapped is v4", entry_is("{\"ip\":\"::ffff:10.0.0.2\"}", GUARD_IP, "10.0.0.2"));
	test_cond("entry: empty", entry_is("{}", GUARD_USER, NULL));
	test_cond("entry: both", entry_is("{\"user_id\":1,\"ip\":\"1.1.1.1\"}", GUARD_USER, NULL));
	test_cond("entry: extra", entry_is("{\"user_id\":1,\"x\":1}", GUARD_USER, NULL));
	test_cond("entry: zero", entry_is("{\"user_id\":0}", GUARD_USER, NULL));
	test_cond("entry: negative", entry_is("{\"user_id\":-3}", GUARD_USER, NULL));
	test_cond("entry: fraction", entry_is("{\"user_id\":2.5}", GUARD_USER, NULL));
	test_cond("entry: junk string", entry_is("{\"user_id\":\"12a\"}", GUARD_USER, NULL));
	test_cond("entry: id as address", entry_is("{\"user_id\":\"1.2.3.4\"}", GUARD_USER, NULL));
	test_cond("entry: address as id", entry_is("{\"ip\":\"12345\"}", GUARD_USER, NULL));
	test_cond("entry: too big", entry_is("{\"user_id\":\"99999999999999999999\"}", GUARD_USER, NULL));
	test_cond("entry: bad v4", entry_is("{\"ip\":\"999.1.1.1\"}", GUARD_USER, NULL));
	test_cond("entry: port", entry_is("{\"ip\":\"1.2.3.4:80\"}", GUARD_USER, NULL));
	test_cond("entry: brackets", entry_is("{\"ip\":\"[::1]\"}", GUARD_USER, NULL));
	test_cond("entry: host name", entry_is("{\"ip\":\"example.com\"}", GUARD_USER, NULL));
	test_cond("entry: ip number", entry_is("{\"ip\":5}", GUARD_USER, NULL));
	test_cond("entry: not an object", entry_is("[]", GUARD_USER, NULL));
	test_cond("path: id", text_is("7", GUARD_USER, "7"));
	test_cond("path: v6", text_is("::1", GUARD_IP, "::1"));
	test_cond("path: v4", text_is("192.0.2.1", GUARD_IP, "192.0.2.1"));
	test_cond("path: zero", text_is("0", GUARD_USER, NULL));
	test_cond("path: word", text_is("abc", GUARD_USER, NULL));
	test_cond("path: empty", text_is("", GUARD_USER, NULL));
	test_cond("path: short v4", text_is("1.2.3", GUARD_USER, NULL));
}

static void
test_copy(void)
{
	const char *kinds[] = {"user", "ip", "user", "ip", "user"};
	const char *values[] = {"30", "10.0.0.1", "5", "2001:db8::1", "9223372036854775806"};

	test_cond("copy: version 0 before any change", guard_version() == 0);
	test_cond("copy: empty blocks nobody", !guard_blocked(5, "10.0.0.1"));
	guard_list_set(kinds, values, 5, 7);
	test_cond("copy: version", guard_version() == 7);
	test_cond("copy: user 5", guard_blocked(5, NULL));
	test_cond("copy: user 30", guard_blocked(30, ""));
	test_cond("copy: user 2^63-2", guard_blocked(9223372036854775806LL, NULL));
	test_cond("copy: user 6 not", !guard_blocked(6, NULL));
	test_cond("copy: address", guard_blocked(6, "10.0.0.1"));
	test_cond("copy: v6 address", guard_blocked(6, "2001:db8::1"));
	test_cond("copy: other address", !guard_blocked(6, "10.0.0.2"));
	test_cond("copy: no address", !guard_blocked(6, NULL));
	guard_list_set(NULL, NULL, 0, 8);
	test_cond("copy: replaced by an empty list", !guard_blocked(5, "10.0.0.1") && guard_version() == 8);
}

int
main(void)
{
	test_rules();
	test_entries();
	test_copy();
	return test_report();
}
