# lib.sh: sourced by the benches that compare two runs of run.sh on the same
# machine (cluster.sh, topology.sh): each run, its table, and the table of
# the second run's rates against the first's.

# bench_run BUILD NAME [VAR=value...]: run.sh with those variables, its
# outputs in BUILD/bench-NAME/, its table in BUILD/bench-NAME.txt.
bench_run() {
	local build=$1 name=$2; shift 2
	env BENCH_OUT="$build/bench-$name" "$@" tests/bench/run.sh "$build" > "$build/bench-$name.txt"
}

# bench_show BUILD NAME TITLE: the run's table of endpoints under a title.
bench_show() {
	echo "== $3"; grep -E '^\| (endpoint|\([a-ek]\))' "$1/bench-$2.txt"
}

# ratio_table BUILD A B ROW...: for each ROW ("endpoint" or "endpoint|goal";
# a goal column when the first row has one), the rate of run A, of run B,
# B / A, and B's p99.
ratio_table() {
	local build=$1 a=$2 b=$3; shift 3
	local wa=$(( ${#a} + 2 > 9 ? ${#a} + 2 : 9 )) wb=$(( ${#b} + 2 > 9 ? ${#b} + 2 : 9 ))
	local wp=$(( ${#b} + 4 )) goals=0 r name goal s c p99 ratio
	case $1 in *'|'*) goals=1 ;; esac
	dashes() { printf '%*s' "$1" '' | tr ' ' -; }
	cell() { grep -F "| $2" "$build/bench-$1.txt" | head -1 | awk -F'|' -v f="$3" '{gsub(/ /, "", $f); print $f}'; }
	printf "| %-34s | %${wa}s | %${wb}s | %7s | %${wp}s |" run "$a/s" "$b/s" ratio "$b p99"
	[ $goals = 1 ] && printf ' %6s |' goal
	printf '\n|%s|%s:|%s:|%s:|%s:|' "$(dashes 36)" "$(dashes $((wa + 1)))" "$(dashes $((wb + 1)))" \
		"$(dashes 8)" "$(dashes $((wp + 1)))"
	[ $goals = 1 ] && printf '%s|' "$(dashes 8)"
	echo
	for r in "$@"; do
		name=${r%|*}; goal=${r#*|}
		s=$(cell "$a" "$name" 3); c=$(cell "$b" "$name" 3); p99=$(cell "$b" "$name" 5)
		ratio=$(awk -v s="$s" -v c="$c" 'BEGIN { if (s > 0) printf "%.2f", c / s; else print "-" }')
		printf "| %-34s | %${wa}s | %${wb}s | %7s | %${wp}s |" "$name" "${s:--}" "${c:--}" "$ratio" "${p99:--}"
		[ $goals = 1 ] && printf ' %6s |' "$goal"
		echo
	done
}
