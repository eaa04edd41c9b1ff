#!/usr/bin/env bash
# cluster.sh BUILD: `make bench-cluster`. The bench (run.sh) twice on the same
# machine, one run after the other: on one Redis, then on a 3+3 Redis Cluster
# (redis_wait_replicas = 1), and the ratios cluster / single of the order
# runs. The issue's goal for the cost of routing: >= 0.8x for sold-out
# refusals, >= 0.7x for acceptances, p99 <= 50 ms. Outputs go to
# BUILD/bench-single/ and BUILD/bench-cluster/. Environment as run.sh's, and
# BENCH_WAIT_REPLICAS (1) for the cluster run, BENCH_SHARDS (4; 0 none) for
# the row (s): the accepting path on an item whose stock is sharded. A third
# run (BENCH_REPLICA, 1): one Redis with one replica and WAIT 1, the Cluster's
# durability without its routing, and the Cluster's ratios against it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-build/rel}" && pwd) || exit 2
cd "$ROOT"
export BENCH_SHARDS=${BENCH_SHARDS:-4}
# the rows the comparison prints, not the whole bench three times over
# (push, rules and shedding have their own sections in `make bench`); set
# BENCH_ONLY to run others too
export BENCH_ONLY=${BENCH_ONLY:-a b c d k} BENCH_PUSH=${BENCH_PUSH:-0}
export BENCH_RULES=${BENCH_RULES:-0} BENCH_SHED=${BENCH_SHED:-0}
. tests/bench/lib.sh
bench_run "$BUILD" single || exit 1
bench_run "$BUILD" cluster BENCH_REDIS_CLUSTER=1 || exit 1
# BENCH_REPLICA=0 skips the third run: one Redis with a replica and WAIT 1
[ "${BENCH_REPLICA:-1}" = 1 ] && { bench_run "$BUILD" replica BENCH_REPLICA=1 || exit 1; }
bench_show "$BUILD" single "one Redis"
echo; bench_show "$BUILD" cluster "Redis Cluster, 3 masters + 3 replicas, WAIT ${BENCH_WAIT_REPLICAS:-1}"
rows=("(b) POST /api/order, accepted" "(k) the same, $BENCH_SHARDS stock shards" \
	"(c) POST /api/order, sold out" "(a) GET /api/detail/{aid}/{iid}")
echo
ratio_table "$BUILD" single cluster "${rows[0]}|0.7" "${rows[1]}|-" "${rows[2]}|0.8" "${rows[3]}|-"
if [ "${BENCH_REPLICA:-1}" = 1 ]; then
	echo; bench_show "$BUILD" replica "one Redis with one replica, WAIT 1 (the Cluster's durability, no routing)"
	echo; echo "the cost of routing: the Cluster against one Redis that pays for the same replica and WAIT"
	ratio_table "$BUILD" replica cluster "${rows[@]}"
fi
