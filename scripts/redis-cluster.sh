#!/usr/bin/env bash
# redis-cluster.sh: a Redis Cluster of 3 masters + 3 replicas on loopback whose
# state lives in DIR/redis-cluster/PORT/ (PLATFORM.md "Scale-out engines").
#   redis-cluster.sh start DIR [--free-ports]  start the six nodes, create the cluster
#                                              (once), wait for cluster_state:ok and every
#                                              replica's master_link_status:up
#   redis-cluster.sh stop DIR                  stop the nodes (judged by ping, not pid files)
#   redis-cluster.sh nodes DIR                 print the seed list 127.0.0.1:P1,...,127.0.0.1:P6
#   redis-cluster.sh kill DIR PORT             kill -9 one node (fault tests)
#   redis-cluster.sh node-start DIR PORT       start one node again
# Ports, first that applies: DIR/redis-cluster/ports (a restart reuses them); the
# redis_nodes of DIR/flashsale.conf; --free-ports; FLASH_REDIS_PORT (else the conf's
# redis_port, else 16379) to +5. Also run as `flashctl redis-cluster start|stop DIR`.
set -euo pipefail
cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { sed -n '2,13p' "$0"; exit 2; }
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
RC=$DIR/redis-cluster
CONF=$DIR/flashsale.conf

say() { echo "redis-cluster: $*" >&2; }
conf() { [ -f "$CONF" ] && awk -F' *= *' -v k="$1" '$1 == k { v = $2 } END { print v }' "$CONF"; }
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
ping() { [ "$(timeout 2 redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
info() { timeout 2 redis-cli -p "$1" "${@:2}" 2>/dev/null | tr -d '\r'; }

pick_ports() { # prints six ports, one a line
	local nodes base p n=0 tries=0
	if [ -f "$RC/ports" ]; then cat "$RC/ports"; return; fi
	nodes=$(conf redis_nodes || true)
	if [ -n "$nodes" ] && [ "$(echo "$nodes" | tr ',' '\n' | grep -c :)" = 6 ]; then
		echo "$nodes" | tr ',' '\n' | sed 's/.*://'; return
	fi
	if [ "${1:-}" = --free-ports ]; then
		while [ $n -lt 6 ] && [ $tries -lt 500 ]; do
			p=$(( 20000 + RANDOM % 2700 ))
			tries=$((tries + 1))
			# the cluster bus listens on port + 10000, kept below the
			# kernel's ephemeral ports (32768 up) that clients take
			port_free "$p" && port_free $((p + 10000)) || continue
			grep -qx "$p" "$DIR/.ports" 2>/dev/null && continue
			echo "$p" >> "$DIR/.ports"; echo "$p"; n=$((n + 1))
		done
		[ $n = 6 ] || { say "no free ports found"; exit 1; }
		return
	fi
	base=${FLASH_REDIS_PORT:-$(conf redis_port || true)}; base=${base:-16379}
	for i in 0 1 2 3 4 5; do echo $((base + i)); done
}

node_start() { # port
	local p=$1 d=$RC/$1
	ping "$p" && return 0
	port_free "$p" || { say "port $p is taken"; return 1; }
	mkdir -p "$d"
	redis-server --port "$p" --bind 127.0.0.1 --dir "$d" --daemonize yes \
		--pidfile "$d/redis.pid" --logfile "$d/redis.log" --cluster-enabled yes \
		--cluster-config-file nodes.conf --cluster-node-timeout 2000 --appendonly yes \
		--appendfsync everysec --save '' --repl-diskless-sync-delay 0 --maxclients 10000 \
		> /dev/null
}

wait_up() { # port...; every node answers
	local p
	for p in "$@"; do
		for _ in $(seq 100); do ping "$p" && break; sleep 0.1; done
		ping "$p" || { say "node $p did not come up (see $RC/$p/redis.log)"; return 1; }
	done
}

healthy() { # port...; cluster ok on every node, every replica synced
	local p
	for p in "$@"; do
		info "$p" cluster info | grep -qx 'cluster_state:ok' || return 1
		if info "$p" info replication | grep -qx 'role:slave'; then
			info "$p" info replication | grep -qx 'master_link_status:up' || return 1
		fi
	done
	# three masters, each with its replica
	[ "$(for p in "$@"; do info "$p" info replication | grep -x 'role:master'; done | wc -l)" = 3 ]
}

do_start() {
	local ports p created=0 try
	mkdir -p "$RC"
	for try in 1 2 3; do
		mapfile -t ports < <(pick_ports "${1:-}")
		[ -f "$RC/ports" ] || printf '%s\n' "${ports[@]}" > "$RC/ports"
		ok=1
		for p in "${ports[@]}"; do node_start "$p" || ok=0; done
		[ $ok = 1 ] && wait_up "${ports[@]}" && break
		# free ports taken meanwhile by someone else: new ones, once more
		[ "${1:-}" = --free-ports ] && [ ! -f "$RC/created" ] && [ $try -lt 3 ] || return 1
		for p in "${ports[@]}"; do node_stop "$p"; done
		rm -f "$RC/ports"
	done
	if [ ! -f "$RC/created" ]; then
		timeout 60 redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") \
			--cluster-replicas 1 --cluster-yes > "$RC/create.log" 2>&1 ||
			{ say "cluster create failed:"; tail -20 "$RC/create.log" >&2; return 1; }
		touch "$RC/created"; created=1
	fi
	# a replica that never synced cannot be promoted: wait for all of it
	for _ in $(seq 300); do healthy "${ports[@]}" && break; sleep 0.1; done
	healthy "${ports[@]}" || { say "cluster not healthy after 30 s (see $RC)"; return 1; }
	[ $created = 1 ] && say "created on ports ${ports[*]}"
	say "up: $(nodes)"
}

node_pid() { # port; the pid of the redis-server on port, from its pid file if it is one
	local f=$RC/$1/redis.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] || return 1
	echo "$pid"
}

node_stop() { # port
	local p=$1 pid
	ping "$p" || { rm -f "$RC/$p/redis.pid"; return 0; }
	pid=$(node_pid "$p" || true)
	timeout 5 redis-cli -p "$p" shutdown > /dev/null 2>&1 || true
	for _ in $(seq 50); do ping "$p" || break; sleep 0.1; done
	if ping "$p" && [ -n "$pid" ]; then
		say "node $p ($pid) did not stop, killing"
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 30); do ping "$p" || break; sleep 0.1; done
	fi
	rm -f "$RC/$p/redis.pid"
}

nodes() { [ -f "$RC/ports" ] && sed 's/^/127.0.0.1:/' "$RC/ports" | paste -sd, -; }

case $cmd in
start) do_start "${3:-}" ;;
stop)
	[ -f "$RC/ports" ] || exit 0
	for p in $(cat "$RC/ports"); do node_stop "$p" & done
	wait
	;;
nodes) nodes ;;
kill)
	p=${3:?port}; pid=$(node_pid "$p") || { say "no node on $p"; exit 1; }
	kill -KILL "$pid"
	# gone when it no longer answers (its zombie may linger: PLATFORM.md)
	for _ in $(seq 50); do ping "$p" || break; sleep 0.1; done
	;;
node-start) node_start "${3:?port}"; wait_up "$3" ;;
*) sed -n '2,13p' "$0"; exit 2 ;;
esac
