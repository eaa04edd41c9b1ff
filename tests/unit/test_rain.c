/*
 * test_rain.c: the pot split (rain_split.h) over 1,000 random pots, and the
 * grab line codec (rain.h).
 */
#include "fs.h"
#include "rain.h"
#include "rain_split.h"
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits one pot and checks the promises: every packet >= 1 cent, the sum
 * exact, none but the last above twice the mean of what was left when it
 * was cut (nor the last above what was left). 1 when all hold. */
static int
split_ok(int64_t total, int64_t n, struct rain_split_rng *rng, int64_t *out)
{
	int64_t left = total, sum = 0;

	if (rain_split_cut(total, n, rng, out) != FS_OK)
		return 0;
	for (int64_t i = 0; i < n; i++) {
		int64_t k = n - i;

		if (out[i] < 1 || out[i] > left)
			return 0;
		/* amount < 2 * left / k, kept in integers */
		if (k > 1 && out[i] * k >= 2 * left)
			return 0;
		if (k == 1 && out[i] != left)
			return 0;
		left -= out[i];
		sum += out[i];
	}
	return sum == total && left == 0;
}

static void
test_split_random(void)
{
	struct rain_split_rng rng = {20261129}, pick = {42};
	int64_t *out = malloc(RAIN_PACKETS_MAX * sizeof(int64_t));
	int bad = 0;

	for (int t = 0; t < 1000; t++) {
		/* packets from 1 to 2,000 (now and then the cap), pots from
		 * exactly one cent a packet to the cap */
		int64_t n, total;

		pick.s = pick.s * 6364136223846793005ULL + 1442695040888963407ULL;
		n = t % 100 == 7 ? RAIN_PACKETS_MAX : 1 + (int64_t)((pick.s >> 33) % 2000);
		pick.s = pick.s * 6364136223846793005ULL + 1442695040888963407ULL;
		switch (t % 4) {
		case 0: total = n; break;                              /* every packet 1 cent */
		case 1: total = n + (int64_t)((pick.s >> 33) % 10); break; /* a few cents spare */
		case 2: total = n + (int64_t)((pick.s >> 20) % 10000000); break;
		default: total = RAIN_TOTAL_MAX - (int64_t)((pick.s >> 40) % 1000); break;
		}
		if (total < n)
			total = n;
		if (!split_ok(total, n, &rng, out)) {
			if (bad++ < 5)
				printf("split of %lld cents into %lld packets broke a promise\n",
				       (long long)total, (long long)n);
		}
	}
	test_cond("1,000 random pots: every packet >= 1, sums exact, none above twice the mean left", bad == 0);
	free(out);
}

static void
test_split_shape(void)
{
	struct rain_split_rng rng = {7};
	int64_t out[1000], sum = 0, min = INT64_MAX, max = 0;

	test_cond("0 packets refused", rain_split_cut(10, 0, &rng, out) == FS_ERR);
	test_cond("more packets than cents refused", rain_split_cut(9, 10, &rng, out) == FS_ERR);
	test_cond("one packet takes the pot", rain_split_cut(500, 1, &rng, out) == FS_OK && out[0] == 500);
	/* 1,000 packets of a 100,000-cent pot: mean 100; the split is random,
	 * not all equal */
	test_cond("split 100000/1000", rain_split_cut(100000, 1000, &rng, out) == FS_OK);
	for (int i = 0; i < 1000; i++) {
		sum += out[i];
		if (out[i] < min)
			min = out[i];
		if (i < 999 && out[i] > max)
			max = out[i];
	}
	test_cond("sum exact", sum == 100000);
	test_cond("random, not uniform amounts", min < 50 && max > 150);
}

static void
test_line(void)
{
	struct rain_grab g = {123456789012LL, 42, 7, 199, 1764460800000LL}, back;
	char buf[RAIN_LINE_MAX];
	size_t n = rain_line_encode(&g, buf);

	test_cond("line encodes", n > 0 && strcmp(buf, "R 123456789012 42 7 199 1764460800000") == 0);
	test_cond("line decodes", rain_line_decode(buf, n, &back) == FS_OK &&
				  memcmp(&g, &back, sizeof(g)) == 0);
	test_cond("is a grab line", rain_line_is_grab(buf, n));
	test_cond("an order line is not", !rain_line_is_grab("1 2 3 4 1 999 5", 15));
	test_cond("short line refused", rain_line_decode("R 1 2 3 4", 9, &back) == FS_ERR);
	test_cond("long line refused", rain_line_decode("R 1 2 3 4 5 6", 13, &back) == FS_ERR);
	test_cond("zero id refused", rain_line_decode("R 0 2 3 4 5", 11, &back) == FS_ERR);
	test_cond("double space refused", rain_line_decode("R 1  2 3 4 5", 12, &back) == FS_ERR);
	test_cond("states", strcmp(rain_state(5, 10, 20, 3), "upcoming") == 0 &&
			    strcmp(rain_state(10, 10, 20, 3), "live") == 0 &&
			    strcmp(rain_state(15, 10, 20, 0), "empty") == 0 &&
			    strcmp(rain_state(20, 10, 20, 3), "ended") == 0);
}

int
main(void)
{
	test_split_random();
	test_split_shape();
	test_line();
	return test_report();
}
