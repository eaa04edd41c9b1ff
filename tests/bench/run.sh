#!/usr/bin/env bash
# run.sh BUILD: `make bench`. Starts its own stack with BUILD's programs on
# free ports in a temporary folder (torn down on any exit), sets up three live
# sales through the admin API, then measures with wrk (2 threads, 64
# connections, a warm-up, then a bounded run each):
#   (a) GET /api/detail/A/I   (b) POST /api/order accepted, a distinct user a
#   request   (c) POST /api/order sold out, distinct users   (d) GET
#   /api/_trivial, the FastCGI ceiling   (e) a static file   (b) again with
#   Redis's AOF at appendfsync always (every write on disk before the reply)
#   against everysec, each run after the handler caught up with the last
#   (g) POST /api/rain/R/grab on an empty pot   (r) the same while packets
#   last (docs/RAIN.md: goals (g) >= 0.9 x (d), (r) >= (b))
# and the order handler alone: orders persisted per second from a queue that
# was filled while it was stopped. Prints one table; raw outputs and the
# table go to BUILD/bench/. Environment: BENCH_DURATION (s, default 8),
# BENCH_WARMUP (s, 2), BENCH_HANDLER_ORDERS (20000), BENCH_PROCS (FastCGI
# processes of each hot endpoint; default the config's), BENCH_PUSH=0 (no push
# hub, no push section; BENCH_PUSH_SOCKETS, BENCH_PUSH_ORDERS size that
# section, BENCH_PUSH_PAIRS the (b) runs with the hub on and off, 2: ABBA),
# KEEP=1 keeps the folder, BENCH_ONLY="b c" only those rows (see only() below),
# BENCH_REDIS_CLUSTER=1 the same on a 3+3 Redis Cluster (BENCH_WAIT_REPLICAS, 1).
# BENCH_REPLICA=1 one Redis with one replica and WAIT 1 (the Cluster's durability).
# BENCH_TOPOLOGY=1 the same through the whole topology (scripts/cluster.sh:
# HAProxy, 2 web nodes, MariaDB primary + replica, 2 handlers, Redis Cluster).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-build/rel}" && pwd) || exit 2
cd "$ROOT"
BENCH=$ROOT/tests/bench
export BENCH_LUA=$BENCH
DUR=${BENCH_DURATION:-8}
WARM=${BENCH_WARMUP:-2}
HN=${BENCH_HANDLER_ORDERS:-20000}
THREADS=2
CONNS=64
OUT=${BENCH_OUT:-$BUILD/bench}
rm -rf "$OUT"; mkdir -p "$OUT"
D=$(mktemp -d /tmp/fb.XXXXXX)
wrk_pid=
sql_pid=
declare -A RES NOTE # per run key: its BENCH line; why it was not measured

say() { echo "bench: [${SECONDS} s] $*" >&2; }
web2_pid=
cleanup() {
	if [ -n "$wrk_pid" ]; then kill -TERM "$wrk_pid" 2>/dev/null || true; fi
	[ -n "$web2_pid" ] && web2_stop
	if [ -n "$sql_pid" ]; then kill -TERM "$sql_pid" 2>/dev/null || true; fi
	# this stack's FastCGI backends, by pid: a backend that ignores SIGTERM
	# would outlive lighttpd (and the folder holding its socket)
	local lp kids= p
	lp=$(cat "$D/lighttpd.pid" 2>/dev/null)
	[ -n "$lp" ] && kids=$(ps -o pid= --ppid "$lp" 2>/dev/null)
	scripts/flashctl stop "$D" >/dev/null 2>&1 || true
	if [ -r "$D/replica/redis.pid" ]; then kill -TERM "$(cat "$D/replica/redis.pid")" 2>/dev/null || true; fi
	[ "${BENCH_TOPOLOGY:-0}" = 1 ] && { scripts/cluster.sh stop "$D" >/dev/null 2>&1 || true; }
	for p in $kids; do
		if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
			say "backend $p outlived lighttpd; killing it"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	if [ "${KEEP:-0}" = 1 ]; then say "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in wrk node cc mariadb redis-cli curl; do
	command -v "$p" >/dev/null || { say "$p is missing (make deps)"; exit 1; }
done
[ -x "$BUILD/bin/trivial" ] || { say "no programs in $BUILD/bin (make all)"; exit 1; }

# BENCH_PUSH_PAIRS (default 2): pairs of accepted-orders runs with the push
# hub on and off, ABBA (on off, off on, ...); 0 skips them
PAIRS=${BENCH_PUSH_PAIRS:-2}
[ "${BENCH_PUSH:-1}" = 0 ] && PAIRS=0

# --- the stack --------------------------------------------------------------
export FLASH_BIN=$BUILD/bin
say "starting the stack in $D"
scripts/flashctl init "$D" --free-ports >/dev/null 2>&1
echo "reconcile_age_ms = 1000" >> "$D/flashsale.conf"
# BENCH_REDIS_CLUSTER=1: the same bench on a 3+3 Redis Cluster (WAIT for one
# replica), to compare with a run without it; redis-cli follows redirections
STARTER=(scripts/flashctl start "$D")
if [ "${BENCH_TOPOLOGY:-0}" = 1 ]; then
	# cluster.sh makes the Redis Cluster and writes its keys into the file
	printf 'redis_wait_replicas = %s\nredis_wait_ms = 100\n' "${BENCH_WAIT_REPLICAS:-1}" >> "$D/flashsale.conf"
	STARTER=(scripts/cluster.sh start "$D" --free-ports)
	redis-cli() { command redis-cli -c "$@"; }
elif [ "${BENCH_REDIS_CLUSTER:-0}" = 1 ]; then
	scripts/redis-cluster.sh start "$D" --free-ports > "$OUT/cluster.log" 2>&1 ||
		{ cat "$OUT/cluster.log" >&2; say "the Redis Cluster did not start"; exit 1; }
	printf 'redis_cluster = 1\nredis_nodes = %s\nredis_port = %s\nredis_wait_replicas = %s\nredis_wait_ms = 100\n' \
		"$(scripts/redis-cluster.sh nodes "$D")" "$(head -1 "$D/redis-cluster/ports")" \
		"${BENCH_WAIT_REPLICAS:-1}" >> "$D/flashsale.conf"
	redis-cli() { command redis-cli -c "$@"; }
fi
# BENCH_REPLICA=1: one Redis with one replica (started below), and WAIT 1 as
# on the Cluster: the single Redis paying the Cluster's durability, so that
# what is left between the two is the cost of routing
if [ "${BENCH_REPLICA:-0}" = 1 ] && [ "${BENCH_REDIS_CLUSTER:-0}" != 1 ] && [ "${BENCH_TOPOLOGY:-0}" != 1 ]; then
	printf 'redis_wait_replicas = 1\nredis_wait_ms = 100\n' >> "$D/flashsale.conf"
else
	BENCH_REPLICA=0
fi
# BENCH_PROCS=N: N processes for each hot endpoint instead of the default
[ -n "${BENCH_PROCS:-}" ] && printf 'procs_hot = %s\nprocs_order = %s\n' "$BENCH_PROCS" "$BENCH_PROCS" >> "$D/flashsale.conf"
conf() { awk -F' *= *' -v k="$1" '$1 == k { v = $2 } END { print v }' "$D/flashsale.conf"; }
PORT=$(conf http_port)
if ! "${STARTER[@]}" > "$OUT/stack.log" 2>&1; then
	# flashctl waits for /api/health, which is 503 while a part is down; the
	# bench can still measure what answers, loudly
	if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/_trivial" 2>/dev/null; then
		say "WARNING: the stack is not healthy; measuring what answers:"
		sed 's/^/  /' "$OUT/stack.log" >&2
		curl -sS "http://127.0.0.1:$PORT/api/health" 2>&1 | sed 's/^/  health: /' >&2; echo >&2
	else
		cat "$OUT/stack.log" >&2; say "the stack did not start"; exit 1
	fi
fi
export FLASH_CONF=$D/flashsale.conf
if [ "$BENCH_REPLICA" = 1 ]; then
	# the replica as the Cluster's are run (scripts/redis-cluster.sh): AOF everysec
	rp=$(conf redis_port); rp2=$((rp + 1000))
	while ss -Htln "sport = :$rp2" | grep -q .; do rp2=$((rp2 + 1)); done
	mkdir -p "$D/replica"
	redis-server --port "$rp2" --bind 127.0.0.1 --dir "$D/replica" --appendonly yes \
		--appendfsync everysec --save '' --daemonize yes --pidfile "$D/replica/redis.pid" \
		--logfile "$D/replica/redis.log" --replicaof 127.0.0.1 "$rp" >/dev/null ||
		{ say "the replica did not start"; exit 1; }
	for _ in $(seq 100); do
		redis-cli -p "$rp2" INFO replication 2>/dev/null | grep -q 'master_link_status:up' && break
		sleep 0.1
	done
	redis-cli -p "$rp2" INFO replication | grep -q 'master_link_status:up' ||
		{ say "the replica did not link up"; exit 1; }
	say "Redis replica on $rp2, WAIT 1"
fi
# BENCH_PUSH=0: the push hub stopped for the whole run (the order path's cost
# of publishing, compared with a run that has it)
[ "${BENCH_PUSH:-1}" = 0 ] && scripts/flashctl hub-stop "$D" >/dev/null 2>&1
RPORT=$(conf redis_port)
URL=http://127.0.0.1:$PORT
sqlv() { mariadb --no-defaults --socket="$D/mysqld.sock" -uroot flash -N -B -e "$1" 2>/dev/null; }

# --- the sales and the users ------------------------------------------------
say "setting up the sales"
# Without sales (the admin API refused) only (d) and (e) are measured.
SALES=1
if timeout 60 node "$BENCH/setup.mjs" > "$OUT/setup.txt" 2> "$OUT/setup.err"; then
	. "$OUT/setup.txt"
	[ "$SOLD_BUY" = 202 ] || say "the one purchase of the sold-out item got $SOLD_BUY, not 202"
	[ "$SOLD_NEXT" = 410 ] || say "a second user on the sold-out item got $SOLD_NEXT, not 410"
else
	SALES=0
	why="the admin API refused the sales: $(grep -m1 -o 'Error: .*' "$OUT/setup.err" | cut -c8-80 | tr -d '|')"
	NOTE[a]=$why; NOTE[b]=$why; NOTE[c]=$why
	say "setting up the sales through the admin API failed: $(grep -m1 -o 'Error: .*' "$OUT/setup.err")"
	say "measuring only (d) and (e)"
fi

# rule_sale RUN: the sale (ra, ri) of a rules run (ron*/rcon*: rules on)
rule_sale() {
	case $1 in
	ron*) ra=$RULES_AID ri=$RULES_IID ;; roff*) ra=$BIG_AID ri=$BIG_IID ;;
	rcon*) ra=$RSOLD_AID ri=$RSOLD_IID ;; *) ra=$SOLD_AID ri=$SOLD_IID ;;
	esac
}
if [ $SALES = 1 ]; then
	GEN=$D/gen_users
	# linked against the build's own libflash.a: no list of lib files to keep in step
	cc -O2 -std=c11 -D_GNU_SOURCE -Ilib $(pkg-config --cflags libcrypto json-c) "$BENCH/gen_users.c" \
		"$BUILD/lib/libflash.a" $(pkg-config --libs fcgi hiredis libmariadb libzmq json-c libcrypto libsodium) \
		-lm -pthread -o "$GEN" || { say "cannot build gen_users"; exit 1; }
	gen() { # file aid iid first count (in the background, both cores)
		FLASH_JWT_SECRET=$(conf jwt_secret) FLASH_ORDER_SECRET=$(conf order_secret) \
			"$GEN" "$2" "$3" "$4" "$5" > "$D/$1" &
	}
	say "generating users"
	# distinct user ranges: no user of one run appears in another
	gen b-warm.txt "$BIG_AID" "$BIG_IID" 1000000 40000
	gen b.txt "$BIG_AID" "$BIG_IID" 2000000 200000
	gen f-warm.txt "$BIG_AID" "$BIG_IID" 6000000 40000
	gen f.txt "$BIG_AID" "$BIG_IID" 7000000 200000
	gen c-warm.txt "$SOLD_AID" "$SOLD_IID" 3000000 40000
	gen c.txt "$SOLD_AID" "$SOLD_IID" 4000000 200000
	gen h.txt "$HND_AID" "$HND_IID" 5000000 "$HN"
	# the order path with the push hub on and off (PAIRS pairs, below)
	PUSH_USERS=
	for k in $(seq "$PAIRS"); do
		for s in on off; do
			gen "$s$k-warm.txt" "$BIG_AID" "$BIG_IID" $((8000000 + k * 400000 + ${#s} * 100000)) 40000
			gen "$s$k.txt" "$BIG_AID" "$BIG_IID" $((8000000 + k * 400000 + ${#s} * 100000 + 40000)) 60000
			PUSH_USERS="$PUSH_USERS $s$k-warm.txt:40000 $s$k.txt:60000"
		done
	done
	# the sale rules on (RULES, RSOLD) and off (BIG, SOLD): accepted ABBA BAAB (each
	# side in the same places on average; 8 runs: one 4-run block moved by +-4%),
	# sold out ABBA (docs/GUARD-RULES.md "Cost")
	# (BENCH_RULES_RUNS: another order or more rounds, names r[c]on|r[c]off + a digit)
	# (refusals need as many users as (c): 60,000 ran out in 3.5 of the 8 s,
	# and both sides then showed the same 7,492/s)
	RULES_USERS=; RULES_RUNS=${BENCH_RULES_RUNS:-ron1 roff1 roff2 ron2 roff3 ron3 ron4 roff4 rcon1 rcoff1 rcoff2 rcon2}; k=0
	for r in $RULES_RUNS; do
		rule_sale "$r"; k=$((k + 1)); rn=60000; case $r in rc*) rn=200000 ;; esac
		gen "$r-warm.txt" "$ra" "$ri" $((12000000 + k * 300000)) 40000
		gen "$r.txt" "$ra" "$ri" $((12000000 + k * 300000 + 40000)) $rn
		RULES_USERS="$RULES_USERS $r-warm.txt:40000 $r.txt:$rn"
	done
	# BENCH_SHARDS > 1: (k), the accepting path on a sharded item (docs/SHARDS.md)
	SHD_USERS=
	if [ -n "${SHD_AID:-}" ]; then
		gen k-warm.txt "$SHD_AID" "$SHD_IID" 20000000 40000
		gen k.txt "$SHD_AID" "$SHD_IID" 20100000 200000
		SHD_USERS="k-warm.txt:40000 k.txt:200000"
	fi
	wait
	for f in b-warm.txt:40000 b.txt:200000 f-warm.txt:40000 f.txt:200000 c-warm.txt:40000 c.txt:200000 h.txt:$HN $PUSH_USERS $RULES_USERS $SHD_USERS; do
		[ "$(wc -l < "$D/${f%%:*}")" = "${f#*:}" ] || { say "gen_users failed (${f%%:*})"; exit 1; }
	done
fi

# static: the shop's front page, else a 1 KiB file in the CDN origin folder
if [ -f static/index.html ]; then
	STATIC=/index.html
else
	head -c 1024 /dev/zero | tr '\0' 'x' > "$(conf origin_dir)/bench.html"
	STATIC=/cdn/bench.html
fi

# --- wrk --------------------------------------------------------------------
# wrk_run label seconds path script [script args]: one run into OUT/label.txt
wrk_run() {
	local label=$1 secs=$2 path=$3 script=$4; shift 4
	local a=()
	[ $# -gt 0 ] && a=(-- "$@")
	timeout $((secs + 60)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 5s --latency \
		-s "$BENCH/$script" "$URL$path" "${a[@]}" > "$OUT/$label.txt" 2>&1
}
bench_line() { grep '^BENCH ' "$OUT/$1.txt" 2>/dev/null | tail -1; }
field() { # line key
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# CPU time (clock ticks) of the stack's parts, of the client (the children of
# this shell: wrk, and the polls of the handler measurement) and of the whole machine, whose
# rest is the other work on it. cpu_mark FILE before, cpu_mark FILE after.
cpu_mark() {
	local c lp rp files=() names=()
	add() { [ -n "$2" ] && [ -r "/proc/$2/stat" ] && { names+=("$1"); files+=("/proc/$2/stat"); }; }
	lp=$(cat "$D/lighttpd.pid" 2>/dev/null)
	add lighttpd "$lp"
	[ -n "$lp" ] && for c in $(ps -o pid= --ppid "$lp"); do add fastcgi "$c"; done
	rp=$(cat "$D/redis.pid" 2>/dev/null)
	add redis "$rp"
	# an AOF rewrite child is Redis's work: live ones here, reaped ones in
	# redis-server's cutime (below), not "rest"
	[ -n "$rp" ] && for c in $(ps -o pid= --ppid "$rp"); do add redis "$c"; done
	# a Redis Cluster's nodes (masters and replicas), and the BENCH_REPLICA one
	for c in "$D"/redis-cluster/*/redis.pid "$D"/replica/redis.pid; do [ -r "$c" ] && add redis "$(cat "$c")"; done
	add mariadb "$(cat "$D/mysqld.pid" 2>/dev/null)"
	add handler "$(cat "$D/order_handler.pid" 2>/dev/null)"
	add hub "$(cat "$D/push_hub.pid" 2>/dev/null)"
	add client $$
	# one awk reads them all at about the same instant as the clock
	# (by file name: a child that exits meanwhile is skipped, not misnamed)
	awk -v names="${names[*]}" -v files="${files[*]}" -v self="/proc/$$/stat" -v kids="/proc/$rp/stat" '
	BEGIN { n = split(names, a, " "); split(files, b, " "); for (i = 1; i <= n; i++) nm[b[i]] = a[i] }
	FILENAME == "/proc/uptime" { print "time", $1; next }
	FILENAME == "/proc/stat" { if ($1 == "cpu") print "machine", $2 + $3 + $4 + $7 + $8 + $9; next }
	{
		line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
		# the client: wrk and the other children this shell has waited for
		print nm[FILENAME], (FILENAME == self ? f[14] + f[15] : f[12] + f[13] + (FILENAME == kids ? f[14] + f[15] : 0))
	}' /proc/uptime "${files[@]}" /proc/stat 2>/dev/null >> "$1"
}
cpu_row() { # label file-before file-after: one row of the CPU table
	awk -v label="$1" -v hz="$(getconf CLK_TCK)" '
	$1 == "time" { t[FILENAME == ARGV[1] ? 0 : 1] = $2; next }
	{ v[$1] += (FILENAME == ARGV[1] ? -$2 : $2) }
	END {
		s = t[1] - t[0]; if (s <= 0) s = 1
		split("lighttpd fastcgi redis mariadb handler hub client", k, " ")
		line = sprintf("| %-30s |", label); sum = 0
		for (i = 1; i <= 7; i++) { p = 100 * v[k[i]] / hz / s; sum += p; line = line sprintf(" %7.0f%% |", p) }
		rest = 100 * v["machine"] / hz / s - sum; if (rest < 0) rest = 0
		print line sprintf(" %7.0f%% |", rest)
	}' "$2" "$3"
}

# measure key label path script [args]: a warm-up, then the run; RES[key]
# holds its BENCH line. order.lua runs take users from KEY-warm.txt, KEY.txt.
CPU_ROWS=()
# BENCH_ONLY="b c": only those rows (keys of measure; h the handler alone, p
# the push pairs, r the rules runs): a quick look at one path while working
only() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
measure() {
	local key=$1 label=$2 path=$3 script=$4 warmfile= runfile=; shift 4
	local sect=${key:0:1}
	case $key in on[0-9]*|off[0-9]*) sect=p ;; esac
	if ! only "$key" && ! only "$sect"; then NOTE[$key]="not in BENCH_ONLY"; return 0; fi
	say "$label: ${WARM} s warm-up, ${DUR} s run"
	if [ "$script" = order.lua ] || [ "$script" = grab.lua ]; then warmfile=$D/$key-warm.txt; runfile=$D/$key.txt; fi
	wrk_run "$key-warm" "$WARM" "$path" "$script" ${warmfile:+"$warmfile"} "$@"
	redis-cli -p "$RPORT" CONFIG RESETSTAT > /dev/null 2>&1
	redis-cli -p "$RPORT" INFO persistence > "$OUT/$key.persist0" 2>/dev/null
	cpu_mark "$OUT/$key.cpu0"
	wrk_run "$key" "$DUR" "$path" "$script" ${runfile:+"$runfile"} "$@"
	cpu_mark "$OUT/$key.cpu1"
	redis-cli -p "$RPORT" INFO commandstats > "$OUT/$key.redis" 2>/dev/null
	redis-cli -p "$RPORT" INFO persistence > "$OUT/$key.persist" 2>/dev/null
	CPU_ROWS+=("$key|$label")
	RES[$key]=$(bench_line "$key")
	[ -n "${RES[$key]}" ] || say "$label: wrk gave no result (see $OUT/$key.txt)"
}

# (b) last: its accepted orders keep the order handler and MySQL busy after
# the run, which would weigh on whatever ran next
measure d "GET /api/_trivial" /api/_trivial stats.lua
measure e "GET $STATIC" "$STATIC" stats.lua
[ $SALES = 1 ] && measure a "GET /api/detail" "/api/detail/$BIG_AID/$BIG_IID" stats.lua
[ $SALES = 1 ] && measure c "POST /api/order, sold out" /api/order order.lua "$THREADS" "$SOLD_AID" "$SOLD_IID"

# --- the order handler alone --------------------------------------------------
# stop it; place HN orders as distinct users (each thread stops at the end of
# its share: it drops a file, then wrk is told to finish); they wait in the
# Redis journal and in the ZeroMQ buffers of the place_order processes; start
# the handler and time until MySQL holds them all.
h_secs=; h_place=; HACC=0
if [ $SALES = 1 ] && only h; then
	say "order handler: placing $HN orders while it is stopped"
	scripts/flashctl handler-stop "$D" >> "$OUT/stack.log" 2>&1
	hkey="fs:{$HND_AID:$HND_IID}:stock"
	h_before=$(redis-cli -p "$RPORT" --raw GET "$hkey")
	redis-cli -p "$RPORT" CONFIG RESETSTAT > /dev/null 2>&1
	cpu_mark "$OUT/h-place.cpu0"
	wrk -t"$THREADS" -c"$CONNS" -d15s --timeout 5s -s "$BENCH/order.lua" "$URL/api/order" \
		-- "$D/h.txt" "$THREADS" "$HND_AID" "$HND_IID" "$D/h-done" > "$OUT/h-place.txt" 2>&1 &
	wrk_pid=$!
	for _ in $(seq 150); do # 15 s at most, as wrk -d
		n=$(ls "$D"/h-done.* 2>/dev/null | wc -l)
		[ "$n" -ge "$THREADS" ] && break
		kill -0 "$wrk_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$wrk_pid" 2>/dev/null; wait "$wrk_pid"; wrk_pid=
	cpu_mark "$OUT/h-place.cpu1"
	redis-cli -p "$RPORT" INFO commandstats > "$OUT/h-place.redis" 2>/dev/null
	CPU_ROWS+=("h-place|orders placed, handler stopped")
	sleep 1 # the last requests still in lighttpd
	h_after=$(redis-cli -p "$RPORT" --raw GET "$hkey")
	h_place=$(grep '^BENCH ' "$OUT/h-place.txt" | tail -1)
	RES[h-place]=$h_place
	if [ -n "$h_before" ] && [ -n "$h_after" ]; then
		HACC=$((h_before - h_after))
	else # no stock counter to read: trust the 202s wrk saw
		HACC=$(field "$h_place" statuses | tr ',' '\n' | sed -n 's/^202://p')
		HACC=${HACC:-0}
	fi
	h_rows0=$(sqlv "SELECT COUNT(*) FROM orders WHERE activity_id=$HND_AID")
	say "order handler: $HACC accepted (Redis stock $h_before -> $h_after), $h_rows0 rows before it starts"
	h_reconcile=0; h_rows=${h_rows0:-0}
	if [ "$HACC" -gt 0 ]; then
		# one mariadb client for all the polls: a process a poll would
		# take CPU from the handler being measured
		coproc SQLP { exec mariadb --no-defaults --socket="$D/mysqld.sock" -uroot flash -N -B -n 2>/dev/null; }
		sql_pid=$SQLP_PID
		redis-cli -p "$RPORT" CONFIG RESETSTAT > /dev/null 2>&1
		cpu_mark "$OUT/h-drain.cpu0"
		t0=$(date +%s.%N)
		scripts/flashctl handler-start "$D" >> "$OUT/stack.log" 2>&1
		last=$h_rows; still=0
		for _ in $(seq 300); do # 0.1 s steps, 30 s at most: make bench has 3 minutes
			echo "SELECT COUNT(*) FROM orders WHERE activity_id=$HND_AID;" >&"${SQLP[1]}"
			read -r -t 5 h_rows <&"${SQLP[0]}" || h_rows=$last
			case $h_rows in ''|*[!0-9]*) h_rows=$last ;; esac
			[ "$h_rows" -ge "$HACC" ] && break
			if [ "$h_rows" = "$last" ]; then still=$((still + 1)); else still=0; last=$h_rows; fi
			# no progress for 3 s: whatever ZeroMQ lost only the journal has; replay it
			if [ "$still" -ge 30 ] && [ "$h_reconcile" = 0 ]; then
				say "order handler: stuck at $h_rows of $HACC, running reconcile"
				h_reconcile=1
				FLASH_CONF=$D/flashsale.conf timeout 20 "$BUILD/bin/reconcile" >> "$OUT/reconcile.log" 2>&1 ||
					say "reconcile failed (see $OUT/reconcile.log)"
				still=0
			fi
			sleep 0.1
		done
		t1=$(date +%s.%N)
		cpu_mark "$OUT/h-drain.cpu1"
		redis-cli -p "$RPORT" INFO commandstats > "$OUT/h-drain.redis" 2>/dev/null
		kill "$sql_pid" 2>/dev/null; wait "$sql_pid" 2>/dev/null; sql_pid=
		CPU_ROWS+=("h-drain|order handler draining")
		h_secs=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')
		RES[h-drain]="requests=$h_rows" # per order written, for redis_row
	fi
fi

# the accepting path under both AOF fsync policies, each alone: the order
# handler has written the orders of what ran before (30 s at most)
drained() { # [aid iid]: BIG by default
	local n
	for _ in $(seq 300); do
		n=$(redis-cli -p "$RPORT" --raw HLEN "fs:{${1:-$BIG_AID}:${2:-$BIG_IID}}:journal" 2>/dev/null)
		[ "${n:-1}" = 0 ] && return 0
		sleep 0.1
	done
	say "the handler did not catch up (journal $n)"
}
# aof_settle: for a comparison of runs (ABBA), Redis's own AOF rewrites
# (auto-aof-rewrite-percentage: each time the file has doubled, which a run
# of accepted orders does: ~1.4 KB of AOF an order) are turned off, and the
# file is rewritten between runs instead: otherwise a rewrite (a forked
# child taking most of a core for seconds, the parent's copy-on-write faults)
# lands in some runs and not in others, by where the file happened to double,
# not by what the run did (docs/GUARD-RULES.md "Cost"). aof_auto restores.
AOF_PCT=
aof_auto() { [ -n "$AOF_PCT" ] && redis-cli -p "$RPORT" CONFIG SET auto-aof-rewrite-percentage "$AOF_PCT" > /dev/null; AOF_PCT=; }
aof_rewriting() {
	redis-cli -p "$RPORT" INFO persistence 2>/dev/null | tr -d '\r' | grep -qE '^aof_rewrite_(in_progress|scheduled):1'
}
aof_settle() {
	local i
	if [ -z "$AOF_PCT" ]; then
		AOF_PCT=$(redis-cli -p "$RPORT" --raw CONFIG GET auto-aof-rewrite-percentage 2>/dev/null | tail -1)
		redis-cli -p "$RPORT" CONFIG SET auto-aof-rewrite-percentage 0 > /dev/null 2>&1
	fi
	for i in 1 2; do
		for _ in $(seq 600); do aof_rewriting || break; sleep 0.1; done # 60 s at most
		[ $i = 1 ] && redis-cli -p "$RPORT" BGREWRITEAOF > /dev/null 2>&1
	done
	aof_rewriting && say "an AOF rewrite still runs after 60 s"
}
FSYNC0=$(redis-cli -p "$RPORT" --raw CONFIG GET appendfsync 2>/dev/null | tail -1)
if [ $SALES = 1 ]; then
	drained; aof_settle
	redis-cli -p "$RPORT" CONFIG SET appendfsync always > /dev/null
	measure f "POST /api/order, fsync always" /api/order order.lua "$THREADS" "$BIG_AID" "$BIG_IID"
	drained; aof_settle
	redis-cli -p "$RPORT" CONFIG SET appendfsync everysec > /dev/null
	measure b "POST /api/order, accepted" /api/order order.lua "$THREADS" "$BIG_AID" "$BIG_IID"
	redis-cli -p "$RPORT" CONFIG SET appendfsync "${FSYNC0:-everysec}" > /dev/null
	if [ -n "${SHD_AID:-}" ]; then
		drained
		measure k "POST /api/order, accepted, sharded" /api/order order.lua "$THREADS" "$SHD_AID" "$SHD_IID"
	fi
	aof_auto
fi
# the same accepting path with the push hub on, then stopped (flashctl
# hub-stop: place-order's publishes then queue in its ZeroMQ socket and are
# dropped past 1,000), in ABBA order so that a drift of the machine's other
# load weighs on both alike; each run after the handler caught up
PUSH_ORDER=
if [ $SALES = 1 ] && [ "$PAIRS" -gt 0 ] && only p; then
	for k in $(seq "$PAIRS"); do
		if [ $((k % 2)) = 1 ]; then two="on off"; else two="off on"; fi
		for s in $two; do
			drained; aof_settle
			if [ $s = on ]; then
				scripts/flashctl hub-start "$D" >> "$OUT/stack.log" 2>&1 || say "the push hub did not start"
			else
				scripts/flashctl hub-stop "$D" >> "$OUT/stack.log" 2>&1 || say "the push hub did not stop"
			fi
			PUSH_ORDER="$PUSH_ORDER $s$k"
			measure "$s$k" "POST /api/order, hub $s ($k)" /api/order order.lua "$THREADS" "$BIG_AID" "$BIG_IID"
		done
	done
	scripts/flashctl hub-start "$D" >> "$OUT/stack.log" 2>&1 || say "the push hub did not start again"
	aof_auto
fi
# the sale rules (docs/GUARD-RULES.md): orders on sales with every rule on and
# a blocklist of 2 x BLOCKED entries, against sales without, each user from
# its own address (X-Forwarded-For, so the per-address counter runs; the
# per-address rate limit then costs both sides the same Redis call)
if [ $SALES = 1 ] && [ "${BENCH_RULES:-1}" = 1 ] && only r; then
	export BENCH_XFF=1
	for r in $RULES_RUNS; do
		rule_sale "$r"; drained "$BIG_AID" "$BIG_IID"; drained "$RULES_AID" "$RULES_IID"; aof_settle
		measure "$r" "POST /api/order, rules $r" /api/order order.lua "$THREADS" "$ra" "$ri"
	done
	aof_auto
	unset BENCH_XFF
fi
# did the handler keep up during (b)? what the journal still holds at its end
b_backlog=
[ $SALES = 1 ] && b_backlog=$(redis-cli -p "$RPORT" --raw HLEN "fs:{$BIG_AID:$BIG_IID}:journal" 2>/dev/null)
# red-packet rain (docs/RAIN.md): grabs on an empty pot (users of (c), none
# a holder: 410) and grabs while packets last (users of (b): 200)
if [ $SALES = 1 ] && { only g || only w; } && timeout 60 node "$BENCH/rain_setup.mjs" > "$OUT/rain.txt" 2>> "$OUT/setup.err"; then
	. "$OUT/rain.txt"
	for k in g:c w:b; do ln -sf "$D/${k#*:}-warm.txt" "$D/${k%:*}-warm.txt"; ln -sf "$D/${k#*:}.txt" "$D/${k%:*}.txt"; done
	measure g "POST rain grab, empty pot" "/api/rain/$RAIN_EMPTY/grab" grab.lua "$THREADS" "$RAIN_EMPTY"
	measure w "POST rain grab, packets left" "/api/rain/$RAIN_BIG/grab" grab.lua "$THREADS" "$RAIN_BIG"
fi
# (s) the shedding answer (503 + Retry-After, lib/shed.h): Redis stopped, so
# place-order's breaker opens and every order is shed at once, with the same
# answer as a backlog shed; last, Redis starts again only afterwards
if [ $SALES = 1 ] && [ "${BENCH_SHED:-1}" = 1 ] && only s; then
	scripts/flashctl redis-stop "$D" >> "$OUT/stack.log" 2>&1
	ln -sf "$D/c-warm.txt" "$D/s-warm.txt"; ln -sf "$D/c.txt" "$D/s.txt"
	measure s "POST /api/order, shed (503)" /api/order order.lua "$THREADS" "$SOLD_AID" "$SOLD_IID"
	scripts/flashctl redis-start "$D" >> "$OUT/stack.log" 2>&1 || say "Redis did not start again"
fi

# --- the table --------------------------------------------------------------
d_rps=$(field "${RES[d]:-}" rps)
row() { # key name expected-status
	local line=${RES[$1]:-} rps p50 p99 st req err exh
	rps=$(field "$line" rps); p50=$(field "$line" p50_us); p99=$(field "$line" p99_us)
	st=$(field "$line" statuses); req=$(field "$line" requests); err=$(field "$line" errors)
	exh=$(field "$line" exhausted)
	echo "$1|$2|$3|$rps|${p50:-0}|${p99:-0}|${st:-none}|${req:-0}|${err:-0/0/0/0}|${exh:-0}|${d_rps:-0}|${NOTE[$1]:-wrk gave no result, see $OUT/$1.txt}"
}
{
	row a "(a) GET /api/detail/{aid}/{iid}" 200
	row b "(b) POST /api/order, accepted" 202
	row f "(b') the same, appendfsync always" 202
	[ -n "${SHD_AID:-}" ] && row k "(k) the same, ${BENCH_SHARDS} stock shards" 202
	row c "(c) POST /api/order, sold out" 410
	row s "(s) POST /api/order, shed (503)" 503
	row d "(d) GET /api/_trivial (ceiling)" 200
	row e "(e) GET $STATIC (static)" 200
	for r in ${RULES_RUNS:-}; do # the sale rules on vs off (summary below the table)
		[ -n "${RES[$r]:-}" ] || continue
		case $r in
		rc*) k=${r#rc}; row "$r" "(r) sold out, rules ${k%[0-9]} (${k##*[a-z]})" 410 ;;
		*) k=${r#r}; row "$r" "(r) accepted, rules ${k%[0-9]} (${k##*[a-z]})" 202 ;;
		esac
	done
	row g "(g) POST /api/rain/{rid}/grab, empty" 410
	row w "(w) POST /api/rain/{rid}/grab, left" 200
} > "$OUT/rows.txt"

{
echo "flashsale bench, $(date -u '+%Y-%m-%d %H:%M UTC'), build $(basename "$BUILD"), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk $THREADS threads, $CONNS connections, ${WARM} s warm-up + ${DUR} s per run, on the same machine as the stack;"
echo "$(conf procs_hot) FastCGI processes for detail and trivial, $(conf procs_order) for place-order"
echo
awk -F'|' '
function ratio(r, d) { return d > 0 ? sprintf("%.2f", r / d) : "-" }
function dash(n, s) { s = ""; while (n-- > 0) s = s "-"; return s }
BEGIN {
	printf "| %-34s | %9s | %7s | %7s | %7s | %-14s | %s |\n", "endpoint", "req/s", "p50 ms", "p99 ms", "vs (d)", "expected", "other statuses, errors"
	printf "|%s|%s:|%s:|%s:|%s:|%s|%s|\n", dash(36), dash(10), dash(8), dash(8), dash(8), dash(16), dash(24)
}
$4 == "" {
	printf "| %-34s | %9s | %7s | %7s | %7s | %-14s | %s |\n", $2, "-", "-", "-", "-", "not measured", "see below"
	bad = bad sprintf("NOT MEASURED: %s: %s\n", $2, $12)
	next
}
{
	key = $1; name = $2; want = $3; rps = $4; p50 = $5 / 1000; p99 = $6 / 1000
	n = split($7, sts, ","); tot = 0; ok = 0; other = ""
	for (i = 1; i <= n; i++) {
		split(sts[i], kv, ":"); if (kv[2] == "") continue
		tot += kv[2]
		if (kv[1] == want) ok += kv[2]; else other = other (other == "" ? "" : " ") kv[1] "x" kv[2]
	}
	split($9, e, "/")
	if (e[1] + e[2] + e[3] + e[4] > 0) other = other (other == "" ? "" : " ") "socket errors c/r/w/t " $9
	if ($10 > 0) other = other (other == "" ? "" : " ") "users ran out: " $10 " repeats"
	share = tot > 0 ? sprintf("%s %5.1f%%", want, 100 * ok / tot) : want " none"
	printf "| %-34s | %9.0f | %7.2f | %7.2f | %7s | %-14s | %s |\n", name, rps, p50, p99, ratio(rps, $11), share, other == "" ? "-" : other
	if (tot > 0 && ok / tot < 0.95) bad = bad sprintf("INVALID: %s answered %s to only %.1f%% of requests: it did not measure that path\n", name, want, 100 * ok / tot)
	if (tot == 0) bad = bad sprintf("INVALID: %s got no response\n", name)
}
END { if (bad != "") printf "\n%s", bad }
' "$OUT/rows.txt"
echo
b_rps=$(field "${RES[b]:-}" rps); f_rps=$(field "${RES[f]:-}" rps)
if [ -n "$b_rps" ] && [ -n "$f_rps" ]; then
	awk -v b="$b_rps" -v f="$f_rps" -v d="$FSYNC0" 'BEGIN {
		printf "Redis AOF: (b) ran with appendfsync everysec, (b\x27) with always: %.0f against %.0f accepted orders/s, always = %.2f of everysec (costs %.0f%%); this stack'"'"'s default is %s\n", f, b, f / b, 100 * (1 - f / b), d }'
fi
r_rps=$(field "${RES[w]:-}" rps); g_rps=$(field "${RES[g]:-}" rps)
if [ -n "$r_rps" ] && [ -n "$g_rps" ] && [ -n "$b_rps" ] && [ -n "$d_rps" ]; then
	awk -v r="$r_rps" -v g="$g_rps" -v b="$b_rps" -v d="$d_rps" 'BEGIN {
		printf "rain: grabs on an empty pot / trivial = %.2f (goal >= 0.9); grabs while packets last / accepted orders = %.2f (goal >= 1)\n", g / d, r / b }'
fi
if [ -n "$PUSH_ORDER" ]; then
	pl=
	for k in $PUSH_ORDER; do
		# the other jobs' CPU during the run: the "rest" column of its CPU row
		rest=$(cpu_row x "$OUT/$k.cpu0" "$OUT/$k.cpu1" 2>/dev/null | awk -F'|' '{ gsub(/[ %]/, "", $(NF - 1)); print $(NF - 1) }')
		pl="$pl $k=$(field "${RES[$k]:-}" rps)/$(field "${RES[$k]:-}" statuses | tr ',' '\n' | sed -n 's/^202://p')/$(field "${RES[$k]:-}" requests)/${rest:-?}"
	done
	echo "$pl" | awk -v la="$(cut -d' ' -f1-3 /proc/loadavg)" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "="); split(kv[2], v, "/"); k = kv[1]; s = k ~ /^on/ ? "on" : "off"
			rps = v[1] + 0; if (v[3] > 0) rps *= v[2] / v[3] # the accepted share
			sum[s] += rps; n[s]++; runs = runs sprintf(" %s %.0f (other jobs %s%%),", k, rps, v[4])
			if (rps <= 0) bad = 1
		}
		sub(/,$/, "", runs)
		if (n["on"] && n["off"] && !bad)
			printf "push hub on vs off (accepted orders/s, the same run, back to back):%s; on/off = %.2f (goal >= 0.95); load average now %s\n", runs, (sum["on"] / n["on"]) / (sum["off"] / n["off"]), la
		else
			printf "push hub on vs off: NOT MEASURED (a run gave no result:%s)\n", runs
	}'
fi
stack_us() { # run: CPU microseconds of the stack's parts per request (less
	# moved by other jobs on the machine than req/s is)
	awk -v hz="$(getconf CLK_TCK)" -v n="$(field "${RES[$1]:-}" requests)" '
	$1 ~ /^(lighttpd|fastcgi|redis|mariadb|handler)$/ { v += (FILENAME == ARGV[1] ? -$2 : $2) }
	END { printf "%.0f", (n > 0 ? 1e6 * v / hz / n : 0) }' "$OUT/$1.cpu0" "$OUT/$1.cpu1" 2>/dev/null
}
aof_in() { # run: bytes the AOF grew by, or -1 when a rewrite ran in it (its counter was reset at the start)
	cat "$OUT/$1.persist0" "$OUT/$1.persist" 2>/dev/null | tr -d '\r' | awk -F: '
	/^aof_rewrite_in_progress:1|^aof_rewrites:[1-9]/ { x = 1 }
	/^aof_current_size:/ { sz[n++] = $2 }
	END { print (x || n < 2) ? -1 : sz[1] - sz[0] }'
}
if [ -n "${RES[ron1]:-}" ]; then
	rl=
	for r in $RULES_RUNS; do
		w=202; case $r in rc*) w=410 ;; esac
		rest=$(cpu_row x "$OUT/$r.cpu0" "$OUT/$r.cpu1" 2>/dev/null | awk -F'|' '{ gsub(/[ %]/, "", $(NF - 1)); print $(NF - 1) }')
		rl="$rl $r=$(field "${RES[$r]:-}" rps)/$(field "${RES[$r]:-}" statuses | tr ',' '\n' | sed -n "s/^$w://p")/$(field "${RES[$r]:-}" requests)/$(stack_us "$r")/${rest:-?}/$(aof_in "$r")/$(field "${RES[$r]:-}" exhausted)"
	done
	echo "$rl" | awk -v nb="${BLOCKED:-0}" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "="); split(kv[2], v, "/"); k = kv[1]
			rps = v[1] + 0; if (v[3] > 0) rps *= v[2] / v[3] # the expected share
			s = (k ~ /^rc/ ? "r" : "a") (k ~ /on/ ? "on" : "off"); sum[s] += rps; n[s]++
			us[s] += v[4]; runs = runs sprintf(" %s %.0f/s %d us (other jobs %s%%, %s),", k, rps, v[4], v[5],
				v[6] < 0 ? "AN AOF REWRITE" : sprintf("AOF %.0f B", v[3] > 0 ? v[6] / v[3] : 0))
			if (v[7] > 0) { bad[substr(s, 1, 1)] = 1; runs = runs " USERS RAN OUT," }
		}
		sub(/,$/, "", runs)
		for (t = 0; t < 2; t++) { p = t ? "r" : "a"
			if (bad[p]) ratio[p] = cpu[p] = "INVALID (users ran out: orders/s is users / run length)"
			else if (n[p "on"] && n[p "off"] && sum[p "off"] > 0 && us[p "on"] > 0) {
				ratio[p] = sprintf("%.3f", (sum[p "on"] / n[p "on"]) / (sum[p "off"] / n[p "off"]))
				cpu[p] = sprintf("%.3f", us[p "on"] / us[p "off"])
			} else ratio[p] = cpu[p] = "NOT MEASURED" }
		printf "sale rules + blocklist (%d users, %d addresses) on vs off, the same run (orders/s, stack CPU per order):%s\n", nb, nb, runs
		printf "  accepted on/off = %s (CPU per order %s), sold-out refusals on/off = %s (CPU %s); goal: within 0.95..1.05\n", ratio["a"], cpu["a"], ratio["r"], cpu["r"]
	}'
fi
if [ -n "$h_secs" ]; then
	awk -v n="$HACC" -v rows="$h_rows" -v s="$h_secs" -v rec="$h_reconcile" 'BEGIN {
		printf "order handler alone: %d of %d queued orders persisted in %.2f s = %.0f orders/s", rows - 0, n, s, (s > 0 ? rows / s : 0)
		printf "%s\n", rec == 1 ? " (INCLUDES a reconcile run: ZeroMQ buffers lost some)" : " (from the ZeroMQ buffers, no reconcile needed)"
		if (rows < n) printf "INCOMPLETE: MySQL holds %d of the %d accepted orders after %.0f s\n", rows, n, s
	}'
	echo "  (placed while the handler was stopped: $(field "$h_place" statuses) at $(field "$h_place" rps | cut -d. -f1) req/s)"
	[ -n "$b_backlog" ] && echo "  (at the end of (b), $b_backlog accepted orders were not in MySQL yet: the handler's backlog)"
elif [ $SALES = 0 ]; then
	echo "order handler alone: not measured: no sales"
else
	echo "order handler alone: not measured: none of the $HN orders was accepted (statuses $(field "$h_place" statuses))"
fi
# what Redis did for each request of a run: INFO commandstats (inner calls of
# scripts are counted too, and their time is inside EVALSHA's)
redis_row() { # key label
	local reqs; reqs=$(field "${RES[$1]:-}" requests)
	[ -s "$OUT/$1.redis" ] && [ "${reqs:-0}" -gt 0 ] || return 0
	tr -d '\r' < "$OUT/$1.redis" | awk -F'[:,=]' -v n="$reqs" '
	/^cmdstat_/ { sub(/^cmdstat_/, "", $1); printf "%d %s %.2f %.0f\n", $5, $1, $3 / n, $5 / $3 }' |
		sort -rn | awk -v label="$2" -v n="$reqs" '
	{ calls += $3; if (NR <= 6 && $3 >= 0.01) out = out sprintf(" %s %.2f x %d us,", $2, $3, $4) }
	END { sub(/,$/, "", out); printf "  %-30s %5.2f calls/request;%s\n", label, calls, out == "" ? " none" : " most time: " out }'
}
echo "Redis commands per request of each run, with the handler's own while it runs"
echo "(calls per request x microseconds per call; a script's time holds its inner calls):"
for r in "${CPU_ROWS[@]}"; do redis_row "${r%%|*}" "${r#*|}"; done
echo
echo "CPU during each measured run, % of one core (this machine has $(nproc) cores: $(( $(nproc) * 100 ))% in all);"
echo "\"client\" is wrk and this script, \"rest\" everything else on the machine (other jobs):"
echo
printf '| %-30s | %8s | %8s | %8s | %8s | %8s | %8s | %8s | %8s |\n' run lighttpd FastCGI redis mariadb handler "push hub" client rest
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------------- ---------: ---------: ---------: ---------: ---------: ---------: ---------: ---------:
for r in "${CPU_ROWS[@]}"; do
	[ -s "$OUT/${r%%|*}.cpu1" ] && cpu_row "${r#*|}" "$OUT/${r%%|*}.cpu0" "$OUT/${r%%|*}.cpu1"
done
} > "$OUT/table.txt"
cat "$OUT/table.txt"
# --- the push channel (tests/bench/push.mjs) ---------------------------------
# A second web node: another lighttpd (the same lighttpd.conf, its own port,
# state folder, pid and FastCGI backends, one process each) whose /api/push
# reaches the SAME hub socket, as several web nodes in front of one hub would.
# lighttpd holds two descriptors a WebSocket and this container's hard limit
# of open files is 20,000, so one lighttpd alone cannot carry 10,000 of them;
# the hub needs one a socket. web2_start sets web2_pid and WEB2_PORT.
W2=$D/web2
web2_start() {
	local fp
	mkdir -p "$W2/tmp" "$W2/deflate-cache" || return 1
	ln -sf "$D/push.sock" "$W2/push.sock"
	fp=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })') || return 1
	sed -e "s|^var.http_port = .*|var.http_port = $fp|" -e "s|^var.state = .*|var.state = \"$W2\"|" \
		-e 's|^var.procs_\([a-z]*\) = .*|var.procs_\1 = 1|' "$D/lighttpd-vars.conf" > "$W2/lighttpd-vars.conf"
	env FLASH_VAR="$W2" FLASH_CONF="$D/flashsale.conf" lighttpd -f "$ROOT/lighttpd.conf" < /dev/null \
		> "$W2/start.log" 2>&1 || { cat "$W2/start.log" >&2; return 1; }
	for _ in $(seq 100); do # 10 s at most
		web2_pid=$(cat "$W2/lighttpd.pid" 2>/dev/null)
		[ -n "$web2_pid" ] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$fp/api/_trivial" && break
		sleep 0.1
	done
	[ -n "$web2_pid" ] || return 1
	WEB2_PORT=$fp
}
web2_stop() { # lighttpd, then its FastCGI backends, by pid
	local kids p
	kids=$(ps -o pid= --ppid "$web2_pid" 2>/dev/null)
	kill -TERM "$web2_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$web2_pid" 2>/dev/null || break; sleep 0.1; done
	for p in $kids; do kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
	web2_pid=
}
# (the push section watches one node's lighttpd: not in the topology run)
if [ "${BENCH_PUSH:-1}" != 0 ] && [ "${BENCH_TOPOLOGY:-0}" != 1 ] && only p; then
	say "push channel: ${BENCH_PUSH_SOCKETS:-10000} sockets over two lighttpd front ends, then a rush of orders"
	WEB2_PORT=
	web2_start || say "the second lighttpd did not start (see $W2/start.log): one front end only"
	FLASH_STATE=$D FLASH_ROOT=$ROOT BENCH_WEB2_PID=$web2_pid BENCH_WEB2_PORT=$WEB2_PORT \
		node "$BENCH/push.mjs" | tee -a "$OUT/table.txt"
	[ -n "$web2_pid" ] && web2_stop
fi
say "done in ${SECONDS} s; raw wrk outputs in $OUT"
