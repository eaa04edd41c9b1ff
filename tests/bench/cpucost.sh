#!/usr/bin/env bash
# cpucost.sh [BUILD]: the CPU each part of the stack spends per request, in
# ms per 1,000 requests (= µs a request), over a fixed number of requests.
# Unlike req/s this hardly moves when other jobs share the cores: it is the
# utime+stime (/proc/PID/stat) of each of this stack's processes (lighttpd,
# each FastCGI program, redis-server, mariadbd, the order handler, the push
# hub) and of the client (wrk), read before and after each run. An accepted-
# orders run ends once the order handler has written every order to MySQL, so
# that the handler's and MariaDB's share of it is counted; each part's idle
# CPU (measured for 3 s before the runs) is taken off for the run's length.
#
# Runs (wrk, 2 threads, 64 connections, a warm-up of COST_WARM requests each):
#   trivial   GET /api/_trivial                 detail  GET /api/detail/A/I
#   accepted  POST /api/order, distinct users   soldout the same on a sold-out item
#   hub-off   accepted again with the push hub stopped (when the build has one)
# Environment: COST_N (requests a run, 20000), COST_WARM (2000), COST_RUNS
# (the runs, "trivial detail accepted soldout hub-off"), COST_PERF=DIR (a perf
# profile of each run, below), COST_THREADS=1 (a row per thread name
# instead of per process: threads that exit are not counted), COST_ROOT (the checkout
# whose scripts/flashctl, lighttpd.conf and admin API set the stack up: an
# older commit's worktree to measure its build; default this one), KEEP=1.
# BUILD defaults to build/rel. The table goes to stdout and BUILD/cpucost.txt.
#   make all && tests/bench/cpucost.sh
#   git worktree add /tmp/old COMMIT && make -C /tmp/old all &&
#     COST_ROOT=/tmp/old tests/bench/cpucost.sh /tmp/old/build/rel
set -uo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$(cd "${COST_ROOT:-$HERE}" && pwd) || exit 2
BUILD=$(cd "${1:-$HERE/build/rel}" && pwd) || exit 2
BENCH=$HERE/tests/bench
export BENCH_LUA=$BENCH
N=${COST_N:-20000}
WARM=${COST_WARM:-2000}
RUNS=${COST_RUNS:-trivial detail accepted soldout hub-off}
HZ=$(getconf CLK_TCK)
D=$(mktemp -d /tmp/fc.XXXXXX)
wrk_pid=
perf_pid=

say() { echo "cpucost: [${SECONDS} s] $*" >&2; }
cleanup() {
	[ -n "$wrk_pid" ] && kill -TERM "$wrk_pid" 2>/dev/null
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null
	local lp kids= p
	lp=$(cat "$D/lighttpd.pid" 2>/dev/null)
	[ -n "$lp" ] && kids=$(ps -o pid= --ppid "$lp" 2>/dev/null)
	(cd "$ROOT" && scripts/flashctl stop "$D" >/dev/null 2>&1)
	for p in $kids; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then say "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for p in wrk node cc redis-cli curl; do
	command -v "$p" >/dev/null || { say "$p is missing (make deps)"; exit 1; }
done
[ -x "$BUILD/bin/trivial" ] || { say "no programs in $BUILD/bin (make all)"; exit 1; }
[ -f "$HERE/build/rel/lib/libflash.a" ] || { say "no $HERE/build/rel (make all): gen_users links it"; exit 1; }

# --- the stack, the sales, the users -----------------------------------------
export FLASH_BIN=$BUILD/bin
cd "$ROOT"
scripts/flashctl init "$D" --free-ports >/dev/null 2>&1
echo "reconcile_age_ms = 1000" >> "$D/flashsale.conf"
conf() { awk -F' *= *' -v k="$1" '$1 == k { v = $2 } END { print v }' "$D/flashsale.conf"; }
scripts/flashctl start "$D" > "$D/stack.log" 2>&1 || { cat "$D/stack.log" >&2; say "the stack did not start"; exit 1; }
export FLASH_CONF=$D/flashsale.conf
RPORT=$(conf redis_port)
URL=http://127.0.0.1:$(conf http_port)
timeout 60 node tests/bench/setup.mjs > "$D/setup.txt" 2> "$D/setup.err" ||
	{ cat "$D/setup.err" >&2; say "setting up the sales failed"; exit 1; }
. "$D/setup.txt"
GEN=$D/gen_users
cc -O2 -std=c11 -D_GNU_SOURCE -I"$HERE/lib" $(pkg-config --cflags libcrypto json-c) "$BENCH/gen_users.c" \
	"$HERE/build/rel/lib/libflash.a" $(pkg-config --libs fcgi hiredis libmariadb libzmq json-c libcrypto libsodium) \
	-lm -pthread -o "$GEN" || { say "cannot build gen_users"; exit 1; }
first=1000000
users() { # file aid iid count: distinct users, never reused by another run
	FLASH_JWT_SECRET=$(conf jwt_secret) FLASH_ORDER_SECRET=$(conf order_secret) \
		"$GEN" "$2" "$3" "$first" "$4" > "$D/$1" || exit 1
	first=$((first + $4))
}

# --- measuring ---------------------------------------------------------------
# snap FILE: "name ticks" for each process of the stack, "client ticks" (the
# children this shell waited for: wrk) and "time seconds", read together
snap() {
	local lp c names=() files=()
	add() {
		[ -n "$2" ] && [ -r "/proc/$2/stat" ] || return 0
		if [ "${COST_THREADS:-0}" = 1 ] && [ "$1" != client ]; then
			local t
			for t in /proc/$2/task/*; do
				names+=("$1/$(tr ' ' _ < "$t/comm")"); files+=("$t/stat")
			done
		else
			names+=("$1"); files+=("/proc/$2/stat")
		fi
	}
	lp=$(cat "$D/lighttpd.pid" 2>/dev/null)
	add lighttpd "$lp"
	[ -n "$lp" ] && for c in $(ps -o pid= --ppid "$lp"); do add "fcgi:$(cat "/proc/$c/comm" 2>/dev/null)" "$c"; done
	add redis "$(cat "$D/redis.pid" 2>/dev/null)"
	add mariadb "$(cat "$D/mysqld.pid" 2>/dev/null)"
	add handler "$(cat "$D/order_handler.pid" 2>/dev/null)"
	add hub "$(cat "$D/push_hub.pid" 2>/dev/null)"
	add client $$
	awk -v names="${names[*]}" -v self="/proc/$$/stat" '
	BEGIN { split(names, nm, " ") }
	FILENAME == "/proc/uptime" { print "time", $1; next }
	{
		line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
		print nm[++i], (FILENAME == self ? f[14] + f[15] : f[12] + f[13])
	}' /proc/uptime "${files[@]}" > "$1"
}
# wrk_n label script args...: one bounded run; waits for its done files
wrk_n() {
	local label=$1 script=$2; shift 2
	rm -f "$D/$label.done".*
	timeout 300 wrk -t2 -c64 -d240s --timeout 5s -s "$BENCH/$script" "$@" > "$D/$label.txt" 2>&1 &
	wrk_pid=$!
	for _ in $(seq 2400); do
		[ "$(ls "$D/$label.done".* 2>/dev/null | wc -l)" -ge 2 ] && break
		kill -0 "$wrk_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$wrk_pid" 2>/dev/null; wait "$wrk_pid"; wrk_pid=
	grep '^BENCH ' "$D/$label.txt" | tail -1
}
journal_empty() { # wait until the handler wrote every order of the big item
	local n
	for _ in $(seq 600); do
		n=$(redis-cli -p "$RPORT" --raw HLEN "fs:{$BIG_AID:$BIG_IID}:journal" 2>/dev/null)
		[ "${n:-1}" = 0 ] && return 0
		sleep 0.1
	done
	say "the handler did not catch up (journal $n)"
}
# COST_PERF=DIR: perf record -g of the stack's processes during each run,
# into DIR/KEY.perf (perf report -i DIR/KEY.perf --no-children --sort comm,dso,sym)
perf_on() {
	[ -n "${COST_PERF:-}" ] || return 0
	local lp pids
	lp=$(cat "$D/lighttpd.pid")
	pids=$(cat "$D"/{lighttpd,redis,mysqld,order_handler,push_hub}.pid 2>/dev/null; ps -o pid= --ppid "$lp")
	mkdir -p "$COST_PERF"
	perf record -q -F 1999 -g -p "$(echo $pids | tr ' ' ',')" -o "$COST_PERF/$1.perf" 2>/dev/null &
	perf_pid=$!
	sleep 0.5
}
perf_off() {
	[ -n "$perf_pid" ] || return 0
	kill -INT "$perf_pid"; wait "$perf_pid"; perf_pid=
}
# run KEY WANT_STATUS script args...: warm-up, then N requests between snaps
declare -A LINE
run() {
	local key=$1 want=$2 script=$3; shift 3
	say "$key: $WARM warm-up, $N measured requests"
	if [ "$script" = order.lua ]; then
		wrk_n "$key-warm" order.lua "$URL/api/order" -- "$D/$key-warm.users" 2 "$@" "$D/$key-warm.done" >/dev/null
		[ "${key%%.*}" = soldout ] || journal_empty
		snap "$D/$key.0"; perf_on "$key"
		LINE[$key]=$(wrk_n "$key" order.lua "$URL/api/order" -- "$D/$key.users" 2 "$@" "$D/$key.done")
		[ "${key%%.*}" = soldout ] || journal_empty
	else
		wrk_n "$key-warm" bounded.lua "$URL$1" -- "$WARM" 2 "$D/$key-warm.done" >/dev/null
		snap "$D/$key.0"; perf_on "$key"
		LINE[$key]=$(wrk_n "$key" bounded.lua "$URL$1" -- "$N" 2 "$D/$key.done")
	fi
	perf_off
	snap "$D/$key.1"
	echo "$key $want ${LINE[$key]}" >> "$D/lines"
}

# a run named KIND.N is one more run of KIND (e.g. "accepted hub-off hub-off.2 accepted.2")
for r in $RUNS; do
	case ${r%%.*} in
	accepted|hub-off) users "$r-warm.users" "$BIG_AID" "$BIG_IID" "$WARM"; users "$r.users" "$BIG_AID" "$BIG_IID" "$N" ;;
	soldout) users "$r-warm.users" "$SOLD_AID" "$SOLD_IID" "$WARM"; users "$r.users" "$SOLD_AID" "$SOLD_IID" "$N" ;;
	esac
done
sleep 1
snap "$D/idle.0"; sleep 3; snap "$D/idle.1"
: > "$D/lines"
for r in $RUNS; do
	case ${r%%.*} in
	trivial) run "$r" 200 bounded.lua /api/_trivial ;;
	detail) run "$r" 200 bounded.lua "/api/detail/$BIG_AID/$BIG_IID" ;;
	accepted) run "$r" 202 order.lua "$BIG_AID" "$BIG_IID" ;;
	soldout) run "$r" 410 order.lua "$SOLD_AID" "$SOLD_IID" ;;
	hub-off)
		if [ -x "$BUILD/bin/push_hub" ] && scripts/flashctl hub-stop "$D" >> "$D/stack.log" 2>&1; then
			run "$r" 202 order.lua "$BIG_AID" "$BIG_IID"
			scripts/flashctl hub-start "$D" >> "$D/stack.log" 2>&1 || say "the push hub did not start again"
		fi ;;
	esac
done

# --- the table ---------------------------------------------------------------
{
echo "cpucost: CPU ms per 1,000 requests (= µs a request), $N requests a run; build $BUILD"
echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v hz="$HZ" -v dir="$D" -v runs="$(awk '{ print $1 }' "$D/lines" | tr '\n' ' ')" '
function rd(file, arr,   l, a) { while ((getline l < file) > 0) { split(l, a, " "); arr[a[1]] += a[2] } close(file) }
BEGIN {
	rd(dir "/idle.0", i0); rd(dir "/idle.1", i1)
	idle_s = i1["time"] - i0["time"]
	for (k in i1) if (k != "time" && k != "client") idle[k] = (i1[k] - i0[k]) / hz / idle_s
	while ((getline l < (dir "/lines")) > 0) {
		split(l, a, " "); key = a[1]; want[key] = a[2]
		for (i = 3; i in a; i++) { split(a[i], kv, "="); f[key, kv[1]] = kv[2] }
	}
	nr = split(runs, run, " ")
	for (r = 1; r <= nr; r++) {
		key = run[r]; delete s0; delete s1
		rd(dir "/" key ".0", s0); rd(dir "/" key ".1", s1)
		secs[key] = s1["time"] - s0["time"]
		req = f[key, "requests"] + 0; if (req < 1) req = 1
		reqs[key] = req
		tot[key] = 0
		for (k in s1) {
			if (k == "time") continue
			cpu = (s1[k] - s0[k]) / hz - (k in idle ? idle[k] * secs[key] : 0)
			if (cpu < 0) cpu = 0
			v[k, key] = 1e6 * cpu / req; seen[k] = 1
			if (k != "client") tot[key] += v[k, key]
		}
		n = split(f[key, "statuses"], st, ","); ok = 0; all = 0
		for (i = 1; i <= n; i++) { split(st[i], kv, ":"); all += kv[2]; if (kv[1] == want[key]) ok += kv[2] }
		share[key] = all ? sprintf("%.1f%%", 100 * ok / all) : "none"
	}
	printf "| %-22s |", "process"; for (r = 1; r <= nr; r++) printf " %9s |", run[r]; print ""
	printf "|%s|", "------------------------"; for (r = 1; r <= nr; r++) printf "%s:|", "-----------"; print ""
	m = 0
	for (k in seen) if (k != "client") names[++m] = k
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
	for (i = 1; i <= m; i++) {
		printf "| %-22s |", names[i]
		for (r = 1; r <= nr; r++) printf " %9.1f |", v[names[i], run[r]]
		print ""
	}
	printf "| %-22s |", "**stack total**"; for (r = 1; r <= nr; r++) printf " %9.1f |", tot[run[r]]; print ""
	printf "| %-22s |", "client (wrk)"; for (r = 1; r <= nr; r++) printf " %9.1f |", v["client", run[r]]; print ""
	printf "| %-22s |", "requests measured"; for (r = 1; r <= nr; r++) printf " %9d |", reqs[run[r]]; print ""
	printf "| %-22s |", "expected status"; for (r = 1; r <= nr; r++) printf " %9s |", want[run[r]] " " share[run[r]]; print ""
	printf "| %-22s |", "req/s (noisy)"; for (r = 1; r <= nr; r++) printf " %9.0f |", f[run[r], "rps"]; print ""
	printf "\nidle CPU taken off (ms per s):"
	for (i = 1; i <= m; i++) if (idle[names[i]] > 0.0005) printf " %s %.1f", names[i], 1000 * idle[names[i]]
	print ""
}'
# the hub's count of events and messages (a stop logs it): the publishers' batching
grep -o 'stopping.*' "$D/push_hub.log" 2>/dev/null | sed 's/^/push hub: /'
} | tee "$BUILD/cpucost.txt"
