#!/usr/bin/env bash
# run.sh BUILD: the whole test suite against its own stack on free ports in a
# temporary folder (torn down on any exit). Unit tests (C), integration tests
# (node's test runner over real HTTP), page tests (headless chromium), fuzz
# runs, then the sanitizer logs of every server. Ends with "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build/san}" && pwd)
cd "$ROOT"
export FLASH_BIN=$BUILD/bin
# the test stack takes free ports: ports a developer's shell exports for
# `make run` would be written into its config by flashctl start
unset FLASH_HTTP_PORT FLASH_REDIS_PORT FLASH_MYSQL_PORT
D=$(mktemp -d /tmp/fs.XXXXXX)
# one output folder per build folder, so runs of several builds at once
# (developers side by side) do not clobber each other's reports
OUT=${FLASH_TEST_OUT:-$ROOT/tests/out/$(basename "$BUILD")}
rm -rf "$OUT"; mkdir -p "$OUT"
passed=0; failed=0

cleanup() {
	[ -z "${D2:-}" ] || scripts/flashctl stop "$D2" >/dev/null 2>&1 || true
	[ -z "${D3:-}" ] || scripts/cluster.sh stop "$D3" >/dev/null 2>&1 || true
	scripts/flashctl stop "$D" >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT INT TERM

count() { # label passed failed
	passed=$((passed + $2)); failed=$((failed + $3))
	printf '%-28s %4d passed, %d failed\n' "$1" "$2" "$3" >&2
}

# servers log sanitizer findings to files; the suite fails on any of them
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$D/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$D/ubsan"

# ONLY=regex runs just the integration/page test files whose names match
# (no unit, fuzz or page tests unless they match): for quick runs by hand
ONLY=${ONLY:-}
sel() { if [ -n "$ONLY" ]; then grep -E "$ONLY" || true; else cat; fi; }

echo "== house rules" >&2
if [ -z "$ONLY" ] || echo house | sel | grep -q .; then
	line=$(scripts/check-house.sh "$BUILD" 2>"$OUT/house.log" | tail -1)
	p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
	[ -n "$p" ] || { p=0; f=1; }
	[ "$f" != 0 ] && cat "$OUT/house.log" >&2
	count "check-house.sh" "$p" "$f"
fi

echo "== unit tests" >&2
[ -n "$ONLY" ] || for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$t" 2>&1); rc=$?
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
	[ -n "$p" ] || { p=0; f=1; }
	[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
	[ "$f" != 0 ] && echo "$out" | tail -30 >&2
	count "$name" "$p" "$f"
done

echo "== stack in $D" >&2
scripts/flashctl init "$D" --free-ports >/dev/null
# test settings: a short sold-out mark, quick reconcile
cat >> "$D/flashsale.conf" <<CONF
log_level = info
reconcile_age_ms = 1000
CONF
if ! scripts/flashctl start "$D" >"$OUT/stack.log" 2>&1; then
	cat "$OUT/stack.log" >&2
	count "stack start" 0 1
	echo "$passed passed, $failed failed"
	exit 1
fi

export FLASH_CONF=$D/flashsale.conf FLASH_STATE=$D FLASH_ROOT=$ROOT FLASH_OUT=$OUT

node_suite() { # label files...
	local label=$1; shift
	[ $# -gt 0 ] || return 0
	node --test --test-concurrency=1 --test-reporter=tap --test-timeout=600000 "$@" \
		> "$OUT/$label.tap" 2>&1
	local p f c
	p=$(grep -E '^# pass ' "$OUT/$label.tap" | tail -1 | awk '{print $3}')
	f=$(grep -E '^# fail ' "$OUT/$label.tap" | tail -1 | awk '{print $3}')
	[ -n "$p" ] || { p=0; f=1; }
	# a test cancelled (timed out) is a failure too
	c=$(grep -E '^# cancelled ' "$OUT/$label.tap" | tail -1 | awk '{print $3}')
	f=$((f + ${c:-0}))
	if [ "$f" != 0 ]; then
		grep -E '^not ok|^# Subtest|error:|expected|actual|message' "$OUT/$label.tap" | head -80 >&2
	fi
	count "$label" "$p" "$f"
}

echo "== integration tests" >&2
node_suite integration $(ls tests/integration/*.test.mjs 2>/dev/null | sort | sel)

pages=$(ls tests/browser/*.test.mjs 2>/dev/null | sort | sel)
if [ -n "$pages" ]; then
	echo "== page tests (chromium)" >&2
	node_suite browser $pages
fi

if [ -z "$ONLY" ] && [ -x tests/fuzz/run.sh ]; then
	echo "== fuzzing" >&2
	if tests/fuzz/run.sh > "$OUT/fuzz.log" 2>&1; then
		count fuzz "$(grep -c '^fuzz ok' "$OUT/fuzz.log")" 0
	else
		tail -30 "$OUT/fuzz.log" >&2
		count fuzz "$(grep -c '^fuzz ok' "$OUT/fuzz.log")" 1
	fi
fi

# The same programs on a Redis Cluster (3 masters + 3 replicas, WAIT for one
# replica): a second stack in $D/cluster whose programs route by slot. The
# order, payment and lifecycle files run again on it, with the same
# assertions, then tests/cluster/ (MOVED, ASK, TRYAGAIN, WAIT, failover).
cluster_files=$( { ls tests/integration/{20-order,30-pay,31-lifecycle}.test.mjs
	ls tests/cluster/*.test.mjs; } 2>/dev/null | sel)
if [ -n "$cluster_files" ]; then
	echo "== cluster stack in $D/cluster" >&2
	scripts/flashctl stop "$D" >/dev/null 2>&1 # the first stack is done: free the cores
	D2=$D/cluster
	scripts/flashctl init "$D2" --free-ports >/dev/null
	if scripts/redis-cluster.sh start "$D2" --free-ports >"$OUT/cluster-stack.log" 2>&1; then
		cat >> "$D2/flashsale.conf" <<CONF
log_level = info
reconcile_age_ms = 1000
redis_cluster = 1
redis_nodes = $(scripts/redis-cluster.sh nodes "$D2")
redis_port = $(head -1 "$D2/redis-cluster/ports")
redis_wait_replicas = 1
redis_wait_ms = 200
CONF
	fi
	# (start is idempotent: a second try once, the first failure stays in the log)
	if grep -q '^redis_cluster = 1' "$D2/flashsale.conf" &&
		{ scripts/flashctl start "$D2" >>"$OUT/cluster-stack.log" 2>&1 ||
		  { echo "run.sh: stack start failed ($?), once more" >>"$OUT/cluster-stack.log"
		    scripts/flashctl start "$D2" >>"$OUT/cluster-stack.log" 2>&1; }; }; then
		export FLASH_CONF=$D2/flashsale.conf FLASH_STATE=$D2
		node_suite cluster $cluster_files
		export FLASH_CONF=$D/flashsale.conf FLASH_STATE=$D
	else
		tail -30 "$OUT/cluster-stack.log" "$D2"/mysqld-init.log "$D2"/mysqld.err >&2 2>/dev/null
		count "cluster stack start" 0 1
	fi
	scripts/flashctl stop "$D2" >/dev/null 2>&1
fi

# The whole topology (scripts/cluster.sh): HAProxy in front of two web nodes
# on 127.0.0.2/.3, a MariaDB primary + semi-sync replica (mysql_nodes), two
# order handlers, the Redis Cluster. The order, payment and lifecycle files run
# through HAProxy with the same assertions, then tests/topology/ (faults).
topo_files=$( { ls tests/integration/{20-order,30-pay,31-lifecycle}.test.mjs
	ls tests/topology/*.test.mjs; } 2>/dev/null | sel)
if [ -n "$topo_files" ]; then
	echo "== topology in $D/topo" >&2
	D3=$D/topo
	scripts/flashctl init "$D3" --free-ports >/dev/null
	cat >> "$D3/flashsale.conf" <<CONF
log_level = info
reconcile_age_ms = 1000
# only the test client's own address is a trusted proxy: one on another
# loopback address is limited by it (topo-2c: the PROXY protocol)
trusted_proxies = 127.0.0.1
CONF
	if scripts/cluster.sh start "$D3" --free-ports >"$OUT/topo-stack.log" 2>&1 ||
		{ echo "run.sh: topology start failed ($?), once more" >>"$OUT/topo-stack.log"
		  scripts/cluster.sh start "$D3" >>"$OUT/topo-stack.log" 2>&1; }; then
		export FLASH_CONF=$D3/flashsale.conf FLASH_STATE=$D3
		node_suite topology $topo_files
		export FLASH_CONF=$D/flashsale.conf FLASH_STATE=$D
	else
		tail -30 "$OUT/topo-stack.log" >&2
		count "topology start" 0 1
	fi
	scripts/cluster.sh stop "$D3" >/dev/null 2>&1
fi

echo "== sanitizer reports of the servers" >&2
scripts/flashctl stop "$D" >/dev/null 2>&1
reports=$(ls "$D"/asan.* "$D"/ubsan.* 2>/dev/null)
if [ -n "$reports" ]; then
	for r in $reports; do echo "--- $r" >&2; head -40 "$r" >&2; cp "$r" "$OUT/"; done
	count "sanitizer reports" 0 1
else
	count "sanitizer reports" 1 0
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
