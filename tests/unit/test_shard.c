/*
 * test_shard.c: the pure parts of sharded stock (kv_shard.h): shard 0 is the
 * item's own key, the other shards' tags land on distinct slots spread over
 * the three masters' thirds, the home shard and the warmup split.
 */
#include "kv.h"
#include "kv_shard.h"
#include "kv_slot.h"
#include "testhelp.h"

#include <stdio.h>
#include <string.h>

static unsigned
slot_of_key(const char *key)
{
	return kv_slot_of(key, strlen(key));
}

static int
third(unsigned s)
{
	return s <= 5460 ? 0 : s <= 10922 ? 1 : 2;
}

int
main(void)
{
	char a[KV_KEY_MAX], b[KV_KEY_MAX], tag[80];
	unsigned slots[KV_SHARD_MAX];
	int distinct = 1, spread = 1, stable = 1, sum_ok = 1;

	kv_item_key(a, 12, 34, "stock");
	kv_shard_key(b, 12, 34, 0, "stock");
	test_cond("shard 0 is the item's own key", strcmp(a, b) == 0);
	kv_shard_tag(tag, sizeof(tag), 12, 34, 0);
	test_cond("shard 0's tag is A:I", strcmp(tag, "12:34") == 0);
	for (int64_t iid = 1; iid <= 50; iid++) {
		for (int k = 0; k < KV_SHARD_MAX; k++) {
			kv_shard_key(a, 7, iid, k, "stock");
			slots[k] = slot_of_key(a);
			kv_shard_key(b, 7, iid, k, "buyers");
			stable &= slot_of_key(b) == slots[k];
			for (int j = 0; j < k; j++)
				distinct &= slots[j] != slots[k];
		}
		/* shards 0, 1, 2 on the three masters of a 3-master cluster */
		spread &= third(slots[0]) != third(slots[1]) && third(slots[1]) != third(slots[2]) &&
			  third(slots[0]) != third(slots[2]);
	}
	test_cond("16 shards: 16 distinct slots (50 items)", distinct);
	test_cond("shards 0..2 in three different thirds", spread);
	test_cond("one shard's keys share its slot", stable);
	kv_shard_key(a, 7, 9, 3, "stock");
	kv_shard_key(b, 7, 9, 3, "stock");
	test_cond("a shard's key is the same every time", strcmp(a, b) == 0);
	test_cond("home of uid 9 of 4 is 1", kv_shard_home(9, 4) == 1);
	test_cond("home with one shard is 0", kv_shard_home(9, 1) == 0);
	for (int64_t stock = 1; stock < 200; stock++)
		for (int n = 1; n <= KV_SHARD_MAX && n <= stock; n++) {
			int64_t s = 0, lo = stock, hi = 0;

			for (int k = 0; k < n; k++) {
				int64_t x = kv_shard_split(stock, n, k);

				s += x;
				lo = x < lo ? x : lo;
				hi = x > hi ? x : hi;
			}
			sum_ok &= s == stock && hi - lo <= 1 && lo >= 1;
		}
	test_cond("the split adds up, evenly, a unit each at least", sum_ok);
	test_cond("300 over 4: 75", kv_shard_split(300, 4, 3) == 75);
	return test_report();
}
