#!/usr/bin/env bash
# cluster.sh BUILD: `make bench-cluster`. The bench (run.sh) twice on the same
# machine, one run after the other: on one Redis, then on a 3+3 Redis Cluster
# (redis_wait_replicas = 1), and the ratios cluster / single of the order
# runs. The issue's goal for the cost of routing: >= 0.8x for sold-out
# refusals, >= 0.7x for acceptances, p99 <= 50 ms. Outputs go to
# BUILD/bench-single/ and BUILD/bench-cluster/. Environment as run.sh's, and
# BENCH_WAIT_REPLICAS (1) for the cluster run, BENCH_SHARDS (4; 0 none) for
# the row (s): the accepting path on an item whose stock is sharded.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-build/rel}" && pwd) || exit 2
cd "$ROOT"
export BENCH_SHARDS=${BENCH_SHARDS:-4}
BENCH_OUT=$BUILD/bench-single tests/bench/run.sh "$BUILD" > "$BUILD/bench-single.txt" || exit 1
BENCH_OUT=$BUILD/bench-cluster BENCH_REDIS_CLUSTER=1 tests/bench/run.sh "$BUILD" \
	> "$BUILD/bench-cluster.txt" || exit 1
row() { grep -F "| $2" "$BUILD/bench-$1.txt" | head -1; }
echo "== one Redis"; grep -E '^\| (endpoint|\([a-ek]\))' "$BUILD/bench-single.txt"
echo; echo "== Redis Cluster, 3 masters + 3 replicas, WAIT ${BENCH_WAIT_REPLICAS:-1}"
grep -E '^\| (endpoint|\([a-ek]\))' "$BUILD/bench-cluster.txt"
echo
printf '| %-34s | %9s | %9s | %7s | %11s | %6s |\n' run "single/s" "cluster/s" ratio "cluster p99" goal
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------" "----------:" "----------:" \
	"--------:" "------------:" "--------"
for r in "(b) POST /api/order, accepted|0.7" "(k) the same, $BENCH_SHARDS stock shards|-" \
	"(c) POST /api/order, sold out|0.8" \
	"(a) GET /api/detail/{aid}/{iid}|-"; do
	name=${r%|*}; goal=${r#*|}
	s=$(row single "$name" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
	c=$(row cluster "$name" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
	p99=$(row cluster "$name" | awk -F'|' '{gsub(/ /, "", $5); print $5}')
	ratio=$(awk -v s="$s" -v c="$c" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "-" }')
	printf '| %-34s | %9s | %9s | %7s | %11s | %6s |\n' "$name" "${s:--}" "${c:--}" "$ratio" "${p99:--}" \
		"$goal"
done
