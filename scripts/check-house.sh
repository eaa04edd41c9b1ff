#!/bin/sh
# check-house.sh [BUILD]: the layout rules of README "House rules" (and
# ../shared/STYLE.md §12), checked from the tree and the objects of BUILD
# (default build/san). Prints each offender, then "N passed, N failed" (one
# check a rule); exits 1 when a rule is broken. tests/run.sh runs it.
#   prefix   every non-static name that lib/X.c defines starts with X_
#   header   every lib/X.c has its lib/X.h
#   owner    no Redis key literal, redisReply or SQL text in cgi-bin/ cron/ mq/
#   sql      SQL text in lib/ only in lib/db*.c (the db layer and each table's
#            owner): a transaction elsewhere calls the owners' functions
#   size     no file in cgi-bin/ over 450 lines
#   conf     configuration keys are read only through conf_keys.h's table
#   http     only the HTTP group of lib (app route req reply jx clientip
#            ratelimit metrics) includes the request and reply headers
#   cycle    no include cycle among lib files (a header reaching itself)
#   fn-length no function body in lib/ cgi-bin/ cron/ mq/ over FN_MAX lines
#            (FN_EXCEPTIONS says which may be, and why)
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${1:-build/san}

# Deliberate exceptions to the prefix rule, "file symbol" a line (README
# "House rules" says why for each). Empty: there are none.
EXCEPTIONS=''

passed=0; failed=0
rule() { # name status
	if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "house: rule $1 broken" >&2; fi
}

# prefix: the objects' symbol tables; names the compiler makes (__odr_asan.x
# and the like) start with "__" and are not ours
bad=0
objs=$(ls "$BUILD"/lib/*.o 2>/dev/null)
if [ -z "$objs" ]; then
	echo "house: no objects in $BUILD/lib (build first)" >&2; bad=1
fi
for o in $objs; do
	f=$(basename "$o" .o)
	[ -f "lib/$f.c" ] || continue # a stale object of a file since removed
	for s in $(nm --defined-only -g "$o" | awk '{print $3}'); do
		case $s in "${f}_"*|__*) continue ;; esac
		if printf '%s\n' "$EXCEPTIONS" | grep -qx "$f $s"; then continue; fi
		echo "prefix: lib/$f.c exports $s" >&2; bad=1
	done
done
rule prefix $bad

bad=0
for c in lib/*.c; do
	[ -f "${c%.c}.h" ] || { echo "header: $c has no ${c%.c}.h" >&2; bad=1; }
done
rule header $bad

if [ "${HOUSE_OWNER:-1}" = 1 ]; then
	bad=0
	hits=$(grep -rlE 'redisReply|"fs:|SELECT |INSERT |UPDATE |DELETE ' cgi-bin cron mq)
	for h in $hits; do echo "owner: $h holds a Redis key, a redisReply or SQL" >&2; bad=1; done
	rule owner $bad
fi

# sql: the statements of lib/ live in the db layer (db.c, db_nodes.c) and the
# tables' owners (db_*.c); lifecycle, persist and rebuild keep only their
# transactions' boundaries and call the owners inside them
bad=0
for h in $(grep -lE 'SELECT |INSERT |UPDATE |DELETE ' lib/*.c | grep -vE '^lib/db(_[a-z0-9_]+)?\.c$'); do
	echo "sql: $h holds SQL text (its owner is a lib/db_*.c)" >&2; bad=1
done
rule sql $bad

if [ "${HOUSE_SIZE:-1}" = 1 ]; then
	bad=0
	for c in $(find cgi-bin -name '*.[ch]'); do
		n=$(wc -l <"$c")
		[ "$n" -le 450 ] || { echo "size: $c has $n lines (450 at most)" >&2; bad=1; }
	done
	rule size $bad
fi

bad=0
for h in $(grep -rlE '\bconf_(int|str)\(' lib cgi-bin cron mq | grep -vE '^lib/conf(_keys)?\.[ch]$'); do
	echo "conf: $h reads a key around lib/conf_keys.c's table" >&2; bad=1
done
rule conf $bad

# http: the request and the reply are the HTTP layer's; below it nothing answers
bad=0
HTTP_GROUP='app route req reply jx clientip ratelimit metrics'
for f in lib/*.[ch]; do
	n=$(basename "$f"); n=${n%.*}
	case " $HTTP_GROUP " in *" $n "*) continue ;; esac
	if grep -qE '^#include "(req|reply|app|route)\.h"' "$f"; then
		echo "http: $f (not of the HTTP group) includes a request or reply header" >&2; bad=1
	fi
done
rule http $bad

# cycle: the graph of the quoted includes among lib's files (a header that
# includes itself through others), searched depth first
bad=0
cyc=$(for f in lib/*.[ch]; do
	n=$(basename "$f")
	sed -n 's/^#include "\([a-z0-9_]*\.h\)".*/\1/p' "$f" | while read -r d; do
		echo "$n $d"
	done
done | sort -u | awk '
	{ adj[$1] = adj[$1] " " $2; nodes[$1]; nodes[$2] }
	function dfs(u, path,   i, n, v, a) {
		state[u] = 1
		n = split(adj[u], a, " ")
		for (i = 1; i <= n; i++) {
			v = a[i]
			if (state[v] == 1) print "cycle: " path " -> " v
			else if (state[v] == 0) dfs(v, path " -> " v)
		}
		state[u] = 2
	}
	END { for (u in nodes) if (state[u] == 0) dfs(u, u) }')
if [ -n "$cyc" ]; then echo "$cyc" >&2; bad=1; fi
rule cycle $bad

# fn-length: a brace-depth scan (braces in comments, strings and character
# constants do not count) of each .c file; a function is a top-level "{"
# at column 0 (STYLE.md puts a function's brace there), named by the last
# "name(" at column 0 before it; its length is the lines between its braces
FN_MAX=60
# "file function reason" a line
FN_EXCEPTIONS='' # none: "file function reason" lines, one per deliberate exception
bad=0
long=$(find lib cgi-bin cron mq -name '*.c' | sort | xargs awk '
# prints "file name lines" for each top-level function body: counts braces
# outside comments, strings and character constants
FNR == 1 { depth = 0; name = ""; incom = 0 }
{
	o = 0; c = 0; q = ""; n = length($0)
	for (i = 1; i <= n; i++) {
		ch = substr($0, i, 1)
		if (incom) {
			if (ch == "*" && substr($0, i + 1, 1) == "/") { incom = 0; i++ }
		} else if (q != "") {
			if (ch == "\\") i++
			else if (ch == q) q = ""
		} else if (ch == "/" && substr($0, i + 1, 1) == "*") { incom = 1; i++ }
		else if (ch == "/" && substr($0, i + 1, 1) == "/") break
		else if (ch == "\"" || ch == "'\''") q = ch
		else if (ch == "{") o++
		else if (ch == "}") c++
	}
	if (depth == 0 && match($0, /^[A-Za-z_][A-Za-z0-9_]*\(/))
		cand = substr($0, 1, RLENGTH - 1)
	if (depth == 0 && o > 0 && $0 ~ /^{/) { name = cand; start = FNR }
	depth += o - c
	if (depth == 0 && name != "" && $0 ~ /^}/) {
		print FILENAME, name, FNR - start - 1
		name = ""
	}
}' | awk -v max=$FN_MAX '$3 > max')
while read -r file fn n; do
	[ -n "$file" ] || continue
	if printf '%s\n' "$FN_EXCEPTIONS" | grep -q "^$file $fn "; then continue; fi
	echo "fn-length: $file: $fn has $n lines ($FN_MAX at most)" >&2; bad=1
done <<EOF
$long
EOF
rule fn-length $bad

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
