#!/usr/bin/env bash
# topology.sh BUILD: `make bench-topology`. The bench (run.sh) twice on the
# same machine, one run after the other: on one node (one Redis, one MariaDB,
# one lighttpd), then through the whole topology (scripts/cluster.sh: HAProxy,
# 2 web nodes, Redis Cluster with WAIT 1, MariaDB primary + semi-sync replica,
# 2 handlers), and the ratios topology / one node. The issue's goal: >= 0.7x
# (the cost of the extra hop). Outputs in BUILD/bench-node/ and BUILD/bench-topology/.
# A third run (BENCH_NODE_CLUSTER, 1): one node on the same Redis Cluster, and
# the topology against it (the hop and the second node, the stores held equal).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-build/rel}" && pwd) || exit 2
cd "$ROOT"
# the rows the comparison prints, not the whole bench three times over
# (push, rules and shedding have their own sections in `make bench`); set
# BENCH_ONLY to run others too
export BENCH_ONLY=${BENCH_ONLY:-a b c d} BENCH_PUSH=${BENCH_PUSH:-0}
export BENCH_RULES=${BENCH_RULES:-0} BENCH_SHED=${BENCH_SHED:-0}
. tests/bench/lib.sh
bench_run "$BUILD" node || exit 1
bench_run "$BUILD" topology BENCH_TOPOLOGY=1 || exit 1
# BENCH_NODE_CLUSTER=0 skips the third run: one node on the same Redis Cluster
[ "${BENCH_NODE_CLUSTER:-1}" = 1 ] && { bench_run "$BUILD" nodecl BENCH_REDIS_CLUSTER=1 || exit 1; }
bench_show "$BUILD" node "one node"
echo; bench_show "$BUILD" topology "topology: HAProxy, 2 web nodes, Redis Cluster (WAIT 1), MariaDB primary + replica"
rows=("(a) GET /api/detail/{aid}/{iid}" "(b) POST /api/order, accepted" "(c) POST /api/order, sold out"
	"(d) GET /api/_trivial")
echo
ratio_table "$BUILD" node topology "${rows[@]}"
if [ "${BENCH_NODE_CLUSTER:-1}" = 1 ]; then
	echo; bench_show "$BUILD" nodecl "one node on a Redis Cluster 3+3 (WAIT 1)"
	echo; echo "the hop and the second web node: the topology against one node on the same Redis Cluster"
	ratio_table "$BUILD" nodecl topology "${rows[@]}"
fi
