/*
 * rain_split.h: cutting a pot into random packets at publish, by the
 * "twice the mean" method: with R cents left for k packets, the next packet
 * is uniform in [1, floor(2R/k) - 1] and the last one takes what is left.
 * Every packet is at least 1 cent (R >= k holds throughout: the cut leaves
 * at least R - 2R/k + 1 >= k - 1), the sum is exact, no packet but the last
 * exceeds twice the mean of what was left when it was cut, and each packet
 * has the same expected value R/k. See docs/RAIN.md.
 */
#ifndef FS_RAIN_SPLIT_H
#define FS_RAIN_SPLIT_H

#include <stdint.h>

/* splitmix64 state: seed it with rain_split_seed, or any value in tests */
struct rain_split_rng {
	uint64_t s;
};

/* Seeds rng from the OS's random source. FS_OK or FS_ERR. */
int rain_split_seed(struct rain_split_rng *rng);

/* Cuts total cents into n packets written to out[0..n). FS_ERR (out
 * untouched) unless 1 <= n <= total. */
int rain_split_cut(int64_t total, int64_t n, struct rain_split_rng *rng, int64_t *out);

#endif
