/*
 * rain_split.c: the "twice the mean" split of a pot (see rain_split.h).
 */
#include "rain_split.h"
#include "fs.h"

#include <stdint.h>

static uint64_t
next64(struct rain_split_rng *rng)
{
	uint64_t z = (rng->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [1, hi] (hi >= 1) without modulo bias: draws above the last
 * whole multiple of hi are thrown away. */
static int64_t
uniform(struct rain_split_rng *rng, uint64_t hi)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % hi, v;

	do
		v = next64(rng);
	while (v >= limit);
	return (int64_t)(v % hi) + 1;
}

int
rain_split_seed(struct rain_split_rng *rng)
{
	return fs_random_bytes(&rng->s, sizeof(rng->s));
}

int
rain_split_cut(int64_t total, int64_t n, struct rain_split_rng *rng, int64_t *out)
{
	int64_t left = total;

	/* the cap keeps 2 * left far from overflow */
	if (n < 1 || total < n || total > INT64_MAX / 4)
		return FS_ERR;
	for (int64_t k = n; k > 1; k--) {
		/* left >= k, so 2*left/k >= 2: the range is never empty */
		uint64_t hi = (uint64_t)(2 * left / k) - 1;
		int64_t a = uniform(rng, hi);

		out[n - k] = a;
		left -= a;
	}
	out[n - 1] = left;
	return FS_OK;
}
