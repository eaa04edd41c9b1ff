#!/usr/bin/env bash
# topology.sh BUILD: `make bench-topology`. The bench (run.sh) twice on the
# same machine, one run after the other: on one node (one Redis, one MariaDB,
# one lighttpd), then through the whole topology (scripts/cluster.sh: HAProxy,
# 2 web nodes, Redis Cluster with WAIT 1, MariaDB primary + semi-sync replica,
# 2 handlers), and the ratios topology / one node. The issue's goal: >= 0.7x
# (the cost of the extra hop). Outputs in BUILD/bench-node/ and BUILD/bench-topology/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-build/rel}" && pwd) || exit 2
cd "$ROOT"
BENCH_OUT=$BUILD/bench-node tests/bench/run.sh "$BUILD" > "$BUILD/bench-node.txt" || exit 1
BENCH_OUT=$BUILD/bench-topology BENCH_TOPOLOGY=1 tests/bench/run.sh "$BUILD" \
	> "$BUILD/bench-topology.txt" || exit 1
row() { grep -F "| $2" "$BUILD/bench-$1.txt" | head -1; }
echo "== one node"; grep -E '^\| (endpoint|\([a-e]\))' "$BUILD/bench-node.txt"
echo; echo "== topology: HAProxy, 2 web nodes, Redis Cluster (WAIT 1), MariaDB primary + replica"
grep -E '^\| (endpoint|\([a-e]\))' "$BUILD/bench-topology.txt"
echo
printf '| %-34s | %9s | %10s | %7s | %12s |\n' run "node/s" "topology/s" ratio "topology p99"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------" "----------:" "-----------:" \
	"--------:" "-------------:"
for name in "(a) GET /api/detail/{aid}/{iid}" "(b) POST /api/order, accepted" \
	"(c) POST /api/order, sold out" "(d) GET /api/_trivial"; do
	s=$(row node "$name" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
	c=$(row topology "$name" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
	p99=$(row topology "$name" | awk -F'|' '{gsub(/ /, "", $5); print $5}')
	ratio=$(awk -v s="$s" -v c="$c" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "-" }')
	printf '| %-34s | %9s | %10s | %7s | %12s |\n' "$name" "${s:--}" "${c:--}" "$ratio" "${p99:--}"
done
