/*
 * gen_users: writes COUNT lines "uid token secret" for `make bench`: users
 * FIRST .. FIRST+COUNT-1, each with an HS256 access token (lib/jwt.c) and its
 * order secret for activity item (AID, IID) (lib/order_secret.c), so that every
 * POST /api/order of a bench run is a distinct, valid user.
 *   FLASH_JWT_SECRET=... FLASH_ORDER_SECRET=... gen_users AID IID FIRST COUNT > FILE
 * The secrets come from the environment, not argv, so ps does not show them.
 */
#include "jwt.h"
#include "order_secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long
arg_num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "gen_users: not a positive number: %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *jwt_key = getenv("FLASH_JWT_SECRET");
	const char *order_key = getenv("FLASH_ORDER_SECRET");
	char token[JWT_MAX], secret[SECRET_LEN + 1];
	long long aid, iid, first, count, uid;
	int64_t exp;

	if (argc != 5 || jwt_key == NULL || order_key == NULL || *jwt_key == '\0' ||
	    *order_key == '\0') {
		fprintf(stderr, "usage: FLASH_JWT_SECRET=K FLASH_ORDER_SECRET=K "
				"gen_users AID IID FIRST_UID COUNT > FILE\n");
		return 2;
	}
	aid = arg_num(argv[1]);
	iid = arg_num(argv[2]);
	first = arg_num(argv[3]);
	count = arg_num(argv[4]);
	/* valid for two hours: far longer than any bench run */
	exp = (int64_t)time(NULL) + 7200;
	for (uid = first; uid < first + count; uid++) {
		jwt_sign(jwt_key, uid, exp, token);
		order_secret_make(order_key, uid, aid, iid, secret);
		printf("%lld %s %s\n", uid, token, secret);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gen_users: write");
		return 1;
	}
	return 0;
}
