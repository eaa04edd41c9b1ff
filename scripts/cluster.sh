#!/usr/bin/env bash
# cluster.sh: the whole scale-out topology on one machine (API.md "Scale-out"),
# its state in one folder DIR (var/ for `make cluster`):
#   cluster.sh start DIR [--free-ports]  Redis Cluster (3+3), MariaDB primary + replica
#                                        (GTID, semi-sync, replica read_only), the push hub,
#                                        2 order handlers, 2 web nodes (lighttpd + programs on
#                                        127.0.0.2 and 127.0.0.3), HAProxy on 127.0.0.1:http_port
#                                        (mode tcp, PROXY protocol to the nodes; a fallback
#                                        lighttpd answers JSON 503 when no node is up);
#                                        writes DIR/cluster.json (idempotent)
#   cluster.sh stop DIR                  stop every part (orphaned FastCGI programs too)
#   cluster.sh promote DIR               the MariaDB replica becomes the primary; the old
#                                        primary, once it answers, replicates from it
#   cluster.sh status DIR                print DIR/cluster.json
#   cluster.sh handler-stop|handler-kill|handler-start DIR   both order handlers
#   cluster.sh web-kill|web-start DIR N  kill -9 / start web node N (2 or 3: 127.0.0.N; fault tests)
#   cluster.sh mysql-kill|mysql-stop|mysql-start DIR N   MariaDB node N (1: port mysql_port,
#                                        2: +1) killed / stopped / started (fault tests)
# Settings come from DIR/flashsale.conf as for flashctl (FLASH_<KEY> written into it).
# Processes are judged by asking them (PLATFORM.md: zombies linger, pids are reused).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ccmd=${1:-}; CDIR=${2:-}
[ -n "$ccmd" ] && [ -n "$CDIR" ] || { sed -n '2,20p' "$0"; exit 2; }
# flashctl's functions (conf, set_conf, free_port, stop_pid, wait_until, ensure_hub, ...)
# shellcheck source=flashctl
. "$ROOT/scripts/flashctl" lib "$CDIR"
say() { echo "cluster: $*" >&2; }
WEBS=(2 3) # the web nodes' loopback addresses 127.0.0.N

# --- MariaDB nodes: 1 = DIR/db on mysql_port, 2 = DIR/replica/db on +1 ----------

mdir() { if [ "$1" = 1 ]; then echo "$DIR"; else echo "$DIR/replica"; fi; }
mport() { echo $(( $(conf mysql_port) + $1 - 1 )); }
msock() { echo "$(mdir "$1")/mysqld.sock"; }
# which node is the primary: DIR/mysql-primary (rewritten by promote), else 1
primary() { local p; p=$(cat "$DIR/mysql-primary" 2>/dev/null || echo 1); echo "${p:-1}"; }
other() { echo $((3 - $1)); }
msql() { # node SQL...: as root over the node's socket
	timeout 15 mariadb --no-defaults --socket="$(msock "$1")" -uroot -N -B -e "${@:2}"
}
mping() { timeout 8 mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$(mport "$1")" \
	-uroot --connect-timeout=5 ping >/dev/null 2>&1; }
mpid() { # node: the pid of our live mariadbd of that node
	local d p; d=$(mdir "$1")
	p=$(pid_in "$d/mysqld.pid" || true)
	[ -n "$p" ] && proc_live "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mariadbd ] &&
		[ "$(readlink "/proc/$p/cwd")" = "$d/db" ] && echo "$p"
}

mysql_node_start() { # node
	local n=$1 d p port pid ro=0
	d=$(mdir "$n"); port=$(mport "$n")
	mping "$n" && return 0
	if p=$(mpid "$n"); then stop_pid "MariaDB $n" "$p"; fi
	mkdir -p "$d/dbtmp"
	if [ ! -d "$d/db/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$d/db" --user=root \
			--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
			--innodb-log-file-size=8M --tmpdir="$d/dbtmp" > "$d/mysqld-init.log" 2>&1 ||
			{ rm -rf "$d/db"; say "mariadb-install-db failed ($d/mysqld-init.log)"; return 1; }
	fi
	port_free "$port" || { say "port $port is taken"; return 1; }
	[ "$n" = "$(primary)" ] || ro=1
	# semi-sync: the primary waits for the replica's ack (a replica acks, and
	# would wait in vain for acks of its own); the short timeout bounds the wait
	# of a commit while the replica is away, then the primary goes on async
	env "${CLEAN_ENV[@]}" mariadbd --no-defaults --datadir="$d/db" --socket="$d/mysqld.sock" --port="$port" \
		--tmpdir="$d/dbtmp" --bind-address=127.0.0.1 --pid-file="$d/mysqld.pid" \
		--log-error="$d/mysqld.err" --user=root --skip-name-resolve --innodb-log-file-size=64M \
		--innodb-buffer-pool-size=64M --max-connections=500 --key-buffer-size=1M \
		--aria-pagecache-buffer-size=1M --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci --server-id="$n" --log-bin=mysql-bin \
		--binlog-format=ROW --gtid-strict-mode=1 --log-slave-updates=1 \
		--rpl-semi-sync-master-enabled=$((1 - ro)) --rpl-semi-sync-slave-enabled=1 \
		--rpl-semi-sync-master-timeout="$(v=$(conf mysql_semisync_timeout_ms); echo "${v:-1000}")" \
		--read-only="$ro" < /dev/null > /dev/null 2>&1 &
	pid=$!
	say "MariaDB $n started (pid $pid, port $port, $([ $ro = 1 ] && echo replica || echo primary))"
	wait_until "MariaDB $n on port $port" "$WAIT" mping "$n" ||
		{ tail -5 "$d/mysqld.err" >&2; say "MariaDB $n: no answer on port $port"; return 1; }
}

# the primary's database, users and schema; statements go to the binlog, so the
# replica gets them by replication (it is never written to directly)
mysql_primary_setup() {
	local n pw; n=$(primary); pw=$(conf mysql_password)
	timeout 30 mariadb --no-defaults --socket="$(msock "$n")" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS flash CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'flash'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'flash'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL ON flash.* TO 'flash'@'127.0.0.1';
GRANT ALL ON flash.* TO 'flash'@'localhost';
CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO 'repl'@'127.0.0.1';
-- the replica's lag for /api/metrics (SHOW SLAVE STATUS)
GRANT SLAVE MONITOR ON *.* TO 'flash'@'127.0.0.1';
SQL
	timeout 60 mariadb --no-defaults --socket="$(msock "$n")" -uroot flash < "$ROOT/sql/schema.sql"
}

# point node N at the primary (a new replica reads the primary's binlog from
# its start; an old primary keeps what it has: MASTER_DEMOTE_TO_SLAVE)
mysql_replicate() { # node
	local n=$1 p io
	p=$(other "$n")
	io=$(msql "$n" "SHOW SLAVE STATUS" 2>/dev/null | grep -c . || true)
	msql "$n" "SET GLOBAL read_only=1; SET GLOBAL rpl_semi_sync_master_enabled=0"
	if [ "$io" = 0 ] || [ -f "$DIR/mysql-demote-$n" ]; then
		local demote=""
		[ -f "$DIR/mysql-demote-$n" ] && demote=", MASTER_DEMOTE_TO_SLAVE=1"
		msql "$n" "STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(mport "$p"),
			MASTER_USER='repl', MASTER_PASSWORD='$(conf mysql_password)',
			MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos$demote; START SLAVE"
		rm -f "$DIR/mysql-demote-$n"
		say "MariaDB $n replicates from MariaDB $p"
	else
		msql "$n" "START SLAVE" 2>/dev/null || true
	fi
}
slave_running() { # node: both replication threads run
	[ "$(msql "$1" "SHOW GLOBAL STATUS LIKE 'Slave_running'" | awk '{print $2}')" = ON ]
}
semisync_on() { [ "$(msql "$(primary)" "SHOW STATUS LIKE 'Rpl_semi_sync_master_status'" | awk '{print $2}')" = ON ]; }

# --- order handlers, web nodes, HAProxy -----------------------------------------

hpid() { # pid file, comm: the pid it names, if it is our live process of that name
	local p; p=$(pid_in "$1" || true)
	[ -n "$p" ] && proc_live "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
}
endpoint() { echo "ipc://$DIR/orders-$1.ipc"; }

handler_start() { # n
	local n=$1 pid
	if pid=$(hpid "$DIR/handler-$n.pid" order_handler) && proc_env_has "$pid" "FLASH_CONF=$CONF" &&
		[ "$(cat "$DIR/handler-$n.confsum" 2>/dev/null)" = "$(confsum)" ]; then return 0; fi
	[ -z "${pid:-}" ] || stop_pid "order handler $n" "$pid"
	env "${CLEAN_ENV[@]}" FLASH_CONF="$CONF" nohup "$BIN/order_handler" "$(endpoint "$n")" < /dev/null \
		>> "$DIR/handler-$n.log" 2>&1 &
	pid=$!
	echo "$pid" > "$DIR/handler-$n.pid"; confsum > "$DIR/handler-$n.confsum"
	say "order handler $n started (pid $pid)"
	wait_until "order handler $n's heartbeat" "$WAIT" handler_beats "$pid" ||
		{ tail -5 "$DIR/handler-$n.log" >&2; say "order handler $n sends no heartbeat"; return 1; }
}

wdir() { echo "$DIR/web-$1"; }
live_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.$1:$(conf http_port)/api/health/live" || true; }
web_live() { [ "$(live_code "$1")" = 200 ]; }
web_pid() { # n: our lighttpd of web node n
	local p; p=$(hpid "$(wdir "$1")/lighttpd.pid" lighttpd) && proc_env_has "$p" "FLASH_VAR=$(wdir "$1")" && echo "$p"
}
web_orphans() { # n: FastCGI programs a killed lighttpd left listening
	local s pid
	for s in "$(wdir "$1")"/*.sock-*; do
		[ -e "$s" ] || continue
		for pid in $(ss -Hxlp "src $s" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
			stop_pid "FastCGI program" "$pid"
		done
		rm -f "$s"
	done
}
web_stop() { # n [signal]
	local p
	if p=$(web_pid "$1"); then stop_pid "web node $1 lighttpd" "$p" "${2:-TERM}"; fi
	[ "${2:-}" = KILL ] || web_orphans "$1"
	rm -f "$(wdir "$1")/lighttpd.confsum"
}
web_start() { # n
	local n=$1 d p sum; d=$(wdir "$n"); sum=$(confsum)
	if p=$(web_pid "$n"); then
		if [ "$(cat "$d/lighttpd.confsum" 2>/dev/null)" = "$sum" ] && web_live "$n" &&
			web_proxy_conf | cmp -s - "$d/lighttpd-proxy.conf"; then return 0; fi
		web_stop "$n"
	fi
	web_orphans "$n"
	mkdir -p "$d/tmp" "$d/deflate-cache" "$(conf origin_dir)"
	write_lighttpd_vars # DIR/lighttpd-vars.conf, then this node's copy of it
	{ sed -e "s|^var.state = .*|var.state = \"$d\"|" "$DIR/lighttpd-vars.conf"
	  echo "var.bind = \"127.0.0.$n\""; } > "$d/lighttpd-vars.conf"
	web_proxy_conf > "$d/lighttpd-proxy.conf" # read by lighttpd.conf
	ln -sfn "$DIR/push.sock" "$d/push.sock" # the one push hub
	clean FLASH_VAR="$d" FLASH_CONF="$CONF" lighttpd -f "$ROOT/lighttpd.conf" < /dev/null ||
		{ say "web node $n: lighttpd did not start"; return 1; }
	echo "$sum" > "$d/lighttpd.confsum"
	say "web node $n started on 127.0.0.$n:$(conf http_port)"
	wait_until "web node $n" "$WAIT" web_live "$n" ||
		{ tail -5 "$d/lighttpd.err" >&2; say "web node $n: /api/health/live not 200"; return 1; }
}

# HAProxy passes the web traffic through as TCP (mode tcp) and tells each node
# the client's address in a PROXY protocol v2 header; lighttpd on the node
# takes it (mod_extforward, hap-PROXY) from HAProxy's address only. So every
# HTTP answer, a 400 of a request that does not parse or the close of one
# whose headers never come included, is lighttpd's (JSON: static/errors/).
# On one machine HAProxy connects from a loopback address of its own
# (LB_FROM), as from a machine of its own: a tool on 127.0.0.1 (the checks of
# web_start, an operator's curl) still talks plain HTTP to a node.
LB_FROM=127.0.0.4
web_proxy_conf() { # the PROXY protocol part of a web node's lighttpd config
	cat <<CONF
# generated by scripts/cluster.sh: this web node is behind HAProxy, which
# connects from $LB_FROM and sends a PROXY protocol header first; lighttpd
# takes the client's address from it (REMOTE_ADDR; lib/clientip.c then
# applies trusted_proxies and X-Forwarded-For as on one node). Other
# addresses speak plain HTTP. No extforward.headers: lighttpd leaves
# X-Forwarded-For to lib/clientip.c.
server.modules += ("mod_extforward")
extforward.forwarder = ("$LB_FROM" => "trust")
extforward.hap-PROXY = "enable"
CONF
}

# the answerer when no web node is up (HAProxy's backup server): a lighttpd
# on a unix socket whose one route is a FastCGI socket that never exists, so
# every request gets lighttpd's 503 from static/errors (JSON `unavailable`),
# and a request that does not parse its JSON 400, as from a node
fdir() { echo "$DIR/fallback"; }
fallback_pid() { local p; p=$(hpid "$(fdir)/lighttpd.pid" lighttpd) && tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF "$(fdir)/lighttpd.conf" && echo "$p"; }
fallback_cfg() {
	cat <<CONF
# generated by scripts/cluster.sh: HAProxy's backup server (JSON 503)
server.modules = ("mod_fastcgi")
server.bind = "$(fdir)/lighttpd.sock"
server.document-root = "$(fdir)"
server.pid-file = "$(fdir)/lighttpd.pid"
server.errorlog = "$(fdir)/lighttpd.err"
server.tag = "flashsale"
server.max-request-size = 64
server.max-read-idle = 30
server.errorfile-prefix = "$ROOT/static/errors/status-"
mimetype.assign = ("" => "application/json")
fastcgi.server = ("/" => (("socket" => "$(fdir)/none.sock", "check-local" => "disable")))
CONF
}
fallback_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$(fdir)/lighttpd.sock" http://x/)" = 503 ]; }
fallback_start() {
	local p
	mkdir -p "$(fdir)"
	fallback_cfg > "$(fdir)/lighttpd.conf.new"
	if p=$(fallback_pid); then
		if cmp -s "$(fdir)/lighttpd.conf.new" "$(fdir)/lighttpd.conf" && fallback_up; then return 0; fi
		stop_pid "fallback lighttpd" "$p"
	fi
	mv -f "$(fdir)/lighttpd.conf.new" "$(fdir)/lighttpd.conf"
	rm -f "$(fdir)/lighttpd.sock"
	clean lighttpd -f "$(fdir)/lighttpd.conf" < /dev/null || { say "the fallback lighttpd did not start"; return 1; }
	say "fallback (JSON 503) started on $(fdir)/lighttpd.sock"
	wait_until "the fallback" "$WAIT" fallback_up || { say "the fallback does not answer 503"; return 1; }
}

haproxy_cfg() {
	local hp n; hp=$(conf http_port)
	{ cat <<CFG
# generated by scripts/cluster.sh: HAProxy in front of the web nodes. TCP
# end to end: HAProxy parses no HTTP and so answers none (HAProxy 2.6's H1
# mux answered a request it could not parse with its built-in HTML, whatever
# errorfile said); each node gets the client's address in a PROXY protocol
# v2 header (send-proxy-v2; mod_extforward on the node)
global
	pidfile $DIR/haproxy.pid
	# two descriptors a connection; within the limit of a non-root shell
	maxconn 4000
	stats socket $DIR/haproxy.stat mode 600 level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	# a connection is a tunnel once the node's connection is made: idle in
	# both directions this long, it is cut. Above lighttpd's own limits
	# (30 s idle while reading a request or keep-alive, 20 s WebSocket
	# pings), so that lighttpd decides first
	timeout tunnel 75s
	# a node that refuses the connection: the connection goes to the other one
	retries 2
	option redispatch
frontend api
	bind 127.0.0.1:$hp
	default_backend web
backend web
	balance roundrobin
	# liveness, not readiness: a store that is down must not take every node
	# out. The check speaks the PROXY protocol too (check-send-proxy)
	option httpchk GET /api/health/live
	http-check expect status 200
	default-server inter 500ms fall 2 rise 2
CFG
	for n in "${WEBS[@]}"; do
		echo "	server web$n 127.0.0.$n:$hp check send-proxy-v2 check-send-proxy source $LB_FROM"
	done
	cat <<CFG
	# no web node up: the fallback answers every request with a JSON 503
	server fallback $(fdir)/lighttpd.sock backup
CFG
	} > "$DIR/haproxy.cfg"
}
haproxy_pid() { local p; p=$(hpid "$DIR/haproxy.pid" haproxy) && tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF "$DIR/haproxy.cfg" && echo "$p"; }
lb_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$(conf http_port)/api/health/live")" = 200 ]; }
haproxy_start() {
	local p
	haproxy_cfg
	haproxy -c -q -f "$DIR/haproxy.cfg" || { say "haproxy.cfg does not parse"; return 1; }
	if p=$(haproxy_pid); then
		if cmp -s "$DIR/haproxy.cfg" "$DIR/haproxy.cfg.running" && lb_up; then return 0; fi
		stop_pid HAProxy "$p"
	fi
	# the web nodes hold the same port on 127.0.0.2 and .3: only 127.0.0.1 counts
	! ss -Htln "sport = :$(conf http_port)" | awk '{print $4}' | grep -qE '^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):' ||
		{ say "port 127.0.0.1:$(conf http_port) is taken"; return 1; }
	clean haproxy -D -f "$DIR/haproxy.cfg" < /dev/null || { say "HAProxy did not start"; return 1; }
	cp "$DIR/haproxy.cfg" "$DIR/haproxy.cfg.running"
	say "HAProxy started on 127.0.0.1:$(conf http_port)"
	wait_until "HAProxy" "$WAIT" lb_up || { say "HAProxy: /api/health/live not 200"; return 1; }
}

# --- cluster.json -----------------------------------------------------------------

write_json() {
	local hp rel n p role r=() m=() w=() tmp
	hp=$(conf http_port)
	rel=$(realpath -m --relative-to="$ROOT" "$CONF")
	for p in $(tr ',' ' ' <<< "$(conf redis_nodes)"); do
		role=$(timeout 2 redis-cli -p "${p##*:}" role 2>/dev/null | head -1 | tr -d '\r')
		[ "$role" = master ] || role=replica
		r+=("{\"addr\":\"$p\",\"role\":\"$role\"}")
	done
	for n in 1 2; do
		role=replica; [ "$n" = "$(primary)" ] && role=primary
		m+=("{\"addr\":\"127.0.0.1:$(mport "$n")\",\"role\":\"$role\"}")
	done
	for n in "${WEBS[@]}"; do w+=("{\"addr\":\"127.0.0.$n:$hp\"}"); done
	tmp=$DIR/cluster.json.tmp
	printf '{"http":"http://127.0.0.1:%s","conf":"%s","redis":[%s],"mysql":[%s],"web":[%s],"handlers":2}\n' \
		"$hp" "$rel" "$(IFS=,; echo "${r[*]}")" "$(IFS=,; echo "${m[*]}")" "$(IFS=,; echo "${w[*]}")" > "$tmp"
	mv -f "$tmp" "$DIR/cluster.json"
}

# --- commands -----------------------------------------------------------------------

cluster_conf() { # the settings of the topology, written into the file
	local mp
	mp=$(conf mysql_port)
	if [ "${1:-}" = --free-ports ] && [ ! -d "$DIR/replica" ] && ! port_free $((mp + 1)); then
		mp=$(free_port); while ! port_free $((mp + 1)); do mp=$(free_port); done
		set_conf mysql_port "$mp"
	fi
	set_conf redis_cluster 1
	set_conf redis_nodes "$("$ROOT/scripts/redis-cluster.sh" nodes "$DIR")"
	set_conf redis_port "$(head -1 "$DIR/redis-cluster/ports" 2>/dev/null || conf redis_port)"
	has_key redis_wait_replicas || set_conf redis_wait_replicas 1
	has_key redis_wait_ms || set_conf redis_wait_ms 200
	set_conf mysql_nodes "127.0.0.1:$mp,127.0.0.1:$((mp + 1))"
	set_conf queue_endpoint "$(endpoint 1),$(endpoint 2)"
}

c_start() {
	do_init "${1:-}"
	apply_env
	"$ROOT/scripts/redis-cluster.sh" start "$DIR" "${1:-}" || { say "the Redis Cluster did not start"; exit 1; }
	cluster_conf "${1:-}"
	local pn rn; pn=$(primary); rn=$(other "$pn")
	mysql_node_start "$pn"
	mysql_primary_setup || { say "the primary's schema failed"; exit 1; }
	if mysql_node_start "$rn"; then
		mysql_replicate "$rn"
		wait_until "MariaDB $rn replicating" "$WAIT" slave_running "$rn" ||
			say "MariaDB $rn does not replicate (see $(mdir "$rn")/mysqld.err)"
	fi
	ensure_hub
	handler_start 1; handler_start 2
	for n in "${WEBS[@]}"; do web_start "$n"; done
	fallback_start
	haproxy_start
	write_json
	if [ "${FLASH_CRON:-0}" = 1 ] && [ -f "$ROOT/cron/flashsale.crontab" ]; then crontab_install; fi
	say "up: http://127.0.0.1:$(conf http_port)/ (state in $DIR, topology in $DIR/cluster.json)"
}

c_stop() {
	local p n
	[ -f "$CONF" ] || exit 0
	if p=$(haproxy_pid); then stop_pid HAProxy "$p"; fi
	if p=$(fallback_pid); then stop_pid "fallback lighttpd" "$p"; fi
	for n in "${WEBS[@]}"; do web_stop "$n"; done
	for n in 1 2; do
		if p=$(hpid "$DIR/handler-$n.pid" order_handler); then stop_pid "order handler $n" "$p"; fi
	done
	if p=$(part_pid hub); then stop_part hub "$p"; fi
	for n in 1 2; do if p=$(mpid "$n"); then stop_pid "MariaDB $n" "$p"; fi; done
	"$ROOT/scripts/redis-cluster.sh" stop "$DIR" || true
	crontab_remove
	# the file describes a running topology (flashctl handler-* defers to it)
	rm -f "$DIR/haproxy.cfg.running" "$DIR/cluster.json"
	say "stopped"
}

c_promote() {
	local old new
	old=$(primary); new=$(other "$old")
	mping "$new" || { say "MariaDB $new does not answer: nothing to promote"; exit 1; }
	msql "$new" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0;
		SET GLOBAL rpl_semi_sync_master_enabled=1"
	echo "$new" > "$DIR/mysql-primary"
	touch "$DIR/mysql-demote-$old" # its binlog may hold what it wrote alone
	say "MariaDB $new (port $(mport "$new")) is the primary"
	if mping "$old"; then
		mysql_replicate "$old"
	else
		say "MariaDB $old is down; \`scripts/cluster.sh mysql-start $DIR $old\` makes it a replica"
	fi
	write_json
}

case $ccmd in
start) c_start "${3:-}" ;;
stop) c_stop ;;
promote) c_promote ;;
status) cat "$DIR/cluster.json" ;;
web-kill) if p=$(web_pid "$3"); then kill -KILL "$p"; fi ;;
web-start) web_start "$3" ;;
handler-stop | handler-kill)
	for n in 1 2; do
		if p=$(hpid "$DIR/handler-$n.pid" order_handler); then
			stop_pid "order handler $n" "$p" "$([ "$ccmd" = handler-kill ] && echo KILL || echo TERM)"
		fi
	done ;;
handler-start) handler_start 1; handler_start 2 ;;
mysql-kill) if p=$(mpid "$3"); then kill -KILL "$p"; fi ;;
mysql-stop) if p=$(mpid "$3"); then stop_pid "MariaDB $3" "$p"; fi ;;
mysql-start)
	mysql_node_start "$3"
	[ "$3" = "$(primary)" ] || mysql_replicate "$3"
	write_json
	;;
*) sed -n '2,20p' "$0"; exit 2 ;;
esac
